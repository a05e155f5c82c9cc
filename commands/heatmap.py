"""Rendering an attention matrix as a labelled PNG heatmap (Figure + Agg, never pyplot)."""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from commands.fonts import drawable, label_families

# matplotlib is not thread-safe and holds the GIL while drawing: one render at a time.
_RENDER_LOCK = threading.Lock()
_MARKERS = {"Ġ": "␣", "▁": "␣", "Ċ": "↵", "ĉ": "⇥"}
DPI = 110


@dataclass(frozen=True)
class Heatmap:
    """One square attention matrix with its token labels and captions."""

    matrix: np.ndarray
    labels: tuple[str, ...]
    title: str
    subtitle: str = ""
    boundary: int | None = None


def display_token(token: str, index: int) -> str:
    """A token as a label: BPE/SentencePiece space markers made visible; undrawable → `#index`."""
    shown = "".join(_MARKERS.get(char, char) for char in token)
    if not shown.strip():
        shown = repr(token)
    return shown if drawable(shown) else f"#{index}"


def _label_size(count: int) -> float:
    if count <= 12:
        return 10.0
    if count <= 24:
        return 8.5
    if count <= 48:
        return 7.0
    return 5.5


def _tick_step(count: int) -> int:
    """Show every label up to 64 tokens, then thin them so they stay legible."""
    return 1 if count <= 64 else int(np.ceil(count / 64))


def render_heatmap(heatmap: Heatmap) -> bytes:
    """PNG bytes of the heatmap: labels on both axes, a colour scale and a title."""
    matrix = np.asarray(heatmap.matrix, dtype=np.float32)
    count = matrix.shape[0]
    labels = [display_token(token, i) for i, token in enumerate(heatmap.labels)]
    side = float(np.clip(3.0 + 0.16 * count, 5.2, 11.0))
    size = _label_size(count)
    step = _tick_step(count)
    ticks = np.arange(0, count, step)
    families = label_families()
    with _RENDER_LOCK:
        figure = Figure(figsize=(side + 1.3, side), dpi=DPI, layout="constrained")
        axes = figure.add_subplot()
        image = axes.imshow(matrix, cmap="viridis", vmin=0.0, vmax=max(float(matrix.max()), 1e-6))
        rotation = 90 if max(len(label) for label in labels) > 2 else 0
        axes.set_xticks(ticks, [labels[i] for i in ticks], rotation=rotation, fontsize=size)
        axes.set_yticks(ticks, [labels[i] for i in ticks], fontsize=size)
        for tick in (*axes.get_xticklabels(), *axes.get_yticklabels()):
            tick.set_fontfamily(families)
        axes.set_xlabel("attended-to token (key)", fontsize=9)
        axes.set_ylabel("attending token (query)", fontsize=9)
        axes.tick_params(length=2, pad=2)
        if heatmap.boundary is not None:
            for line in (axes.axvline, axes.axhline):
                line(heatmap.boundary - 0.5, color="white", linewidth=1.2, linestyle="--")
        if count <= 10:
            for (row, col), value in np.ndenumerate(matrix):
                colour = "black" if value > 0.6 * matrix.max() else "white"
                axes.text(
                    col, row, f"{value:.2f}", ha="center", va="center", fontsize=7, color=colour
                )
        colorbar = figure.colorbar(image, ax=axes, shrink=0.8, pad=0.02)
        colorbar.set_label(f"attention weight (max {matrix.max():.2f})", fontsize=9)
        colorbar.ax.tick_params(labelsize=8)
        figure.suptitle(heatmap.title, fontsize=12, fontweight="bold")
        if heatmap.subtitle:
            axes.set_title(heatmap.subtitle, fontsize=9, fontfamily=families, color="#444444")
        buffer = io.BytesIO()
        FigureCanvasAgg(figure).print_png(buffer)
    return buffer.getvalue()
