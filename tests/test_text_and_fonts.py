"""Safe echo of user text, and labels that are drawn rather than shown as boxes."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ft2font import FT2Font
from PIL import ImageDraw

from explorer.contract import reply_with_overflow
from explorer.drawing.canvas import INK, Canvas, font
from explorer.drawing.fonts import BASE_FAMILY, PLACEHOLDER, cjk_font, drawable
from explorer.drawing.labels import display_token
from explorer.text import in_code, neutralise, quote_inline


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain", "plain"),
        ("tab\tand\nnewline", "tab\tand\nnewline"),
        ("bell\x07", "bell\\u0007"),
        ("rtl\u202eevil", "rtl\\u202eevil"),
        ("zero\u200bwidth", "zero\\u200bwidth"),
    ],
)
def test_neutralise(raw, shown):
    assert neutralise(raw) == shown


def test_code_block_text_cannot_close_the_block():
    assert "```" not in in_code("```")
    assert in_code("a`b").replace("\u200b", "") == "a`b"


def test_inline_quote_is_one_short_line():
    assert quote_inline("a\nb   c") == "`a b c`"
    assert quote_inline("x" * 100, 10) == "`xxxxxxxxx…`"
    assert quote_inline("`@here`").count("`") == 2


def test_overflow_goes_to_a_file():
    short = reply_with_overflow("head", "body", "f.txt")
    assert short.content == "head\n```\nbody\n```" and short.attachments == ()
    long = reply_with_overflow("head", "x" * 3000, "f.txt")
    assert long.content == "head\n(The full output is attached as `f.txt`.)"
    assert long.attachments[0].data == b"x" * 3000


@pytest.mark.parametrize(
    ("token", "label"),
    [("[CLS]", "[CLS]"), ("##ing", "##ing"), ("Ġworld", "␣world"), ("▁the", "␣the"), (" ", "' '")],
)
def test_token_labels(token, label):
    assert display_token(token, 0) == label


def test_glyphs_no_font_has_become_an_index():
    assert not drawable("\U00013000")  # an Egyptian hieroglyph: no label font has it
    assert display_token("\U00013000", 7) == "#7"


def test_chinese_japanese_and_korean_tokens_are_drawn_with_the_packaged_cjk_font():
    assert cjk_font().name == "Noto Sans CJK SC"
    assert all(map(drawable, ["自然语言处理", "ひらがな", "한국어", "學習"]))
    assert display_token("学", 3) == "学"
    assert display_token("\U00030000", 4) == "#4"  # CJK Extension G: not in Noto Sans CJK


def _missing_glyph_warnings(family: str, text: str) -> list[str]:
    figure = Figure(figsize=(3, 1))
    FigureCanvasAgg(figure)
    figure.text(0.05, 0.5, text, family=family)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        figure.canvas.draw()
    return [str(w.message) for w in caught if "missing from font" in str(w.message)]


def test_matplotlib_draws_chinese_with_the_registered_font_and_no_missing_glyph():
    text = "我在学习自然语言处理"
    assert _missing_glyph_warnings(BASE_FAMILY, text)  # the check does see missing glyphs
    assert _missing_glyph_warnings(cjk_font().name, text) == []


def _ink(text: str, raw: bool = False) -> np.ndarray:
    """Where a 40-pixel label is drawn, as the pictures draw it (or straight with the CJK
    font, bypassing the choice of font per character)."""
    canvas = Canvas(64, 64)
    if raw:
        ImageDraw.Draw(canvas.image).text((32, 32), text, font=font(40, cjk=True), fill=INK,
                                          anchor="mm")  # fmt: skip
    else:
        canvas.text((32, 32), text, 40, anchor="mm")
    return np.asarray(canvas.image.convert("L")) < 128


def test_chinese_labels_draw_real_glyphs_not_boxes_or_placeholders():
    entry = cjk_font()
    face = FT2Font(entry.fname, face_index=entry.index)
    box = _ink("\U00030000", raw=True)  # the font's own "missing" glyph: an empty box
    placeholder = _ink(PLACEHOLDER)
    drawn = {char: _ink(char) for char in "自然语言处理"}
    for char, pixels in drawn.items():
        assert face.get_char_index(ord(char)) != 0, char  # glyph 0 is the box
        assert pixels.sum() > 60, char
        assert (pixels != box).sum() > 60, char
        assert (pixels != placeholder).sum() > 60, char
    assert len({pixels.tobytes() for pixels in drawn.values()}) == len(drawn)
