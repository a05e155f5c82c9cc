"""Safe echo of user text, and labels that are drawn rather than shown as boxes."""

from __future__ import annotations

import pytest

from explorer.contract import reply_with_overflow
from explorer.drawing.fonts import cjk_font, drawable
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


@pytest.mark.skipif(cjk_font() is None, reason="no CJK font installed (.ci/run installs one)")
def test_chinese_tokens_are_drawn_with_a_cjk_font():
    assert drawable("自然语言处理")
    assert display_token("学", 3) == "学"


def test_without_a_cjk_font_chinese_tokens_are_labelled_by_position(monkeypatch):
    from explorer.drawing import fonts

    monkeypatch.setattr(fonts, "cjk_font", lambda: None)
    fonts._cjk_codepoints.cache_clear()
    try:
        assert display_token("学", 3) == "#3"
        assert display_token("[CLS]", 0) == "[CLS]"
    finally:
        monkeypatch.undo()
        fonts._cjk_codepoints.cache_clear()
