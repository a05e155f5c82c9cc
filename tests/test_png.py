"""Pictures are encoded as PNG by the standard library's zlib (which lets other threads run
while it compresses): the same pixels as Pillow's own encoder writes, for every colour map."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from explorer.drawing.canvas import Canvas, _palette, indexed_png
from tests.pictures import decode


def painted(colormap: str) -> Canvas:
    """A canvas with a colour ramp, text and a highlight: every kind of colour drawn."""
    canvas = Canvas(300, 120, colormap)
    ramp = np.linspace(0, 255, 256, dtype=np.uint8)
    canvas.paste(Image.fromarray(np.tile(ramp, (40, 1)), "L").convert("RGB"), (10, 10))
    canvas.text((10, 60), "the cat sat 猫", 14)
    canvas.text((150, 90), "highlight", 12, fill=(214, 96, 0), bold=True)
    return canvas


@pytest.mark.parametrize("colormap", ["viridis", "RdBu_r"])
def test_a_picture_decodes_to_the_pixels_pillow_would_have_written(colormap):
    canvas = painted(colormap)
    data = canvas.png()
    indexed = canvas.image.quantize(palette=_palette(colormap), dither=Image.Dither.NONE)
    reference = io.BytesIO()
    indexed.save(reference, format="PNG", compress_level=1)
    assert np.array_equal(decode(data), decode(reference.getvalue()))
    shown = Image.open(io.BytesIO(data))
    assert (shown.mode, shown.size) == ("P", (300, 120))


def test_one_pixel_and_one_row_pictures_are_valid():
    for size in ((1, 1), (7, 1), (1, 5)):
        indexed = Image.new("P", size, 3)
        indexed.putpalette([0, 0, 0, 255, 255, 255, 10, 20, 30, 40, 50, 60])
        decoded = Image.open(io.BytesIO(indexed_png(indexed)))
        decoded.load()  # the compressed rows decode whole
        assert decoded.size == size and decoded.convert("RGB").getpixel((0, 0)) == (40, 50, 60)
