"""Pictures of predictions: probability bars for the top tokens, and the logit lens as a
table of predicted tokens coloured by probability, wrapped into bands for long inputs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from explorer.drawing.canvas import (
    INK,
    MUTED,
    SPECIAL,
    Canvas,
    colour_of,
    colourise,
    ink_on,
    text_width,
)
from explorer.drawing.page import HEADING_SIZE
from explorer.drawing.scale import draw_scale, scale_width

LABEL_SIZE = 14
BAR_LENGTH = 320
ROW = 24


@dataclass(frozen=True)
class Bars:
    """Labelled values from 0 to `top` (by default probabilities), drawn as horizontal bars."""

    rows: Sequence[tuple[str, float]]
    heading: str = ""
    top: float = 1.0
    number_format: str = "{:.2%}"

    @property
    def _label_width(self) -> int:
        return max(text_width(label, LABEL_SIZE) for label, _ in self.rows) + 12

    @property
    def width(self) -> int:
        """Pixels across: labels, bars, percentages."""
        return self._label_width + BAR_LENGTH + 70

    @property
    def height(self) -> int:
        """Pixels down."""
        return (HEADING_SIZE + 12 if self.heading else 0) + ROW * len(self.rows)

    def draw(self, canvas: Canvas, x: int, y: int) -> None:
        """One bar per label, its length and colour the value, the number at its end."""
        if self.heading:
            canvas.text((x, y), self.heading, HEADING_SIZE, bold=True)
            y += HEADING_SIZE + 12
        bar_x = x + self._label_width
        for label, value in self.rows:
            middle = y + ROW / 2
            canvas.text((bar_x - 12, middle), label, LABEL_SIZE, anchor="rm")
            length = max(1, round(BAR_LENGTH * float(np.clip(value / self.top, 0, 1))))
            canvas.draw.rectangle([bar_x, y + 4, bar_x + length, y + ROW - 5],
                                  fill=colour_of(value, self.top))  # fmt: skip
            canvas.draw.rectangle([bar_x, y + 4, bar_x + BAR_LENGTH, y + ROW - 5],
                                  outline=(210, 210, 210))  # fmt: skip
            canvas.text((bar_x + BAR_LENGTH + 8, middle), self.number_format.format(value),
                        LABEL_SIZE - 1, anchor="lm", fill=MUTED)  # fmt: skip
            y += ROW


LENS_COLUMNS = 16  # positions per band; longer inputs wrap into further bands
LENS_SIZE = 12


def fit(text: str, width: int, size: int) -> str:
    """The text, shortened with … to fit `width` pixels."""
    if text_width(text, size) <= width:
        return text
    while len(text) > 1 and text_width(text + "…", size) > width:
        text = text[:-1]
    return text + "…"


@dataclass
class Lens:
    """Rows are layers (the embeddings first), columns the input positions; each cell the
    token predicted there, coloured by its probability (0 to 1)."""

    layers: Sequence[str]
    positions: Sequence[str]
    position_special: Sequence[bool]
    predicted: Sequence[Sequence[str]]
    probabilities: np.ndarray
    column: int = field(init=False)
    layer_width: int = field(init=False)

    def __post_init__(self) -> None:
        texts = [*self.positions, *(t for row in self.predicted for t in row)]
        self.column = min(max(max(text_width(t, LENS_SIZE) for t in texts) + 10, 44), 110)
        self.layer_width = max(text_width(name, LENS_SIZE) for name in self.layers) + 12

    @property
    def _bands(self) -> list[range]:
        count = len(self.positions)
        return [range(s, min(s + LENS_COLUMNS, count)) for s in range(0, count, LENS_COLUMNS)]

    @property
    def _band_height(self) -> int:
        return (len(self.layers) + 1) * ROW + 14

    @property
    def width(self) -> int:
        """Pixels across, the colour scale included."""
        columns = min(LENS_COLUMNS, len(self.positions))
        return self.layer_width + self.column * columns + 16 + scale_width(1.0)

    @property
    def height(self) -> int:
        """Pixels down, all bands."""
        return self._band_height * len(self._bands)

    def draw(self, canvas: Canvas, x: int, y: int) -> None:
        """Each band: the positions' tokens, then one row of predictions per layer."""
        x0 = x + self.layer_width
        for band_index, band in enumerate(self._bands):
            y0 = y + band_index * self._band_height
            for offset, position in enumerate(band):
                colour = SPECIAL if self.position_special[position] else INK
                label = fit(self.positions[position], self.column - 6, LENS_SIZE)
                canvas.text((x0 + (offset + 0.5) * self.column, y0 + ROW / 2), label, LENS_SIZE,
                            anchor="mm", fill=colour)  # fmt: skip
            for row, name in enumerate(self.layers):
                top = y0 + (row + 1) * ROW
                canvas.text((x0 - 8, top + ROW / 2), name, LENS_SIZE, anchor="rm", fill=MUTED)
                values = self.probabilities[row, band.start : band.stop]
                pixels = colourise(values, 1.0)
                for offset, position in enumerate(band):
                    left = x0 + offset * self.column
                    fill = tuple(int(c) for c in pixels[offset])
                    canvas.draw.rectangle([left, top, left + self.column - 2, top + ROW - 2],
                                          fill=fill)  # fmt: skip
                    text = fit(self.predicted[row][position], self.column - 6, LENS_SIZE)
                    canvas.text((left + self.column / 2 - 1, top + ROW / 2 - 1), text, LENS_SIZE,
                                anchor="mm", fill=ink_on(float(values[offset]), 1.0))  # fmt: skip
        columns = min(LENS_COLUMNS, len(self.positions))
        scale_x = x0 + self.column * columns + 16
        draw_scale(canvas, (scale_x, y + ROW), min(self.height - ROW - 14, 240), 1.0)
