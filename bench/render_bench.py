"""Rendering speed: the explorer's renderer against a naive pyplot pipeline on the same
matrices, and the share of `/attention`'s time spent rendering.

Run: .venv/bin/python bench/render_bench.py   (results also written to bench/results/)
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
from explorer.contract import Forwarded, ForwardRequest
from explorer.encoding import encode
from explorer.exploration import Subject, ViewState, exploration_for
from explorer.explore import reply_for
from explorer.forward import run_batch
from explorer.views import view_of

REPEATS = 30
TEXT16 = "The quick brown fox jumps over the lazy dog near the river bank."


def best_and_median(fn, repeats: int = REPEATS) -> tuple[float, float]:
    fn()  # warm caches (fonts, colour maps)
    gc.collect()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def pyplot_head(matrix: np.ndarray, labels: list[str]) -> bytes:
    """What a tutorial does: imshow, ticks, colorbar, tight_layout, savefig."""
    figure = plt.figure(figsize=(7, 6))
    plt.imshow(matrix, cmap="viridis")
    plt.xticks(range(len(labels)), labels, rotation=90)
    plt.yticks(range(len(labels)), labels)
    plt.colorbar()
    plt.title("attention")
    plt.tight_layout()
    buffer = io.BytesIO()
    plt.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()


def pyplot_grid(matrices: np.ndarray, labels: list[str]) -> bytes:
    figure, axes = plt.subplots(3, 4, figsize=(12, 9))
    for index, axis in enumerate(axes.flat):
        image = axis.imshow(matrices[index], cmap="viridis")
        axis.set_title(f"head {index + 1}")
        axis.set_xticks(range(len(labels)), labels, rotation=90, fontsize=6)
        axis.set_yticks(range(len(labels)), labels, fontsize=6)
    figure.colorbar(image, ax=axes)
    buffer = io.BytesIO()
    plt.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()


async def main() -> dict:
    settings = load_settings({})
    runtime = Runtime(settings)
    await runtime.start(preload=False)
    loaded = await runtime.registry.model(None)
    request = ForwardRequest(TEXT16, attentions=True)

    def explore():
        encoding = encode(loaded, TEXT16, None, 64)
        output = run_batch(loaded, [encoding], request)[0]
        return exploration_for(Subject(loaded.name, TEXT16), Forwarded(loaded, encoding, output))

    exploration = explore()
    count = exploration.shape.tokens
    labels = list(exploration.labels)
    head = ViewState("head", 3, 4, 0)
    grid = ViewState("heads", 3, 0, 0)

    ours_head = best_and_median(lambda: view_of(head).draw(exploration, head))
    ours_grid = best_and_median(lambda: view_of(grid).draw(exploration, grid))
    naive_head = best_and_median(lambda: pyplot_head(exploration.weights[2, 3], labels), 9)
    naive_grid = best_and_median(lambda: pyplot_grid(exploration.weights[2], labels), 5)

    # /attention's total time, split: tokenise + forward, then rendering.
    compute = best_and_median(explore)
    reply = best_and_median(lambda: reply_for(exploration, head))
    runtime.close()
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "tokens": count,
        "head_ms": {
            "ours": ours_head[1] * 1e3,
            "pyplot": naive_head[1] * 1e3,
            "ours_best": ours_head[0] * 1e3,
        },
        "grid12_ms": {
            "ours": ours_grid[1] * 1e3,
            "pyplot": naive_grid[1] * 1e3,
            "ours_best": ours_grid[0] * 1e3,
        },
        "speedup_head": naive_head[1] / ours_head[1],
        "speedup_grid": naive_grid[1] / ours_grid[1],
        "attention_compute_ms": compute[1] * 1e3,
        "attention_render_ms": reply[1] * 1e3,
        "render_share": reply[1] / (compute[1] + reply[1]),
    }
    return result


if __name__ == "__main__":
    outcome = asyncio.run(main())
    print(f"machine: {outcome['machine']}; {outcome['tokens']} tokens; medians of {REPEATS} runs")
    for key, name in (("head_ms", "head heatmap"), ("grid12_ms", "12-head grid")):
        ours, naive = outcome[key]["ours"], outcome[key]["pyplot"]
        best = outcome[key]["ours_best"]
        print(f"{name:>14}: ours {ours:6.1f} ms (best {best:5.1f})   naive pyplot {naive:7.1f} ms"
              f"   ratio {naive / ours:5.1f}x faster")  # fmt: skip
    print(f"/attention: tokenise+forward {outcome['attention_compute_ms']:.1f} ms, "
          f"render {outcome['attention_render_ms']:.1f} ms "
          f"-> rendering is {outcome['render_share']:.0%} of the command's work")  # fmt: skip
    results = Path(__file__).parent / "results"
    results.mkdir(exist_ok=True)
    (results / "render.json").write_text(json.dumps(outcome, indent=2) + "\n")
