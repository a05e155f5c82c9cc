"""Making user-supplied (and model-made) text safe and readable inside Discord messages.

Every echo of such text into a message goes through one of three functions, one per place
in Discord's markdown it can land, all starting from `neutralise`: `escape_markdown` in
prose (captions, errors, lists), `quote_inline` as a short quotation in an inline code span,
`in_code` inside a fenced code block (tables). Each leaves the text rendered literally: no
link, emphasis, spoiler, heading, quote, list, mention or code span of its own."""

from __future__ import annotations

import re
import unicodedata

from explorer.i18n import Phrase, plural_phrase

ZERO_WIDTH_SPACE = "\u200b"
# Characters that start markdown, a mention (<@id>, <#id>, <t:…>) or a masked link.
_MARKDOWN = re.compile(r"([\\*_~`|<>\[\]#-])")
_NUMBERED = re.compile(r"^(\s*\d+)\.", re.MULTILINE)  # "1. " starts a list
_MASS_MENTION = re.compile(r"@(everyone|here)")


def neutralise(text: str) -> str:
    """Replace control and format characters (bidi overrides, zero-width tricks) with `\\uXXXX`."""
    out = []
    for char in text:
        if unicodedata.category(char) in {"Cc", "Cf"} and char not in "\n\t":
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return "".join(out)


def escape_markdown(text: str) -> str:
    """Text shown as written in a message's prose: markdown characters backslash-escaped
    (Discord shows the character, not the backslash), numbered lists and @everyone/@here
    broken up."""
    escaped = _MARKDOWN.sub(r"\\\1", neutralise(text))
    escaped = _NUMBERED.sub(r"\1\\.", escaped)
    return _MASS_MENTION.sub(f"@{ZERO_WIDTH_SPACE}\\1", escaped)


def in_code(text: str) -> str:
    """Text that cannot close the code block it is shown in."""
    return neutralise(text).replace("`", "`" + ZERO_WIDTH_SPACE)


def quote_inline(text: str, limit: int = 80) -> str:
    """A short, single-line, inert rendering of user text for a caption."""
    flat = " ".join(neutralise(text).split())
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    return "`" + flat.replace("`", "ˋ") + "`"


def plural(count: int, word: str) -> str:
    """`1 token`, `2 tokens`, with thousands separators."""
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def token_count(count: int) -> Phrase:
    """`1 token`, `2 tokens`, with thousands separators, as a phrase told in the reader's
    language."""
    return plural_phrase("{count:,} token", "{count:,} tokens", count)


def text_width(text: str) -> int:
    """Columns `text` takes in a monospaced block: wide (CJK) characters take two,
    combining and zero-width ones none."""
    if text.isascii():  # one column each: no ASCII character is wide, combining or zero-width
        return len(text)
    width = 0
    for char in text:
        if unicodedata.combining(char) or unicodedata.category(char) in {"Cf", "Mn", "Me"}:
            continue
        width += 2 if unicodedata.east_asian_width(char) in {"W", "F"} else 1
    return width


def _wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in {"W", "F"}


def join_wide(text: str) -> str:
    """Decoded text without the spaces a WordPiece decoder puts between Chinese (and other
    wide) characters: `我 在 学 习 nlp` → `我在学习 nlp`."""
    return re.sub(
        r"(?<=\S)[ ]+(?=\S)",
        lambda gap: "" if _wide(text[gap.start() - 1]) and _wide(text[gap.end()]) else gap[0],
        text,
    )


def safe_filename(name: str) -> str:
    """A name usable as a file name (`hfl/rbt3` → `hfl_rbt3`)."""
    return "".join(char if char.isalnum() or char in "-_." else "_" for char in name)


def pad(text: str, width: int) -> str:
    """`text` followed by spaces to fill `width` columns of a monospaced block."""
    return text + " " * max(0, width - text_width(text))


def pad_left(text: str, width: int) -> str:
    """`text` after spaces filling `width` columns of a monospaced block (right-aligned)."""
    return " " * max(0, width - text_width(text)) + text
