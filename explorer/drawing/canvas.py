"""Drawing primitives for the attention pictures: matplotlib's colour maps and fonts, drawn
with Pillow (a matplotlib dependency), which is several times faster than a Figure for images
made of a matrix, labels and a colour scale."""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence

import numpy as np
from matplotlib import colormaps, font_manager
from PIL import Image, ImageDraw, ImageFont

from explorer.drawing.fonts import BASE_FAMILY, cjk_font, needs_cjk

BACKGROUND = (255, 255, 255)
INK = (33, 33, 33)
MUTED = (110, 110, 110)
SPECIAL = (176, 48, 96)
COLORMAP = "viridis"


@functools.cache
def _lut(name: str = COLORMAP) -> np.ndarray:
    return (colormaps[name](np.linspace(0.0, 1.0, 256))[:, :3] * 255).round().astype(np.uint8)


@functools.cache
def _palette() -> Image.Image:
    """176 colour-map steps, 56 greys (text on white) and 24 tints of the special-token colour:
    every colour these pictures draw, within a step too small to see."""
    # Pillow maps colours through a coarse lookup: keep no grey close to white but white.
    levels = np.append(np.linspace(0, 240, 55), 255)
    greys = np.repeat(levels.round()[:, None], 3, axis=1)
    mix = np.linspace(0.0, 1.0, 24)[:, None]
    tints = np.array(SPECIAL, dtype=float) * (1 - mix) + np.array(BACKGROUND, dtype=float) * mix
    steps = colormaps[COLORMAP](np.linspace(0.0, 1.0, 176))[:, :3] * 255
    colours = np.concatenate([steps, greys, tints]).round().astype(np.uint8)
    palette = Image.new("P", (1, 1))
    palette.putpalette(colours.flatten().tolist())
    return palette


def colourise(matrix: np.ndarray, vmax: float, vmin: float = 0.0) -> np.ndarray:
    """RGB pixels (rows, cols, 3) for `matrix` on the colour map, scaled to [vmin, vmax]."""
    span = max(vmax - vmin, 1e-9)
    index = np.clip((np.asarray(matrix, dtype=np.float32) - vmin) / span * 255.0, 0, 255)
    return _lut()[index.astype(np.uint8)]


def cells(matrix: np.ndarray, vmax: float, cell: int, vmin: float = 0.0) -> Image.Image:
    """The matrix as an image of `cell`×`cell` squares."""
    pixels = colourise(matrix, vmax, vmin)
    return Image.fromarray(pixels, "RGB").resize(
        (pixels.shape[1] * cell, pixels.shape[0] * cell), Image.Resampling.NEAREST
    )


@functools.cache
def _font_path(bold: bool, cjk: bool) -> tuple[str, int]:
    if cjk:
        entry = cjk_font()
        if entry is not None:
            return entry.fname, 0
    weight = "bold" if bold else "normal"
    path = font_manager.findfont(font_manager.FontProperties(family=BASE_FAMILY, weight=weight))
    return path, 0


@functools.cache
def font(size: int, bold: bool = False, cjk: bool = False) -> ImageFont.FreeTypeFont:
    """DejaVu Sans (or the CJK font) at `size` pixels."""
    path, index = _font_path(bold, cjk)
    return ImageFont.truetype(path, size, index=index)


def font_for(text: str, size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    """DejaVu Sans, or the CJK font where the text has characters DejaVu lacks."""
    return font(size, bold, needs_cjk(text))


def text_width(text: str, size: int, bold: bool = False) -> int:
    """Pixels `text` takes at `size`."""
    return int(np.ceil(font_for(text, size, bold).getlength(text)))


@functools.lru_cache(maxsize=8192)
def _text_mask(
    text: str, size: int, bold: bool, anchor: str
) -> tuple[Image.Image, tuple[int, int]]:
    """The text drawn once as a coverage mask, with its offset from the anchor point: labels
    and cell values repeat from picture to picture, and rendering glyphs with FreeType was
    most of a heatmap's drawing time."""
    face = font_for(text, size, bold)
    left, top, right, bottom = (round(edge) for edge in face.getbbox(text, anchor=anchor))
    mask = Image.new("L", (max(1, right - left), max(1, bottom - top)))
    ImageDraw.Draw(mask).text((-left, -top), text, font=face, fill=255, anchor=anchor)
    return mask, (left, top)


class Canvas:
    """A white RGB image with text helpers; `png()` encodes it."""

    def __init__(self, width: int, height: int) -> None:
        self.image = Image.new("RGB", (int(width), int(height)), BACKGROUND)
        self.draw = ImageDraw.Draw(self.image)

    def text(
        self,
        xy: tuple[float, float],
        text: str,
        size: int,
        *,
        anchor: str = "la",
        fill: tuple[int, int, int] = INK,
        bold: bool = False,
    ) -> None:
        """Draw `text` at `xy` (placed by `anchor`, Pillow's two-letter anchors)."""
        mask, (left, top) = _text_mask(text, size, bold, anchor)
        x, y = round(xy[0]) + left, round(xy[1]) + top
        self.image.paste(fill, (x, y, x + mask.width, y + mask.height), mask)

    def paste(self, image: Image.Image, xy: tuple[int, int]) -> None:
        """Paste `image` with its top left corner at `xy`."""
        self.image.paste(image, (int(xy[0]), int(xy[1])))

    def dashed(self, start: tuple[float, float], end: tuple[float, float], dash: int = 5) -> None:
        """A white dashed line, horizontal or vertical."""
        (x0, y0), (x1, y1) = start, end
        length = int(max(abs(x1 - x0), abs(y1 - y0)))
        for offset in range(0, length, dash * 2):
            stop = min(offset + dash, length)
            if x0 == x1:
                self.draw.line([(x0, y0 + offset), (x0, y0 + stop)], fill=BACKGROUND, width=2)
            else:
                self.draw.line([(x0 + offset, y0), (x0 + stop, y0)], fill=BACKGROUND, width=2)

    def png(self) -> bytes:
        """PNG bytes, mapped onto a fixed palette first: encoding a palette image is several
        times faster than RGB, and the file about half the size."""
        indexed = self.image.quantize(palette=_palette(), dither=Image.Dither.NONE)
        buffer = io.BytesIO()
        indexed.save(buffer, format="PNG", compress_level=1)
        return buffer.getvalue()


def rotated_labels(
    labels: Sequence[str], colours: Sequence[tuple[int, int, int]], size: int, pitch: float
) -> Image.Image:
    """Column labels drawn as rows then turned 90°, so they read bottom-to-top under cells."""
    length = max(text_width(label, size) for label in labels) + 4
    strip = Canvas(length, round(pitch * len(labels)))
    for index, (label, colour) in enumerate(zip(labels, colours, strict=True)):
        if label:
            strip.text((length - 2, (index + 0.5) * pitch), label, size, anchor="rm", fill=colour)
    return strip.image.transpose(Image.Transpose.ROTATE_90)


def colour_scale(canvas: Canvas, xy: tuple[int, int], height: int, vmax: float) -> None:
    """A vertical colour bar from 0 to `vmax` with five labelled ticks."""
    vmin = 0.0
    x, y = xy
    gradient = np.linspace(vmax, vmin, max(height, 2), dtype=np.float32)[:, None]
    canvas.paste(cells(np.repeat(gradient, 14, axis=1), vmax, 1, vmin), (x, y))
    canvas.draw.rectangle([x, y, x + 13, y + height - 1], outline=MUTED)
    for fraction in np.linspace(0.0, 1.0, 5):
        tick_y = y + (height - 1) * (1.0 - fraction)
        canvas.draw.line([(x + 14, tick_y), (x + 18, tick_y)], fill=MUTED)
        canvas.text((x + 21, tick_y), f"{vmin + fraction * (vmax - vmin):.2f}", 11, anchor="lm")
