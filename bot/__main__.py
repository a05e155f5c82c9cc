"""Entry point: `python -m bot` (Discord, or the console without a token),
`python -m bot console "/attention text:I am studying NLP."` and `python -m bot fetch hfl/rbt3`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Iterable

from .allocator import release_large_blocks
from .interrupts import blocked_for_new_threads
from .settings import (
    Settings,
    SettingsError,
    configure_logging,
    load_settings,
    writable_directory,
)


def _console(settings: Settings, commands: list[str]) -> int:
    """Run the commands given as arguments, else those typed or piped in (a piped line that
    does not start with `/` continues the command before it)."""
    from .console import HISTORY_FILE, command_lines, run_console, typed_lines

    interactive = not commands and sys.stdin.isatty()
    if commands:
        source: Iterable[str] = commands
    elif interactive:
        source = typed_lines(HISTORY_FILE.expanduser())
    else:
        source = command_lines(sys.stdin)
    try:
        return asyncio.run(run_console(settings, source, echo=not interactive))
    except KeyboardInterrupt:  # Ctrl-C outside a typed command: stop, without a traceback
        print(file=sys.stderr)
        return 130


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, load settings, and run the bot or the console."""
    release_large_blocks()  # before any thread takes a heap of its own (the store's would)
    with blocked_for_new_threads():  # numpy's OpenBLAS starts its threads at import
        import numpy  # noqa: F401
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    sub = parser.add_subparsers(dest="mode")
    console = sub.add_parser("console", help="run commands locally, without Discord")
    console.add_argument("lines", nargs="*", help='command lines, e.g. "/models"')
    sub.add_parser("run", help="connect to Discord (needs DISCORD_TOKEN)")
    fetching = sub.add_parser("fetch", help="download a Hub model into the Hugging Face cache")
    fetching.add_argument("model", help="a Hub id, e.g. hfl/rbt3")
    args = parser.parse_args(argv)
    if args.mode == "fetch":
        from .fetch import fetch

        return fetch(args.model)
    try:
        settings = load_settings()
        consoling = args.mode == "console" or (args.mode is None and settings.token is None)
        if consoling:  # checked now, not at the first picture
            writable_directory("CONSOLE_OUTPUT_DIR", str(settings.output_dir))
        elif settings.log_hash_key is None:  # the key of the log's user tags is kept there
            writable_directory("DATA_DIR", str(settings.data_dir))
    except SettingsError as error:
        print(f"Configuration error: {error}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    from .compute import ComputeError

    try:
        return _run(args.mode, args.lines if args.mode == "console" else [], settings)
    except ComputeError as error:
        print(f"Compute error: COMPUTE_BACKEND={settings.compute_backend}: {error}",
              file=sys.stderr)  # fmt: skip
        return 2


def _run(mode: str | None, lines: list[str], settings: Settings) -> int:
    """The console, or the bot on Discord."""
    if mode == "console":
        return _console(settings, lines)
    if settings.token is None:
        if mode == "run":
            print("DISCORD_TOKEN is not set; see .env.example.", file=sys.stderr)
            return 2
        print("No DISCORD_TOKEN set: starting the local console instead.", file=sys.stderr)
        return _console(settings, [])
    from .app import serve
    from .connection import DiscordError
    from .store import StoreError

    try:
        return asyncio.run(serve(settings))
    except StoreError as error:
        print(f"Database error: {settings.database_key}: {error}", file=sys.stderr)
        return 2
    except SettingsError as error:
        print(f"Configuration error: {error}", file=sys.stderr)
        return 2
    except DiscordError as error:
        print(f"Discord error: {error}", file=sys.stderr)
        return error.status


if __name__ == "__main__":
    sys.exit(main())
