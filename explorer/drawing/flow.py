"""A text drawn token by token: each token a box in reading order, wrapped into lines, with
an optional colour strip and a small value under it; and a horizontal colour legend. Readable
from a few tokens to 512: lines wrap at a fixed width, so a longer text only grows taller."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib import colormaps

from explorer.drawing.canvas import INK, MUTED, SPECIAL, Canvas, Colour, text_width
from explorer.drawing.labels import display_token
from explorer.drawing.page import SUBTITLE_SIZE
from explorer.drawing.scale import nice_ticks, tick_label
from explorer.encoding import Encoding

LABEL_SIZE = 15
VALUE_SIZE = 10
PADDING = 4  # inside a box, left and right
WORD_GAP = 9  # between tokens the text separates by a space
PIECE_GAP = 2  # between pieces of one word
STRIP = 7  # the strip's height
LINE_GAP = 8
FLOW_WIDTH = 760  # lines wrap here: a 550-px preview still shows 11-px labels
LEGEND_WIDTH = 300
LEGEND_HEIGHT = 12


def mapped(colormap: str, value: float, low: float, high: float) -> Colour:
    """`value` on matplotlib's `colormap` spanning [low, high] (clipped)."""
    share = 0.5 if high <= low else float(np.clip((value - low) / (high - low), 0.0, 1.0))
    r, g, b = (round(c * 255) for c in colormaps[colormap](share)[:3])
    return (r, g, b)


def ink_for(fill: Colour) -> Colour:
    """Black on a light fill, white on a dark one (by perceived lightness)."""
    r, g, b = fill
    return (0, 0, 0) if 0.299 * r + 0.587 * g + 0.114 * b > 140 else (255, 255, 255)


@dataclass(frozen=True)
class Piece:
    """One token as drawn: its label, the box's fill (None: no box), the strip's colour under
    it (None: no strip), a small value under that, whether it is special (its label is then
    in the special-token colour), and whether a space comes before it in the text."""

    label: str
    fill: Colour | None = None
    strip: Colour | None = None
    value: str = ""
    special: bool = False
    spaced: bool = True


def headline(text: str, size: int = SUBTITLE_SIZE, limit: int = FLOW_WIDTH) -> str:
    """The text on one line within `limit` pixels (cut with an ellipsis), for a subtitle
    that never makes a picture wider than its flow."""
    line = " ".join(text.split())
    if text_width(line, size) <= limit:
        return line
    while line and text_width(line + "…", size) > limit:
        line = line[: max(0, len(line) - max(1, len(line) // 8))]
    return line + "…"


def words(encoding: Encoding) -> list[tuple[str, bool]]:
    """Each token's label as it reads in running text, and whether a space comes before it
    (from the offsets; every token is spaced when they are unknown): the word markers
    (`##`, `Ġ`, `▁`) left out, since the gaps show where words begin."""
    found = []
    previous_end: int | None = None
    for index, token in enumerate(encoding.tokens):
        label, spaced = display_token(token, index), True
        if encoding.special[index]:
            found.append((label, spaced))
            continue
        starts_word = label.startswith("␣") and len(label) > 1
        continues_word = label.startswith("##") and len(label) > 2
        label = label[1:] if starts_word else label[2:] if continues_word else label
        span = encoding.offsets[index] if encoding.offsets else None
        if span is not None and previous_end is not None:
            spaced = starts_word or span[0] > previous_end
        if continues_word:
            spaced = False
        if span is not None:
            previous_end = span[1]
        found.append((label, spaced))
    return found


@dataclass(frozen=True)
class TokenFlow:
    """Pieces laid out left to right, wrapped into lines of at most `limit` pixels."""

    pieces: Sequence[Piece]
    limit: int = FLOW_WIDTH

    def _box(self, piece: Piece) -> int:
        return max(text_width(piece.label, LABEL_SIZE), text_width(piece.value, VALUE_SIZE)) + (
            2 * PADDING
        )

    @property
    def _line_height(self) -> int:
        height = LABEL_SIZE + 8
        if any(piece.strip is not None for piece in self.pieces):
            height += STRIP + 2
        if any(piece.value for piece in self.pieces):
            height += VALUE_SIZE + 4
        return height + LINE_GAP

    def _places(self) -> list[tuple[int, int]]:
        """Each piece's (x, line)."""
        places, x, line = [], 0, 0
        for piece in self.pieces:
            box = self._box(piece)
            gap = (WORD_GAP if piece.spaced else PIECE_GAP) if x else 0
            if x and x + gap + box > self.limit:
                x, line, gap = 0, line + 1, 0
            places.append((x + gap, line))
            x += gap + box
        return places

    @property
    def width(self) -> int:
        """Pixels across: the widest line."""
        places = self._places()
        return max(
            (x + self._box(p) for (x, _), p in zip(places, self.pieces, strict=True)), default=1
        )

    @property
    def height(self) -> int:
        """Pixels down: one line height per line."""
        places = self._places()
        return (places[-1][1] + 1 if places else 1) * self._line_height

    def draw(self, canvas: Canvas, x: int, y: int) -> None:
        """Draw every piece at its place."""
        for piece, (left, line) in zip(self.pieces, self._places(), strict=True):
            box = self._box(piece)
            top = y + line * self._line_height
            label_ink = SPECIAL if piece.special else INK
            if piece.fill is not None:
                canvas.draw.rectangle(
                    [x + left, top, x + left + box - 1, top + LABEL_SIZE + 7], fill=piece.fill
                )
                label_ink = ink_for(piece.fill) if not piece.special else label_ink
            centre = x + left + box / 2
            canvas.text((centre, top + 3), piece.label, LABEL_SIZE, anchor="ma", fill=label_ink)
            below = top + LABEL_SIZE + 9
            if piece.strip is not None:
                canvas.draw.rectangle(
                    [x + left, below, x + left + box - 1, below + STRIP - 1], fill=piece.strip
                )
                below += STRIP + 2
            if piece.value:
                canvas.text((centre, below), piece.value, VALUE_SIZE, anchor="ma", fill=MUTED)


@dataclass(frozen=True)
class Legend:
    """A horizontal colour bar from `low` to `high` with round ticks and a caption."""

    colour: Callable[[float], Colour]
    low: float
    high: float
    caption: str

    @property
    def width(self) -> int:
        """Pixels across: the bar and its caption."""
        return LEGEND_WIDTH + 16 + text_width(self.caption, VALUE_SIZE + 1)

    @property
    def height(self) -> int:
        """Pixels down: the bar and its tick labels."""
        return LEGEND_HEIGHT + VALUE_SIZE + 10

    def _ticks(self) -> list[float]:
        span = max(abs(self.low), abs(self.high))
        steps = nice_ticks(span, 4)
        ticks = sorted({*(-t for t in steps), *steps})
        return [t for t in ticks if self.low - 1e-12 <= t <= self.high + 1e-12]

    def draw(self, canvas: Canvas, x: int, y: int) -> None:
        """The bar, ticks under it, the caption to its right."""
        for step in range(LEGEND_WIDTH):
            value = self.low + (self.high - self.low) * step / (LEGEND_WIDTH - 1)
            canvas.draw.line([(x + step, y), (x + step, y + LEGEND_HEIGHT - 1)], self.colour(value))
        canvas.draw.rectangle([x, y, x + LEGEND_WIDTH - 1, y + LEGEND_HEIGHT - 1], outline=MUTED)
        ticks = self._ticks()
        span = self.high - self.low
        for value in ticks:
            tick_x = x + (LEGEND_WIDTH - 1) * ((value - self.low) / span if span else 0.5)
            bottom = y + LEGEND_HEIGHT
            canvas.draw.line([(tick_x, bottom), (tick_x, bottom + 3)], fill=MUTED)
            label = tick_label(abs(value), [abs(t) for t in ticks])
            sign = "−" if value < 0 else ""
            canvas.text((tick_x, bottom + 4), sign + label, VALUE_SIZE, anchor="ma", fill=MUTED)
        caption_at = (x + LEGEND_WIDTH + 16, y + LEGEND_HEIGHT // 2)
        canvas.text(caption_at, self.caption, VALUE_SIZE + 1, anchor="lm", fill=MUTED)
