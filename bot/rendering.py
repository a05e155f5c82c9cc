"""Drawing in a small pool of worker processes. Drawing is Python for the most part and holds
the interpreter lock, which the event loop and the forward passes need too: in processes of
their own, pictures are drawn beside them, on the other cores. The processes are spawned (the
bot has threads, which a fork would copy half-way), started with the runtime and warmed (the
drawing code imported), bounded in number, and stopped with it; Ctrl-C is left to the parent,
which stops them, and a process whose parent is gone (killed) ends too. What is drawn and what
it is drawn from cross a pipe, pickled: a render function is a module's, its arguments
results (arrays, dataclasses), its answer a picture."""

from __future__ import annotations

import asyncio
import functools
import importlib
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")
# Imported by each process as it starts: the features, whose functions draw.
DRAWING_CODE = "commands"
# How often a drawing process checks that its parent is still there.
PARENT_CHECK_SECONDS = 1.0


def _prepare(parent: int) -> None:
    """In each drawing process, first: Ctrl-C at a terminal reaches the whole process group,
    and is the parent's to handle; the process ends once its parent is gone (the pool's pipes
    would keep it waiting for work forever); the drawing code is imported before the first
    picture."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_end_without, args=(parent,), daemon=True).start()
    importlib.import_module(DRAWING_CODE)


def _end_without(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(0)


class Renderers:
    """A pool of `processes` drawing processes."""

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        context = multiprocessing.get_context("spawn")
        return ProcessPoolExecutor(
            self.processes, mp_context=context, initializer=_prepare, initargs=(os.getpid(),)
        )

    async def start(self) -> None:
        """Start every process, each importing the drawing code."""
        loop = asyncio.get_running_loop()
        started = [loop.run_in_executor(self._pool, os.getpid) for _ in range(self.processes)]
        await asyncio.gather(*started)

    async def run(self, fn: Callable[..., T], /, *args: Any) -> T:
        """`fn(*args)` in one of the processes; a pool broken by a process that died (killed
        for its memory, say) is replaced, once for all the work it had, and the work tried
        once more."""
        loop = asyncio.get_running_loop()
        work = functools.partial(fn, *args)
        pool = self._pool
        try:
            return await loop.run_in_executor(pool, work)
        except BrokenProcessPool:
            if self._pool is pool:  # not replaced already for other work it had
                log.warning("a drawing process died; starting the pool again")
                self._pool = self._new_pool()
                pool.shutdown(wait=False, cancel_futures=True)
            return await loop.run_in_executor(self._pool, work)

    async def close(self) -> None:
        """Stop the processes (drawing under way is finished first, queued drawing dropped)."""
        await asyncio.to_thread(self._pool.shutdown, wait=True, cancel_futures=True)
