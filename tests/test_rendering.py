"""Pictures drawn in processes of their own: the answer comes back, a process that dies is
replaced, and none outlives the bot (stopped, or killed)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from bot import rendering
from bot.rendering import DrawingFailed, Renderers
from bot.runtime import PROCESS_DRAWING_BYTES
from tests.bot_process import fresh_bot
from tests.conftest import make_settings, running
from tests.test_e2e_discord import explore

ROOT = Path(__file__).parents[1]


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


@contextlib.asynccontextmanager
async def started(processes: int) -> AsyncIterator[Renderers]:
    """A pool of drawing processes, started, and stopped after use."""
    renderers = Renderers(processes)
    await renderers.start()
    try:
        yield renderers
    finally:
        await renderers.close()


async def test_work_is_drawn_in_another_process_and_stops_with_the_pool():
    async with started(1) as renderers:
        assert await renderers.run(pow, 2, 10) == 1024
        pid = await renderers.run(os.getpid)
        assert pid != os.getpid()
    assert not alive(pid)


async def test_a_drawing_process_that_dies_is_replaced():
    async with started(1) as renderers:
        first = await renderers.run(os.getpid)
        os.kill(first, signal.SIGKILL)
        await gone({first})
        second = await renderers.run(os.getpid)
        assert second != first and alive(second)
        assert await renderers.run(divmod, 7, 2) == (3, 1)


async def test_work_under_way_in_a_process_that_dies_is_drawn_again_and_the_rest_is_not(caplog):
    async with started(2) as renderers:
        drawing = [asyncio.ensure_future(renderers.run(pid_after, 1.0)) for _ in range(2)]
        await asyncio.sleep(0.5)  # both are drawing, one in each process
        killed, spared = _processes(renderers)
        os.kill(killed, signal.SIGKILL)
        drawn = await asyncio.gather(*drawing)
        assert spared in drawn  # the other process's drawing was not disturbed
        assert killed not in drawn and len(set(drawn)) == 2  # drawn again, elsewhere
        assert caplog.text.count("a drawing process died") == 1
        assert len(_processes(renderers)) == 2  # and the dead one replaced


async def test_work_that_kills_its_process_twice_fails_and_the_pool_still_draws(caplog):
    async with started(1) as renderers:
        with pytest.raises(DrawingFailed):
            await renderers.run(os._exit, 3)
        assert await renderers.run(divmod, 7, 2) == (3, 1)
    assert "in a row" not in caplog.text  # processes killed by their work: replaced at once


async def test_an_error_in_a_drawing_reaches_the_caller_with_where_it_happened():
    async with started(1) as renderers:
        with pytest.raises(ValueError, match="no picture") as raised:
            await renderers.run(fails_to_draw)
        assert "fails_to_draw" in str(raised.value.__cause__)  # the drawing process's traceback
        assert await renderers.run(pow, 3, 2) == 9  # the process lives on


async def test_work_of_a_process_that_dies_goes_to_a_free_one_without_waiting_for_its_successor(
    monkeypatch,
):
    async with started(2) as renderers:
        monkeypatch.setattr(renderers, "_respawn", lambda wait: None)  # no successor comes
        drawing = asyncio.ensure_future(renderers.run(pid_after, 0.5))
        await asyncio.sleep(0.3)
        busy, free = _processes(renderers)  # work goes to the first free process
        os.kill(busy, signal.SIGKILL)
        assert await asyncio.wait_for(drawing, 30) == free


async def test_a_pool_whose_every_process_is_gone_starts_one_for_the_next_drawing(caplog):
    async with started(1) as renderers:
        spawn = renderers._spawn
        failures = iter([OSError("fork: Cannot allocate memory")])

        async def failing_once() -> object:
            for error in failures:
                raise error
            return await spawn()

        renderers._spawn = failing_once  # type: ignore[method-assign]
        (only,) = _processes(renderers)
        os.kill(only, signal.SIGKILL)
        await logged(caplog, "could not start a drawing process")  # its successor failed
        assert not _processes(renderers)
        pid = await asyncio.wait_for(renderers.run(os.getpid), 30)
        assert alive(pid) and pid != only


class Unreadable(Exception):
    """An error that pickles but does not unpickle (its arguments are not its message's)."""

    def __init__(self, left: str, right: str) -> None:
        super().__init__(f"{left} and {right}")


def fails_unreadably() -> None:
    raise Unreadable("this", "that")


def stops_iterating() -> None:
    next(iter(()))


@pytest.mark.parametrize(
    ("drawing", "error", "told"),
    [
        (fails_unreadably, RuntimeError, "Unreadable: this and that"),
        (stops_iterating, DrawingFailed, "StopIteration"),
    ],
)
async def test_an_error_that_cannot_travel_back_still_reaches_the_caller(drawing, error, told):
    async with started(1) as renderers:
        with pytest.raises(error, match=told):
            await asyncio.wait_for(renderers.run(drawing), 30)
        assert await renderers.run(pow, 3, 2) == 9  # the process lives on


async def test_processes_that_keep_dying_soon_after_starting_are_replaced_ever_more_slowly(
    monkeypatch, caplog
):
    monkeypatch.setattr(rendering, "FIRST_RESPAWN_WAIT", 0.5)
    async with started(1) as renderers:
        spawn, spawned = renderers._spawn, []

        async def recorded() -> object:
            spawned.append(time.monotonic())
            return await spawn()

        renderers._spawn = recorded  # type: ignore[method-assign]
        killed: list[float] = []
        dead: set[int] = set()
        for _ in range(3):  # each killed as soon as it is ready
            (pid,) = await ready_processes(renderers, dead)
            os.kill(pid, signal.SIGKILL)
            killed.append(time.monotonic())
            dead.add(pid)
        await ready_processes(renderers, dead)
        waits = [start - death for start, death in zip(spawned, killed, strict=True)]
        assert waits[0] < 0.5 <= waits[1] < 1.0 <= waits[2] < 3.0, waits  # 0, then doubling
        assert "in 1 s (3 in a row died idle within 10 s of starting)" in caplog.text
        monkeypatch.setattr(rendering, "FIRST_RESPAWN_WAIT", 30.0)
        (pid,) = _processes(renderers)
        os.kill(pid, signal.SIGKILL)
        assert await gone({pid})
        await logged(caplog, "in 60 s (4 in a row")  # its death seen, its successor waits
        assert not _processes(renderers)
        closing = time.monotonic()
    assert time.monotonic() - closing < 5  # closed without waiting out the minute
    assert len(spawned) == 3  # and without starting the fourth successor


async def logged(caplog: pytest.LogCaptureFixture, text: str) -> None:
    """Return once `text` is in the captured log, given ten seconds to appear."""
    for _ in range(200):
        if text in caplog.text:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never logged: {text!r}")


async def ready_processes(renderers: Renderers, dead: set[int]) -> list[int]:
    """The pool's processes once every one of them is ready for work, and none of `dead` (the
    pool may not have seen them die yet) is among them."""
    for _ in range(600):
        drawers = renderers._drawers
        pids = {drawer.process.pid for drawer in drawers}
        if drawers and all(drawer.free for drawer in drawers) and not pids & dead:
            return [drawer.process.pid for drawer in drawers if drawer.process.pid]
        await asyncio.sleep(0.05)
    raise AssertionError("no process became ready")


async def test_closing_finishes_drawing_under_way_and_drops_waiting_work():
    renderers = Renderers(1)
    await renderers.start()
    under_way = asyncio.ensure_future(renderers.run(pid_after, 0.5))
    waiting = asyncio.ensure_future(renderers.run(pid_after, 0.5))
    await asyncio.sleep(0.2)
    await renderers.close()
    assert isinstance(under_way.result(), int)
    assert waiting.cancelled()
    with pytest.raises(DrawingFailed, match="stopping"):
        await renderers.run(pow, 2, 2)


HANGING_PARENT = """
import asyncio, sys, time
from bot.rendering import Renderers

async def main():
    renderers = Renderers(1)
    await renderers.start()
    print(renderers._drawers[0].process.pid, flush=True)
    await renderers.run(time.sleep, 600)  # a drawing that hangs

asyncio.run(main())
"""


async def test_a_drawing_process_ends_when_its_parent_is_killed_even_while_drawing():
    parent = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HANGING_PARENT, cwd=ROOT, stdout=asyncio.subprocess.PIPE
    )
    assert parent.stdout is not None
    child = int(await asyncio.wait_for(parent.stdout.readline(), 60))
    await asyncio.sleep(0.5)  # drawing
    parent.kill()
    await parent.wait()
    assert await gone({child})


def _processes(renderers: Renderers) -> list[int]:
    """The pool's processes, in the order work goes to them."""
    return [drawer.process.pid for drawer in renderers._drawers if drawer.process.pid]


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


def fails_to_draw() -> None:
    """Stands for a drawing that fails."""
    raise ValueError("no picture")


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
