"""Rendering speed: every attention view at 16, 128 and 512 tokens, drawn by the explorer's
renderer and by a naive pyplot pipeline (imshow, ticks, colorbar, tight_layout, savefig) on
the same matrices, in the same run. Targets on a 2-core machine: any view at most 50 ms at
128 tokens and 250 ms at 512 (medians).

Run: .venv/bin/python bench/render_bench.py   (writes bench/results/render.json)
"""

from __future__ import annotations

import asyncio
import gc
import io
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from bot.runtime import Runtime
from bot.settings import load_settings
from commands.attention.attention_math import head_stats, rollout, token_profile
from commands.attention.exploration import Exploration, Subject, ViewState
from commands.attention.explore import explore
from commands.attention.views import VIEWS, scene_of

LENGTHS = (16, 128, 512)
WORDS = "the quick brown fox jumps over a lazy dog while it rains in paris today".split()
TARGETS_MS = {128: 50.0, 512: 250.0}


def timed(fn, repeats: int, warm: bool = True) -> float:
    """Median milliseconds of `repeats` runs (after one warm-up run)."""
    if warm:
        fn()
    gc.collect()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def _save(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()


def naive_matrix(matrix: np.ndarray, rows: list[str], cols: list[str]) -> bytes:
    """What a tutorial does: imshow, every tick labelled, colorbar, tight_layout, savefig."""
    figure = plt.figure(figsize=(8, 7))
    plt.imshow(matrix, cmap="viridis")
    plt.xticks(range(len(cols)), cols, rotation=90)
    plt.yticks(range(len(rows)), rows)
    plt.colorbar()
    plt.tight_layout()
    return _save(figure)


def naive_grid(panels: list[list[np.ndarray]], labels: list[str]) -> bytes:
    rows, cols = len(panels), len(panels[0])
    figure, axes = plt.subplots(rows, cols, figsize=(2 * cols, 2 * rows), squeeze=False)
    for r, row in enumerate(panels):
        for c, panel in enumerate(row):
            image = axes[r][c].imshow(panel, cmap="viridis")
            axes[r][c].set_xticks(range(len(labels)), labels, rotation=90, fontsize=4)
            axes[r][c].set_yticks(range(len(labels)), labels, fontsize=4)
    figure.colorbar(image, ax=axes)
    return _save(figure)


def naive_bars(labels: list[str], values: list[float]) -> bytes:
    figure = plt.figure(figsize=(6, 6))
    plt.barh(range(len(values)), values)
    plt.yticks(range(len(labels)), labels)
    plt.tight_layout()
    return _save(figure)


def naive(view: str, exploration: Exploration) -> bytes:
    """The naive pyplot picture of a view's data."""
    weights = exploration.weights
    labels = list(exploration.encoding.tokens)
    layer = weights.shape[0] - 1
    match view:
        case "head":
            return naive_matrix(weights[layer, 0], labels, labels)
        case "mean":
            return naive_matrix(weights[layer].mean(axis=0), labels, labels)
        case "rollout":
            return naive_matrix(rollout(weights, layer + 1), labels, labels)
        case "token":
            profile = token_profile(weights, 1, None)
            return naive_matrix(profile, [f"layer {i + 1}" for i in range(len(profile))], labels)
        case "heads":
            heads = list(weights[layer])
            return naive_grid([heads[i : i + 4] for i in range(0, len(heads), 4)], labels)
        case "model":
            page = range(min(4, len(weights)))  # one page of four layers, as ours draws
            return naive_grid([list(weights[layer]) for layer in page], labels)
        case "links":
            flat = np.argsort(weights[layer, 0], axis=None)[::-1][:20]
            n = weights.shape[-1]
            return naive_bars([f"{labels[i // n]}→{labels[i % n]}" for i in flat],
                              [float(weights[layer, 0].flat[i]) for i in flat])  # fmt: skip
        case _:
            stats = head_stats(weights, np.asarray(exploration.encoding.special))
            heads = [f"h{i + 1}" for i in range(weights.shape[1])]
            layers = [f"layer {i + 1}" for i in range(weights.shape[0])]
            return naive_matrix(stats.entropy, layers, heads)


async def main() -> dict:
    settings = load_settings({"MAX_HEATMAP_TOKENS": "512"})  # the bundled MiniLM
    runtime = Runtime(settings)
    await runtime.start(preload=False)
    job = runtime.job()
    results: dict = {}
    for length in LENGTHS:
        text = " ".join(WORDS[i % len(WORDS)] for i in range(length - 2))
        exploration = await explore(job, Subject("minilm", text))
        assert len(exploration.encoding) == length, len(exploration.encoding)
        for view in VIEWS:
            state = VIEWS[view].enter(ViewState(view, 3, 1, 1))

            def draw(view=view, state=state, exploration=exploration) -> bytes:
                return VIEWS[view].draw(scene_of(exploration, state))

            def draw_naive(view=view, exploration=exploration) -> bytes:
                return naive(view, exploration)

            ours = timed(draw, 15)
            theirs = timed(draw_naive, 1 if length == 512 else 3, warm=False)
            results[f"{view}@{length}"] = {"ours_ms": ours, "pyplot_ms": theirs}
            print(f"{view:>8} {length:>4} tokens: ours {ours:7.1f} ms   naive pyplot "
                  f"{theirs:8.1f} ms   {theirs / ours:6.1f}x", flush=True)  # fmt: skip
    job.close()
    await runtime.close()
    slowest = {
        length: max(results[f"{view}@{length}"]["ours_ms"] for view in VIEWS) for length in LENGTHS
    }
    return {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "model": "all-MiniLM-L6-v2 (6 layers × 12 heads)",
        "views": results,
        "slowest_ms": slowest,
        "targets_met": {str(n): slowest[n] <= target for n, target in TARGETS_MS.items()},
    }


if __name__ == "__main__":
    outcome = asyncio.run(main())
    for length, slowest in outcome["slowest_ms"].items():
        target = TARGETS_MS.get(length)
        verdict = "" if target is None else f" (target {target:.0f} ms)"
        print(f"slowest view at {length} tokens: {slowest:.1f} ms{verdict}")
    results = Path(__file__).parent / "results"
    results.mkdir(exist_ok=True)
    (results / "render.json").write_text(json.dumps(outcome, indent=2) + "\n")
