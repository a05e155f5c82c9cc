"""/status and the management commands."""

from __future__ import annotations

import pytest

from bot.runtime import Job
from commands.admin import duration, internals, load, status, status_text, unload
from explorer.contract import CommandLatency, ModelMemory, Snapshot, UserError


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(42, "42s"), (125, "2m 05s"), (7387, "2h 03m 07s"), (3 * 86400 + 4 * 3600 + 300, "3d 4h 05m")],
)
def test_duration(seconds, text):
    assert duration(seconds) == text


def test_status_text_shows_models_queue_and_latencies():
    snapshot = Snapshot(
        uptime_s=3725,
        gateway_latency_ms=41.6,
        models=(ModelMemory("minilm", 90 * 2**20, 0), ModelMemory("rbt3", 147 * 2**20, 2)),
        memory_budget=4096 * 2**20,
        running=2,
        waiting=5,
        latencies=(CommandLatency("attention", 120, 3, 212.4, 480.9),),
        internals={},
        store="SQLite, an exploration kept in 0.7 ms (p50)",
    )
    lines = status_text(snapshot).splitlines()
    assert lines[:5] == [
        "uptime          1h 02m 05s",
        "gateway latency 42 ms",
        "queue           2 running, 5 waiting",
        "store           SQLite, an exploration kept in 0.7 ms (p50)",
        "model memory    237 of 4096 MiB",
    ]
    assert lines[6].split() == ["rbt3", "147", "MiB,", "in", "use", "by", "2"]
    assert lines[-1].split() == ["attention", "120", "3", "212", "481"]


async def test_status_and_internals_through_a_job(runtime, ctx):
    runtime.stats.record("tokenize", 0.05, "ok")
    reply = await status(ctx)
    assert "queue           0 running, 0 waiting" in reply.content
    assert "tokenize" in reply.content and "gateway latency —" in reply.content
    report = (await internals(ctx)).content
    assert "worker threads" in report and "gc frozen objects" in report


async def test_load_and_unload(runtime):
    job = Job(runtime)
    assert (await load(job, "tiny")).content.startswith("✅ **tiny** is loaded (")
    assert (await unload(job, "tiny")).content == "✅ **tiny** was unloaded."
    with pytest.raises(UserError, match="not loaded"):
        await unload(job, "tiny")
