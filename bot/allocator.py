"""The C library's allocator, told to give freed memory back to the system after each worker
job, so that resident memory follows what the bot keeps (models, kept explorations) without a
pass paying for it step by step."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameters (malloc.h)
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
# Blocks this large or larger get a mapping of their own, returned when freed (the largest
# value glibc accepts); smaller ones come from the heap, and are reused.
MMAP_THRESHOLD = 32 * 2**20
# glibc before 2.33 (no `mallinfo2`): every block of 1 MiB or more gets a mapping of its own,
# which bounds resident memory as well, at the cost of faulting each pass's buffers in afresh.
FALLBACK_MMAP_THRESHOLD = 2**20
# Free memory at the top of a heap is kept up to this much by `free` itself, so that the
# steps of one pass reuse their buffers instead of faulting them in afresh; `give_back`
# returns it after the job.
TRIM_THRESHOLD = 1024 * 2**20
# One heap for every thread: `malloc_trim` gives back the top of the main heap only, and the
# worker threads' own heaps kept up to 25 MiB more than the budget (tests/test_memory.py).
ARENAS = 1

# Memory freed, or resident memory gained, since the last trim kept for reuse, at most: a
# short request's buffers are taken again by the next one (trimming after every job made each
# short /attention fault 850 pages back in), a long one's or a dropped exploration's go back.
KEEP = 4 * 2**20
PAGE = os.sysconf("SC_PAGE_SIZE")


class _MallInfo(ctypes.Structure):
    """glibc's `struct mallinfo2` (2.33 and later)."""

    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            *("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks"),
            *("uordblks", "fordblks", "keepcost"),
        )
    ]


@dataclass
class _Heap:
    """The C library's functions, once `release_large_blocks` configured the allocator."""

    trim: Callable[[int], int]
    free: Callable[[], int]  # bytes free in the heap (resident or given back)
    free_after_trim: int = 0
    resident_after_trim: int = 0


_heap: list[_Heap] = []


def release_large_blocks() -> bool:
    """Configure glibc's allocator for `give_back`: one heap, fixed mmap and trim thresholds.
    glibc's own thresholds start at 128 KiB and rise with each large block freed, after
    which heaps kept a long input's buffers and resident memory grew 1.5× the exploration
    budget (bench/memory_bench.py); a 1 MiB mmap threshold bounded that, but mapped and
    unmapped every buffer of every step, and /attribute page-faulted its way to 1.7× the time
    (bench/attribution_bench.py). Left as it is when the operator set
    MALLOC_MMAP_THRESHOLD_, or where the C library is not glibc. Called first thing: a thread
    that allocated before it keeps a heap of its own. True if set (here or before)."""
    if _heap:
        return True  # configured already
    if "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt, trim = libc.mallopt, libc.malloc_trim
    except (OSError, AttributeError):
        log.debug("no mallopt in this C library: the allocator is left as it is")
        return False
    mallinfo = getattr(libc, "mallinfo2", None)
    if mallinfo is None:  # glibc before 2.33: what was freed cannot be seen; the former setting
        return bool(mallopt(M_MMAP_THRESHOLD, FALLBACK_MMAP_THRESHOLD))
    settings = ((M_MMAP_THRESHOLD, MMAP_THRESHOLD), (M_TRIM_THRESHOLD, TRIM_THRESHOLD),
                (M_ARENA_MAX, ARENAS))  # fmt: skip
    if not all(mallopt(parameter, value) for parameter, value in settings):
        return False
    mallinfo.restype = _MallInfo
    _heap[:] = [_Heap(trim, lambda: int(mallinfo().fordblks))]
    gc.callbacks.append(_after_collection)
    return True


def _after_collection(phase: str, info: dict[str, int]) -> None:
    """Memory freed by the cycle collector (cycles holding a pass's tensors outlive it) is
    given back too; its youngest generation, run most often, is left out (`give_back` reads
    the heap's statistics: 0.1 ms with a large heap)."""
    if phase == "stop" and info["generation"] > 0 and info["collected"]:
        give_back()


def give_back() -> None:
    """Return the heap's free memory to the system (`malloc_trim(0)`: about 10 ms after a
    512-token pass freed 100 MiB), if `release_large_blocks` configured the allocator, once
    more than `KEEP` was freed since the last time, or the process's resident memory grew by
    more than that with as much free in the heap: pages given back, faulted in again by a
    later long pass and freed again leave the heap's free bytes where they were."""
    for heap in _heap:
        free, resident = heap.free(), _resident()
        freed = free - heap.free_after_trim > KEEP
        if free > KEEP and (freed or resident - heap.resident_after_trim > KEEP):
            heap.trim(0)
            heap.free_after_trim, heap.resident_after_trim = heap.free(), _resident()
        else:  # measured from their lowest: memory taken again and freed again is no news
            heap.free_after_trim = min(heap.free_after_trim, free)
            heap.resident_after_trim = min(heap.resident_after_trim, resident)


def _resident() -> int:
    """This process's resident memory that no file backs (the model's mapped weights do not
    count), in bytes; 0 where it cannot be read (then freed bytes alone decide)."""
    try:
        with open("/proc/self/statm") as statm:
            resident, shared = statm.read().split()[1:3]
    except (OSError, ValueError):
        return 0
    return (int(resident) - int(shared)) * PAGE
