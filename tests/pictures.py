"""Checks that a PNG is a real picture a person could read, not an empty canvas."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

DISCORD_UPLOAD_LIMIT = 10 * 2**20


def decode(data: bytes) -> np.ndarray:
    """The PNG's pixels as (height, width, 3) uint8."""
    assert data.startswith(b"\x89PNG\r\n\x1a\n"), "not a PNG"
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def assert_drawn(data: bytes, min_size: tuple[int, int] = (240, 150)) -> tuple[int, int]:
    """A PNG within Discord's limits, at least `min_size` (width, height), with ink on it:
    text and a colour map, not a blank or single-colour canvas. Returns (height, width)."""
    assert data.startswith(b"\x89PNG\r\n\x1a\n"), "not a PNG"
    assert len(data) <= DISCORD_UPLOAD_LIMIT
    image = Image.open(io.BytesIO(data)).convert("RGB")
    width, height = image.size
    assert width >= min_size[0] and height >= min_size[1], (width, height)
    greys = image.convert("L").histogram()
    ink = sum(greys[:235]) / (width * height)  # share of pixels that are not near-white
    assert ink > 0.03, f"only {ink:.1%} of the picture is drawn on"
    colours = image.getcolors(maxcolors=width * height) or []
    assert len(colours) >= 16, f"only {len(colours)} colours: no colour map was drawn"
    return height, width
