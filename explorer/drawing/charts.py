"""Pictures of predictions: probability bars for the top tokens, and the logit lens as a
table of predicted tokens coloured by probability."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from explorer.drawing.canvas import INK, MUTED, SPECIAL, Canvas, colour_scale, colourise, text_width
from explorer.drawing.pictures import (
    MARGIN,
    NOTE_SIZE,
    SUBTITLE_SIZE,
    draw_header,
    header_height,
    header_width,
)

LABEL_SIZE = 14
BAR_LENGTH = 320
ROW = 24


def draw_bars(
    title: str,
    subtitle: str,
    groups: Sequence[tuple[str, Sequence[tuple[str, float]]]],
    note: str = "",
) -> bytes:
    """For each group (a heading, then labelled probabilities), one horizontal bar per label,
    its length and colour the probability (0 to 1), the percentage at its end."""
    labels = [label for _, rows in groups for label, _ in rows]
    label_width = max(text_width(label, LABEL_SIZE) for label in labels) + 12
    body_width = label_width + BAR_LENGTH + 70
    width = max(body_width, header_width(title, subtitle), 300) + 2 * MARGIN
    heights = [
        (SUBTITLE_SIZE + 12 if heading else 0) + ROW * len(rows) + 10 for heading, rows in groups
    ]
    top = header_height(subtitle)
    height = top + sum(heights) + (NOTE_SIZE + 12 if note else 0) + MARGIN
    canvas = Canvas(width, height)
    draw_header(canvas, title, subtitle)
    y = top
    for heading, rows in groups:
        if heading:
            canvas.text((MARGIN, y), heading, SUBTITLE_SIZE, bold=True)
            y += SUBTITLE_SIZE + 12
        for label, value in rows:
            middle = y + ROW / 2
            canvas.text((MARGIN + label_width - 12, middle), label, LABEL_SIZE, anchor="rm")
            x0 = MARGIN + label_width
            length = max(1, round(BAR_LENGTH * float(np.clip(value, 0, 1))))
            colour = tuple(int(c) for c in colourise(np.array([[value]]), 1.0)[0, 0])
            canvas.draw.rectangle([x0, y + 4, x0 + length, y + ROW - 5], fill=colour)
            canvas.draw.rectangle(
                [x0, y + 4, x0 + BAR_LENGTH, y + ROW - 5], outline=(210, 210, 210)
            )
            canvas.text((x0 + BAR_LENGTH + 8, middle), f"{value:.1%}", LABEL_SIZE - 1,
                        anchor="lm", fill=MUTED)  # fmt: skip
            y += ROW
        y += 10
    if note:
        canvas.text((MARGIN, height - MARGIN - NOTE_SIZE), note, NOTE_SIZE, fill=MUTED)
    return canvas.png()


LENS_COLUMNS = 16  # positions per band; longer inputs wrap into further bands


def draw_lens(
    title: str,
    subtitle: str,
    layers: Sequence[str],
    positions: Sequence[str],
    position_special: Sequence[bool],
    predicted: Sequence[Sequence[str]],
    probabilities: np.ndarray,
    note: str = "",
) -> bytes:
    """Rows are layers (the embeddings first), columns the input positions, each cell the
    token predicted there, coloured by its probability. Inputs longer than LENS_COLUMNS
    wrap into bands, one under the other."""
    size = 12
    cell_text = [[label for label in row] for row in predicted]
    widest = max(text_width(text, size) for row in cell_text for text in row)
    widest = max(widest, max(text_width(label, size) for label in positions))
    column = min(max(widest + 10, 44), 110)
    layer_width = max(text_width(name, size) for name in layers) + 12
    bands = [range(start, min(start + LENS_COLUMNS, len(positions)))
             for start in range(0, len(positions), LENS_COLUMNS)]  # fmt: skip
    band_height = (len(layers) + 1) * ROW + 14
    grid_width = layer_width + column * min(LENS_COLUMNS, len(positions))
    note = note or "colour: probability"
    width = max(grid_width + 90, header_width(title, subtitle), text_width(note, NOTE_SIZE))
    width += 2 * MARGIN
    top = header_height(subtitle)
    height = top + band_height * len(bands) + NOTE_SIZE + 14 + MARGIN
    canvas = Canvas(width, height)
    draw_header(canvas, title, subtitle)
    for band_index, band in enumerate(bands):
        y0 = top + band_index * band_height
        x0 = MARGIN + layer_width
        for offset, position in enumerate(band):
            colour = SPECIAL if position_special[position] else INK
            label = _fit(positions[position], column - 6, size)
            canvas.text((x0 + (offset + 0.5) * column, y0 + ROW / 2), label, size,
                        anchor="mm", fill=colour)  # fmt: skip
        for row, name in enumerate(layers):
            y = y0 + (row + 1) * ROW
            canvas.text((x0 - 8, y + ROW / 2), name, size, anchor="rm", fill=MUTED)
            values = probabilities[row, band.start : band.stop]
            pixels = colourise(values[None, :], 1.0)[0]
            for offset, position in enumerate(band):
                x = x0 + offset * column
                fill = tuple(int(c) for c in pixels[offset])
                canvas.draw.rectangle([x, y, x + column - 2, y + ROW - 2], fill=fill)
                ink = (0, 0, 0) if values[offset] > 0.6 else (255, 255, 255)
                text = _fit(cell_text[row][position], column - 6, size)
                canvas.text((x + column / 2 - 1, y + ROW / 2 - 1), text, size,
                            anchor="mm", fill=ink)  # fmt: skip
    scale_x = MARGIN + grid_width + 16
    colour_scale(canvas, (scale_x, top + ROW), min(band_height * len(bands) - ROW - 14, 240), 1.0)
    canvas.text((MARGIN, height - MARGIN - NOTE_SIZE), note, NOTE_SIZE, fill=MUTED)
    return canvas.png()


def _fit(text: str, width: int, size: int) -> str:
    """The text, shortened with … to fit `width` pixels."""
    if text_width(text, size) <= width:
        return text
    while len(text) > 1 and text_width(text + "…", size) > width:
        text = text[:-1]
    return text + "…"
