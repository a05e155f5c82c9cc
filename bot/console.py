"""The local console: the chat's slash-command syntax, parsed from the same declarations and
run through the same handlers; attachments are saved to a folder."""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from commands import COMMANDS
from explorer.contract import Reply, UserError
from explorer.declare import Command, Option
from explorer.text import quote_inline
from explorer.views import VIEWS

from .errors import user_message
from .runtime import Runtime
from .settings import Settings, parse_flag

log = logging.getLogger(__name__)

# Context-menu commands act on a chat message: the console has none to offer them.
BY_PATH = {command.path: command for command in COMMANDS if not command.menu}
# `name:value` where an option could start: after a space, a lower-case name, a colon and a
# value right after it (`see: this` and URLs are text).
_OPTION_LIKE = re.compile(r"(?:^|(?<=\s))([a-z_]+):(?=[^\s/])")
QUOTING_HINT = 'Put a value in double quotes to keep such text in it: text:"ratio:3".'


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
        raise UserError(f"`{match.group(1)}` is not an option here. {QUOTING_HINT}")
    if option.kind is int:
        try:
            converted: Any = int(value)
        except ValueError:
            shown = quote_inline(value, 40)
            raise UserError(f"`{option.name}` must be a whole number, got {shown}.") from None
    elif option.kind is bool:
        converted = parse_flag(value)
        if converted is None:
            shown = quote_inline(value, 40)
            raise UserError(f"`{option.name}` must be true or false, got {shown}.")
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
    raise UserError(f"Unknown command. Commands: {known}, /help.")


def parse(line: str) -> Invocation:
    """Parse `/name option:value …`: a value runs until the next of the command's options;
    anything else written as `name:value` is refused rather than taken as text."""
    command, rest = _command(line)
    names = [option.name for option in command.options]
    pieces = re.split(r"(?:^|(?<=\s))(" + "|".join(names) + r"):(?=\S)", rest) if names else [rest]
    lead = pieces[0].strip()
    if lead:
        match = _OPTION_LIKE.search(lead)
        shown = match.group(1) if match else lead[:40]
        raise UserError(
            f"{quote_inline(shown, 40)} is not an option of /{command.path}. "
            f"Options: {', '.join(names) or 'none'}."
        )
    arguments = {}
    for name, raw in zip(pieces[1::2], pieces[2::2], strict=True):
        arguments[name] = _convert(command.option(name), raw)
    missing = [o.name for o in command.options if o.required and o.name not in arguments]
    if missing:
        raise UserError(f"/{command.path} needs {', '.join(f'`{m}:`' for m in missing)}.")
    return Invocation(command, arguments)


def help_text() -> str:
    """Every command with its options (required ones first), then the attention views."""
    lines = ["Commands (options as name:value):"]
    for command in BY_PATH.values():
        options = sorted(command.options, key=lambda o: not o.required)
        usage = " ".join(f"{o.name}:…" if o.required else f"[{o.name}:…]" for o in options)
        lines.append(f"  /{command.path} {usage}".rstrip())
        lines.append(f"      {command.description}")
    menus = ", ".join(f"“{c.name}”" for c in COMMANDS if c.menu)
    lines.append(f"On a message in Discord (Apps →): {menus}.")
    lines.append("Views of /attention (view:…):")
    lines += [f"  {name:<9}{view.description}" for name, view in VIEWS.items()]
    lines.append(QUOTING_HINT)
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
    """Runs command lines and writes attachments into an output folder, never over the
    files of an earlier run."""

    def __init__(self, runtime: Runtime, output_dir: Path, out: TextIO = sys.stdout) -> None:
        self._runtime = runtime
        self._output_dir = output_dir
        self._out = out

    def _save(self, reply: Reply, command: Command) -> list[Path]:
        self._output_dir.mkdir(parents=True, exist_ok=True)
        taken = [
            int(m[1]) for p in self._output_dir.iterdir() if (m := re.match(r"(\d+)-", p.name))
        ]
        number = max(taken, default=0)
        paths = []
        for attachment in reply.attachments:
            while True:
                number += 1
                name = f"{number:03d}-{command.path.replace(' ', '-')}-{attachment.filename}"
                path = self._output_dir / name
                try:
                    with path.open("xb") as file:  # never over an existing file
                        file.write(attachment.data)
                except FileExistsError:
                    continue
                break
            paths.append(path)
        return paths

    async def execute(self, line: str) -> bool:
        """Run one command line, print its reply and how long it took; False if it failed."""
        if line.strip() in {"/help", "help"}:
            print(help_text(), file=self._out)
            return True
        job = self._runtime.job()
        started = time.perf_counter()
        try:
            invocation = parse(line)
            reply = await invocation.command(job, **invocation.arguments)
        except Exception as error:
            print(user_message(error), file=self._out)
            return False
        finally:
            job.close()
        print(reply.content, file=self._out)
        for path in self._save(reply, invocation.command):
            print(f"📎 saved {path}", file=self._out)
        print(f"⏱ {time.perf_counter() - started:.2f} s", file=self._out)
        return True

    async def run_lines(self, commands: Iterable[str], echo: bool = True) -> int:
        """Run each command (echoed first, unless the user just typed it); the exit status
        is 1 if any failed."""
        failures = 0
        for command in commands:
            if not command.strip() or command.lstrip().startswith("#"):
                continue
            if echo:
                print(f"> {command}", file=self._out)
            failures += not await self.execute(command)
        return 1 if failures else 0


async def run_console(settings: Settings, commands: Iterable[str], echo: bool = True) -> int:
    """Run commands through a fresh runtime and close it afterwards."""
    runtime = Runtime(settings)
    try:
        await runtime.start(preload=False)
        return await Console(runtime, settings.output_dir).run_lines(commands, echo)
    finally:
        await runtime.close()
