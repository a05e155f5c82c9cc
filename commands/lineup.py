"""The tokenizer line-up: one text through several tokenizers, their pieces side by side,
aligned on the characters each piece covers (from the offset mappings). Pure functions."""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

from explorer.contract import UserError
from explorer.drawing.labels import display_token
from explorer.encoding import Encoding
from explorer.i18n import SOURCE_LANGUAGE, phrase, tell
from explorer.text import in_code, pad, text_width, token_count

CONTINUES = "┆"  # a piece that began on an earlier row covers this one too
MOST_MODELS = 4
_VISIBLE = {" ": "␣", "\n": "↵", "\t": "⇥"}


@dataclass(frozen=True)
class Read:
    """One tokenizer's reading of the text: the model's name and its encoding."""

    name: str
    encoding: Encoding

    @property
    def ordinary(self) -> int:
        """Tokens that come from the text (not the special ones the tokenizer adds)."""
        return len(self.encoding) - sum(self.encoding.special)

    def characters_per_token(self, text: str) -> float:
        """Characters of the text per ordinary token."""
        return len(text) / max(1, self.ordinary)


@dataclass(frozen=True)
class Lineup:
    """The text cut wherever any tokenizer starts or ends a piece: per stretch of text, the
    pieces each tokenizer starts there (`CONTINUES` where one goes on, "" where none covers
    it, as BERT's tokenizers drop spaces)."""

    text: str
    reads: tuple[Read, ...]
    stretches: tuple[tuple[int, int], ...]
    cells: tuple[tuple[str, ...], ...]  # per stretch, per tokenizer


@functools.cache
def _byte_of() -> dict[str, int]:
    """GPT-2's byte-level alphabet: the character that stands for each byte (printable
    bytes stand for themselves, the others for characters from U+0100 on)."""
    printable = [*range(33, 127), *range(161, 173), *range(174, 256)]
    others = [b for b in range(256) if b not in printable]
    found = {chr(b): b for b in printable}
    found.update({chr(256 + i): b for i, b in enumerate(others)})
    return found


def piece_text(token: str, marker: str, index: int) -> str:
    """A piece as a reader takes it in: a byte-level BPE piece (`Ġ` marks its words) as
    the text its bytes spell, or as hex bytes where they are part of a character."""
    byte_of = _byte_of()
    if marker != "Ġ" or not token or any(char not in byte_of for char in token):
        return display_token(token, index)
    raw = bytes(byte_of[char] for char in token)
    try:
        return visible(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return " ".join(f"{byte:02x}" for byte in raw)


def _spans(encoding: Encoding) -> list[tuple[int, int, str]]:
    """(start, end, piece) of each token from the text, in order."""
    return [
        (start, end, piece_text(token, encoding.marker, index))
        for index, (token, (start, end), special) in enumerate(
            zip(encoding.tokens, encoding.offsets, encoding.special, strict=True)
        )
        if not special
    ]


def line_up(text: str, reads: tuple[Read, ...]) -> Lineup:
    """Cut the text at every piece boundary of every tokenizer and place each piece on the
    stretch where it starts (a piece with no characters of its own, on the stretch at its
    position)."""
    for read in reads:
        if not read.encoding.offsets:
            raise UserError(
                phrase(
                    "**{model}**'s tokenizer gives no character offsets (a slow tokenizer): "
                    "its pieces cannot be lined up with the others.",
                    model=read.name,
                )
            )
    spans = [_spans(read.encoding) for read in reads]
    edges = {edge for found in spans for start, end, _ in found for edge in (start, end)}
    cuts = sorted({0, len(text), *edges})
    stretches = tuple((a, b) for a, b in itertools.pairwise(cuts) if a < b)
    if not stretches:
        stretches = ((0, len(text)),)
    rows: list[list[str]] = [[""] * len(reads) for _ in stretches]
    for column, found in enumerate(spans):
        for start, end, piece in found:
            first = next(
                (i for i, (a, b) in enumerate(stretches) if a <= start < b), len(stretches) - 1
            )
            cell = rows[first][column]
            rows[first][column] = f"{cell} {piece}" if cell and cell != CONTINUES else piece
            for row in range(first + 1, len(stretches)):
                if stretches[row][0] >= end:
                    break
                rows[row][column] = rows[row][column] or CONTINUES
    return Lineup(text, reads, stretches, tuple(tuple(row) for row in rows))


def visible(text: str) -> str:
    """Whitespace made visible, as in predicted tokens."""
    return "".join(_VISIBLE.get(char, char) for char in text)


def lineup_table(lineup: Lineup, language: str = SOURCE_LANGUAGE) -> str:
    """A fixed-width table: the stretch of text, then each tokenizer's pieces."""
    header = [tell(phrase("text"), language), *(read.name for read in lineup.reads)]
    body = [
        [in_code(visible(lineup.text[a:b])), *(in_code(cell) for cell in cells)]
        for (a, b), cells in zip(lineup.stretches, lineup.cells, strict=True)
    ]
    widths = [max(text_width(row[i]) for row in [header, *body]) for i in range(len(header))]
    return "\n".join(
        " │ ".join(pad(cell, width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *body]
    )


def counts(lineup: Lineup) -> list[str]:
    """Per tokenizer: tokens (special ones apart), unknown pieces, characters per token (a
    `phrase` each)."""
    lines: list[str] = []
    for read in lineup.reads:
        encoding = read.encoding
        unknown = [piece for piece in encoding.unknown if piece]
        missing = f" ({in_code(' '.join(dict.fromkeys(unknown)))})" if unknown else ""
        lines.append(
            phrase(
                "`{model}`: {tokens} ({special} special) · {unknown} unknown{missing} · "
                "{per_token:.2f} characters/token",
                model=read.name,
                tokens=token_count(len(encoding)),
                special=sum(encoding.special),
                unknown=len(encoding.unknown),
                missing=missing,
                per_token=read.characters_per_token(lineup.text),
            )
        )
    return lines
