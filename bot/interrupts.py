"""Ctrl-C and SIGTERM reach the main thread. The kernel hands a process signal to any thread
that does not block it; the console's prompt (readline waiting in `select`) wakes only when
the signal lands on the main thread, so every other thread blocks them."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator

INTERRUPTS = {signal.SIGINT, signal.SIGTERM}


def block_in_this_thread() -> None:
    """For a worker thread's initializer: this thread, and those it starts, never take them."""
    signal.pthread_sigmask(signal.SIG_BLOCK, INTERRUPTS)


@contextlib.contextmanager
def blocked_for_new_threads() -> Iterator[None]:
    """Threads started inside (numpy's OpenBLAS starts its own at import) block them; the
    calling thread takes them again afterwards."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, INTERRUPTS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
