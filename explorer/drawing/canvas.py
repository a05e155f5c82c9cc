"""Drawing primitives: matplotlib's colour map and fonts, drawn with Pillow (a matplotlib
dependency), which is many times faster than a Figure for pictures made of matrices, labels
and colour scales. Text is drawn in runs, each with a font that has its characters."""

from __future__ import annotations

import functools
import struct
import zlib

import numpy as np
from matplotlib import colormaps
from PIL import Image, ImageDraw, ImageFont

from explorer.budget import check_picture
from explorer.drawing.fonts import base_font_path, cjk_font, runs

BACKGROUND = (255, 255, 255)
INK = (33, 33, 33)
MUTED = (110, 110, 110)
SPECIAL = (176, 48, 96)
HIGHLIGHT = (214, 96, 0)
COLORMAP = "viridis"

Colour = tuple[int, int, int]


@functools.cache
def _lut(name: str = COLORMAP) -> np.ndarray:
    return (colormaps[name](np.linspace(0.0, 1.0, 256))[:, :3] * 255).round().astype(np.uint8)


@functools.cache
def _palette(colormap: str = COLORMAP) -> Image.Image:
    """176 steps of the colour map, 56 greys (text on white) and 12 tints each of the special-token
    and highlight colours: every colour these pictures draw, within a step too small to see."""
    # Pillow maps colours through a coarse lookup: keep no grey close to white but white.
    levels = np.append(np.linspace(0, 240, 55), 255)
    greys = np.repeat(levels.round()[:, None], 3, axis=1)
    mix = np.linspace(0.0, 1.0, 12)[:, None]
    white = np.array(BACKGROUND, dtype=float)
    tints = [np.array(c, dtype=float) * (1 - mix) + white * mix for c in (SPECIAL, HIGHLIGHT)]
    steps = colormaps[colormap](np.linspace(0.0, 1.0, 176))[:, :3] * 255
    colours = np.concatenate([steps, greys, *tints]).round().astype(np.uint8)
    palette = Image.new("P", (1, 1))
    palette.putpalette(colours.flatten().tolist())
    return palette


def colourise(matrix: np.ndarray, vmax: float) -> np.ndarray:
    """RGB pixels (…, 3) for `matrix` on the colour map, scaled to [0, vmax]; NaN is white."""
    values = np.asarray(matrix, dtype=np.float32)
    index = np.clip(np.nan_to_num(values) / max(vmax, 1e-9) * 255.0, 0, 255)
    pixels = _lut()[index.astype(np.uint8)]
    pixels[np.isnan(values)] = BACKGROUND
    return pixels


def colour_of(value: float, vmax: float) -> Colour:
    """One value's colour on the colour map."""
    r, g, b = (int(c) for c in colourise(np.array([value]), vmax)[0])
    return (r, g, b)


def ink_on(value: float, vmax: float) -> Colour:
    """Black on the light end of the colour map, white on the dark end."""
    return (0, 0, 0) if value > 0.6 * vmax else (255, 255, 255)


def cells(matrix: np.ndarray, vmax: float, width: int, height: int | None = None) -> Image.Image:
    """The matrix as an image of `width`×`height` pixel cells (square by default)."""
    pixels = colourise(matrix, vmax)
    rows, cols = pixels.shape[:2]
    return Image.fromarray(pixels, "RGB").resize(
        (cols * width, rows * (height or width)), Image.Resampling.NEAREST
    )


@functools.cache
def font(size: int, bold: bool = False, cjk: bool = False) -> ImageFont.FreeTypeFont:
    """DejaVu Sans (or the CJK font, one face of a collection) at `size` pixels."""
    if cjk:
        entry = cjk_font()
        return ImageFont.truetype(entry.fname, size, index=entry.index)
    return ImageFont.truetype(base_font_path(bold), size)


@functools.lru_cache(maxsize=16384)
def text_width(text: str, size: int, bold: bool = False) -> int:
    """Pixels `text` takes across at `size`."""
    return int(np.ceil(sum(font(size, bold, cjk).getlength(run) for run, cjk in runs(text))))


@functools.lru_cache(maxsize=16384)
def _text_mask(text: str, size: int, bold: bool, anchor: str) -> tuple[Image.Image, int, int]:
    """The text drawn once as a coverage mask, with its offset from the anchor point: labels
    and cell values repeat from picture to picture, and FreeType was most of the drawing."""
    pieces = runs(text)
    metrics = [font(size, bold, cjk).getmetrics() for cjk in {False, *(c for _, c in pieces)}]
    ascent, descent = max(m[0] for m in metrics), max(m[1] for m in metrics)
    width = text_width(text, size, bold)
    height = ascent + descent + 2
    mask = Image.new("L", (max(1, width + 2), height))
    draw = ImageDraw.Draw(mask)
    x = 1.0
    for run, cjk in pieces:
        face = font(size, bold, cjk)
        draw.text((x, ascent + 1), run, font=face, fill=255, anchor="ls")
        x += face.getlength(run)
    horizontal, vertical = anchor[0], anchor[1]
    left = {"l": -1, "m": -(width + 2) // 2, "r": -(width + 1)}[horizontal]
    top = {"a": 0, "t": 0, "m": -height // 2, "s": -(ascent + 1), "d": -height, "b": -height}[
        vertical
    ]
    return mask, left, top


def cjk_upright(text: str) -> bool:
    """Whether a column label reads better as upright characters stacked top to bottom (all
    CJK, as Chinese is often set in columns)."""
    return bool(text) and all(cjk for _, cjk in runs(text))


class Canvas:
    """A white RGB image with text helpers; `png()` encodes it with the colours of its
    `colormap` (matplotlib's name: a diverging one for signed values)."""

    def __init__(self, width: int, height: int, colormap: str = COLORMAP) -> None:
        check_picture(width, height)
        self.colormap = colormap
        self.image = Image.new("RGB", (int(width), int(height)), BACKGROUND)
        self.draw = ImageDraw.Draw(self.image)

    def text(
        self,
        xy: tuple[float, float],
        text: str,
        size: int,
        *,
        anchor: str = "la",
        fill: Colour = INK,
        bold: bool = False,
    ) -> None:
        """Draw `text` at `xy`, placed by `anchor` (Pillow's two letters: l/m/r, a/m/s/d)."""
        if not text:
            return
        mask, left, top = _text_mask(text, size, bold, anchor)
        x, y = round(xy[0]) + left, round(xy[1]) + top
        # Pillow's core paste, as `Image.paste` ends with: its checks took as long as the
        # paste itself, and a picture draws a hundred labels and values.
        self.image.im.paste(fill, (x, y, x + mask.width, y + mask.height), mask.im)

    def paste(self, image: Image.Image, xy: tuple[float, float]) -> None:
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
        indexed = self.image.quantize(palette=_palette(self.colormap), dither=Image.Dither.NONE)
        return indexed_png(indexed)


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# zlib's fastest level: a third of the time of level 6 for files about a third larger (20 KiB
# for a 16-token picture), bench/load_bench.py's "png" stage.
PNG_LEVEL = 1


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(data, zlib.crc32(kind))
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def indexed_png(indexed: Image.Image) -> bytes:
    """A palette image as PNG bytes (8-bit indices, no row filter, the bytes Pillow writes at
    the same level), compressed by the standard library's zlib, which lets other threads run
    meanwhile: Pillow's own encoder holds the interpreter lock throughout, so pictures drawn
    on two worker threads were encoded one after the other."""
    width, height = indexed.size
    rows = np.zeros((height, width + 1), dtype=np.uint8)  # each row starts with filter 0
    rows[:, 1:] = np.asarray(indexed)
    header = struct.pack(">IIBBBBB", width, height, 8, 3, 0, 0, 0)  # 8-bit, palette
    palette = bytes(indexed.getpalette() or [])
    return b"".join(
        (
            PNG_SIGNATURE,
            _chunk(b"IHDR", header),
            _chunk(b"PLTE", palette),
            _chunk(b"IDAT", zlib.compress(rows.tobytes(), PNG_LEVEL)),
            _chunk(b"IEND", b""),
        )
    )
