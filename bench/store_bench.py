"""The store: what keeping explorations costs a command, and what a restart costs a press.

Measures:
- a committed write (an exploration kept), in this process, sequentially: p50/p95 on SQLite
  and, when BENCH_DATABASE_URL names one (`postgresql+asyncpg://…`), on PostgreSQL; and the
  server-settings read a command does (cached after the first);
- through the real bot on the bundled model and the fake Discord: how long /attention waits
  for its exploration to be kept, as the bot itself reports it in `/status` (p50);
- a press on a persisted exploration right after a restart (read from the database, the
  tensors recomputed) against a press on a warm one (kept in memory), p50 over many messages.

Run: .venv/bin/python bench/store_bench.py   (writes bench/results/store.json)
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np

from bot.store import ExplorationRecord, Store
from commands.attention.exploration import Explored, Shape, Subject, ViewState, state_of
from explorer.contract import Live
from tests.bot_process import BotProcess
from tests.fake_discord import FakeDiscord, message_data
from tests.test_e2e_discord import components, updated

WRITES = 500
MESSAGES = 24
BOT_ENV = {"USER_COOLDOWN_SECONDS": "0", "USER_MAX_JOBS": "1000", "QUEUE_SIZE": "1000"}


# What a new /attention exploration keeps.
EXPLORED = Explored(
    Subject("minilm", "I am studying NLP."), ViewState("mean", 6, 0, 1), Shape(6, 12, 7, 7)
)
ATTENTION_STATE = Live("attention", state_of(EXPLORED))


def ms(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) * 1000


async def store_costs(url: str) -> dict:
    """Sequential committed writes of explorations, and cached server-settings reads."""
    store = Store(url)
    await store.start()
    try:
        live = ATTENTION_STATE
        writes = []
        run = secrets.token_hex(4)  # a database kept between runs has the last run's keys
        for i in range(WRITES):
            now = datetime.now(UTC)
            record = ExplorationRecord(f"{run}-{i}", live, "**minilm**", 1, 2, 3, now, now)
            started = time.perf_counter()
            await store.add_exploration(record)
            writes.append(time.perf_counter() - started)
        await store.server_settings(1)
        reads = []
        for _ in range(WRITES):
            started = time.perf_counter()
            await store.server_settings(1)
            reads.append(time.perf_counter() - started)
        return {
            "write_p50_ms": ms(writes, 50),
            "write_p95_ms": ms(writes, 95),
            "settings_read_p50_ms": ms(reads, 50),
        }
    finally:
        await store.close()


async def timed_press(fake: FakeDiscord, message: dict, action: str) -> tuple[float, dict]:
    """Seconds from a press to the redrawn message, and that message."""
    sent = time.monotonic()
    interaction = await fake.press(message, components(message)[action]["custom_id"])
    await interaction.wait(lambda i: updated(i) is not None, timeout=120)
    edited = updated(interaction)
    assert edited is not None
    return time.monotonic() - sent, edited


async def presses(fake: FakeDiscord, messages: list[dict], action: str) -> list[float]:
    times = []
    for index, message in enumerate(messages):
        took, messages[index] = await timed_press(fake, message, action)
        times.append(took)
    return times


async def through_the_bot(log_dir: Path) -> dict:
    fake = FakeDiscord()
    await fake.start()
    try:
        first = BotProcess(fake, log_dir / "first.log", "", **BOT_ENV)
        first.env.pop("MODELS")
        await first.start()
        messages = []
        for i in range(MESSAGES):
            interaction = await fake.slash("attention", text=f"Sentence number {i} to explore.")
            messages.append((await interaction.answer(timeout=120)).response)
        await presses(fake, messages, "layer-")  # the first press draws a view not yet drawn
        warm = await presses(fake, messages, "layer+")
        status = message_data(await (await fake.slash("status")).answer())["content"]
        found = re.search(r"an exploration kept in ([\d.]+) ms", status)
        assert first.process is not None and await first.terminate() == 0

        second = BotProcess(fake, log_dir / "second.log", "", **BOT_ENV)
        second.env.pop("MODELS")
        await second.start()  # warm: libraries and the default model loaded
        restarted = await presses(fake, messages, "layer-")
        warm_again = await presses(fake, messages, "layer+")
        await second.terminate()
        return {
            "bot_keep_p50_ms": float(found.group(1)) if found else None,
            "warm_press_p50_ms": ms(warm, 50),
            "after_restart_press_p50_ms": ms(restarted, 50),
            "after_restart_press_p95_ms": ms(restarted, 95),
            "warm_again_press_p50_ms": ms(warm_again, 50),
            "restart_ratio": statistics.median(restarted) / statistics.median(warm),
        }
    finally:
        await fake.stop()


async def main() -> dict:
    log_dir = Path(tempfile.mkdtemp(prefix="explorer-store-bench-"))
    result = {"sqlite": await store_costs(f"sqlite+aiosqlite:///{log_dir / 'bench.db'}")}
    if os.environ.get("BENCH_DATABASE_URL"):
        result["postgresql"] = await store_costs(os.environ["BENCH_DATABASE_URL"])
    result["bot"] = await through_the_bot(log_dir)
    return result


def report(result: dict) -> None:
    for backend in ("sqlite", "postgresql"):
        if backend in result:
            row = result[backend]
            print(f"{backend}: a committed write p50 {row['write_p50_ms']:.2f} ms, p95 "
                  f"{row['write_p95_ms']:.2f} ms; a server's settings (cached) "
                  f"{row['settings_read_p50_ms'] * 1000:.1f} µs")  # fmt: skip
    bot = result["bot"]
    print(
        f"in the bot, /status: an exploration kept in {bot['bot_keep_p50_ms']} ms p50 (the "
        "one write a command waits for, queueing included)"
    )
    print(f"press on a warm exploration: p50 {bot['warm_press_p50_ms']:.1f} ms")
    print(f"press right after a restart (read back, recomputed): p50 "
          f"{bot['after_restart_press_p50_ms']:.1f} ms, p95 "
          f"{bot['after_restart_press_p95_ms']:.1f} ms = {bot['restart_ratio']:.2f}x warm; "
          f"the next press is warm again: p50 {bot['warm_again_press_p50_ms']:.1f} ms")  # fmt: skip


if __name__ == "__main__":
    outcome = asyncio.run(main())
    report(outcome)
    out = ROOT / "bench" / "results" / "store.json"
    out.write_text(json.dumps(outcome, indent=2) + "\n")
