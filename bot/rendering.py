"""Drawing in a small pool of worker processes. Drawing is Python for the most part and holds
the interpreter lock, which the event loop and the forward passes need too: in processes of
their own, pictures are drawn beside them, on the other cores. The processes are spawned (the
bot has threads, which a fork would copy half-way), started with the runtime and warmed (the
drawing code imported), bounded in number, and stopped with it; Ctrl-C is left to the parent,
which stops them, and a process whose parent is gone (killed) ends too, even in the middle
of a drawing.

What is drawn and what it is drawn from cross a pipe, pickled: a render function is a
module's, its arguments results (arrays, dataclasses), its answer a picture. The event loop
writes the work into a free process's pipe and reads the answer from the other as it arrives:
no thread of this process stands between them (a process pool's feeder and manager threads
each waited for the interpreter lock, about 2.5 ms a picture)."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import importlib
import logging
import multiprocessing
import os
import pickle
import signal
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import IO, Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")
# Imported by each process as it starts: the features, whose functions draw.
DRAWING_CODE = "commands"
# Each message on a pipe: its length (8 bytes, big-endian), then that many bytes of pickle.
HEADER = 8
# How long a process stopping with the bot may take to finish its drawing before it is killed.
STOP_SECONDS = 10.0
# How often a drawing process checks that its parent is still there.
PARENT_CHECK_SECONDS = 1.0
# A process that dies idle this soon after it started is a short life (one killed by what it
# drew is not: that drawing fails after its second try). After two short lives in a row the
# successor waits, twice as long after each next one: processes that cannot live are not
# started again and again, each import of the drawing code taking a core for a second.
SHORT_LIFE_SECONDS = 10.0
FIRST_RESPAWN_WAIT = 1.0
LONGEST_RESPAWN_WAIT = 60.0


class DrawingFailed(Exception):
    """The drawing could not be done: its process died under it twice, no process could
    start, the pool is stopping, or its answer could not be read."""


class RemoteTraceback(Exception):
    """Where a drawing failed, in its process (the cause of the error raised here)."""

    def __str__(self) -> str:
        return str(self.args[0])


def frame(payload: bytes) -> bytes:
    """One message for a pipe."""
    return len(payload).to_bytes(HEADER, "big") + payload


def _read_message(stream: IO[bytes]) -> bytes | None:
    """The next message, or None once the other end is closed."""
    header = stream.read(HEADER)
    if len(header) < HEADER:
        return None
    size = int.from_bytes(header, "big")
    payload = stream.read(size)
    return payload if len(payload) == size else None


def _answer(work: bytes) -> bytes:
    """`fn(*args)` for the pickled `(fn, args)`: `(True, result)` or `(False, error, where)`,
    pickled."""
    try:
        fn, args = pickle.loads(work)  # noqa: S301 - from the parent, on its own pipe
        return pickle.dumps((True, fn(*args)))
    except Exception as error:
        where = traceback.format_exc()
        try:
            told = pickle.dumps((False, error, where))
            pickle.loads(told)  # noqa: S301 - its own bytes: the error must unpickle there too
            return told
        except Exception:  # an error that does not travel is told by its text
            return pickle.dumps((False, RuntimeError(f"{type(error).__name__}: {error}"), where))


def _serve(requests: Connection, answers: Connection, parent: int) -> None:
    """A drawing process: Ctrl-C at a terminal reaches the whole process group, and is the
    parent's to handle; the process ends once its parent is gone (at the end of its work, or
    within a second if a drawing hangs); the drawing code is imported, then readiness told;
    then each piece of work is answered in turn, until the parent closes the pipe."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_end_without, args=(parent,), daemon=True).start()
    importlib.import_module(DRAWING_CODE)
    with (
        contextlib.suppress(BrokenPipeError),  # the parent is gone
        open(requests.fileno(), "rb", closefd=False) as incoming,
        open(answers.fileno(), "wb", closefd=False) as outgoing,
    ):
        outgoing.write(frame(b""))
        outgoing.flush()
        while (work := _read_message(incoming)) is not None:
            outgoing.write(frame(_answer(work)))
            outgoing.flush()


def _end_without(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(0)


class _Reader(asyncio.Protocol):
    """Splits a process's answers pipe into messages."""

    def __init__(self, drawer: _Drawer) -> None:
        self._drawer = drawer
        self._buffer = bytearray()

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while len(self._buffer) >= HEADER:
            size = int.from_bytes(self._buffer[:HEADER], "big")
            if len(self._buffer) < HEADER + size:
                return
            message = self._buffer[HEADER : HEADER + size]  # its own copy
            del self._buffer[: HEADER + size]
            self._drawer.answered(message)

    def connection_lost(self, exc: Exception | None) -> None:
        self._drawer.lost()


@dataclass(eq=False)
class _Work:
    """One drawing: the pickled `(fn, args)`, its caller's future, and whether a process has
    already died under it."""

    payload: bytes
    future: asyncio.Future[Any]
    retried: bool = False


@dataclass(eq=False)
class _Drawer:
    """One drawing process, its two pipes, and the work it is drawing."""

    pool: Renderers
    process: BaseProcess
    ready: asyncio.Future[bool]  # True once the drawing code is imported; False: it never was
    writer: asyncio.WriteTransport | None = None
    work: _Work | None = None
    started_at: float = 0.0  # when it was ready (time.monotonic)

    @property
    def free(self) -> bool:
        return self.work is None and self.ready.done() and self.ready.result()

    def answered(self, message: bytearray) -> None:
        if not self.ready.done():  # the first message: the drawing code is imported
            self.ready.set_result(True)
            self.started_at = time.monotonic()
        elif self.work is not None:
            work, self.work = self.work, None
            if not work.future.done():  # a caller that gave up is gone
                _settle(work.future, message)
        self.pool.dispatch()

    def lost(self) -> None:
        if not self.ready.done():
            self.ready.set_result(False)
        if self.writer is not None:
            self.writer.close()
        self.pool.died(self)


def _settle(future: asyncio.Future[Any], message: bytearray) -> None:
    """The caller's answer: the drawing's result, or its error with where it happened; an
    answer that cannot be given fails the caller with why (StopIteration, say, which no
    future takes)."""
    try:
        answer = pickle.loads(message)  # noqa: S301 - from a drawing process, on its own pipe
        if answer[0]:
            future.set_result(answer[1])
            return
        error, where = answer[1], answer[2]
        error.__cause__ = RemoteTraceback(where)
        future.set_exception(error)
    except Exception as error:
        reason = f"{type(error).__name__}: {error}"
        future.set_exception(DrawingFailed(f"the drawing's answer could not be read ({reason})"))


class Renderers:
    """A pool of `processes` drawing processes."""

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self._drawers: list[_Drawer] = []
        self._waiting: collections.deque[_Work] = collections.deque()
        self._spawning: set[asyncio.Task[_Drawer | None]] = set()  # replacements on their way
        self._reaping: set[asyncio.Future[None]] = set()
        self._short_lives = 0  # processes in a row that died soon after they started
        self._closing = False
        self._closed = asyncio.Event()  # ends a replacement's wait

    async def start(self) -> None:
        """Start every process, each importing the drawing code."""
        drawers = [await self._spawn() for _ in range(self.processes)]
        if not all(await asyncio.gather(*(drawer.ready for drawer in drawers))):
            raise DrawingFailed("a drawing process could not start")

    async def _spawn(self) -> _Drawer:
        loop = asyncio.get_running_loop()
        context = multiprocessing.get_context("spawn")
        work_out, work_in = context.Pipe(duplex=False)
        answers_out, answers_in = context.Pipe(duplex=False)
        process = context.Process(
            target=_serve,
            args=(work_out, answers_in, os.getpid()),
            name="explorer-drawing",
            daemon=True,
        )
        process.start()
        work_out.close()  # the child's ends: its own copies stay open in it
        answers_in.close()
        drawer = _Drawer(self, process, loop.create_future())
        self._drawers.append(drawer)
        drawer.writer, _ = await loop.connect_write_pipe(asyncio.Protocol, work_in)
        await loop.connect_read_pipe(lambda: _Reader(drawer), answers_out)
        return drawer

    def _respawn(self, wait: float = 0.0) -> None:
        """Start another process, in the background, after `wait` seconds."""
        spawning = asyncio.ensure_future(self._spawn_after(wait))
        self._spawning.add(spawning)
        spawning.add_done_callback(self._spawned)

    async def _spawn_after(self, wait: float) -> _Drawer | None:
        """A new process once `wait` seconds have passed; none if the pool closes first."""
        if wait:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closed.wait(), wait)
            if self._closing:
                return None
        return await self._spawn()

    def _spawned(self, spawning: asyncio.Task[_Drawer | None]) -> None:
        self._spawning.discard(spawning)
        error = None if spawning.cancelled() else spawning.exception()
        if error is not None:
            log.error("could not start a drawing process: %s", error)
        self._hand_out()

    async def run(self, fn: Callable[..., T], /, *args: Any) -> T:
        """`fn(*args)` in one of the processes, the first free one. Work under way in a
        process that dies (killed for its memory, say) is drawn once more in another, and the
        process replaced; a pool left with no process starts one again for the next work."""
        if self._closing:
            raise DrawingFailed("the drawing processes are stopping")
        if not self._drawers and not self._spawning:
            self._respawn()
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Work(pickle.dumps((fn, args)), future))
        self.dispatch()
        return await future

    def dispatch(self) -> None:
        """Give waiting work to free processes (dropping work whose caller gave up)."""
        for drawer in self._drawers:
            while self._waiting and self._waiting[0].future.done():
                self._waiting.popleft()
            if not self._waiting:
                return
            if drawer.free:
                drawer.work = self._waiting.popleft()
                assert drawer.writer is not None
                drawer.writer.write(frame(drawer.work.payload))

    def _hand_out(self) -> None:
        """Give waiting work to free processes, or fail it when no process is left and none
        is starting."""
        if self._drawers or self._spawning:
            self.dispatch()
            return
        for work in self._waiting:
            if not work.future.done():
                work.future.set_exception(DrawingFailed("no drawing process could start"))
        self._waiting.clear()

    def died(self, drawer: _Drawer) -> None:
        """A process is gone: its work is drawn again elsewhere (once), and it is replaced
        (after a wait while processes keep dying soon after they start);
        one that never started is not (the next would fail alike; the next work tries)."""
        self._drawers.remove(drawer)
        reaped = asyncio.ensure_future(asyncio.to_thread(_stop, [drawer.process]))
        self._reaping.add(reaped)  # not left a zombie
        reaped.add_done_callback(self._reaping.discard)
        work, drawer.work = drawer.work, None
        if self._closing:
            if work is not None and not work.future.done():
                work.future.set_exception(DrawingFailed("the drawing process died"))
            return
        if not drawer.ready.result():  # it never started
            log.error("a drawing process could not start")
        else:
            lived = time.monotonic() - drawer.started_at
            wait = 0.0 if work is not None else self._replacement_wait(lived)
            log.warning("a drawing process died; starting another%s",
                        f" in {wait:g} s ({self._short_lives} in a row died idle within "
                        f"{SHORT_LIFE_SECONDS:g} s of starting)" if wait else "")  # fmt: skip
            if work is not None and not work.future.done():
                if work.retried:
                    work.future.set_exception(DrawingFailed("the drawing process died twice"))
                else:
                    work.retried = True
                    self._waiting.appendleft(work)
            self._respawn(wait)
        self._hand_out()

    def _replacement_wait(self, lived: float) -> float:
        """How long the successor of a process that died idle after `lived` seconds waits to
        start."""
        self._short_lives = self._short_lives + 1 if lived < SHORT_LIFE_SECONDS else 0
        if self._short_lives < 2:
            return 0.0
        return min(FIRST_RESPAWN_WAIT * 2 ** (self._short_lives - 2), LONGEST_RESPAWN_WAIT)

    async def close(self) -> None:
        """Stop the processes: drawing under way is finished first, waiting work dropped."""
        self._closing = True
        self._closed.set()
        for work in self._waiting:
            work.future.cancel()
        self._waiting.clear()
        if self._spawning:  # a replacement on its way is stopped with the others
            await asyncio.wait(self._spawning)
        under_way = {d.work.future for d in self._drawers if d.work is not None}
        if under_way:  # waited for, not cancelled with this wait
            await asyncio.wait(under_way)
        for drawer in self._drawers:
            if drawer.writer is not None:
                drawer.writer.close()  # the process reads the end of its work, and ends
        processes = [drawer.process for drawer in self._drawers]
        await asyncio.to_thread(_stop, processes)


def _stop(processes: list[BaseProcess]) -> None:
    """Wait for the processes to end (reaped, not left zombies); kill one that does not."""
    for process in processes:
        process.join(STOP_SECONDS)
        if process.is_alive():
            process.kill()
            process.join()
