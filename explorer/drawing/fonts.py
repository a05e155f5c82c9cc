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


@functools.cache
def _base_codepoints() -> frozenset[int]:
    return _charmap(font_manager.findfont(BASE_FAMILY))


@functools.cache
def _cjk_codepoints() -> frozenset[int]:
    cjk = cjk_font()
    return frozenset() if cjk is None else _charmap(cjk.fname)


def needs_cjk(text: str) -> bool:
    """Whether `text` has characters the base font lacks (and so is drawn with the CJK font)."""
    base = _base_codepoints()
    return any(ord(char) not in base and not char.isspace() for char in text)


def drawable(text: str) -> bool:
    """Whether every character of `text` has a glyph in one font: the base or the CJK one."""
    base, cjk = _base_codepoints(), _cjk_codepoints()
    visible = [ord(char) for char in text if not char.isspace()]
    return all(c in base for c in visible) or all(c in cjk for c in visible)
