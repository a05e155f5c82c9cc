"""The C library's allocator, told to give large blocks back to the system when they are freed,
so that resident memory follows what the bot keeps (models, kept explorations)."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os

log = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter (malloc.h)
MMAP_THRESHOLD = 2**20


def release_large_blocks() -> bool:
    """Serve every allocation of `MMAP_THRESHOLD` bytes or more (attention tensors, a forward
    pass's buffers) with a mapping of its own, returned to the system when freed. glibc's own
    threshold starts at 128 KiB but rises to the size of each large block freed (up to
    32 MiB); from then on a long input's buffers come from heaps it keeps, and resident memory
    grew 1.5× the exploration budget (bench/memory_bench.py). Left as it is when the operator
    set MALLOC_MMAP_THRESHOLD_, or where the C library is not glibc. True if set here."""
    if "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        log.debug("no mallopt in this C library: the allocator is left as it is")
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))
