"""The token flow's pure helpers: how tokens read in running text, and one-line subtitles."""

from __future__ import annotations

import pytest

from explorer.drawing.canvas import text_width
from explorer.drawing.flow import headline, words
from explorer.encoding import Encoding


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
