"""Token labels: how a token is shown, which labels fit along an axis, and column labels
(turned to read upwards, or upright and stacked for Chinese, Japanese and Korean)."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from PIL import Image, ImageChops

from explorer.drawing.canvas import Canvas, Colour, cjk_upright, text_width
from explorer.drawing.fonts import drawable

_MARKERS = {"Ġ": "␣", "▁": "␣", "Ċ": "↵", "ĉ": "⇥"}


def display_token(token: str, index: int) -> str:
    """A token as a label: BPE/SentencePiece space markers made visible; a token no installed
    font can draw becomes `#index` rather than a row of placeholders."""
    shown = "".join(_MARKERS.get(char, char) for char in token)
    if not shown.strip():
        shown = repr(token)
    return shown if drawable(shown) else f"#{index}"


def choose(count: int, pitch: float, extent: float, forced: Collection[int]) -> list[bool]:
    """Which of `count` evenly spaced labels to show when each takes `extent` pixels along an
    axis of `pitch` pixels per item: every label if they fit; else the `forced` ones (special
    tokens, the chosen token, a pair's boundary) and as many others as fit between them at
    a regular step. Shown labels never overlap."""
    if count == 0:
        return []
    if pitch >= extent:
        return [True] * count
    step = max(1, int(-(-extent // pitch)))  # ceil: items one label needs
    shown = [False] * count
    taken: list[float] = []

    def free(index: int) -> bool:
        centre = (index + 0.5) * pitch
        return all(abs(centre - other) >= extent for other in taken)

    for index in sorted(set(forced)):
        if 0 <= index < count and free(index):
            shown[index] = True
            taken.append((index + 0.5) * pitch)
    for index in range(0, count, step):
        if not shown[index] and free(index):
            shown[index] = True
            taken.append((index + 0.5) * pitch)
    return shown


def column_strip(
    labels: Sequence[str],
    colours: Sequence[Colour],
    shown: Sequence[bool],
    size: int,
    pitch: float,
) -> Image.Image:
    """Column labels under (or over) cells `pitch` pixels wide: each upright and stacked if it
    is Chinese, Japanese or Korean, else turned to read upwards, anchored at the top."""
    lengths = [
        _upright_height(label, size) if cjk_upright(label) else text_width(label, size)
        for label, show in zip(labels, shown, strict=True)
        if show
    ]
    length = max(lengths, default=0) + 4
    width = max(1, round(pitch * len(labels)))
    strip = Canvas(width, length)
    turned = Canvas(length, width)  # drawn sideways, then turned
    any_turned = False
    for index, (label, colour, show) in enumerate(zip(labels, colours, shown, strict=True)):
        if not show:
            continue
        centre = (index + 0.5) * pitch
        if cjk_upright(label):
            for row, char in enumerate(label):
                strip.text((centre, 2 + row * (size + 1)), char, size, anchor="ma", fill=colour)
        else:
            any_turned = True
            turned.text((length - 2, centre), label, size, anchor="rm", fill=colour)
    if not any_turned:
        return strip.image
    # Dark text on white: the darker of the two images holds both sets of labels.
    return ImageChops.darker(strip.image, turned.image.transpose(Image.Transpose.ROTATE_90))


def _upright_height(label: str, size: int) -> int:
    return len(label) * (size + 1) + 2
