"""The C library's allocator, told to give freed memory back to the system after each batch of
model work, so that resident memory follows what the bot keeps (models, kept explorations)
without a pass paying for it step by step."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
from collections.abc import Callable

log = logging.getLogger(__name__)

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameters (malloc.h)
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
# Blocks this large or larger get a mapping of their own, returned when freed: glibc's largest
# dynamic threshold, so that a kept exploration's tensors never pin a heap.
MMAP_THRESHOLD = 32 * 2**20
# Free memory at the top of a heap is kept up to this much by `free` itself, so that the
# steps of one pass reuse their buffers instead of faulting them in afresh; `give_back`
# returns it after the batch.
TRIM_THRESHOLD = 1024 * 2**20
# One heap for every thread: `malloc_trim` gives back the top of the main heap only, and the
# worker threads' own heaps kept up to 25 MiB more than the budget (tests/test_memory.py).
ARENAS = 1

# `malloc_trim`, once `release_large_blocks` configured the allocator.
_trim: list[Callable[[int], int]] = []


def release_large_blocks() -> bool:
    """Configure glibc's allocator for `give_back`: one heap, fixed mmap and trim thresholds.
    glibc's own thresholds start at 128 KiB and rise with each large block freed, after
    which heaps kept a long input's buffers and resident memory grew 1.5× the exploration
    budget (bench/memory_bench.py); a 1 MiB mmap threshold bounded that, but mapped and
    unmapped every buffer of every step, and /attribute page-faulted its way to 1.7× the time
    (bench/attribution_bench.py). Left as it is when the operator set
    MALLOC_MMAP_THRESHOLD_, or where the C library is not glibc. True if set here."""
    if "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt, trim = libc.mallopt, libc.malloc_trim
    except (OSError, AttributeError):
        log.debug("no mallopt in this C library: the allocator is left as it is")
        return False
    settings = ((M_MMAP_THRESHOLD, MMAP_THRESHOLD), (M_TRIM_THRESHOLD, TRIM_THRESHOLD),
                (M_ARENA_MAX, ARENAS))  # fmt: skip
    if not all(mallopt(parameter, value) for parameter, value in settings):
        return False
    _trim[:] = [trim]
    return True


def give_back() -> None:
    """Return the free memory of every heap to the system (`malloc_trim(0)`: under 0.1 ms
    when little is free, about 10 ms after a 512-token pass freed 100 MiB), if
    `release_large_blocks` configured the allocator."""
    for trim in _trim:
        trim(0)
