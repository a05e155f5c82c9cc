"""The token flow's pure helpers: how tokens read in running text, one-line subtitles, and
notes wrapped to a picture's width."""

from __future__ import annotations

import pytest

from explorer.drawing.canvas import text_width
from explorer.drawing.flow import headline, words
from explorer.drawing.page import MARGIN, NOTE_SIZE, NOTES_WIDTH, picture, wrapped
from explorer.encoding import Encoding
from tests.pictures import decode


def encoding_of(tokens, offsets, special) -> Encoding:
    return Encoding(
        tokens=tuple(tokens),
        input_ids=tuple(range(len(tokens))),
        token_type_ids=None,
        attention_mask=(1,) * len(tokens),
        special=tuple(special),
        untruncated_length=len(tokens),
        offsets=tuple(offsets),
    )


@pytest.mark.parametrize(
    ("tokens", "offsets", "special", "expected"),
    [
        (  # WordPiece: a space where the offsets leave a gap, none before ##
            ["[CLS]", "i", "am", "study", "##ing", "[SEP]"],
            [(0, 0), (0, 1), (2, 4), (5, 10), (10, 13), (0, 0)],
            [True, False, False, False, False, True],
            [("[CLS]", True), ("i", True), ("am", True), ("study", True), ("ing", False),
             ("[SEP]", True)],
        ),
        (  # byte-level BPE: Ġ starts a word even where the offsets take the space in
            ["The", "Ġcat", "s", "."],
            [(0, 3), (3, 7), (7, 8), (8, 9)],
            [False] * 4,
            [("The", True), ("cat", True), ("s", False), (".", False)],
        ),
        (  # Chinese characters: no spaces between them
            ["[CLS]", "我", "在", "[SEP]"],
            [(0, 0), (0, 1), (1, 2), (0, 0)],
            [True, False, False, True],
            [("[CLS]", True), ("我", True), ("在", False), ("[SEP]", True)],
        ),
    ],
)  # fmt: skip
def test_tokens_read_as_running_text(tokens, offsets, special, expected):
    assert words(encoding_of(tokens, offsets, special)) == expected


def test_a_subtitle_fits_the_flow_on_one_line():
    assert headline("short\ntext") == "short text"
    long = headline("我在学习自然语言处理" * 20)
    assert long.endswith("…") and text_width(long, 13) <= 760


@pytest.mark.parametrize(
    ("text", "limit", "lines"),
    [
        ("short", 300, ["short"]),
        ("", 300, [""]),
        (  # English breaks after spaces
            "completeness: sum of scores +0.5414 vs logit(input) − logit(baseline) = −0.7687",
            300,
            ["completeness: sum of scores +0.5414 vs", "logit(input) − logit(baseline) = −0.7687"],
        ),
        (  # Chinese has no spaces: it breaks between characters
            "完整性检查：分数之和与输入和基线的逻辑值之差相比较",
            150,
            None,  # three lines of whole characters: where depends on the font's widths
        ),
        ("a " + "x" * 80 + " b", 100, ["a", "x" * 80, "b"]),  # too long a word: its own line
    ],
)
def test_notes_wrap_within_the_width_without_losing_a_character(text, limit, lines):
    found = list(wrapped(text, 12, limit))
    assert found == lines if lines is not None else len(found) == 3
    assert "".join(found).replace(" ", "") == text.replace(" ", "")
    assert all(text_width(line, 12) <= limit for line in found if line != "x" * 80)


def test_a_long_note_wraps_instead_of_widening_the_picture():
    note = "integrated gradients, 32 steps (Gauss–Legendre), from a baseline " * 3
    width = decode(picture("title", "", [], [note])).shape[1]
    assert width <= NOTES_WIDTH + 2 * MARGIN
    assert text_width(note, NOTE_SIZE) > 2 * width  # it would have been wider
