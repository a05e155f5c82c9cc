"""Making user-supplied text safe and readable inside Discord messages."""

from __future__ import annotations

import re
import unicodedata

ZERO_WIDTH_SPACE = "\u200b"


def neutralise(text: str) -> str:
    """Replace control and format characters (bidi overrides, zero-width tricks) with `\\uXXXX`."""
    out = []
    for char in text:
        if unicodedata.category(char) in {"Cc", "Cf"} and char not in "\n\t":
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return "".join(out)


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


def text_width(text: str) -> int:
    """Columns `text` takes in a monospaced block: wide (CJK) characters take two,
    combining and zero-width ones none."""
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
