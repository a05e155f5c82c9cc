"""A labelled matrix: cells coloured on a stated scale, row labels on the left, column
labels below, a colour scale on the right, and a caption saying what the colours mean.

Cells shrink with the number of tokens down to a size where every label stays legible at
full size (14 px for up to 128 tokens); past that the caller shows a window. Where labels do
not all fit, special tokens, the pair's boundary and marked tokens are always labelled."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import numpy as np

from explorer.drawing.canvas import (
    HIGHLIGHT,
    INK,
    MUTED,
    SPECIAL,
    Canvas,
    Colour,
    cells,
    ink_on,
    text_width,
)
from explorer.drawing.labels import choose, column_strip
from explorer.drawing.page import HEADING_SIZE, NOTE_SIZE
from explorer.drawing.scale import draw_scale, scale_width

SPLIT_GAP = 8  # pixels between a window's columns and the columns summing what lies outside


def clamp(value: float, low: int, high: int) -> int:
    """`value` rounded and kept within [low, high]."""
    return int(min(max(round(value), low), high))


def label_colours(count: int, special: Sequence[bool], marked: Collection[int]) -> list[Colour]:
    """Marked labels in orange, special tokens in red, the rest in ink."""
    flags = list(special) or [False] * count
    return [
        HIGHLIGHT if index in marked else SPECIAL if flag else INK
        for index, flag in enumerate(flags)
    ]


def shown_indices(flags: Sequence[bool]) -> list[int]:
    """The positions whose flag is set."""
    return [index for index, flag in enumerate(flags) if flag]


def forced_labels(
    special: Sequence[bool], boundary: int | None, marked: Collection[int]
) -> set[int]:
    """The labels every picture shows: special tokens, a pair's boundary, marked tokens."""
    forced = {index for index, flag in enumerate(special) if flag} | set(marked)
    if boundary is not None:
        forced.add(boundary)
    return forced


@dataclass(frozen=True)
class Matrix:
    """What to draw: values (NaN is blank), labels, the top of the colour scale."""

    values: np.ndarray
    rows: Sequence[str]
    cols: Sequence[str]
    vmax: float
    caption: str = ""
    heading: str = ""
    row_special: Sequence[bool] = ()
    col_special: Sequence[bool] = ()
    row_boundary: int | None = None
    col_boundary: int | None = None
    row_marked: Collection[int] = ()
    col_marked: Collection[int] = ()
    split_at: int | None = None  # columns from here on sum what a window leaves out
    number_format: str = "{:.2f}"
    annotate: bool | None = None  # None: numbers in cells when they fit
    target: int = 440  # pixels the larger side aims for
    min_cell: int = 14
    max_cell: int = 40
    cell_height: int | None = None  # rows taller than columns are wide (few rows)
    show_scale: bool = True  # False for bands after the first, which share its scale


@dataclass
class MatrixBlock:
    """A matrix laid out: its cell size, which labels show, and its size in pixels."""

    matrix: Matrix
    cell: int = field(init=False)
    row_height: int = field(init=False)
    label_size: int = field(init=False)
    row_shown: list[bool] = field(init=False)
    col_shown: list[bool] = field(init=False)
    row_label_width: int = field(init=False)
    strip_height: int = field(init=False)

    def __post_init__(self) -> None:
        m = self.matrix
        rows, cols = m.values.shape
        self.cell = clamp(m.target / max(rows, cols, 1), m.min_cell, m.max_cell)
        self.row_height = max(self.cell, m.cell_height or 0)
        self.label_size = clamp(self.cell * 0.55, 11, 14)
        extent = self.label_size + 2
        self.row_shown = choose(
            rows,
            self.row_height,
            extent,
            forced_labels(m.row_special, m.row_boundary, m.row_marked),
        )
        self.col_shown = choose(
            cols, self.cell, extent, forced_labels(m.col_special, m.col_boundary, m.col_marked)
        )
        shown_rows = [label for label, show in zip(m.rows, self.row_shown, strict=True) if show]
        self.row_label_width = max((text_width(r, self.label_size) for r in shown_rows), default=0)
        self.row_label_width += 10
        self._strip = column_strip(
            m.cols,
            label_colours(cols, m.col_special, m.col_marked),
            self.col_shown,
            self.label_size,
            self.cell,
        )
        self.strip_height = self._strip.height

    def labelled(self) -> tuple[list[int], list[int]]:
        """The positions of the row and column labels drawn."""
        return shown_indices(self.row_shown), shown_indices(self.col_shown)

    @property
    def _heading_height(self) -> int:
        return HEADING_SIZE + 10 if self.matrix.heading else 0

    @property
    def _grid_width(self) -> int:
        split = SPLIT_GAP if self.matrix.split_at is not None else 0
        return self.matrix.values.shape[1] * self.cell + split

    @property
    def width(self) -> int:
        """Pixels across: labels, cells, the colour scale and the caption."""
        scale = 14 + scale_width(self.matrix.vmax) if self.matrix.show_scale else 0
        body = self.row_label_width + self._grid_width + scale
        return max(body, text_width(self.matrix.caption, NOTE_SIZE) if self.matrix.caption else 0)

    @property
    def height(self) -> int:
        """Pixels down: heading, cells, column labels and caption."""
        rows = self.matrix.values.shape[0]
        caption = NOTE_SIZE + 8 if self.matrix.caption else 0
        return self._heading_height + rows * self.row_height + 4 + self.strip_height + caption

    def _column_x(self, left: int, index: int) -> int:
        split = self.matrix.split_at
        return left + index * self.cell + (SPLIT_GAP if split is not None and index >= split else 0)

    def draw(self, canvas: Canvas, x: int, y: int) -> None:
        """Draw the heading, cells, labels, boundary lines, scale and caption."""
        m = self.matrix
        values = np.asarray(m.values, dtype=np.float32)
        rows, cols = values.shape
        if m.heading:
            canvas.text((x, y), m.heading, HEADING_SIZE, bold=True)
        top = y + self._heading_height
        left = x + self.row_label_width
        split = m.split_at if m.split_at is not None else cols
        canvas.paste(cells(values[:, :split], m.vmax, self.cell, self.row_height), (left, top))
        if split < cols:
            image = cells(values[:, split:], m.vmax, self.cell, self.row_height)
            canvas.paste(image, (self._column_x(left, split), top))
        colours = label_colours(rows, m.row_special, m.row_marked)
        for index, (label, show) in enumerate(zip(m.rows, self.row_shown, strict=True)):
            if show:
                middle = top + (index + 0.5) * self.row_height
                canvas.text((left - 6, middle), label, self.label_size, anchor="rm",
                            fill=colours[index])  # fmt: skip
        bottom = top + rows * self.row_height
        if split < cols:  # the summary columns' labels sit after the gap
            canvas.paste(self._strip.crop((0, 0, split * self.cell, self.strip_height)),
                         (left, bottom + 4))  # fmt: skip
            rest = self._strip.crop((split * self.cell, 0, self._strip.width, self.strip_height))
            canvas.paste(rest, (self._column_x(left, split), bottom + 4))
        else:
            canvas.paste(self._strip, (left, bottom + 4))
        self._annotate(canvas, values, left, top)
        if m.col_boundary is not None:
            edge = self._column_x(left, m.col_boundary)
            canvas.dashed((edge, top), (edge, bottom))
        if m.row_boundary is not None:
            edge_y = top + m.row_boundary * self.row_height
            canvas.dashed((left, edge_y), (left + split * self.cell, edge_y))
        if m.show_scale:
            scale_x = left + self._grid_width + 12
            draw_scale(canvas, (scale_x, top), max(rows * self.row_height, 60), m.vmax)
        if m.caption:
            caption_y = bottom + 4 + self.strip_height + 4
            canvas.text((x, caption_y), m.caption, NOTE_SIZE, fill=MUTED)

    def _annotate(self, canvas: Canvas, values: np.ndarray, left: int, top: int) -> None:
        m = self.matrix
        annotate = m.annotate
        if annotate is None:
            annotate = self.cell >= 34 and values.size <= 144
        if not annotate:
            return
        size = clamp(self.cell * 0.3, 10, 12)
        for (row, col), value in np.ndenumerate(values):
            if np.isnan(value):
                continue
            centre = (
                self._column_x(left, col) + self.cell / 2,
                top + (row + 0.5) * self.row_height,
            )
            canvas.text(centre, m.number_format.format(value), size, anchor="mm",
                        fill=ink_on(float(value), m.vmax))  # fmt: skip
