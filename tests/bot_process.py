"""Starting the bot exactly as a user does (`python -m bot run`) against the fake Discord."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from tests.fake_discord import GUILD_ID, TOKEN, FakeDiscord

ROOT = Path(__file__).parents[1]


class BotProcess:
    """A bot subprocess whose log goes to a file the tests can read."""

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
            **env,
        }
        self.process: asyncio.subprocess.Process | None = None

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
        with self.log_path.open("wb") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run",
                cwd=ROOT, env=self.env, stdin=asyncio.subprocess.DEVNULL,
                stdout=log, stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip

    async def exit_status(self, timeout: float = 90.0) -> int:
        """Start the bot and wait for it to stop by itself; its exit status."""
        await self.launch()
        assert self.process is not None
        return await asyncio.wait_for(self.process.wait(), timeout)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def memory_mib(self, field: str = "VmRSS") -> float:
        """The process's memory now (`VmRSS`, resident) or at its peak (`VmHWM`), in MiB."""
        assert self.process is not None
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1]) / 1024
        raise RuntimeError(f"no {field} in /proc/{self.process.pid}/status")

    async def logged(self, text: str, timeout: float = 120.0) -> None:
        """Wait until the bot's log holds `text` (a condition, not a guess at how long)."""
        assert self.process is not None
        async with asyncio.timeout(timeout):
            while text not in self.log():
                if self.process.returncode is not None:
                    raise RuntimeError(f"the bot stopped:\n{self.log()}")
                await asyncio.sleep(0.05)

    async def terminate(self, timeout: float = 30.0) -> int:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.process.wait(), timeout)
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
