"""Fonts that draw the text, the same on every machine: DejaVu Sans (matplotlib ships it) for
most scripts, and Noto Sans CJK SC for Chinese, Japanese and Korean, from the
`noto-cjk-sans-otc` package this project depends on (SIL Open Font License 1.1). System fonts
are never searched, so a picture looks the same wherever it is drawn. A character neither font
has (an emoji, a rare ideograph) is drawn as U+FFFD, never as a box, and the log says so once."""

from __future__ import annotations

import functools
import logging

import noto_cjk_sans_otc
from matplotlib import font_manager
from matplotlib.ft2font import FT2Font

log = logging.getLogger(__name__)

BASE_FAMILY = "DejaVu Sans"
# The package's font is an OpenType collection of ten faces (JP, KR, SC, TC, HK, and their
# Mono variants) with the same characters; SC draws them the way Simplified Chinese is set.
CJK_FAMILY = "Noto Sans CJK SC"
PLACEHOLDER = "\ufffd"  # the replacement character: "this cannot be shown here"


@functools.cache
def _charmap(path: str, index: int = 0) -> frozenset[int]:
    return frozenset(FT2Font(path, face_index=index).get_charmap())


@functools.cache
def cjk_font() -> font_manager.FontEntry:
    """Noto Sans CJK SC, registered with matplotlib's font manager (which, from matplotlib
    3.11, adds every face of a collection with its face `index`)."""
    path = str(noto_cjk_sans_otc.FONT_PATH)
    font_manager.fontManager.addfont(path)
    return next(
        entry
        for entry in font_manager.fontManager.ttflist
        if entry.fname == path and entry.name == CJK_FAMILY
    )


@functools.cache
def base_font_path(bold: bool = False) -> str:
    """DejaVu Sans, regular or bold."""
    weight = "bold" if bold else "normal"
    return str(
        font_manager.findfont(font_manager.FontProperties(family=BASE_FAMILY, weight=weight))
    )


@functools.cache
def _base_codepoints() -> frozenset[int]:
    return _charmap(base_font_path())


@functools.cache
def _cjk_codepoints() -> frozenset[int]:
    entry = cjk_font()
    return _charmap(entry.fname, entry.index)


_LOGGED: list[str] = []  # the first character no font draws, once it is logged


def _log_missing(char: str) -> None:
    if not _LOGGED:
        _LOGGED.append(char)
        log.info("No font here draws %r: such characters are drawn as %s", char, PLACEHOLDER)


def drawable(text: str) -> bool:
    """Whether every visible character of `text` can be drawn with one font."""
    base, cjk = _base_codepoints(), _cjk_codepoints()
    visible = [ord(char) for char in text if not char.isspace()]
    return all(c in base for c in visible) or all(c in cjk for c in visible)


@functools.lru_cache(maxsize=16384)
def runs(text: str) -> tuple[tuple[str, bool], ...]:
    """The text split into runs each drawn with one font: (run, whether the CJK font). A
    character neither font has becomes U+FFFD in DejaVu Sans (logged once)."""
    base, cjk = _base_codepoints(), _cjk_codepoints()
    pieces: list[tuple[str, bool]] = []
    for char in text:
        code = ord(char)
        if char.isspace():  # a space joins the run it is in
            shown, use_cjk = char, pieces[-1][1] if pieces else False
        elif code in base:
            shown, use_cjk = char, False
        elif code in cjk:
            shown, use_cjk = char, True
        else:
            _log_missing(char)
            shown, use_cjk = PLACEHOLDER, False
        if pieces and pieces[-1][1] == use_cjk:
            pieces[-1] = (pieces[-1][0] + shown, use_cjk)
        else:
            pieces.append((shown, use_cjk))
    return tuple(pieces)
