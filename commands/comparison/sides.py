"""Two models on one text: how each splits it, and their attention on a shared footing.

Different tokenizers cut a text differently, so their attention matrices have different rows
and columns. Both are brought onto the text's own words (runs between spaces; Chinese split
by a segmenter), matched by character offsets: attention to a word sums over its tokens,
attention from a word averages over them, and attention to special tokens goes to one last
column. Rows still sum to 1 and the two pictures share their labels.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from explorer.contract import Forwarded
from explorer.encoding import Encoding
from explorer.words import SPECIAL_LABEL, aggregate, token_groups

_BYTE_FALLBACK = re.compile(r"^<0x[0-9A-Fa-f]{2}>$")


@dataclass(frozen=True, eq=False)
class Side:
    """One model's reading of the text, made on its worker."""

    model: str
    layers: int
    heads: int
    encoding: Encoding
    unknown: int  # tokens that are the tokenizer's unknown token
    byte_fallback: int  # bytes spelled as <0xNN> tokens
    covered: tuple[bool, ...]  # which of the text's words got at least one token
    weights: np.ndarray  # each layer's mean of heads: layers × words × (words + special tokens)

    @property
    def words(self) -> int:
        """Tokens that are not special."""
        return len(self.encoding) - sum(self.encoding.special)

    def layer_at(self, depth: int, deepest: int) -> int:
        """The layer (1-based) at the same relative depth as layer `depth` of a model with
        `deepest` layers: itself for models of equal depth."""
        return max(1, round(depth * self.layers / deepest))


@dataclass(frozen=True, eq=False)
class Sides:
    """Both models' readings of one text, and the text's words (character spans)."""

    spans: tuple[tuple[int, int], ...]
    first: Side
    second: Side

    @property
    def deepest(self) -> int:
        """The larger of the two models' layer counts."""
        return max(self.first.layers, self.second.layers)

    @property
    def nbytes(self) -> int:
        """Bytes held by both sides' attention."""
        return int(self.first.weights.nbytes + self.second.weights.nbytes)


def side_of(spans: tuple[tuple[int, int], ...], forwarded: Forwarded) -> Side:
    """A model's tokens and each layer's attention (mean of heads) on the text's words (a
    `finish`)."""
    loaded, encoding = forwarded.model, forwarded.encoding
    assert forwarded.output is not None
    groups, specials = token_groups(encoding, spans)
    fields = forwarded.output.fields
    attentions = fields.get("attentions") or fields["encoder_attentions"]  # encoder–decoder
    means = np.stack([layer[0].float().mean(dim=0).numpy() for layer in attentions])
    # A word without tokens gets a stand-in row, dropped by the command as not covered; a
    # model without special tokens gets an empty (zero) last column, so both sides align.
    rows = [group or (0,) for group in groups]
    weights = aggregate(means, rows, [*groups, specials])
    return Side(
        model=loaded.name,
        layers=len(attentions),
        heads=int(attentions[-1].shape[1]),
        encoding=encoding,
        unknown=len(encoding.unknown),
        byte_fallback=sum(1 for token in encoding.tokens if _BYTE_FALLBACK.match(token)),
        covered=tuple(bool(group) for group in groups),
        weights=weights.astype(np.float32),
    )


def split_word(encoding: Encoding, text: str, span: tuple[int, int]) -> str:
    """The word as this tokenization cuts it: `stud|ying`."""
    low, high = span
    cuts = sorted(
        {end for (start, end), special in zip(encoding.offsets, encoding.special, strict=True)
         if not special and low < end < high}
    )  # fmt: skip
    pieces, previous = [], low
    for cut in cuts:
        pieces.append(text[previous:cut])
        previous = cut
    pieces.append(text[previous:high])
    return "|".join(pieces)


def different_splits(
    text: str, spans: tuple[tuple[int, int], ...], first: Encoding, second: Encoding
) -> list[tuple[str, str, str]]:
    """The words the two tokenizations cut differently: (word, first's cut, second's)."""
    found = []
    for span in spans:
        a, b = split_word(first, text, span), split_word(second, text, span)
        if a != b:
            found.append((text[span[0] : span[1]], a, b))
    return found


def word_labels(text: str, spans: tuple[tuple[int, int], ...]) -> tuple[str, ...]:
    """The text's words, then the column of special tokens."""
    return (*(text[low:high] for low, high in spans), SPECIAL_LABEL)
