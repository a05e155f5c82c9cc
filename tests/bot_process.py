"""Starting the bot exactly as a user does (`python -m bot run`) against the fake Discord."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import BinaryIO

import coverage

from tests.fake_discord import GUILD_ID, TOKEN, FakeDiscord

ROOT = Path(__file__).parents[1]
# The line the bot logs when it is done with an interaction (bot.pipeline.log_line).
INTERACTION_LINE = re.compile(r" command=\S+ kind=(?:command|press|autocomplete) ")


def measured() -> dict[str, str]:
    """Under coverage (`pytest --cov`), the environment that has the bot measure itself too:
    coverage's `.pth` hook starts it in the new process, which saves its data when it exits."""
    if coverage.Coverage.current() is None:
        return {}
    return {"COVERAGE_PROCESS_START": str(ROOT / "pyproject.toml")}


class BotProcess:
    """A bot subprocess whose log goes to a file the tests can read; each chunk of it, as it
    arrives, wakes whoever waits for a line (`logged`, `quiet`)."""

    def __init__(self, fake: FakeDiscord, log_path: Path, models: str, **env: str) -> None:
        self.fake = fake
        self.log_path = log_path
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/tmp"),
            "HF_HUB_OFFLINE": "1",
            "PYTHONUNBUFFERED": "1",
            "DISCORD_TOKEN": TOKEN,
            "DISCORD_GUILD_IDS": str(GUILD_ID),
            "DISCORD_API_BASE": fake.api_base,
            "DISCORD_GATEWAY_URL": fake.gateway_url,
            "MODELS": models,
            "LOG_LEVEL": "INFO",
            # Beside the log: a bot started again with a log in the same folder finds it.
            "DATA_DIR": str(log_path.parent / "data"),
            **measured(),
            **env,
        }
        self.process: asyncio.subprocess.Process | None = None
        self._copying: asyncio.Future[None] | None = None
        self._log_ended = False  # the bot closed its output: it has stopped
        self._log_changed = asyncio.Condition()
        self._sent_before = 0  # interactions the fake had sent before this process started

    async def start(self, timeout: float = 300.0, warm: bool = True, syncs: bool = True) -> None:
        """Start the bot and wait until it has synced its commands (if it `syncs`) and
        connected, and (with `warm`) until its libraries and default model are loaded."""
        self.fake.ready.clear()
        if syncs:
            self.fake.synced.clear()
        await self.launch()
        assert self.process is not None
        waiting = asyncio.gather(self.fake.synced.wait(), self.fake.ready.wait())
        exited = asyncio.ensure_future(self.process.wait())
        done, _ = await asyncio.wait({waiting, exited}, timeout=timeout,
                                     return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
        if waiting not in done:
            waiting.cancel()
            await asyncio.gather(waiting, return_exceptions=True)
            raise RuntimeError(f"the bot did not come up:\n{self.log()}")
        if warm:
            await self.logged("ready for model work", timeout)
        exited.cancel()

    async def launch(self) -> None:
        """Start the bot process, without waiting for anything."""
        self._sent_before = len(self.fake.interactions)
        self._log_ended = False
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run",
            cwd=ROOT, env=self.env, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        assert self.process.stdout is not None
        log = self.log_path.open("wb")  # there from the start, empty
        self._copying = asyncio.ensure_future(self._copy_log(self.process.stdout, log))

    async def _copy_log(self, output: asyncio.StreamReader, log: BinaryIO) -> None:
        """Copy the bot's output into the log file as it comes, telling the waiters."""
        with log:
            while chunk := await output.read(65536):
                log.write(chunk)
                log.flush()
                async with self._log_changed:
                    self._log_changed.notify_all()
        async with self._log_changed:
            self._log_ended = True
            self._log_changed.notify_all()

    async def exited(self, timeout: float = 90.0) -> int:
        """The exit status, once the bot has stopped by itself and its log is complete."""
        assert self.process is not None and self._copying is not None
        async with asyncio.timeout(timeout):
            status = await self.process.wait()
            await self._copying
        return status

    async def exit_status(self, timeout: float = 90.0) -> int:
        """Start the bot and wait for it to stop by itself; its exit status."""
        await self.launch()
        return await self.exited(timeout)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def memory_mib(self, field: str = "VmRSS") -> float:
        """The process's memory now (`VmRSS`, resident) or at its peak (`VmHWM`), in MiB."""
        assert self.process is not None
        return memory_mib(self.process.pid, field)

    def children(self) -> set[int]:
        """The processes the bot started (its drawing processes)."""
        assert self.process is not None
        return children(self.process.pid)

    async def until_log(self, holds: Callable[[str], bool], timeout: float) -> None:
        """Wait until `holds(log)`, checked each time the bot writes to its log."""
        async with asyncio.timeout(timeout), self._log_changed:
            while not holds(self.log()):
                if self._log_ended:
                    raise RuntimeError(f"the bot stopped:\n{self.log()}")
                await self._log_changed.wait()

    async def logged(self, text: str, timeout: float = 120.0) -> None:
        """Wait until the bot's log holds `text`."""
        await self.until_log(lambda log: text in log, timeout)

    async def quiet(self, timeout: float = 120.0) -> None:
        """Wait until the bot (the only one on its fake) is done with every interaction the
        fake sent it: each one ends with its log line (`command=… kind=…`), written after the
        last reply."""
        sent = len(self.fake.interactions) - self._sent_before
        await self.until_log(lambda log: len(INTERACTION_LINE.findall(log)) >= sent, timeout)

    async def terminate(self, timeout: float = 30.0) -> int:
        """Stop the bot as an operator does (SIGTERM); its exit status."""
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return await self.exited(timeout)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
            raise


@asynccontextmanager
async def fresh_bot(
    log_path: Path, models: str, start: bool = True, **env: str
) -> AsyncIterator[tuple[FakeDiscord, BotProcess]]:
    """A fake Discord of its own and a bot process on it (started unless `start` is False);
    both are stopped afterwards."""
    server = FakeDiscord()
    await server.start()
    process = BotProcess(server, log_path, models, **env)
    try:
        if start:
            await process.start()
        yield server, process
    finally:
        if process.process is not None and process.process.returncode is None:
            await process.terminate()
        await server.stop()


def memory_mib(pid: int, field: str = "VmRSS") -> float:
    """A process's memory now (`VmRSS`, resident) or at its peak (`VmHWM`), in MiB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


def children(pid: int) -> set[int]:
    """The processes whose parent is `pid`."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found
