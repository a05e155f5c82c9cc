"""Every attention view, each declared once: its name and description (the chat's menu), the
controls it enables, its title, its picture and its exported table. A new view is one class
here and one entry in `VIEWS`."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np
from typing_extensions import override

from explorer.attention_math import head_stats, rollout, token_profile
from explorer.contract import UserError
from explorer.drawing.pictures import Grid, Matrix, draw_grid, draw_matrices
from explorer.exploration import SELF, Attention, Exploration, Shape, ViewState
from explorer.views.tables import long_table, matrix_table, summary_table

QUERY_KEY_NOTE = "rows: attending token (query) · columns: attended-to token (key)"
LAYER_ACTIONS = frozenset({"layer-", "layer+"})
HEAD_ACTIONS = frozenset({"head-", "head+"})
TOKEN_ACTIONS = frozenset({"token-", "token+"})
PART_TITLES = {
    "encoder": "encoder self-attention",
    "decoder": "decoder self-attention",
    "cross": "cross-attention",
}


@dataclass(frozen=True, eq=False)
class Scene:
    """What a view draws from: the exploration, the state, and the part's attention at the
    state's granularity (worked out once per reply)."""

    exploration: Exploration
    state: ViewState
    attention: Attention

    @property
    def shape(self) -> Shape:
        """Layers, heads and attending positions of the part shown."""
        return self.attention.shape

    def head_name(self, head: int) -> str:
        """`head 3/12`, or `mean of 12 heads` for head 0."""
        heads = self.shape.heads
        return f"mean of {heads} heads" if head == 0 else f"head {head}/{heads}"

    @property
    def layer_name(self) -> str:
        """`layer 2/6`."""
        return f"layer {self.state.layer}/{self.shape.layers}"

    @property
    def model_shape(self) -> str:
        """`6 layers × 12 heads`."""
        return f"{self.shape.layers} layers × {self.shape.heads} heads"

    @property
    def unit(self) -> str:
        """What a row and column stand for."""
        return "word" if self.state.granularity == "word" else "token"


def scene_of(exploration: Exploration, state: ViewState) -> Scene:
    """The scene for a state (its part and granularity checked)."""
    return Scene(exploration, state, exploration.attention(state.part, state.granularity))


def _layer_names(count: int) -> tuple[str, ...]:
    return tuple(f"layer {i}" for i in range(1, count + 1))


def _head_names(count: int) -> tuple[str, ...]:
    return tuple(f"h{i}" for i in range(1, count + 1))


class View:
    """One way of drawing an exploration. Subclasses set the class attributes and define
    `detail`, `draw` and `table`; stepping wraps layers, heads and tokens around."""

    name: ClassVar[str]
    description: ClassVar[str]
    actions: ClassVar[frozenset[str]] = frozenset()

    def title(self, scene: Scene) -> str:
        """The caption naming the model, the part and what is shown."""
        parts = [scene.exploration.model]
        if scene.state.part != SELF:
            parts.append(PART_TITLES[scene.state.part])
        parts.append(self.detail(scene))
        if scene.state.granularity == "word":
            parts.append("words")
        return " · ".join(parts)

    def detail(self, scene: Scene) -> str:
        """What is shown, after the model's name in the title."""
        raise NotImplementedError

    def draw(self, scene: Scene) -> bytes:
        """The picture, as PNG bytes."""
        raise NotImplementedError

    def table(self, scene: Scene) -> tuple[str, str]:
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


class MatrixView(View):
    """A queries × keys matrix with labels on both axes."""

    scale_label: ClassVar[str]

    def values(self, scene: Scene) -> np.ndarray:
        """The matrix shown."""
        raise NotImplementedError

    @override
    def draw(self, scene: Scene) -> bytes:
        attention = scene.attention
        queries, keys = attention.queries, attention.keys
        matrix = Matrix(
            values=self.values(scene),
            rows=queries.labels,
            cols=keys.labels,
            scale_label=self.scale_label,
            row_special=queries.special,
            col_special=keys.special,
            row_boundary=queries.boundary,
            col_boundary=keys.boundary,
        )
        note = QUERY_KEY_NOTE.replace("token", scene.unit)
        caption = scene.exploration.caption
        return draw_matrices(self.title(scene), caption, [("", matrix)], note=note)

    @override
    def table(self, scene: Scene) -> tuple[str, str]:
        attention = scene.attention
        text = matrix_table(self.values(scene), attention.queries.tokens, attention.keys.tokens)
        return f"{self.name}.csv", text


class HeadView(MatrixView):
    """One head of one layer."""

    name = "head"
    description = "one head of a layer"
    actions = LAYER_ACTIONS | HEAD_ACTIONS
    scale_label = "attention weight"

    @override
    def detail(self, scene: Scene) -> str:
        return f"{scene.layer_name} · {scene.head_name(scene.state.head)}"

    @override
    def values(self, scene: Scene) -> np.ndarray:
        return scene.attention.weights[scene.state.layer - 1, scene.state.head - 1]

    @override
    def enter(self, state: ViewState) -> ViewState:
        return replace(state, view=self.name, head=state.head or 1)


class MeanView(MatrixView):
    """The heads of one layer, averaged."""

    name = "mean"
    description = "mean of a layer's heads"
    actions = LAYER_ACTIONS | HEAD_ACTIONS
    scale_label = "attention weight (mean of heads)"

    @override
    def detail(self, scene: Scene) -> str:
        return f"{scene.layer_name} · {scene.head_name(0)}"

    @override
    def values(self, scene: Scene) -> np.ndarray:
        return scene.attention.weights[scene.state.layer - 1].mean(axis=0)

    @override
    def step(self, state: ViewState, action: str, shape: Shape) -> ViewState:
        """Head ▶ and ◀ open the head view at the first and the last head."""
        if action in HEAD_ACTIONS:
            return replace(state, view="head", head=1 if action == "head+" else shape.heads)
        return super().step(state, action, shape)


class RolloutView(MatrixView):
    """Attention rollout through the chosen layer."""

    name = "rollout"
    description = "attention rollout"
    actions = LAYER_ACTIONS
    scale_label = "share of each input token (rollout)"

    @override
    def detail(self, scene: Scene) -> str:
        return f"attention rollout through layers 1–{scene.state.layer}"

    @override
    def values(self, scene: Scene) -> np.ndarray:
        if not scene.attention.square:
            raise UserError(
                "Rollout follows attention through the layers of one stack; cross-attention "
                "joins two stacks. Choose `part:encoder` or `part:decoder` for a rollout."
            )
        return rollout(scene.attention.weights, scene.state.layer)


class HeadsView(View):
    """Every head of one layer, as a grid."""

    name = "heads"
    description = "every head of a layer"
    actions = LAYER_ACTIONS

    @override
    def detail(self, scene: Scene) -> str:
        return f"{scene.layer_name} · all {scene.shape.heads} heads"

    @override
    def draw(self, scene: Scene) -> bytes:
        attention, heads = scene.attention, scene.shape.heads
        columns = math.ceil(math.sqrt(heads))
        panels = [attention.weights[scene.state.layer - 1, h] for h in range(heads)]
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
            tokens=attention.keys.labels,
            special=attention.keys.special,
            boundary=attention.keys.boundary,
        )
        note = QUERY_KEY_NOTE.replace("token", scene.unit)
        return draw_grid(self.title(scene), scene.exploration.caption, grid, note=note)

    @override
    def table(self, scene: Scene) -> tuple[str, str]:
        layer = scene.state.layer - 1
        return "heads.csv", long_table(scene.attention, range(layer, layer + 1))


class ModelView(View):
    """Every layer × head, as thumbnails."""

    name = "model"
    description = "every layer × head"

    @override
    def detail(self, scene: Scene) -> str:
        return scene.model_shape

    @override
    def draw(self, scene: Scene) -> bytes:
        shape, weights = scene.shape, scene.attention.weights
        grid = Grid(
            tuple(
                tuple(weights[layer, h] for h in range(shape.heads))
                for layer in range(shape.layers)
            ),
            row_headers=_layer_names(shape.layers),
            col_headers=_head_names(shape.heads),
            shared_scale=False,
        )
        note = "each thumbnail is scaled to its own maximum"
        return draw_grid(self.title(scene), scene.exploration.caption, grid, note=note, target=64)

    @override
    def table(self, scene: Scene) -> tuple[str, str]:
        return "model.csv", long_table(scene.attention, range(scene.shape.layers))


class TokenView(View):
    """What one token attends to, in every layer."""

    name = "token"
    description = "one token across layers"
    actions = LAYER_ACTIONS | HEAD_ACTIONS | TOKEN_ACTIONS

    @override
    def detail(self, scene: Scene) -> str:
        state = scene.state
        label = scene.attention.queries.labels[state.token]
        return f"{scene.unit} {state.token} “{label}” · {scene.head_name(state.head)}"

    def values(self, scene: Scene) -> np.ndarray:
        """What the token attends to: (layers, keys)."""
        state = scene.state
        return token_profile(scene.attention.weights, state.token, state.head or None)

    @override
    def draw(self, scene: Scene) -> bytes:
        keys = scene.attention.keys
        matrix = Matrix(
            self.values(scene),
            _layer_names(scene.shape.layers),
            keys.labels,
            f"attention from {scene.unit} {scene.state.token} to each {scene.unit}",
            col_special=keys.special,
            col_boundary=keys.boundary,
        )
        return draw_matrices(self.title(scene), scene.exploration.caption, [("", matrix)])

    @override
    def table(self, scene: Scene) -> tuple[str, str]:
        layers = _layer_names(scene.shape.layers)
        return "token.csv", matrix_table(self.values(scene), layers, scene.attention.keys.tokens)

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
    def detail(self, scene: Scene) -> str:
        return f"per-head statistics · {scene.model_shape}"

    @override
    def draw(self, scene: Scene) -> bytes:
        attention = scene.attention
        stats = head_stats(attention.weights, np.asarray(attention.keys.special))
        layers, heads = _layer_names(scene.shape.layers), _head_names(scene.shape.heads)
        blocks = [
            (
                "entropy (bits): low = focused",
                Matrix(stats.entropy, layers, heads, "bits", number_format="{:.1f}", annotate=True),
            ),
            (
                "share of attention on special tokens ([CLS], [SEP]…): high = sink",
                Matrix(stats.special_share, layers, heads, "share", vmax=1.0, annotate=True),
            ),
        ]
        previous = stats.previous_share  # None for cross-attention: no "previous token"
        if previous is not None:
            blocks.append(
                (
                    "share of attention on the previous token: high = previous-token head",
                    Matrix(previous, layers, heads, "share", vmax=1.0, annotate=True),
                )
            )
        return draw_matrices(self.title(scene), scene.exploration.caption, blocks, target=480)

    @override
    def table(self, scene: Scene) -> tuple[str, str]:
        attention = scene.attention
        stats = head_stats(attention.weights, np.asarray(attention.keys.special))
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
