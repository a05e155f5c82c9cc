"""The local console: the chat's slash-command syntax, parsed from the same declarations and
run through the same handlers; attachments are saved to a folder. After a live reply, typing
one of its steps (a button's action, a menu's choice) steps it, as the chat's controls do. Its
refusals and its own words are in the language CONSOLE_LANGUAGE names."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from commands import COMMANDS, KINDS
from explorer.contract import Live, Reply, UserError
from explorer.declare import Command, Option
from explorer.i18n import SOURCE_LANGUAGE, phrase, tell
from explorer.live import Kind, kinds_by_name, typeable, typed_step
from explorer.text import quote_inline

from .errors import outcome, user_message
from .runtime import Runtime
from .settings import Settings, parse_flag

log = logging.getLogger(__name__)

# Context-menu commands act on a chat message: the console has none to offer them.
BY_PATH = {command.path: command for command in COMMANDS if not command.menu}
# `name:value` where an option could start: after a space, a lower-case name, a colon and a
# value right after it (`see: this` and URLs are text).
_OPTION_LIKE = re.compile(r"(?:^|(?<=\s))([a-z_]+):(?=[^\s/])")
QUOTING_HINT = phrase('Put a value in double quotes to keep such text in it: text:"ratio:3".')
PROMPT = "» "
CONTROLS = "Ctrl-C cancels a running command; Ctrl-D (or Ctrl-C at the prompt) quits."
HISTORY_FILE = Path("~/.model_explorer_history")  # under the user's home
HISTORY_LENGTH = 1000


@dataclass(frozen=True)
class Invocation:
    """A parsed command line: which command, with which arguments."""

    command: Command
    arguments: dict[str, Any]


def _convert(option: Option, raw: str) -> Any:
    value = raw.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    elif match := _OPTION_LIKE.search(value):
        raise UserError(phrase("`{name}` is not an option here. {hint}", name=match.group(1),
                               hint=QUOTING_HINT))  # fmt: skip
    if not value.strip():
        option.check(value)  # refuses it as empty, whatever the option's kind
    if option.kind is int:
        try:
            converted: Any = int(value)
        except ValueError:
            shown = quote_inline(value, 40)
            raise UserError(
                phrase("`{name}` must be a whole number, got {shown}.", name=option.name,
                       shown=shown)
            ) from None  # fmt: skip
    elif option.kind is bool:
        converted = parse_flag(value)
        if converted is None:
            shown = quote_inline(value, 40)
            raise UserError(
                phrase("`{name}` must be true or false, got {shown}.", name=option.name,
                       shown=shown)
            )  # fmt: skip
    else:
        converted = value
    option.check(converted)
    return converted


def _command(line: str) -> tuple[Command, str]:
    words = line.strip().removeprefix("/").split(maxsplit=2)
    for length in (2, 1):
        path = " ".join(words[:length])
        if len(words) >= length and path in BY_PATH:
            return BY_PATH[path], " ".join(words[length:])
    known = ", ".join(f"/{path}" for path in BY_PATH)
    raise UserError(phrase("Unknown command. Commands: {known}, /help.", known=known))


def parse(line: str) -> Invocation:
    """Parse `/name option:value …`: a value runs until the next of the command's options;
    anything else written as `name:value` is refused rather than taken as text."""
    command, rest = _command(line)
    names = [option.name for option in command.options]
    # An option's name with nothing after it (`model:` at the end) is that option, left empty.
    option_start = r"(?:^|(?<=\s))(" + "|".join(names) + r"):(?=\S|$)"
    pieces = re.split(option_start, rest) if names else [rest]
    lead = pieces[0].strip()
    if lead:
        match = _OPTION_LIKE.search(lead)
        shown = match.group(1) if match else lead[:40]
        raise UserError(
            phrase(
                "{shown} is not an option of /{path}. Options: {options}.",
                shown=quote_inline(shown, 40),
                path=command.path,
                options=", ".join(names) or "none",
            )
        )
    arguments = {}
    for name, raw in zip(pieces[1::2], pieces[2::2], strict=True):
        arguments[name] = _convert(command.option(name), raw)
    missing = [o.name for o in command.options if o.required and o.name not in arguments]
    if missing:
        needed = ", ".join(f"`{m}:`" for m in missing)
        raise UserError(phrase("/{path} needs {needed}.", path=command.path, needed=needed))
    return Invocation(command, arguments)


def _meaning(option: Option, language: str) -> str:
    """An option's description, then its choices if it has any (told in `language`; the
    choices' values as typed)."""
    description = tell(option.description, language)
    choices = ", ".join(value for _, value in option.choices)
    if not choices:
        return description
    return tell(phrase("{description} — one of: {choices}", description=description,
                       choices=choices), language)  # fmt: skip


STEPPING = phrase(
    "After a reply with buttons or menus in the chat, type one of its steps to step it: a "
    "button's action (layer+, next…) or a menu's choice (a view's name, a page); each such "
    "reply lists its steps."
)


def help_text(language: str = SOURCE_LANGUAGE) -> str:
    """Every command with its options (required ones first), what each option means and its
    choices, as Discord shows them (in `language`; names and values as typed); then how
    live replies are stepped."""
    lines = [tell(phrase("Commands (options as name:value; [optional]):"), language)]
    for command in BY_PATH.values():
        options = sorted(command.options, key=lambda o: not o.required)
        usage = " ".join(f"{o.name}:…" if o.required else f"[{o.name}:…]" for o in options)
        lines.append(f"  /{command.path} {usage}".rstrip())
        lines.append(f"      {tell(command.description, language)}")
        width = max((len(option.name) for option in options), default=0)
        for option in options:
            lines.append(f"        {option.name:<{width}}  {_meaning(option, language)}")
            lines += [
                f"        {'':<{width}}    {tell(label, language)}"
                for label, value in option.choices
                if label != value
            ]
    menus = ", ".join(f"“{c.name}”" for c in COMMANDS if c.menu)
    lines.append(tell(phrase("On a message in Discord (Apps →): {menus}.", menus=menus), language))
    lines.append(tell(STEPPING, language))
    lines.append(tell(QUOTING_HINT, language))
    return "\n".join(lines)


def command_lines(lines: Iterable[str]) -> Iterator[str]:
    """Whole commands from input lines: a line that does not start a command (with `/`)
    continues the one before, so a text can span lines; blank lines and `#` comments skip."""
    pending: list[str] = []
    for line in lines:
        text = line.rstrip("\n")
        if text.lstrip().startswith("/") or text.strip() in {"help"}:
            if pending:
                yield "\n".join(pending)
            pending = [text.strip()]
        elif not text.strip() or text.lstrip().startswith("#"):
            continue
        elif pending:
            pending.append(text)
        else:
            pending = [text.strip()]
    if pending:
        yield "\n".join(pending)


class Console:
    """Runs command lines and steps of the latest live reply, and writes attachments into an
    output folder, never over the files of an earlier run."""

    def __init__(
        self,
        runtime: Runtime,
        output_dir: Path,
        out: TextIO = sys.stdout,
        kinds: Mapping[str, Kind] | None = None,
    ) -> None:
        self._runtime = runtime
        self._output_dir = output_dir
        self._out = out
        self._kinds = kinds_by_name(KINDS) if kinds is None else kinds
        self._live: Live | None = None  # the latest reply, if it is live: typed steps step it
        self._language = runtime.settings.console_language

    def _steppable(self, live: Live | None) -> Live | None:
        """The live reply, if its kind is known here and its state offers steps."""
        kind = None if live is None else self._kinds.get(live.kind)
        return live if live is not None and kind is not None and kind.controls(live.state) else None

    def _save(self, reply: Reply, name: str) -> list[Path]:
        self._output_dir.mkdir(parents=True, exist_ok=True)
        taken = [
            int(m[1]) for p in self._output_dir.iterdir() if (m := re.match(r"(\d+)-", p.name))
        ]
        number = max(taken, default=0)
        paths = []
        for attachment in reply.attachments:
            while True:
                number += 1
                saved = f"{number:03d}-{name.replace(' ', '-')}-{attachment.filename}"
                path = self._output_dir / saved
                try:
                    with path.open("xb") as file:  # never over an existing file
                        file.write(attachment.data)
                except FileExistsError:
                    continue
                break
            paths.append(path)
        return paths

    async def execute(self, line: str) -> bool:
        """Run one command line, or a step of the latest live reply (a line that is not a
        command, after one), print its reply and how long it took; False if it failed. Its
        latency and outcome count in `/status`, as a command or a press from the chat does."""
        if line.strip() in {"/help", "help"}:
            print(help_text(self._language), file=self._out)
            return True
        live = self._live
        kind = self._kinds[live.kind] if live is not None else None
        stepping = live is not None and kind is not None and not line.lstrip().startswith("/")
        job = self._runtime.job(language=self._language)
        started = time.perf_counter()
        name: str | None = None
        failure: BaseException | None = None
        try:
            if stepping:
                assert live is not None and kind is not None
                name = kind.name
                action, value = typed_step(kind, live.state, line)
                reply = await kind.show(job, kind.step(live.state, action, value))
            else:
                invocation = parse(line)
                name = invocation.command.path
                reply = await invocation.command(job, **invocation.arguments)
        except Exception as error:
            failure = error
            print(user_message(error, self._language), file=self._out)
            return False
        except asyncio.CancelledError as error:
            failure = error
            raise
        finally:
            job.close()
            if name is not None:
                seconds = time.perf_counter() - started
                press = "press" if stepping else "command"
                self._runtime.stats.record(name, seconds, outcome(failure), press)
        print(reply.content, file=self._out)
        for path in self._save(reply, name):
            print(f"📎 saved {path}", file=self._out)
        self._live = self._steppable(reply.live)
        if self._live is not None:
            steps = typeable(self._kinds[self._live.kind], self._live.state)
            print(f"↪ {tell(steps, self._language)}", file=self._out)
        print(f"⏱ {time.perf_counter() - started:.2f} s", file=self._out)
        return True

    async def cancellable(self, line: str) -> bool:
        """Run a typed command: Ctrl-C cancels it and returns to the prompt; a second Ctrl-C
        before it has stopped quits (KeyboardInterrupt)."""
        loop = asyncio.get_running_loop()
        task = asyncio.ensure_future(self.execute(line))
        presses = 0

        def interrupt(signum: int, frame: object) -> None:
            nonlocal presses
            presses += 1
            if presses > 1:
                raise KeyboardInterrupt
            loop.call_soon_threadsafe(task.cancel)

        previous = signal.signal(signal.SIGINT, interrupt)
        try:
            return await task
        except asyncio.CancelledError:
            if not presses:  # cancelled from outside, not by the user
                raise
            print(tell(phrase("⏹ Cancelled."), self._language), file=self._out)
            return False
        finally:
            signal.signal(signal.SIGINT, previous)

    async def run_lines(self, commands: Iterable[str], echo: bool = True) -> int:
        """Run each command (echoed first, unless the user just typed it: then Ctrl-C
        cancels it); the exit status is 1 if any failed."""
        failures = 0
        for command in commands:
            if not command.strip() or command.lstrip().startswith("#"):
                continue
            if echo:
                print(f"> {command}", file=self._out)
                failures += not await self.execute(command)
            else:
                failures += not await self.cancellable(command)
        return 1 if failures else 0


def line_editing(history: Path) -> bool:
    """Line editing and a history kept in `history` across sessions, where Python has
    readline; without it, plain input."""
    try:
        import readline
    except ImportError:
        return False
    with contextlib.suppress(OSError):
        readline.read_history_file(history)
    readline.set_history_length(HISTORY_LENGTH)
    return True


def typed_lines(history: Path, read: Callable[[str], str] = input) -> Iterator[str]:
    """Lines typed at the prompt, each kept in the history file as soon as it is typed;
    Ctrl-D or Ctrl-C at the prompt ends them."""
    editing = line_editing(history)
    print(f"Model Explorer console — /help lists the commands. {CONTROLS}")
    while True:
        previous = signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            line = read(PROMPT)
        except (EOFError, KeyboardInterrupt):
            print()
            return
        finally:
            signal.signal(signal.SIGINT, previous)
        if editing:
            import readline

            with contextlib.suppress(OSError):
                readline.write_history_file(history)
        yield line


async def run_console(settings: Settings, commands: Iterable[str], echo: bool = True) -> int:
    """Run commands through a fresh runtime and close it afterwards."""
    runtime = Runtime(settings)
    try:
        await runtime.start(preload=False)
        return await Console(runtime, settings.output_dir).run_lines(commands, echo)
    finally:
        await runtime.close()
