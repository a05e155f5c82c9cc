"""Pictures drawn in processes of their own: the answer comes back, a process that dies is
replaced, and none outlives the bot (stopped, or killed)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import numpy as np

from bot.rendering import Renderers
from bot.runtime import PROCESS_DRAWING_BYTES
from tests.bot_process import fresh_bot
from tests.conftest import make_settings, running
from tests.test_e2e_discord import explore


def alive(pid: int) -> bool:
    """Whether the process runs (a zombie, dead but not yet reaped, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


async def gone(pids: set[int]) -> bool:
    """Whether every one of `pids` has ended, given a few seconds to."""
    for _ in range(100):
        if not any(alive(pid) for pid in pids):
            return True
        await asyncio.sleep(0.1)
    return False


async def test_work_is_drawn_in_another_process_and_stops_with_the_pool():
    renderers = Renderers(1)
    await renderers.start()
    try:
        assert await renderers.run(pow, 2, 10) == 1024
        pid = await renderers.run(os.getpid)
        assert pid != os.getpid()
    finally:
        await renderers.close()
    assert not alive(pid)


async def test_a_drawing_process_that_dies_is_replaced():
    renderers = Renderers(1)
    await renderers.start()
    try:
        first = await renderers.run(os.getpid)
        os.kill(first, signal.SIGKILL)
        await gone({first})
        second = await renderers.run(os.getpid)
        assert second != first and alive(second)
        assert await renderers.run(divmod, 7, 2) == (3, 1)
    finally:
        await renderers.close()


async def test_work_under_way_in_a_pool_that_breaks_is_all_drawn_again(caplog):
    renderers = Renderers(2)
    await renderers.start()
    try:
        drawing = [asyncio.ensure_future(renderers.run(pid_after, 1.0)) for _ in range(2)]
        await asyncio.sleep(0.5)  # both are drawing
        os.kill(_a_process(renderers), signal.SIGKILL)  # the pool breaks under both
        again = await asyncio.gather(*drawing)
        assert len(again) == 2 and all(alive(pid) for pid in again)
        assert caplog.text.count("a drawing process died") == 1  # one new pool for both
    finally:
        await renderers.close()


def _a_process(renderers: Renderers) -> int:
    """One of the pool's processes."""
    return next(iter(renderers._pool._processes))


def pid_after(seconds: float) -> int:
    """This process's id, after a while."""
    time.sleep(seconds)
    return os.getpid()


async def test_no_drawing_process_outlives_the_bot(tmp_path, tiny_dir):
    for ending in ("terminated", "killed"):
        log = tmp_path / ending / "bot.log"
        log.parent.mkdir()
        async with fresh_bot(log, f"tiny={tiny_dir}", RENDER_PROCESSES="2") as (fake, bot):
            await explore(fake, text="hello world", model="tiny")  # drawn in a process
            assert bot.process is not None
            drawing = bot.children()
            assert len(drawing) >= 2
            if ending == "terminated":
                assert await bot.terminate() == 0
            else:
                bot.process.kill()
                await bot.process.wait()
            assert await gone(drawing), f"left running after the bot was {ending}"


def drawn_where(*_: object) -> int:
    """Stands for a drawing: which process it ran in."""
    return os.getpid()


async def test_arguments_too_big_to_be_worth_pickling_are_drawn_on_a_worker_thread(tiny_dir):
    settings = make_settings(f"tiny={tiny_dir}", RENDER_PROCESSES="1")
    async with running(settings) as runtime:
        small = np.zeros(1024, np.float32)
        big = np.zeros(PROCESS_DRAWING_BYTES // 4 + 1, np.float32)  # an exploration's size
        assert await runtime.render(drawn_where, small) != os.getpid()
        assert await runtime.render(drawn_where, big) == os.getpid()
