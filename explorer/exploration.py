"""An attention exploration: what it is computed from (`Subject`), what it shows (`ViewState`)
and the tensors every view is drawn from (`Exploration`). The chat keeps `Explored` (subject,
state, shape: small and persistable); the tensors are recomputed when they are not kept.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from explorer.contract import Forwarded, UserError
from explorer.drawing.labels import display_token
from explorer.encoding import Encoding
from explorer.text import quote_inline


@dataclass(frozen=True)
class Subject:
    """What an exploration is computed from."""

    model: str
    text: str
    text_pair: str | None = None


@dataclass(frozen=True)
class ViewState:
    """What is shown: a view, a 1-based layer and head (0: the mean of the heads), a token
    position."""

    view: str
    layer: int
    head: int
    token: int


@dataclass(frozen=True)
class Shape:
    """The sizes stepping wraps around: layers, heads per layer, tokens."""

    layers: int
    heads: int
    tokens: int


@dataclass(frozen=True)
class Explored:
    """An exploration as the chat keeps it between presses."""

    subject: Subject
    state: ViewState
    shape: Shape


@dataclass(frozen=True, eq=False)
class Exploration:
    """One text's attention, computed once, from which every view is drawn."""

    subject: Subject
    encoding: Encoding
    weights: np.ndarray  # (layers, heads, tokens, tokens), float32

    @property
    def model(self) -> str:
        """The model's name."""
        return self.subject.model

    @property
    def shape(self) -> Shape:
        """Layers, heads and tokens."""
        layers, heads, tokens, _ = self.weights.shape
        return Shape(int(layers), int(heads), int(tokens))

    @property
    def nbytes(self) -> int:
        """Bytes held by the attention weights."""
        return int(self.weights.nbytes)

    @property
    def caption(self) -> str:
        """The text as the pictures quote it: one line, inert, a pair joined by ‖."""
        subject = self.subject
        text = (
            subject.text if subject.text_pair is None else f"{subject.text} ‖ {subject.text_pair}"
        )
        return quote_inline(text, 90).strip("`")

    @functools.cached_property
    def labels(self) -> tuple[str, ...]:
        """Token labels, worked out once: every press of a button draws from them."""
        return tuple(display_token(t, i) for i, t in enumerate(self.encoding.tokens))


def attention_array(forwarded: Forwarded) -> np.ndarray:
    """All attention weights of one input as (layers, heads, tokens, tokens)."""
    assert forwarded.output is not None
    attentions = forwarded.output.fields.get("attentions")
    if not attentions:
        raise UserError(
            f"The model **{forwarded.model.name}** returned no attention weights "
            "(its attention implementation does not expose them)."
        )
    return np.stack([layer[0].float().numpy() for layer in attentions])


def exploration_for(subject: Subject, forwarded: Forwarded) -> Exploration:
    """The exploration of one forwarded input (a `finish`, run on the worker)."""
    return Exploration(subject, forwarded.encoding, attention_array(forwarded))


def find_token(encoding: Encoding, wanted: str | None) -> int:
    """A token position from a number (as `/tokenize` lists them) or the token's text;
    default: the first token that is not special."""
    tokens = encoding.tokens
    if wanted is None or not wanted.strip():
        return next((i for i, special in enumerate(encoding.special) if not special), 0)
    wanted = wanted.strip()
    if wanted.isdigit():
        position = int(wanted)
        if position >= len(tokens):
            raise UserError(
                f"There are {len(tokens)} tokens: choose a position from 0 to "
                f"{len(tokens) - 1}, as `/tokenize` lists them."
            )
        return position
    plain = [token.removeprefix("##").lstrip("Ġ▁").lower() for token in tokens]
    if wanted.lower() in plain:
        return plain.index(wanted.lower())
    shown = ", ".join(f"{i}:{t}" for i, t in enumerate(tokens[:30]))
    raise UserError(f"No token {quote_inline(wanted, 40)} in this text. Tokens: {shown}.")


def check_layer_head(
    layers: int, heads: int, layer: int | None, head: int | None
) -> tuple[int, int]:
    """Validate a 1-based layer and head; default to the last layer and the mean (head 0)."""
    chosen = layers if layer is None else layer
    if not 1 <= chosen <= layers:
        raise UserError(f"This model has {layers} layers: choose a layer from 1 to {layers}.")
    if head is not None and not 1 <= head <= heads:
        raise UserError(
            f"This model has {heads} heads per layer: choose a head from 1 to {heads}, "
            "or leave it out for the mean of all heads."
        )
    return chosen, head or 0
