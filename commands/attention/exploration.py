"""An attention exploration: what it is computed from (`Subject`), what it shows (`ViewState`)
and the tensors every view is drawn from (`Exploration`). The chat keeps `Explored` (subject,
state, shape: small, and kept as JSON by `state_of`); the tensors are recomputed when they are
not kept.

A model with one stack has one part, its self-attention; an encoder–decoder model has three:
the encoder's self-attention, the decoder's (masked) self-attention, and the decoder's
cross-attention to the encoder. Each part can be seen token by token or word by word.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from commands.attention.attention_math import rollouts
from explorer.contract import Forwarded, Live, State, UserError
from explorer.drawing.labels import display_token
from explorer.encoding import Encoding
from explorer.i18n import phrase
from explorer.text import escape_markdown, quote_inline
from explorer.words import Words, aggregate, words_of

SELF = "self"
PARTS: dict[str, str] = {
    "encoder": phrase("the encoder's self-attention"),
    "decoder": phrase("the decoder's self-attention"),
    "cross": phrase("the decoder's attention to the encoder"),
}
SCALES: dict[str, str] = {
    "model": phrase("the largest value this view shows anywhere in the model"),
    "layer": phrase("the largest value this view shows in the layer"),
    "picture": phrase("this picture's largest value"),
    "fixed": phrase("a weight's whole range, whatever the text (any two pictures compare)"),
}
WEIGHTINGS: dict[str, str] = {
    "weights": "the attention weights α, where each token looks",
    "norm": "value-weighted ‖αf(x)‖: how much each token really adds (Kobayashi et al. 2020)",
}
# In every title, so norms are never taken for weights.
NORM_LABEL = phrase("value-weighted (‖αf(x)‖)")
GRANULARITIES: dict[str, str] = {
    "token": "token by token",
    "word": "word by word (Clark et al. 2019: summed over attended-to tokens, averaged over "
    "attending ones)",
}


@dataclass(frozen=True)
class Subject:
    """What an exploration is computed from; `target` is an encoder–decoder model's decoder
    text (None: the model's own greedy output); `weighting` one of `WEIGHTINGS` (explorations
    kept before it existed are of weights)."""

    model: str
    text: str
    text_pair: str | None = None
    target: str | None = None
    weighting: str = "weights"


@dataclass(frozen=True)
class ViewState:
    """What is shown: a view, a 1-based layer and head (0: the mean of the heads), a token
    (or word) position, which part of the model, at which granularity, on which colour
    scale, and which window of a long input (0: the first)."""

    view: str
    layer: int
    head: int
    token: int
    part: str = SELF
    granularity: str = "token"
    scale: str = "model"
    window: int = 0


@dataclass(frozen=True)
class Shape:
    """The sizes stepping wraps around: layers, heads per layer, attending tokens, and the
    tokens attended to (more than attend in cross-attention to a long input)."""

    layers: int
    heads: int
    tokens: int
    keys: int = 0

    @property
    def longest(self) -> int:
        """The longer side of the matrices."""
        return max(self.tokens, self.keys)


@dataclass(frozen=True)
class Explored:
    """An exploration as the chat keeps it between presses."""

    subject: Subject
    state: ViewState
    shape: Shape


KIND = "attention"  # the live kind an exploration is stepped as


def state_of(explored: Explored) -> State:
    """An exploration as a live reply's state: what it is computed from, what it shows, and
    the sizes stepping wraps around."""
    return {
        "subject": dataclasses.asdict(explored.subject),
        "shown": dataclasses.asdict(explored.state),
        "shape": dataclasses.asdict(explored.shape),
    }


def live_of(explored: Explored) -> Live:
    """The live reply showing an exploration."""
    return Live(KIND, state_of(explored))


def explored_of(state: State) -> Explored:
    """The exploration a live reply's state holds (fields kept by older versions ignored,
    those they lacked defaulted)."""
    known = {field.name for field in dataclasses.fields(ViewState)}
    shown = ViewState(**{name: v for name, v in state["shown"].items() if name in known})
    return Explored(Subject(**state["subject"]), shown, Shape(**state["shape"]))


@dataclass(frozen=True)
class Axis:
    """One side of an attention matrix: its labels and raw tokens (or words), which are
    special, and where a sentence pair's second segment starts."""

    labels: tuple[str, ...]
    tokens: tuple[str, ...]
    special: tuple[bool, ...]
    boundary: int | None = None

    def __len__(self) -> int:
        return len(self.labels)


# What a colour scale over the whole model can reach: a weight, a mean of a layer's heads, a
# rollout value.
PEAKS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "weight": lambda weights: weights,
    "mean": lambda weights: weights.mean(axis=1),
    "rollout": rollouts,
}


@dataclass(frozen=True, eq=False)
class Attention:
    """What a view draws: weights shaped (layers, heads, queries, keys), and both axes."""

    weights: np.ndarray
    queries: Axis
    keys: Axis
    # Shared by every Attention of one exploration's part and granularity: presses redraw
    # without going over the whole model's weights again.
    _peaks: dict[str, float] = field(default_factory=dict, repr=False)

    def peak(self, kind: str = "weight") -> float:
        """The largest value of a kind in `PEAKS` anywhere in the model (computed once)."""
        if kind not in self._peaks:
            self._peaks[kind] = float(np.max(PEAKS[kind](self.weights)))
        return self._peaks[kind]

    @property
    def shape(self) -> Shape:
        """Layers, heads, queries and keys."""
        layers, heads, queries, keys = self.weights.shape
        return Shape(int(layers), int(heads), int(queries), int(keys))

    @property
    def square(self) -> bool:
        """Whether queries and keys are the same sequence (self-attention)."""
        return self.queries is self.keys


@dataclass(frozen=True, eq=False)
class Exploration:
    """One text's attention, computed once, from which every view is drawn: its weights, or
    with `weighting:norm` the value-weighted norms in their place (same shape)."""

    subject: Subject
    encoding: Encoding
    weights: np.ndarray  # the input's self-attention (the encoder's), (layers, heads, n, n)
    target: Encoding | None = None  # the decoder's input
    decoder_weights: np.ndarray | None = None  # (layers, heads, t, t)
    cross_weights: np.ndarray | None = None  # (layers, heads, t, n)
    encoder_only: bool = False  # an encoder–decoder model's encoder alone (value-weighted)
    _kept: dict = field(default_factory=dict, repr=False)  # axes and words, made once

    @property
    def model(self) -> str:
        """The model's name."""
        return self.subject.model

    @property
    def norms(self) -> bool:
        """Whether the values are value-weighted norms rather than attention weights."""
        return self.subject.weighting == "norm"

    @property
    def parts(self) -> tuple[str, ...]:
        """The parts that can be shown."""
        if self.encoder_only:
            return ("encoder",)
        return (SELF,) if self.target is None else tuple(PARTS)

    @property
    def nbytes(self) -> int:
        """Bytes held by the attention weights."""
        arrays = (self.weights, self.decoder_weights, self.cross_weights)
        return sum(int(array.nbytes) for array in arrays if array is not None)

    @property
    def caption(self) -> str:
        """The text as the pictures quote it: one line, inert, a pair joined by ‖, a
        decoder's text after →."""
        subject, text = self.subject, self.subject.text
        if subject.text_pair is not None:
            text = f"{text} ‖ {subject.text_pair}"
        if self.target is not None:
            text = f"{text} → {' '.join(self.axis('decoder', 'token').labels[1:])}"
        return quote_inline(text, 90).strip("`")

    def attention(self, part: str, granularity: str) -> Attention:
        """The weights and axes of one part, by token or by word (word weights are made
        anew each time: they are cheap, and kept they would escape the byte budget)."""
        if part not in self.parts:
            raise UserError(_part_help(self.parts, part))
        weights = {
            SELF: self.weights,
            "encoder": self.weights,
            "decoder": self.decoder_weights,
            "cross": self.cross_weights,
        }[part]
        assert weights is not None
        rows_at, cols_at = rows_side(part), cols_side(part)
        if granularity == "word":
            weights = aggregate(weights, self.words(rows_at).members, self.words(cols_at).members)
        rows, cols = self.axis(rows_at, granularity), self.axis(cols_at, granularity)
        return Attention(
            weights, rows, cols, self._kept.setdefault(("peaks", part, granularity), {})
        )

    def axis(self, side: str, granularity: str) -> Axis:
        """The encoder's (the input's) or the decoder's tokens or words (made once)."""
        key = ("axis", side, granularity)
        if key not in self._kept:
            self._kept[key] = self._make_axis(side, granularity)
        return self._kept[key]

    def words(self, side: str) -> Words:
        """The words of the input or of the decoder's text (made once)."""
        key = ("words", side)
        if key not in self._kept:
            self._kept[key] = self._make_words(side)
        return self._kept[key]

    def _make_axis(self, side: str, granularity: str) -> Axis:
        encoding = self.target if side == "decoder" else self.encoding
        assert encoding is not None
        if granularity == "word":
            words = self.words(side)
            boundary = next(
                (i for i, group in enumerate(words.members)
                 if encoding.segment_boundary == group[0]), None
            )  # fmt: skip
            labels = tuple(
                label if label else f"#{index}" for index, label in enumerate(words.labels)
            )
            return Axis(labels, words.labels, words.special, boundary)
        labels = tuple(display_token(t, i) for i, t in enumerate(encoding.tokens))
        return Axis(labels, encoding.tokens, encoding.special, encoding.segment_boundary)

    def _make_words(self, side: str) -> Words:
        if side == "decoder":
            assert self.target is not None
            return words_of(self.target, ())
        texts = [self.subject.text] + ([self.subject.text_pair] if self.subject.text_pair else [])
        return words_of(self.encoding, texts)


ENCODER_ONLY = phrase(
    "Value-weighted attention (`weighting:norm`) reads an encoder–decoder model's encoder "
    "self-attention only: choose `part:encoder`, or `weighting:weights` for the decoder "
    "and cross-attention."
)


def rows_side(part: str) -> str:
    """Which sequence attends in a part."""
    return "decoder" if part in ("decoder", "cross") else "encoder"


def cols_side(part: str) -> str:
    """Which sequence is attended to in a part."""
    return "decoder" if part == "decoder" else "encoder"


def _part_help(parts: tuple[str, ...], asked: str) -> str:
    if parts == ("encoder",):
        return ENCODER_ONLY
    if parts == (SELF,):
        return phrase(
            "This model has a single stack of layers: `part` is for encoder–decoder "
            "models (T5, BART, Marian)."
        )
    parts_named = ", ".join(f"`{name}`" for name in PARTS)
    return phrase("Unknown part {shown}. Parts: {parts}.", shown=quote_inline(asked, 30),
                  parts=parts_named)  # fmt: skip


def _stacked(layers: tuple | None) -> np.ndarray | None:
    if not layers:
        return None
    return np.stack([layer[0].float().numpy() for layer in layers])


def exploration_for(subject: Subject, forwarded: Forwarded) -> Exploration:
    """The exploration of one forwarded input (a `finish`, run on the worker)."""
    assert forwarded.output is not None
    fields = forwarded.output.fields
    if forwarded.target is not None:
        encoder = _stacked(fields.get("encoder_attentions"))
        decoder = _stacked(fields.get("decoder_attentions"))
        cross = _stacked(fields.get("cross_attentions"))
        if encoder is None or decoder is None or cross is None:
            raise _no_attentions(forwarded)
        return Exploration(subject, forwarded.encoding, encoder, forwarded.target, decoder, cross)
    weights = _stacked(fields.get("attentions"))
    if weights is None:
        raise _no_attentions(forwarded)
    return Exploration(subject, forwarded.encoding, weights)


def _no_attentions(forwarded: Forwarded) -> UserError:
    return UserError(
        phrase(
            "The model **{model}** returned no attention weights (its attention "
            "implementation does not expose them).",
            model=forwarded.model.name,
        )
    )


def find_token(axis: Axis, wanted: str | None) -> int:
    """A position from a number (as `/tokenize` lists them) or the token's (or word's) text;
    default: the first one that is not special."""
    if wanted is None or not wanted.strip():
        return next((i for i, special in enumerate(axis.special) if not special), 0)
    wanted = wanted.strip()
    if wanted.isdecimal():  # not isdigit: `²` is a digit, not a number
        position = int(wanted)
        if position >= len(axis):
            raise UserError(
                phrase(
                    "There are {count} positions: choose one from 0 to {last}, as `/tokenize` "
                    "lists them.",
                    count=len(axis),
                    last=len(axis) - 1,
                )
            )
        return position
    plain = [token.removeprefix("##").lstrip("Ġ▁").lower() for token in axis.tokens]
    if wanted.lower() in plain:
        return plain.index(wanted.lower())
    shown = ", ".join(f"{i}:{escape_markdown(t)}" for i, t in enumerate(axis.tokens[:30]))
    raise UserError(
        phrase("No token {wanted} in this text. Tokens: {tokens}.",
               wanted=quote_inline(wanted, 40), tokens=shown)
    )  # fmt: skip


def check_layer_head(
    layers: int, heads: int, layer: int | None, head: int | None
) -> tuple[int, int]:
    """Validate a 1-based layer and head; default to the last layer and the mean (head 0)."""
    chosen = layers if layer is None else layer
    if not 1 <= chosen <= layers:
        raise UserError(
            phrase("This model has {layers} layers: choose a layer from 1 to {layers}.",
                   layers=layers)
        )  # fmt: skip
    if head is not None and not 1 <= head <= heads:
        raise UserError(
            phrase(
                "This model has {heads} heads per layer: choose a head from 1 to {heads}, "
                "or leave it out for the mean of all heads.",
                heads=heads,
            )
        )
    return chosen, head or 0
