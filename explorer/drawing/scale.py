"""Colour scales: which values a picture's colours span, and a legend with round ticks."""

from __future__ import annotations

import math

import numpy as np

from explorer.drawing.canvas import MUTED, Canvas, cells, text_width

BAR_WIDTH = 14
TICK_SIZE = 11


def nice_ticks(vmax: float, most: int = 6) -> list[float]:
    """Round tick values from 0 up to `vmax` (steps of 1, 2 or 5 times a power of ten), at
    most `most` of them."""
    if vmax <= 0:
        return [0.0]
    raw = vmax / (most - 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(f * power for f in (1, 2, 2.5, 5, 10) if f * power >= raw)
    count = math.floor(vmax / step + 1e-9)
    return [round(i * step, 10) for i in range(count + 1)]


def tick_label(value: float, ticks: list[float]) -> str:
    """A tick value with as many decimals as its neighbours need (0, 0.25, 0.5 …)."""
    decimals = max(
        (len(f"{t:.6f}".rstrip("0").split(".")[1]) for t in ticks if t != int(t)), default=0
    )
    return f"{value:.{decimals}f}"


def scale_width(vmax: float) -> int:
    """Pixels a colour scale takes across, its tick labels included."""
    ticks = nice_ticks(vmax)
    return BAR_WIDTH + 8 + max(text_width(tick_label(t, ticks), TICK_SIZE) for t in ticks)


def draw_scale(canvas: Canvas, xy: tuple[int, int], height: int, vmax: float) -> None:
    """A vertical colour bar from 0 (bottom) to `vmax` (top) with round ticks."""
    x, y = xy
    height = max(height, 40)
    gradient = np.linspace(vmax, 0.0, height, dtype=np.float32)[:, None]
    canvas.paste(cells(np.repeat(gradient, BAR_WIDTH, axis=1), vmax, 1), (x, y))
    canvas.draw.rectangle([x, y, x + BAR_WIDTH - 1, y + height - 1], outline=MUTED)
    ticks = nice_ticks(vmax)
    for value in ticks:
        tick_y = y + (height - 1) * (1.0 - value / vmax) if vmax > 0 else y + height - 1
        canvas.draw.line([(x + BAR_WIDTH, tick_y), (x + BAR_WIDTH + 4, tick_y)], fill=MUTED)
        canvas.text((x + BAR_WIDTH + 7, tick_y), tick_label(value, ticks), TICK_SIZE, anchor="lm")
