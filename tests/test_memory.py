"""Kept explorations stay within their byte budget, however many long texts are explored,
and one dropped is computed again when its message's buttons are pressed."""

from __future__ import annotations

import gc
import os
import re
import subprocess
import sys
import tracemalloc
from pathlib import Path

from bot.runtime import Runtime
from commands.attention.exploration import Explored, Subject, ViewState
from commands.attention.explore import explore, show
from tests.conftest import make_settings

BUDGET_MB = 4
ROOT = Path(__file__).parents[1]


async def test_many_long_explorations_stay_within_the_cap(long_dir):
    settings = make_settings(
        f"long={long_dir}", MAX_HEATMAP_TOKENS="512", EXPLORATION_MEMORY_MB=str(BUDGET_MB)
    )
    runtime = Runtime(settings)
    await runtime.start(preload=False)
    budget = BUDGET_MB * 2**20
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        # 219 tokens each: 2 layers × 4 heads × 219² float32 = 1.5 MiB.
        subjects = [Subject("long", " ".join(["the cat sat"] * 72) + f" {i}") for i in range(40)]
        for subject in subjects:
            job = runtime.job()
            exploration = await explore(job, subject)
            job.close()
            assert exploration.nbytes > budget / 4  # each is a sizeable share of the budget
            assert runtime.memo.used <= budget
        del exploration
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - baseline
    finally:
        tracemalloc.stop()
    assert len(runtime.memo) == budget // (2 * 4 * 219 * 219 * 4)  # as many as fit
    assert held <= budget * 1.25, f"{held / 2**20:.1f} MiB held for a {BUDGET_MB} MiB budget"
    # The first exploration was dropped long ago: showing it again computes it afresh.
    misses = runtime.memo.misses
    job = runtime.job()
    reply = await show(job, Explored(subjects[0], ViewState("mean", 2, 0, 1), None))  # type: ignore[arg-type]
    job.close()
    assert runtime.memo.misses == misses + 1
    assert reply.content.startswith("**long · layer 2/2 · mean of 4 heads · window 1/4**")
    await runtime.close()


def test_resident_memory_grows_by_the_exploration_budget_and_no_more(long_dir, tmp_path):
    """The process as an operator runs it (the console, one process): 24 explorations of 497
    tokens, each 7.5 MiB of attention, through a 64 MiB budget. Its resident memory, as
    `/admin internals` reads it, grows by what the budget keeps plus at most 15 % (glibc's
    default allocator kept 2× the budget here, in heaps it never returned)."""
    budget_mb = 64
    text = " ".join(["the cat sat"] * 165)
    lines = ["/attention text:warm up", "/admin internals"]
    lines += [f"/attention text:{text} {i}" for i in range(24)] + ["/admin internals"]
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "HF_HUB_OFFLINE": "1",
        "MODELS": f"long={long_dir}",
        "MAX_HEATMAP_TOKENS": "512",
        "EXPLORATION_MEMORY_MB": str(budget_mb),
        "CONSOLE_OUTPUT_DIR": str(tmp_path),
    }
    done = subprocess.run([sys.executable, "-m", "bot", "console", *lines], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    before, after = (int(mib) for mib in re.findall(r"resident memory\s+(\d+) MiB", done.stdout))
    kept = re.findall(r"kept explorations\s+(\d+) \((\d+) of (\d+) MiB", done.stdout)
    assert kept[-1] == ("8", "61", "64")  # as many as the budget holds, counted in bytes
    assert after - before <= budget_mb * 1.15, f"+{after - before} MiB for {budget_mb} MiB"


# Run first in each allocator script: the allocator configured, and resident memory in MiB.
ALLOCATOR_PRELUDE = """
import os

import numpy as np
from bot.allocator import give_back, release_large_blocks

def resident():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

assert release_large_blocks()
"""


def allocator_run(script: str) -> list[int]:
    """The whole numbers `script` prints, run after `ALLOCATOR_PRELUDE` in a process of its own
    (the allocator is set up first thing, and an operator's MALLOC_ settings left out)."""
    done = subprocess.run([sys.executable, "-c", ALLOCATOR_PRELUDE + script], cwd=ROOT,
                          capture_output=True, text=True, timeout=120,
                          env={k: v for k, v in os.environ.items()
                               if not k.startswith("MALLOC_")})  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return [int(number) for number in done.stdout.split()]


def test_memory_a_batch_frees_is_given_back_to_the_system_once_it_is_done():
    """Within a pass, freed buffers stay in the allocator's heaps to be reused (no page faults
    step after step); after the batch, `give_back` returns them: resident memory follows
    what is kept."""
    before, freed, after = allocator_run("""
before = resident()
buffers = [np.ones(2**20) for _ in range(40)]  # 40 blocks of 8 MiB, below the mmap threshold
del buffers
freed = resident()
give_back()
print(round(before), round(freed), round(resident()))
""")
    assert freed - before >= 250  # kept for reuse while the batch runs
    assert after - before <= 30  # given back after it


def test_memory_taken_again_by_a_later_batch_is_given_back_again():
    """Pages given back are faulted in again by the next long pass, and freed: the heap's free
    bytes are then where they were after the first trim, and only the resident memory tells
    that they must go back once more (they stayed, ~100 MiB after the memory bench's work)."""
    before, first, freed_again, after = allocator_run("""
kept = []

def batch():
    buffers = [np.ones(2**20) for _ in range(40)]  # 8 MiB each, below the mmap threshold
    # A small block taken after them and kept: the heap cannot shrink from its top, and its
    # free pages given back still count as free bytes.
    kept.append(np.ones(2**12))
    del buffers
    return resident()

before = resident()
batch()
give_back()
first = resident()
freed_again = batch()
give_back()
print(round(before), round(first), round(freed_again), round(resident()))
""")
    assert first - before <= 30  # the first batch's pages went back
    assert freed_again - first >= 250  # the second faulted them in again
    assert after - before <= 30, f"{after - before} MiB stayed after the second batch"
