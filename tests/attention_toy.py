"""A toy exploration (2 layers × 3 heads over 5 tokens, random weights) for the attention
views' tests, and helpers to draw and export a view of it."""

from __future__ import annotations

import csv
import io

import numpy as np

from commands.attention.exploration import Exploration, Subject, ViewState
from commands.attention.views import VIEWS, scene_of
from explorer.contract import Encoding
from tests.pictures import assert_drawn

LAYER, HEAD = {"layer-", "layer+"}, {"head-", "head+"}
TOKEN, WINDOW = {"token-", "token+"}, {"window-", "window+"}


def synthetic(layers: int = 2, heads: int = 3, tokens: int = 5) -> Exploration:
    """An exploration of random attention weights whose rows sum to 1."""
    rng = np.random.default_rng(0)
    weights = rng.random((layers, heads, tokens, tokens)).astype(np.float32)
    weights /= weights.sum(axis=-1, keepdims=True)
    names = ("[CLS]", "the", "cat", "##s", "[SEP]", "x", "y", "z")[:tokens]
    encoding = Encoding(
        tokens=names,
        input_ids=tuple(range(tokens)),
        token_type_ids=(0,) * tokens,
        attention_mask=(1,) * tokens,
        special=tuple(name.startswith("[") for name in names),
        untruncated_length=tokens,
    )
    return Exploration(Subject("toy", "the cats"), encoding, weights)


TOY = synthetic()


def drawn_title_and_rows(state: ViewState) -> tuple[str, list[list[str]]]:
    """A view of TOY drawn (checked to be a readable picture): its title and its CSV rows,
    whose file is named after the view."""
    view = VIEWS[state.view]
    scene = scene_of(TOY, state)
    assert_drawn(view.draw(scene))
    name, text = view.table(scene)
    assert name == f"{state.view}.csv"
    return view.title(scene), list(csv.reader(io.StringIO(text)))


def colour_top(view: str, scale: str, layer: int = 2, exploration: Exploration = TOY) -> float:
    """The top of the colour bar of a matrix view (head 2)."""
    scene = scene_of(exploration, ViewState(view, layer, 2, 1, scale=scale))
    chosen = VIEWS[view]
    return chosen.span(scene, chosen.values(scene))  # type: ignore[attr-defined]
