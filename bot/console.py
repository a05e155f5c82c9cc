"""The local console: the chat's slash-command syntax, run through the same handlers."""

from __future__ import annotations

import inspect
import logging
import re
import sys
import types
import typing
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from commands.handlers import HANDLERS, Handler, describe
from commands.results import Reply, UserError

from .runtime import Job, Runtime
from .settings import Settings, parse_flag

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Option:
    """One option of a command, read from its handler's signature."""

    name: str
    kind: type
    required: bool


@dataclass(frozen=True)
class Invocation:
    """A parsed command line: which handler, with which arguments."""

    command: str
    arguments: dict[str, Any]


def options(handler: Handler) -> tuple[Option, ...]:
    """The options a handler takes after its context, with their base types."""
    hints = typing.get_type_hints(handler)
    found = []
    for parameter in list(inspect.signature(handler).parameters.values())[1:]:
        kind = hints[parameter.name]
        if isinstance(kind, types.UnionType):
            kind = next(arg for arg in typing.get_args(kind) if arg is not type(None))
        found.append(Option(parameter.name, kind, parameter.default is inspect.Parameter.empty))
    return tuple(found)


def _convert(option: Option, raw: str) -> Any:
    value = raw.strip()
    if option.kind is int:
        try:
            return int(value)
        except ValueError:
            raise UserError(f"`{option.name}` must be a whole number, got `{value}`.") from None
    if option.kind is bool:
        flag = parse_flag(value)
        if flag is None:
            raise UserError(f"`{option.name}` must be true or false, got `{value}`.")
        return flag
    return value


def parse(line: str) -> Invocation:
    """Parse `/name option:value option:value`; a value runs until the next known option."""
    match = re.match(r"\s*/?(\w+)\s*(.*)", line, re.DOTALL)
    if not match or match.group(1) not in HANDLERS:
        known = ", ".join(f"/{name}" for name in HANDLERS)
        raise UserError(f"Unknown command. Commands: {known}, /help.")
    command, rest = match.groups()
    known_options = {option.name: option for option in options(HANDLERS[command])}
    pattern = (
        re.compile(r"(?:^|(?<=\s))(" + "|".join(known_options) + r"):") if known_options else None
    )
    pieces = pattern.split(rest) if pattern else [rest]
    if pieces[0].strip():
        raise UserError(
            f"`{pieces[0].strip()[:40]}` is not an option of /{command}. "
            f"Options: {', '.join(known_options) or 'none'}."
        )
    arguments = {}
    for name, raw in zip(pieces[1::2], pieces[2::2], strict=True):
        arguments[name] = _convert(known_options[name], raw)
    missing = [o.name for o in known_options.values() if o.required and o.name not in arguments]
    if missing:
        raise UserError(f"/{command} needs {', '.join(f'`{m}:`' for m in missing)}.")
    return Invocation(command, arguments)


def help_text() -> str:
    """Every command with its options, required ones first."""
    lines = ["Commands (options as name:value):"]
    for name, handler in HANDLERS.items():
        opts = " ".join(f"{o.name}:…" if o.required else f"[{o.name}:…]" for o in options(handler))
        lines.append(f"  /{name} {opts}\n      {describe(handler)}")
    return "\n".join(lines)


class Console:
    """Runs command lines and writes attachments into an output folder."""

    def __init__(self, runtime: Runtime, output_dir: Path, out: TextIO = sys.stdout) -> None:
        self._runtime = runtime
        self._output_dir = output_dir
        self._out = out
        self._count = 0

    def _save(self, reply: Reply, command: str) -> list[Path]:
        self._output_dir.mkdir(parents=True, exist_ok=True)
        paths = []
        for attachment in reply.attachments:
            self._count += 1
            path = self._output_dir / f"{self._count:03d}-{command}-{attachment.filename}"
            path.write_bytes(attachment.data)
            paths.append(path)
        return paths

    async def execute(self, line: str) -> bool:
        """Run one command line, print its reply; False when it failed."""
        if line.strip() in {"/help", "help"}:
            print(help_text(), file=self._out)
            return True
        job = Job(self._runtime)
        try:
            invocation = parse(line)
            reply = await HANDLERS[invocation.command](job, **invocation.arguments)
        except UserError as error:
            print(f"⚠️ {error}", file=self._out)
            return False
        except Exception:
            log.exception("command failed: %s", line[:200])
            print(
                "⚠️ Something went wrong running that command; details are in the log.",
                file=self._out,
            )
            return False
        finally:
            job.close()
        print(reply.content, file=self._out)
        for path in self._save(reply, invocation.command):
            print(f"📎 saved {path}", file=self._out)
        return True

    async def run_lines(self, lines: Iterable[str], echo: bool = True) -> int:
        """Run each non-blank line (echoed first, unless the user just typed it); the exit
        status is 1 if any failed."""
        failures = 0
        for line in lines:
            if line.strip() and not line.lstrip().startswith("#"):
                if echo:
                    print(f"> {line.strip()}", file=self._out)
                failures += not await self.execute(line)
        return 1 if failures else 0


async def run_console(settings: Settings, lines: Iterable[str], echo: bool = True) -> int:
    """Run command lines through a fresh runtime and close it afterwards."""
    runtime = Runtime(settings)
    try:
        return await Console(runtime, settings.output_dir).run_lines(lines, echo)
    finally:
        runtime.close()
