"""Every attention view, each declared once: its name and description (the chat's menu), the
controls it enables, its title, its picture and its exported table. A new view is one class
here and one entry in `VIEWS`."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import ClassVar

import numpy as np
from typing_extensions import override

from explorer.attention_math import head_stats, rollout, token_profile
from explorer.drawing.pictures import Grid, Matrix, draw_grid, draw_matrices
from explorer.exploration import Exploration, Shape, ViewState
from explorer.views.tables import long_table, matrix_table, summary_table

QUERY_KEY_NOTE = "rows: attending token (query) · columns: attended-to token (key)"
LAYER_ACTIONS = frozenset({"layer-", "layer+"})
HEAD_ACTIONS = frozenset({"head-", "head+"})
TOKEN_ACTIONS = frozenset({"token-", "token+"})


def _layer_names(count: int) -> tuple[str, ...]:
    return tuple(f"layer {i}" for i in range(1, count + 1))


def _head_names(count: int) -> tuple[str, ...]:
    return tuple(f"h{i}" for i in range(1, count + 1))


def _head_name(exploration: Exploration, head: int) -> str:
    heads = exploration.shape.heads
    return f"mean of {heads} heads" if head == 0 else f"head {head}/{heads}"


def _layer(exploration: Exploration, state: ViewState) -> str:
    return f"layer {state.layer}/{exploration.shape.layers}"


def _model_shape(exploration: Exploration) -> str:
    shape = exploration.shape
    return f"{shape.layers} layers × {shape.heads} heads"


class View:
    """One way of drawing an exploration. Subclasses set the class attributes and define
    `detail`, `draw` and `table`; stepping wraps layers, heads and tokens around."""

    name: ClassVar[str]
    description: ClassVar[str]
    actions: ClassVar[frozenset[str]] = frozenset()

    def title(self, exploration: Exploration, state: ViewState) -> str:
        """The caption naming the model and what is shown."""
        return f"{exploration.model} · {self.detail(exploration, state)}"

    def detail(self, exploration: Exploration, state: ViewState) -> str:
        """What is shown, after the model's name in the title."""
        raise NotImplementedError

    def draw(self, exploration: Exploration, state: ViewState) -> bytes:
        """The picture, as PNG bytes."""
        raise NotImplementedError

    def table(self, exploration: Exploration, state: ViewState) -> tuple[str, str]:
        """The shown data as a CSV file name and text."""
        raise NotImplementedError

    def enter(self, state: ViewState) -> ViewState:
        """The state shown when this view is chosen in the menu."""
        return replace(state, view=self.name)

    def step(self, state: ViewState, action: str, shape: Shape) -> ViewState:
        """The state after pressing `action` (unchanged if this view does not enable it)."""
        if action not in self.actions:
            return state
        delta = 1 if action.endswith("+") else -1
        if action.startswith("layer"):
            return replace(state, layer=(state.layer - 1 + delta) % shape.layers + 1)
        if action.startswith("token"):
            return replace(state, token=(state.token + delta) % shape.tokens)
        return replace(state, head=(state.head - 1 + delta) % shape.heads + 1)


class SquareView(View):
    """A token × token matrix with labels on both axes."""

    scale_label: ClassVar[str]

    def values(self, exploration: Exploration, state: ViewState) -> np.ndarray:
        """The matrix shown."""
        raise NotImplementedError

    @override
    def draw(self, exploration: Exploration, state: ViewState) -> bytes:
        encoding = exploration.encoding
        matrix = Matrix(
            values=self.values(exploration, state),
            rows=exploration.labels,
            cols=exploration.labels,
            scale_label=self.scale_label,
            row_special=encoding.special,
            col_special=encoding.special,
            row_boundary=encoding.segment_boundary,
            col_boundary=encoding.segment_boundary,
        )
        heading = self.title(exploration, state)
        return draw_matrices(heading, exploration.caption, [("", matrix)], note=QUERY_KEY_NOTE)

    @override
    def table(self, exploration: Exploration, state: ViewState) -> tuple[str, str]:
        labels = exploration.labels
        text = matrix_table(self.values(exploration, state), labels, labels)
        return f"{self.name}.csv", text


class HeadView(SquareView):
    """One head of one layer."""

    name = "head"
    description = "one head of a layer"
    actions = LAYER_ACTIONS | HEAD_ACTIONS
    scale_label = "attention weight"

    @override
    def detail(self, exploration: Exploration, state: ViewState) -> str:
        return f"{_layer(exploration, state)} · {_head_name(exploration, state.head)}"

    @override
    def values(self, exploration: Exploration, state: ViewState) -> np.ndarray:
        return exploration.weights[state.layer - 1, state.head - 1]

    @override
    def enter(self, state: ViewState) -> ViewState:
        return replace(state, view=self.name, head=state.head or 1)


class MeanView(SquareView):
    """The heads of one layer, averaged."""

    name = "mean"
    description = "mean of a layer's heads"
    actions = LAYER_ACTIONS | HEAD_ACTIONS
    scale_label = "attention weight (mean of heads)"

    @override
    def detail(self, exploration: Exploration, state: ViewState) -> str:
        return f"{_layer(exploration, state)} · {_head_name(exploration, 0)}"

    @override
    def values(self, exploration: Exploration, state: ViewState) -> np.ndarray:
        return exploration.weights[state.layer - 1].mean(axis=0)

    @override
    def step(self, state: ViewState, action: str, shape: Shape) -> ViewState:
        """Head ▶ and ◀ open the head view at the first and the last head."""
        if action in HEAD_ACTIONS:
            return replace(state, view="head", head=1 if action == "head+" else shape.heads)
        return super().step(state, action, shape)


class RolloutView(SquareView):
    """Attention rollout through the chosen layer."""

    name = "rollout"
    description = "attention rollout"
    actions = LAYER_ACTIONS
    scale_label = "share of each input token (rollout)"

    @override
    def detail(self, exploration: Exploration, state: ViewState) -> str:
        return f"attention rollout through layers 1–{state.layer}"

    @override
    def values(self, exploration: Exploration, state: ViewState) -> np.ndarray:
        return rollout(exploration.weights, state.layer)


class HeadsView(View):
    """Every head of one layer, as a grid."""

    name = "heads"
    description = "every head of a layer"
    actions = LAYER_ACTIONS

    @override
    def detail(self, exploration: Exploration, state: ViewState) -> str:
        return f"{_layer(exploration, state)} · all {exploration.shape.heads} heads"

    @override
    def draw(self, exploration: Exploration, state: ViewState) -> bytes:
        heads = exploration.shape.heads
        columns = math.ceil(math.sqrt(heads))
        panels = [exploration.weights[state.layer - 1, h] for h in range(heads)]
        names = [f"head {h + 1}" for h in range(heads)]
        rows = [tuple(panels[i : i + columns]) for i in range(0, heads, columns)]
        titles = [tuple(names[i : i + columns]) for i in range(0, heads, columns)]
        if len(rows[-1]) < columns:  # pad the last row so the grid stays rectangular
            blank = np.zeros_like(panels[0])
            rows[-1] += (blank,) * (columns - len(rows[-1]))
            titles[-1] += ("",) * (columns - len(titles[-1]))
        grid = Grid(
            tuple(rows),
            tuple(titles),
            tokens=exploration.labels,
            special=exploration.encoding.special,
            boundary=exploration.encoding.segment_boundary,
        )
        heading = self.title(exploration, state)
        return draw_grid(heading, exploration.caption, grid, note=QUERY_KEY_NOTE)

    @override
    def table(self, exploration: Exploration, state: ViewState) -> tuple[str, str]:
        return "heads.csv", long_table(exploration, range(state.layer - 1, state.layer))


class ModelView(View):
    """Every layer × head, as thumbnails."""

    name = "model"
    description = "every layer × head"

    @override
    def detail(self, exploration: Exploration, state: ViewState) -> str:
        return _model_shape(exploration)

    @override
    def draw(self, exploration: Exploration, state: ViewState) -> bytes:
        shape = exploration.shape
        grid = Grid(
            tuple(
                tuple(exploration.weights[layer, h] for h in range(shape.heads))
                for layer in range(shape.layers)
            ),
            row_headers=_layer_names(shape.layers),
            col_headers=_head_names(shape.heads),
            shared_scale=False,
        )
        note = "each thumbnail is scaled to its own maximum"
        heading = self.title(exploration, state)
        return draw_grid(heading, exploration.caption, grid, note=note, target=64)

    @override
    def table(self, exploration: Exploration, state: ViewState) -> tuple[str, str]:
        return "model.csv", long_table(exploration, range(exploration.shape.layers))


class TokenView(View):
    """What one token attends to, in every layer."""

    name = "token"
    description = "one token across layers"
    actions = LAYER_ACTIONS | HEAD_ACTIONS | TOKEN_ACTIONS

    @override
    def detail(self, exploration: Exploration, state: ViewState) -> str:
        label = exploration.labels[state.token]
        return f"token {state.token} “{label}” · {_head_name(exploration, state.head)}"

    def values(self, exploration: Exploration, state: ViewState) -> np.ndarray:
        """What the token attends to: (layers, tokens)."""
        return token_profile(exploration.weights, state.token, state.head or None)

    @override
    def draw(self, exploration: Exploration, state: ViewState) -> bytes:
        encoding = exploration.encoding
        matrix = Matrix(
            self.values(exploration, state),
            _layer_names(exploration.shape.layers),
            exploration.labels,
            f"attention from token {state.token} to each token",
            col_special=encoding.special,
            col_boundary=encoding.segment_boundary,
        )
        heading = self.title(exploration, state)
        return draw_matrices(heading, exploration.caption, [("", matrix)])

    @override
    def table(self, exploration: Exploration, state: ViewState) -> tuple[str, str]:
        layers = _layer_names(exploration.shape.layers)
        return "token.csv", matrix_table(
            self.values(exploration, state), layers, exploration.labels
        )

    @override
    def step(self, state: ViewState, action: str, shape: Shape) -> ViewState:
        """The head cycles through the mean (0) and every head."""
        if action in HEAD_ACTIONS:
            delta = 1 if action == "head+" else -1
            return replace(state, head=(state.head + delta) % (shape.heads + 1))
        return super().step(state, action, shape)


class SummaryView(View):
    """Per-head statistics: entropy, special-token and previous-token shares."""

    name = "summary"
    description = "per-head statistics"

    @override
    def detail(self, exploration: Exploration, state: ViewState) -> str:
        return f"per-head statistics · {_model_shape(exploration)}"

    @override
    def draw(self, exploration: Exploration, state: ViewState) -> bytes:
        stats = head_stats(exploration.weights, np.asarray(exploration.encoding.special))
        shape = exploration.shape
        layers, heads = _layer_names(shape.layers), _head_names(shape.heads)
        blocks = [
            (
                "entropy (bits): low = focused",
                Matrix(stats.entropy, layers, heads, "bits", number_format="{:.1f}", annotate=True),
            ),
            (
                "share of attention on special tokens ([CLS], [SEP]…): high = sink",
                Matrix(stats.special_share, layers, heads, "share", vmax=1.0, annotate=True),
            ),
            (
                "share of attention on the previous token: high = previous-token head",
                Matrix(stats.previous_share, layers, heads, "share", vmax=1.0, annotate=True),
            ),
        ]
        heading = self.title(exploration, state)
        return draw_matrices(heading, exploration.caption, blocks, target=480)

    @override
    def table(self, exploration: Exploration, state: ViewState) -> tuple[str, str]:
        stats = head_stats(exploration.weights, np.asarray(exploration.encoding.special))
        return "summary.csv", summary_table(stats)


VIEWS: dict[str, View] = {
    view.name: view
    for view in (
        HeadView(),
        MeanView(),
        HeadsView(),
        ModelView(),
        RolloutView(),
        TokenView(),
        SummaryView(),
    )
}
