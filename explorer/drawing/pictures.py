"""Attention pictures: labelled matrices and grids of thumbnails, as PNG bytes.

Sizes adapt to the token count so labels stay legible from 2 to 128 tokens: cells shrink,
label fonts shrink to a floor, then every n-th label is shown.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from explorer.drawing.canvas import (
    INK,
    MUTED,
    SPECIAL,
    Canvas,
    cells,
    colour_scale,
    rotated_labels,
    text_width,
)

MARGIN = 16
SCALE_WIDTH = 64
TITLE_SIZE = 18
SUBTITLE_SIZE = 13
NOTE_SIZE = 11


@dataclass(frozen=True)
class Matrix:
    """A matrix with labelled rows and columns, drawn as one block with a colour scale."""

    values: np.ndarray
    rows: tuple[str, ...]
    cols: tuple[str, ...]
    scale_label: str
    row_special: tuple[bool, ...] = ()
    col_special: tuple[bool, ...] = ()
    row_boundary: int | None = None
    col_boundary: int | None = None
    vmax: float | None = None
    number_format: str = "{:.2f}"
    annotate: bool | None = None  # None: numbers in cells when they fit


def _clamp(value: float, low: int, high: int) -> int:
    return int(min(max(round(value), low), high))


@dataclass(frozen=True)
class _Layout:
    cell: int
    label_size: int
    step: int
    row_label_width: int
    col_label_height: int
    rotate_cols: bool
    width: int
    height: int


def _shown(labels: Sequence[str], step: int) -> list[str]:
    return [label if index % step == 0 else "" for index, label in enumerate(labels)]


def _colours(special: Sequence[bool], count: int) -> list[tuple[int, int, int]]:
    flags = list(special) or [False] * count
    return [SPECIAL if flag else INK for flag in flags]


def _layout(matrix: Matrix, target: int) -> _Layout:
    rows, cols = matrix.values.shape
    cell = _clamp(target / max(rows, cols), 7, 44)
    label_size = _clamp(cell * 0.5, 11, 15)
    step = 1 if cell >= label_size + 2 else math.ceil((label_size + 2) / cell)
    row_labels = [label for label in _shown(matrix.rows, step) if label]
    col_labels = [label for label in _shown(matrix.cols, step) if label]
    row_label_width = max(text_width(label, label_size) for label in row_labels) + 10
    col_width = max(text_width(label, label_size) for label in col_labels)
    rotate = col_width > cell * step - 4
    col_label_height = (col_width + 10) if rotate else (label_size + 10)
    width = row_label_width + cols * cell + 14 + SCALE_WIDTH
    height = rows * cell + col_label_height + NOTE_SIZE + 12
    return _Layout(cell, label_size, step, row_label_width, col_label_height, rotate, width, height)


def _draw_block(canvas: Canvas, origin: tuple[int, int], matrix: Matrix, layout: _Layout) -> None:
    x0, y0 = origin
    values = np.asarray(matrix.values, dtype=np.float32)
    rows, cols = values.shape
    cell, size = layout.cell, layout.label_size
    vmax = matrix.vmax if matrix.vmax is not None else max(float(values.max()), 1e-6)
    left = x0 + layout.row_label_width
    canvas.paste(cells(values, vmax, cell), (left, y0))
    row_colours = _colours(matrix.row_special, rows)
    for index, label in enumerate(_shown(matrix.rows, layout.step)):
        if label:
            y = y0 + (index + 0.5) * cell
            canvas.text((left - 6, y), label, size, anchor="rm", fill=row_colours[index])
    col_colours = _colours(matrix.col_special, cols)
    col_labels = _shown(matrix.cols, layout.step)
    bottom = y0 + rows * cell
    if layout.rotate_cols:
        canvas.paste(rotated_labels(col_labels, col_colours, size, cell), (left, bottom + 4))
    else:
        for index, label in enumerate(col_labels):
            if label:
                x = left + (index + 0.5) * cell
                canvas.text((x, bottom + 5), label, size, anchor="ma", fill=col_colours[index])
    annotate = matrix.annotate
    if annotate is None:
        annotate = cell >= 34 and rows * cols <= 144
    if annotate:
        number_size = _clamp(cell * 0.3, 9, 12)
        for (row, col), value in np.ndenumerate(values):
            colour = (0, 0, 0) if value > 0.6 * vmax else (255, 255, 255)
            centre = (left + (col + 0.5) * cell, y0 + (row + 0.5) * cell)
            text = matrix.number_format.format(value)
            canvas.text(centre, text, number_size, anchor="mm", fill=colour)
    if matrix.col_boundary is not None:
        x = left + matrix.col_boundary * cell
        canvas.dashed((x, y0), (x, bottom))
    if matrix.row_boundary is not None:
        y = y0 + matrix.row_boundary * cell
        canvas.dashed((left, y), (left + cols * cell, y))
    scale_x = left + cols * cell + 12
    colour_scale(canvas, (scale_x, y0), max(rows * cell, 60), vmax)
    canvas.text(
        (left, bottom + layout.col_label_height + 4), matrix.scale_label, NOTE_SIZE, fill=MUTED
    )


def header_height(subtitle: str) -> int:
    """Pixels the title (and subtitle) take at the top of a picture."""
    return MARGIN + TITLE_SIZE + 8 + (SUBTITLE_SIZE + 8 if subtitle else 0)


def draw_header(canvas: Canvas, title: str, subtitle: str) -> None:
    """The title in bold, the subtitle (the quoted text) under it."""
    canvas.text((MARGIN, MARGIN), title, TITLE_SIZE, bold=True)
    if subtitle:
        canvas.text((MARGIN, MARGIN + TITLE_SIZE + 8), subtitle, SUBTITLE_SIZE, fill=MUTED)


def header_width(title: str, subtitle: str) -> int:
    """Pixels the title and subtitle need across."""
    return max(text_width(title, TITLE_SIZE, bold=True), text_width(subtitle, SUBTITLE_SIZE))


def draw_matrices(
    title: str,
    subtitle: str,
    blocks: Sequence[tuple[str, Matrix]],
    note: str = "",
    target: int = 520,
) -> bytes:
    """One or more labelled matrices stacked vertically, each with a heading and colour scale."""
    layouts = [_layout(matrix, target) for _, matrix in blocks]
    heading = [SUBTITLE_SIZE + 10 if name else 0 for name, _ in blocks]
    width = (
        max(max(layout.width for layout in layouts), header_width(title, subtitle), 240)
        + 2 * MARGIN
    )
    top = header_height(subtitle)
    height = top + sum(
        layout.height + extra + 10 for layout, extra in zip(layouts, heading, strict=True)
    )
    height += (NOTE_SIZE + 10 if note else 0) + MARGIN
    canvas = Canvas(width, height)
    draw_header(canvas, title, subtitle)
    y = top
    for (name, matrix), layout, extra in zip(blocks, layouts, heading, strict=True):
        if name:
            canvas.text((MARGIN, y), name, SUBTITLE_SIZE, bold=True)
        _draw_block(canvas, (MARGIN, y + extra), matrix, layout)
        y += layout.height + extra + 10
    if note:
        canvas.text((MARGIN, y), note, NOTE_SIZE, fill=MUTED)
    return canvas.png()


@dataclass(frozen=True)
class Grid:
    """Square attention matrices laid out in rows, e.g. the heads of a layer."""

    panels: tuple[tuple[np.ndarray, ...], ...]
    titles: tuple[tuple[str, ...], ...] = ()
    row_headers: tuple[str, ...] = ()
    col_headers: tuple[str, ...] = ()
    shared_scale: bool = True
    tokens: tuple[str, ...] = ()
    special: tuple[bool, ...] = ()
    boundary: int | None = None  # first token of a pair's second segment


# Up to this many tokens, grid cells grow so the outer panels keep legible token labels.
LABELLED_GRID_TOKENS = 24


def draw_grid(title: str, subtitle: str, grid: Grid, note: str = "", target: int = 190) -> bytes:
    """Thumbnails in a grid: per-panel titles or row/column headers, token labels on the
    outer panels when they fit, one shared colour scale (or each panel scaled to its max)."""
    count = grid.panels[0][0].shape[0]
    rows, cols = len(grid.panels), len(grid.panels[0])
    cell = _clamp(target / count, 1, 16)
    if grid.tokens and count <= LABELLED_GRID_TOKENS:
        cell = max(cell, 10)
    side = cell * count
    gap = 10
    label_size = min(cell - 1, 12)
    show_tokens = bool(grid.tokens) and label_size >= 9
    token_width = max((text_width(t, label_size) for t in grid.tokens), default=0) + 8
    left_margin = token_width if show_tokens else 0
    if grid.row_headers:
        left_margin += max(text_width(h, 12) for h in grid.row_headers) + 10
    title_height = 18 if grid.titles else 0
    col_header_height = 18 if grid.col_headers else 0
    bottom_labels = token_width if show_tokens else 0
    scale = 14 + SCALE_WIDTH if grid.shared_scale else 0
    width = (
        max(left_margin + cols * (side + gap) + scale, header_width(title, subtitle)) + 2 * MARGIN
    )
    top = header_height(subtitle) + col_header_height
    height = top + rows * (side + gap + title_height) + bottom_labels + (NOTE_SIZE + 14) + MARGIN
    canvas = Canvas(width, height)
    draw_header(canvas, title, subtitle)
    vmax = max(float(panel.max()) for row in grid.panels for panel in row)
    colours = _colours(grid.special, count)
    x_start = MARGIN + left_margin
    for c, header in enumerate(grid.col_headers):
        canvas.text((x_start + c * (side + gap) + side / 2, top - 4), header, 12, anchor="md")
    for r, row in enumerate(grid.panels):
        y = top + r * (side + gap + title_height) + title_height
        if grid.row_headers:
            canvas.text((MARGIN, y + side / 2), grid.row_headers[r], 12, anchor="lm")
        for c, panel in enumerate(row):
            x = x_start + c * (side + gap)
            if grid.titles:
                canvas.text((x, y - 3), grid.titles[r][c], 12, anchor="ld", fill=MUTED)
            panel_max = vmax if grid.shared_scale else max(float(panel.max()), 1e-6)
            canvas.paste(cells(panel, panel_max, cell), (x, y))
            if grid.boundary is not None:
                edge = grid.boundary * cell
                canvas.dashed((x + edge, y), (x + edge, y + side))
                canvas.dashed((x, y + edge), (x + side, y + edge))
            if show_tokens and c == 0:
                for index, token in enumerate(grid.tokens):
                    centre = y + (index + 0.5) * cell
                    canvas.text(
                        (x - 4, centre), token, label_size, anchor="rm", fill=colours[index]
                    )
            if show_tokens and r == rows - 1:
                strip = rotated_labels(grid.tokens, colours, label_size, cell)
                canvas.paste(strip, (x, y + side + 2))
    if grid.shared_scale:
        scale_height = min(rows * (side + gap + title_height) - gap - title_height, 320)
        colour_scale(
            canvas, (x_start + cols * (side + gap) + 4, top + title_height), scale_height, vmax
        )
    if note:
        canvas.text((MARGIN, height - MARGIN - NOTE_SIZE), note, NOTE_SIZE, fill=MUTED)
    return canvas.png()
