"""Fonts that can draw the text, found at run time: DejaVu Sans (matplotlib ships it) for most
scripts, a CJK font for Chinese, Japanese and Korean where one is installed. A character no
font can draw (an emoji, or CJK without a CJK font) is drawn as U+FFFD, never as a box, and
the log says so once."""

from __future__ import annotations

import functools
import logging
import unicodedata
from pathlib import Path

from matplotlib import font_manager
from matplotlib.ft2font import FT2Font

log = logging.getLogger(__name__)

BASE_FAMILY = "DejaVu Sans"
PLACEHOLDER = "\ufffd"  # the replacement character: "this cannot be shown here"
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
    return entry


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
    cjk = cjk_font()
    return frozenset() if cjk is None else _charmap(cjk.fname)


def is_cjk(char: str) -> bool:
    """A Chinese, Japanese or Korean character (wide, and not a symbol such as an emoji)."""
    return unicodedata.east_asian_width(char) in {"W", "F"} and not unicodedata.category(
        char
    ).startswith("S")


_WARNED: set[str] = set()  # kinds of missing glyphs already logged


def _warn_once(kind: str, example: str) -> None:
    if kind in _WARNED:
        return
    _WARNED.add(kind)
    if kind == "cjk":
        log.warning(
            "No CJK font found: Chinese, Japanese and Korean characters are drawn as %s and "
            "tokens labelled by position (e.g. %r). Install fonts-noto-cjk or "
            "fonts-wqy-microhei to draw them.",
            PLACEHOLDER,
            example,
        )
    else:
        log.info(
            "No installed font draws %r: such characters are drawn as %s", example, PLACEHOLDER
        )


def drawable(text: str) -> bool:
    """Whether every visible character of `text` can be drawn with one font."""
    base, cjk = _base_codepoints(), _cjk_codepoints()
    visible = [ord(char) for char in text if not char.isspace()]
    return all(c in base for c in visible) or (bool(cjk) and all(c in cjk for c in visible))


@functools.lru_cache(maxsize=16384)
def runs(text: str) -> tuple[tuple[str, bool], ...]:
    """The text split into runs each drawn with one font: (run, whether the CJK font). A
    character neither font has becomes U+FFFD in DejaVu Sans (logged once per kind)."""
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
            _warn_once("cjk" if is_cjk(char) else "other", char)
            shown, use_cjk = PLACEHOLDER, False
        if pieces and pieces[-1][1] == use_cjk:
            pieces[-1] = (pieces[-1][0] + shown, use_cjk)
        else:
            pieces.append((shown, use_cjk))
    return tuple(pieces)
