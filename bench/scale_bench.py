"""Local compute vs Ray Serve on this machine, on a model with hfl/rbt3's shapes (3 layers ×
12 heads, hidden 768, vocab 21128; random weights, built offline).

Measures, through the runtime a command sees (a `Job` per request, the /forward command's
handler: tokenizer, one pass, the summary):
- latency p50/p95 and throughput at concurrency 1, 4 and 16, local (2 worker threads, one
  torch thread each) and on Ray Serve with 1 replica of 2 CPUs and with 2 replicas of 1 CPU;
  each Ray run alternates with a local run, so this VM's drifting speed hits both alike;
- where pictures are better drawn: an /attention picture drawn in the bot from the
  exploration the replica sends back (what the bot does) or drawn in the replica, which sends
  back the PNG; and a button press, which the bot redraws from the exploration it keeps, or
  which a replica would redraw after receiving it (a Ray task stands in for that method).

Targets here, where Ray's own processes share the 2 cores: Ray ≤ 1.4× local latency at
concurrency 1, ≥ 0.7× local throughput at 16.

Run: .venv/bin/python bench/scale_bench.py   (writes bench/results/scale.json)
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import pickle
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np
import ray
from ray import serve

from bot.runtime import Runtime
from bot.settings import load_settings
from commands.attention.exploration import Exploration, Subject, ViewState, exploration_for
from commands.attention.explore import reply_for
from commands.forward import forward
from explorer.contract import Forwarded, ForwardRequest
from tests.model_factory import save_bert

LEVELS = (1, 4, 16)
REQUESTS = {1: 48, 4: 64, 16: 128}
ROUNDS = 3
DRAWS = 30
WORDS = "the cat sat on the mat and it was tired of sitting there".split()
BACKENDS = {
    "ray, 1 replica × 2 CPUs": {"RAY_REPLICAS": "1", "RAY_REPLICA_CPUS": "2"},
    "ray, 2 replicas × 1 CPU": {"RAY_REPLICAS": "2", "RAY_REPLICA_CPUS": "1"},
}


def text_of(tokens: int, salt: int) -> str:
    """A text of about `tokens` tokens, different for each `salt` (nothing is reused)."""
    words = [WORDS[(i + salt) % len(WORDS)] for i in range(tokens - 3)]
    return " ".join(words) + f" {salt}"


async def closed_loop(runtime: Runtime, concurrency: int, total: int) -> dict:
    """`concurrency` users, each sending the next /forward when the last was answered."""
    latencies: list[float] = []
    remaining = iter(range(total))

    async def user() -> None:
        for index in remaining:
            job = runtime.job()
            started = time.perf_counter()
            await forward(job, text=text_of(12, index))
            latencies.append(time.perf_counter() - started)
            job.close()

    started = time.perf_counter()
    await asyncio.gather(*(user() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return {
        "p50_ms": float(np.percentile(latencies, 50)) * 1000,
        "p95_ms": float(np.percentile(latencies, 95)) * 1000,
        "throughput_per_s": total / elapsed,
    }


def median_of(rounds: list[dict]) -> dict:
    return {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}


def drawn_there(subject: Subject, state: ViewState, forwarded: Forwarded) -> bytes:
    """The exploration and its picture, both made next to the model (in the replica)."""
    return reply_for(exploration_for(subject, forwarded), state).attachments[0].data


@ray.remote(num_cpus=0)  # the replica holds every CPU of this machine
def redraw_there(exploration: Exploration, state: ViewState) -> bytes:
    """A press redrawn in another Ray process, the exploration sent to it."""
    return reply_for(exploration, state).attachments[0].data


async def timed(call, count: int = DRAWS) -> float:
    """Median seconds of `await call(i)`."""
    times = []
    for index in range(count):
        started = time.perf_counter()
        await call(index)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


async def where_to_draw(runtime: Runtime, tokens: int) -> dict:
    """Drawing in the bot or in the replica, for a new /attention and for a press."""
    spec = runtime.allowlist.resolve("rbt3")
    compute = runtime.compute
    request = functools.partial(ForwardRequest, max_tokens=128, attentions=True)
    first = ViewState("mean", 3, 0, 1)  # what a new exploration shows: the last layer's mean

    async def bot_draws(index: int) -> bytes:
        subject = Subject("rbt3", text_of(tokens, index))
        finish = functools.partial(exploration_for, subject)
        exploration = await compute.forward(spec, request(subject.text), finish)
        return (await runtime.run(reply_for, exploration, first)).attachments[0].data

    async def replica_draws(index: int) -> bytes:
        subject = Subject("rbt3", text_of(tokens, index))
        finish = functools.partial(drawn_there, subject, first)
        png: bytes = await compute.forward(spec, request(subject.text), finish)
        return png

    subject = Subject("rbt3", text_of(tokens, -1))
    kept = await compute.forward(
        spec, request(subject.text), functools.partial(exploration_for, subject)
    )
    pressed = ViewState("head", 2, 5, 1)

    async def press_in_bot(_: int) -> bytes:
        return (await runtime.run(reply_for, kept, pressed)).attachments[0].data

    async def press_in_replica(_: int) -> bytes:
        png: bytes = await redraw_there.remote(kept, pressed)
        return png

    png = await bot_draws(0)
    return {
        "tokens": len(kept.encoding),
        "new_bot_draws_ms": await timed(bot_draws),
        "new_replica_draws_ms": await timed(replica_draws),
        "press_bot_draws_ms": await timed(press_in_bot),
        "press_replica_draws_ms": await timed(press_in_replica),
        "exploration_bytes": len(pickle.dumps(kept)),
        "png_bytes": len(png),
    }


async def main() -> dict:
    directory = save_bert(Path(tempfile.mkdtemp()) / "rbt3", 21128, hidden_size=768,
                          num_hidden_layers=3, num_attention_heads=12, intermediate_size=3072,
                          max_position_embeddings=512)  # fmt: skip
    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, object_store_memory=256 * 2**20,
             log_to_driver=False, logging_level="WARNING")  # fmt: skip
    base = {"MODELS": f"rbt3={directory}", "MAX_HEATMAP_TOKENS": "128"}
    local = Runtime(load_settings(base))
    await local.start()
    results: dict = {"machine": f"{os.cpu_count()} cores", "local": {}, "drawing": {}}
    local_rounds: dict[int, list[dict]] = {level: [] for level in LEVELS}
    for name, options in BACKENDS.items():
        remote = Runtime(load_settings({**base, "COMPUTE_BACKEND": "ray", **options}))
        started = time.perf_counter()
        await remote.start()
        results.setdefault("deploy_s", {})[name] = time.perf_counter() - started
        await closed_loop(remote, 4, 16)  # warm: every replica has loaded the model
        rows = {}
        for level in LEVELS:
            rounds = []
            for _ in range(ROUNDS):
                local_rounds[level].append(await closed_loop(local, level, REQUESTS[level]))
                rounds.append(await closed_loop(remote, level, REQUESTS[level]))
            rows[level] = median_of(rounds)
            print(f"{name}, concurrency {level}: {rows[level]}", flush=True)
        results[name] = rows
        if options["RAY_REPLICAS"] == "1":
            results["drawing"] = {
                str(tokens): await where_to_draw(remote, tokens) for tokens in (16, 128)
            }
        await remote.close()
        serve.delete(remote.compute.app)  # type: ignore[attr-defined]
    results["local"] = {level: median_of(local_rounds[level]) for level in LEVELS}
    await local.close()
    for name in BACKENDS:
        row = results[name]
        results[name]["ratios"] = {
            "latency_at_1": row[1]["p50_ms"] / results["local"][1]["p50_ms"],
            "throughput_at_16": row[16]["throughput_per_s"]
            / results["local"][16]["throughput_per_s"],
        }
    serve.shutdown()
    ray.shutdown()
    return results


def report(result: dict) -> None:
    print(f"{'backend':<26}{'conc':>5}{'p50 ms':>9}{'p95 ms':>9}{'req/s':>8}")
    for name in ("local", *BACKENDS):
        for level in LEVELS:
            row = result[name][level]
            print(f"{name:<26}{level:>5}{row['p50_ms']:>9.1f}{row['p95_ms']:>9.1f}"
                  f"{row['throughput_per_s']:>8.1f}")  # fmt: skip
    for name in BACKENDS:
        ratios = result[name]["ratios"]
        print(f"{name}: latency at 1 = {ratios['latency_at_1']:.2f}x local (target ≤ 1.4), "
              f"throughput at 16 = {ratios['throughput_at_16']:.2f}x local (target ≥ 0.7); "
              f"deployed in {result['deploy_s'][name]:.1f} s")  # fmt: skip
    for row in result["drawing"].values():
        print(f"/attention at {row['tokens']} tokens: new, drawn in the bot "
              f"{row['new_bot_draws_ms']:.1f} ms vs in the replica "
              f"{row['new_replica_draws_ms']:.1f} ms; a press, in the bot "
              f"{row['press_bot_draws_ms']:.1f} ms vs in a replica "
              f"{row['press_replica_draws_ms']:.1f} ms; exploration "
              f"{row['exploration_bytes'] / 1024:.0f} KiB, picture "
              f"{row['png_bytes'] / 1024:.0f} KiB")  # fmt: skip


if __name__ == "__main__":
    outcome = asyncio.run(main())
    report(outcome)
    (ROOT / "bench" / "results" / "scale.json").write_text(json.dumps(outcome, indent=2) + "\n")
