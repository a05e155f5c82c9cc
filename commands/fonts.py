"""Finding fonts that can draw the tokens, CJK included, at run time."""

from __future__ import annotations

import functools
import logging
from pathlib import Path

from matplotlib import font_manager
from matplotlib.ft2font import FT2Font

log = logging.getLogger(__name__)

BASE_FAMILY = "DejaVu Sans"
_CJK_PROBE = ord("中")
_CJK_HINTS = (
    "noto sans cjk",
    "noto serif cjk",
    "wenquanyi",
    "source han",
    "droid sans fallback",
    "ar pl",
    "simhei",
    "microsoft yahei",
    "pingfang",
    "hiragino",
)
_CJK_FILE_HINTS = ("cjk", "wqy", "droidsansfallback", "sourcehan", "uming", "ukai", "simhei")


@functools.cache
def _charmap(path: str) -> frozenset[int]:
    return frozenset(FT2Font(path).get_charmap())


def _cjk_entry() -> font_manager.FontEntry | None:
    for entry in font_manager.fontManager.ttflist:
        if any(hint in entry.name.lower() for hint in _CJK_HINTS) and _CJK_PROBE in _charmap(
            entry.fname
        ):
            return entry
    return None


@functools.cache
def cjk_font() -> font_manager.FontEntry | None:
    """A font with CJK glyphs, also one installed after matplotlib built its font cache."""
    entry = _cjk_entry()
    if entry is None:
        for path in font_manager.findSystemFonts():
            if any(hint in Path(path).name.lower() for hint in _CJK_FILE_HINTS):
                font_manager.fontManager.addfont(path)
        entry = _cjk_entry()
    if entry is None:
        log.warning(
            "No CJK font found: Chinese, Japanese and Korean tokens will be labelled by index. "
            "Install fonts-noto-cjk or fonts-wqy-microhei to draw them."
        )
    return entry


def label_families() -> list[str]:
    """Font families for token labels, in fallback order."""
    cjk = cjk_font()
    return [BASE_FAMILY] if cjk is None else [BASE_FAMILY, cjk.name]


@functools.cache
def _drawable_codepoints() -> frozenset[int]:
    paths = [font_manager.findfont(BASE_FAMILY)]
    cjk = cjk_font()
    if cjk is not None:
        paths.append(cjk.fname)
    return frozenset().union(*(_charmap(path) for path in paths))


def drawable(text: str) -> bool:
    """Whether every character of `text` has a glyph in the label fonts."""
    codepoints = _drawable_codepoints()
    return all(ord(char) in codepoints or char.isspace() for char in text)
