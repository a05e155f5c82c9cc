"""A picture: a title, the quoted text, blocks one under the other, and notes, as PNG bytes.
Every block says how large it is before it is drawn, so nothing is ever clipped."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Protocol

from explorer.drawing.canvas import COLORMAP, MUTED, Canvas, text_width

MARGIN = 16
TITLE_SIZE = 18
SUBTITLE_SIZE = 13
NOTE_SIZE = 12
HEADING_SIZE = 13
GAP = 14
NOTES_WIDTH = 520  # notes wrap at the blocks' width, or this: a 550-px preview shows them 1:1
# CJK characters (radicals to ideographs, Hangul, compatibility ideographs, full-width forms).
CJK = r"\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef"
# Where a line may break: after a space, or around a CJK character (no spaces between words).
BREAKS = re.compile(rf"[{CJK}]|[^\s{CJK}]+\s*|\s+")


class Block(Protocol):
    """A part of a picture that knows its size and draws itself at a given corner."""

    @property
    def width(self) -> int:
        """Pixels across."""
        ...

    @property
    def height(self) -> int:
        """Pixels down."""
        ...

    def draw(self, canvas: Canvas, x: int, y: int) -> None:
        """Draw with the top left corner at (x, y)."""
        ...


def picture(
    title: str,
    subtitle: str,
    blocks: Sequence[Block],
    notes: Sequence[str] = (),
    colormap: str = COLORMAP,
) -> bytes:
    """The title in bold, the subtitle (the quoted text) under it, the blocks, the notes;
    the blocks' colours are those of `colormap`."""
    header = MARGIN + TITLE_SIZE + 8 + (SUBTITLE_SIZE + 10 if subtitle else 0)
    limit = max([NOTES_WIDTH, *(block.width for block in blocks)])
    notes = [line for note in notes for line in wrapped(note, NOTE_SIZE, limit)]
    widths = [
        *(block.width for block in blocks),
        text_width(title, TITLE_SIZE, bold=True),
        text_width(subtitle, SUBTITLE_SIZE),
        *(text_width(note, NOTE_SIZE) for note in notes),
        240,
    ]
    width = max(widths) + 2 * MARGIN
    height = header + sum(block.height + GAP for block in blocks)
    height += len(notes) * (NOTE_SIZE + 6) + MARGIN
    canvas = Canvas(width, height, colormap)
    canvas.text((MARGIN, MARGIN), title, TITLE_SIZE, bold=True)
    if subtitle:
        canvas.text((MARGIN, MARGIN + TITLE_SIZE + 8), subtitle, SUBTITLE_SIZE, fill=MUTED)
    y = header
    for block in blocks:
        block.draw(canvas, MARGIN, y)
        y += block.height + GAP
    for note in notes:
        canvas.text((MARGIN, y), note, NOTE_SIZE, fill=MUTED)
        y += NOTE_SIZE + 6
    return canvas.png()


def wrapped(text: str, size: int, limit: int) -> Iterator[str]:
    """`text` in lines of at most `limit` pixels at `size`, broken after spaces or around CJK
    characters (a word longer than a line keeps a line of its own)."""
    line = ""
    for unit in BREAKS.findall(text):
        if line and text_width((line + unit).rstrip(), size) > limit:
            yield line.rstrip()
            line = unit.lstrip()
        else:
            line += unit
    if line.strip() or not text:
        yield line.rstrip()
