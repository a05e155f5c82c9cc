"""User and model text echoed into Discord markdown renders as written: every hostile input in
every place it can land (prose, an inline quotation, a code block)."""

from __future__ import annotations

import re

import pytest

from explorer.text import (
    ZERO_WIDTH_SPACE,
    escape_markdown,
    in_code,
    neutralise,
    pad,
    quote_inline,
    text_width,
)

ZW = ZERO_WIDTH_SPACE
HOSTILE = [
    ("[click](https://evil.example)", r"\[click\](https://evil.example)"),
    ("**bold** and *italic*", r"\*\*bold\*\* and \*italic\*"),
    ("__underline__ ~~strike~~", r"\_\_underline\_\_ \~\~strike\~\~"),
    ("@everyone look", f"@{ZW}everyone look"),
    ("@here", f"@{ZW}here"),
    ("<@123> <@&456> <#789> <t:0:R>", r"\<@123\> \<@&456\> \<\#789\> \<t:0:R\>"),
    ("`code` and ```block```", r"\`code\` and \`\`\`block\`\`\`"),
    ("||spoiler||", r"\|\|spoiler\|\|"),
    ("# heading", r"\# heading"),
    ("-# small print", r"\-\# small print"),
    ("> quoted\n>>> all of it", "\\> quoted\n\\>\\>\\> all of it"),
    ("- item\n1. first", "\\- item\n1\\. first"),
    (r"\*already escaped\*", r"\\\*already escaped\\\*"),
    ("right\u202eto left", "right\\\\u202eto left"),
    ("I am studying NLP.", "I am studying NLP."),
    ("我在学习 NLP", "我在学习 NLP"),
]


def rendered(escaped: str) -> str:
    """What Discord shows for escaped prose: a backslash before a punctuation character shows
    that character; a zero-width space shows nothing."""
    return re.sub(r"\\([^A-Za-z0-9\s])", r"\1", escaped).replace(ZW, "")


@pytest.mark.parametrize(("text", "escaped"), HOSTILE)
def test_prose_escaping_shows_the_text_as_written(text, escaped):
    assert escape_markdown(text) == escaped
    assert rendered(escaped) == neutralise(text)  # nothing lost, nothing added


@pytest.mark.parametrize(("text", "_"), HOSTILE)
def test_a_quotation_is_one_inline_code_span_that_text_cannot_close(text, _):
    quoted = quote_inline(text, 200)
    assert quoted.startswith("`") and quoted.endswith("`") and quoted.count("`") == 2
    assert "\n" not in quoted


@pytest.mark.parametrize(("text", "_"), HOSTILE)
def test_text_in_a_code_block_cannot_close_it(text, _):
    assert "```" not in f"```\n{in_code(text)}"[3:]
    assert in_code(text).replace(ZW, "") == neutralise(text)


# Columns in a monospaced table: what lines the token columns up in /tokenize and /forward.
WIDTHS = [
    ("[CLS]", 5),
    ("##ing", 5),
    ("\tx", 2),  # a control character still takes its column, as before
    ("学习", 4),  # wide
    ("Ｎ", 2),  # fullwidth
    ("e\u0301", 1),  # a combining accent takes none
    ("a\u200bb", 2),  # a zero-width space takes none
    ("", 0),
]


@pytest.mark.parametrize(("text", "columns"), WIDTHS)
def test_text_width_counts_the_columns_a_monospaced_block_shows(text, columns):
    assert text_width(text) == columns
    assert text_width(pad(text, 8)) == max(8, columns)
