"""Grids of attention thumbnails on one colour scale: the heads of a layer, or layers × heads.

A thumbnail has one cell per token while that fits its side; longer inputs are max-pooled, so
a single strong link still shows as a bright pixel. The outer thumbnails carry token labels
where they fit (special tokens, the pair's boundary and marked tokens always)."""

from __future__ import annotations

import math
import warnings
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import numpy as np

from explorer.drawing.canvas import MUTED, Canvas, cells, text_width
from explorer.drawing.labels import choose, column_strip
from explorer.drawing.matrix import forced_labels, label_colours, shown_indices
from explorer.drawing.page import NOTE_SIZE
from explorer.drawing.scale import draw_scale, scale_width

TITLE_SIZE = 12
LABEL_SIZE = 11
PANEL_GAP = 12


def pooled(values: np.ndarray, factor: int) -> np.ndarray:
    """Max over `factor`×`factor` blocks (edges padded with NaN, which stays blank)."""
    if factor <= 1:
        return values
    rows, cols = values.shape
    padded = np.full((math.ceil(rows / factor) * factor, math.ceil(cols / factor) * factor),
                     np.nan, dtype=np.float32)  # fmt: skip
    padded[:rows, :cols] = values
    blocks = padded.reshape(padded.shape[0] // factor, factor, padded.shape[1] // factor, factor)
    with warnings.catch_warnings():  # an all-padding block stays NaN: blank
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmax(blocks, axis=(1, 3))


@dataclass(frozen=True)
class Axis:
    """Token labels along one side of every thumbnail."""

    labels: Sequence[str]
    special: Sequence[bool] = ()
    boundary: int | None = None
    marked: Collection[int] = ()


@dataclass(frozen=True)
class Grid:
    """Thumbnails in rows (None leaves a slot empty), on one scale from 0 to `vmax`."""

    panels: Sequence[Sequence[np.ndarray | None]]
    vmax: float
    side: int  # pixels a thumbnail's larger side aims for
    titles: Sequence[Sequence[str]] = ()
    row_headers: Sequence[str] = ()
    col_headers: Sequence[str] = ()
    queries: Axis | None = None  # labels left of the first column of thumbnails
    keys: Axis | None = None  # labels under the last row
    caption: str = ""


@dataclass
class GridBlock:
    """A grid laid out."""

    grid: Grid
    factor: int = field(init=False)  # tokens per pixel cell (max-pooled)
    cell: int = field(init=False)
    panel_width: int = field(init=False)
    panel_height: int = field(init=False)
    left: int = field(init=False)
    bottom_labels: int = field(init=False)

    def __post_init__(self) -> None:
        g = self.grid
        first = next(p for row in g.panels for p in row if p is not None)
        rows, cols = first.shape
        longest = max(rows, cols)
        self.factor = max(1, math.ceil(longest / g.side))
        self.cell = max(1, g.side // math.ceil(longest / self.factor))
        title_width = max((text_width(t, TITLE_SIZE) for r in g.titles for t in r), default=0)
        self.panel_width = max(math.ceil(cols / self.factor) * self.cell, title_width + 4)
        self.panel_height = math.ceil(rows / self.factor) * self.cell
        pitch_q = self.cell / self.factor
        self._query_shown = self._shown(g.queries, rows, pitch_q)
        self._key_shown = self._shown(g.keys, cols, pitch_q)
        labels = 0
        if g.queries is not None and any(self._query_shown):
            shown = [q for q, s in zip(g.queries.labels, self._query_shown, strict=True) if s]
            labels = max(text_width(label, LABEL_SIZE) for label in shown) + 8
        headers = max((text_width(h, TITLE_SIZE) for h in g.row_headers), default=-10) + 10
        self.left = labels + headers
        self._strip = None
        if g.keys is not None and any(self._key_shown):
            colours = label_colours(len(g.keys.labels), g.keys.special, g.keys.marked)
            self._strip = column_strip(
                g.keys.labels, colours, self._key_shown, LABEL_SIZE, self.cell / self.factor
            )
        self.bottom_labels = self._strip.height + 2 if self._strip is not None else 0

    def labelled(self) -> tuple[list[int], list[int]]:
        """The positions of the query and key labels drawn."""
        return shown_indices(self._query_shown), shown_indices(self._key_shown)

    @staticmethod
    def _shown(axis: Axis | None, count: int, pitch: float) -> list[bool]:
        if axis is None:
            return []
        forced = forced_labels(axis.special, axis.boundary, axis.marked)
        return choose(count, pitch, LABEL_SIZE + 1, forced)

    @property
    def _title_height(self) -> int:
        return TITLE_SIZE + 6 if self.grid.titles else 0

    @property
    def _header_height(self) -> int:
        return TITLE_SIZE + 8 if self.grid.col_headers else 0

    @property
    def _columns(self) -> int:
        return max(len(row) for row in self.grid.panels)

    @property
    def width(self) -> int:
        """Pixels across, the colour scale included."""
        body = (
            self.left + self._columns * (self.panel_width + PANEL_GAP) + scale_width(self.grid.vmax)
        )
        caption = text_width(self.grid.caption, NOTE_SIZE) if self.grid.caption else 0
        return max(body + 8, caption)

    @property
    def height(self) -> int:
        """Pixels down."""
        rows = len(self.grid.panels)
        body = rows * (self.panel_height + self._title_height + PANEL_GAP)
        caption = NOTE_SIZE + 8 if self.grid.caption else 0
        return self._header_height + body + self.bottom_labels + caption

    def draw(self, canvas: Canvas, x: int, y: int) -> None:
        """Draw headers, thumbnails, labels, the shared colour scale and the caption."""
        g = self.grid
        top = y + self._header_height
        x0 = x + self.left
        for c, header in enumerate(g.col_headers):
            centre = x0 + c * (self.panel_width + PANEL_GAP) + self.panel_width / 2
            canvas.text((centre, top - 6), header, TITLE_SIZE, anchor="md", fill=MUTED)
        self._panels(canvas, x, top)
        if self._strip is not None:
            last = top + len(g.panels) * (self.panel_height + self._title_height + PANEL_GAP)
            strip_y = last - PANEL_GAP + 2
            for c, panel in enumerate(g.panels[-1]):
                if panel is not None:
                    canvas.paste(self._strip, (x0 + c * (self.panel_width + PANEL_GAP), strip_y))
        scale_x = x0 + self._columns * (self.panel_width + PANEL_GAP)
        body = len(g.panels) * (self.panel_height + self._title_height + PANEL_GAP) - PANEL_GAP
        draw_scale(canvas, (scale_x, top + self._title_height), min(body - self._title_height, 320),
                   g.vmax)  # fmt: skip
        if g.caption:
            canvas.text((x, y + self.height - NOTE_SIZE - 4), g.caption, NOTE_SIZE, fill=MUTED)

    def _panels(self, canvas: Canvas, x: int, top: int) -> None:
        """The thumbnails, with their row headers, titles, boundaries and query labels."""
        g = self.grid
        x0 = x + self.left
        for r, row in enumerate(g.panels):
            panel_y = top + r * (self.panel_height + self._title_height + PANEL_GAP)
            panel_y += self._title_height
            if g.row_headers:
                canvas.text((x, panel_y + self.panel_height / 2), g.row_headers[r], TITLE_SIZE,
                            anchor="lm", fill=MUTED)  # fmt: skip
            for c, panel in enumerate(row):
                if panel is None:
                    continue
                panel_x = x0 + c * (self.panel_width + PANEL_GAP)
                if g.titles:
                    canvas.text((panel_x, panel_y - 3), g.titles[r][c], TITLE_SIZE, anchor="ld",
                                fill=MUTED)  # fmt: skip
                image = cells(pooled(panel.astype(np.float32), self.factor), g.vmax, self.cell)
                canvas.paste(image, (panel_x, panel_y))
                self._boundaries(canvas, panel_x, panel_y)
                if c == 0 and g.queries is not None:
                    self._query_labels(canvas, panel_x, panel_y)

    def _boundaries(self, canvas: Canvas, panel_x: int, panel_y: int) -> None:
        g, pitch = self.grid, self.cell / self.factor
        if g.keys is not None and g.keys.boundary is not None:
            edge = panel_x + g.keys.boundary * pitch
            canvas.dashed((edge, panel_y), (edge, panel_y + self.panel_height))
        if g.queries is not None and g.queries.boundary is not None:
            edge = panel_y + g.queries.boundary * pitch
            canvas.dashed((panel_x, edge), (panel_x + self.panel_width, edge))

    def _query_labels(self, canvas: Canvas, panel_x: int, panel_y: int) -> None:
        axis = self.grid.queries
        assert axis is not None
        pitch = self.cell / self.factor
        colours = label_colours(len(axis.labels), axis.special, axis.marked)
        for index, (label, show) in enumerate(zip(axis.labels, self._query_shown, strict=True)):
            if show:
                centre = panel_y + (index + 0.5) * pitch
                canvas.text((panel_x - 4, centre), label, LABEL_SIZE, anchor="rm",
                            fill=colours[index])  # fmt: skip
