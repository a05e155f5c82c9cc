"""Words from tokens, and attention between words.

A word is a run of tokens joined by the tokenizer's own markers: WordPiece continues a word
with `##`, byte-level BPE (GPT-2) and SentencePiece (T5, Llama) start one with `Ġ` or `▁`.
Chinese has no such markers (each character is a token), so its words come from a segmenter
(jieba), matched to the tokens by their character offsets. Special tokens are words of their
own. Attention between words follows Clark et al. (2019): the attention *to* a word is the
sum over its tokens, the attention *from* a word the mean over its tokens, so every row still
sums to 1 and a text whose words are single tokens is unchanged.
"""

from __future__ import annotations

import functools
import logging
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from explorer.encoding import Encoding
from explorer.i18n import phrase

_CONTINUES = "##"
MARKERS = (_CONTINUES, "Ġ", "▁")


@dataclass(frozen=True)
class Words:
    """Words as groups of token positions: `members[i]` are word i's tokens."""

    members: tuple[tuple[int, ...], ...]
    labels: tuple[str, ...]
    special: tuple[bool, ...]

    def __len__(self) -> int:
        return len(self.members)


def _is_cjk(char: str) -> bool:
    return unicodedata.east_asian_width(char) in {"W", "F"} and char.isalpha()


@functools.cache
def _segmenter() -> Any:
    import jieba  # loaded on first use: its dictionary takes half a second

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


@functools.lru_cache(maxsize=256)
def chinese_words(text: str) -> tuple[tuple[int, int], ...]:
    """Character spans of the words of a Chinese text (jieba's segmentation)."""
    return tuple((start, end) for _, start, end in _segmenter().tokenize(text))


@dataclass(frozen=True)
class _Joining:
    """Whether a token continues the word of the token before it: never across special
    tokens or segments; in Chinese, as the segmenter's words go; else by the tokenizer's
    word marker, or by touching offsets where it has none."""

    encoding: Encoding
    texts: Sequence[str]

    def _segment(self, index: int) -> int | None:
        return self.encoding.segments[index] if self.encoding.segments else None

    def _chinese(self, index: int) -> bool:
        segment = self._segment(index)
        if not self.encoding.offsets or segment is None:
            return False
        start, end = self.encoding.offsets[index]
        text = self.texts[segment][start:end]
        return bool(text) and all(map(_is_cjk, text))

    def _same_chinese_word(self, previous: int, current: int) -> bool:
        spans = chinese_words(self.texts[self._segment(current) or 0])
        start, end = self.encoding.offsets[previous][0], self.encoding.offsets[current][1]
        return any(low <= start and end <= high for low, high in spans)

    def continues(self, previous: int, current: int) -> bool:
        """Whether token `current` is in the same word as token `previous` (its neighbour)."""
        encoding = self.encoding
        if encoding.special[previous] or encoding.special[current]:
            return False
        if self._segment(previous) != self._segment(current):
            return False
        if self._chinese(previous) and self._chinese(current):
            return self._same_chinese_word(previous, current)
        token, marker, offsets = encoding.tokens[current], encoding.marker, encoding.offsets
        if marker == _CONTINUES:
            return token.startswith(_CONTINUES)
        if marker:
            return not token.startswith(marker)
        return bool(offsets) and offsets[previous][1] == offsets[current][0]


def words_of(encoding: Encoding, texts: Sequence[str]) -> Words:
    """The words of an encoding; `texts` are its segments' texts (one, or a pair), which
    give the words' labels and, for Chinese, their boundaries."""
    joining = _Joining(encoding, texts)
    count = len(encoding.tokens)
    starts = [0] + [i for i in range(1, count) if not joining.continues(i - 1, i)]
    spans = list(zip(starts, [*starts[1:], count], strict=True))
    labels = tuple(_label(encoding, texts, span) for span in spans)
    special = tuple(encoding.special[start] for start, _ in spans)
    return Words(tuple(tuple(range(start, end)) for start, end in spans), labels, special)


def text_words(text: str) -> tuple[tuple[int, int], ...]:
    """Character spans of a text's words, whatever the tokenizer: runs between whitespace,
    Chinese runs split by the segmenter."""
    spans: list[tuple[int, int]] = []
    for match in re.finditer(r"\S+", text):
        start, chunk = match.start(), match.group()
        if any(map(_is_cjk, chunk)):
            spans += [(start + low, start + high) for low, high in chinese_words(chunk)]
        else:
            spans.append((start, match.end()))
    return tuple(spans)


def _label(encoding: Encoding, texts: Sequence[str], span: tuple[int, int]) -> str:
    start, end = span
    segment = encoding.segments[start] if encoding.segments else 0
    if encoding.special[start] or not encoding.offsets or segment is None:
        pieces = encoding.tokens[start:end]
        return "".join(piece.removeprefix(_CONTINUES).lstrip("Ġ▁") for piece in pieces)
    first, last = encoding.offsets[start][0], encoding.offsets[end - 1][1]
    return texts[segment][first:last].strip()


SPECIAL_LABEL = phrase("(special tokens)")


def token_groups(
    encoding: Encoding, spans: Sequence[tuple[int, int]]
) -> tuple[tuple[tuple[int, ...], ...], tuple[int, ...]]:
    """The tokens of each character span (a span may get none, e.g. past a truncation), and
    the special tokens; a token belongs to the span holding its last character."""
    groups: list[list[int]] = [[] for _ in spans]
    specials = []
    for index, (start, end) in enumerate(encoding.offsets):
        if encoding.special[index]:
            specials.append(index)
            continue
        at = end - 1 if end > start else start
        word = next((i for i, (low, high) in enumerate(spans) if low <= at < high), None)
        if word is None:  # whitespace only: it belongs with the word that follows
            word = next((i for i, (low, _) in enumerate(spans) if low >= at), len(spans) - 1)
        groups[word].append(index)
    return tuple(tuple(group) for group in groups), tuple(specials)


def aggregate(
    weights: np.ndarray, rows: Sequence[Sequence[int]], cols: Sequence[Sequence[int]]
) -> np.ndarray:
    """Attention (…, queries, keys) between tokens as attention between groups of tokens
    (words): summed over the tokens of the attended-to group, averaged over the tokens of the
    attending one. An empty column group gets zeros; every row group needs a token."""
    summed = np.stack([weights[..., list(group)].sum(axis=-1) for group in cols], -1)
    return np.stack([summed[..., list(group), :].mean(axis=-2) for group in rows], -2)
