"""Every attention view, each declared once: its name and description (the chat's menu), the
controls it enables, its title, its picture and its exported table. A new view is one class
here and one entry in `VIEWS`.

Colours follow the state's scale (by default the largest value the view shows anywhere in the
model, so stepping with the buttons keeps colours comparable). Inputs longer than FULL tokens
are shown a window of WINDOW tokens at a time, which the window buttons step through."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np
from typing_extensions import override

from explorer.attention_math import head_stats, rollout, token_profile
from explorer.contract import UserError
from explorer.drawing.charts import Bars
from explorer.drawing.grid import Axis as GridAxis
from explorer.drawing.grid import Grid, GridBlock
from explorer.drawing.matrix import Matrix, MatrixBlock
from explorer.drawing.page import Block, picture
from explorer.exploration import (
    SCALES,
    SELF,
    Attention,
    Axis,
    Exploration,
    Shape,
    ViewState,
)
from explorer.text import escape_markdown
from explorer.views.tables import long_table, matrix_table, summary_table

# What the stepping buttons step, each back (-) and forth (+), on which row of controls.
STEPPED = {"layer": 1, "head": 1, "token": 2, "window": 2}


def arrows(stepped: str) -> frozenset[str]:
    """The two actions stepping `stepped` back and forth: `layer-`, `layer+`."""
    return frozenset({f"{stepped}-", f"{stepped}+"})


LAYER_ACTIONS, HEAD_ACTIONS, TOKEN_ACTIONS, WINDOW_ACTIONS = map(arrows, STEPPED)
FULL = 128  # up to this many tokens a picture shows them all
WINDOW = 64  # past that, this many at a time
BAND = 32  # the token view wraps its columns into bands of this many
MODEL_PAGE = 4  # layers on one page of the model view
LINKS = 20  # the strongest links listed
PART_TITLES = {
    "encoder": "encoder self-attention",
    "decoder": "decoder self-attention",
    "cross": "cross-attention",
}
OTHERS = "others Σ"


@dataclass(frozen=True, eq=False)
class Scene:
    """What a view draws from: the exploration, the state, and the part's attention at the
    state's granularity (worked out once per reply)."""

    exploration: Exploration
    state: ViewState
    attention: Attention
    chat: bool = False  # worded for the chat's caption (real tokens) rather than the picture

    def query_label(self, index: int) -> str:
        """A query token as the picture labels it, or its real text for the chat (which
        Discord draws whatever the script)."""
        if self.chat:
            return escape_markdown(self.attention.queries.tokens[index])
        return self.attention.queries.labels[index]

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

    @property
    def longest(self) -> int:
        """The longer side of the part's matrices."""
        return self.shape.longest

    @property
    def windows(self) -> int:
        """How many windows a long input is shown in (1: all at once)."""
        return window_count(self.shape)

    @property
    def window(self) -> int:
        """The window shown, within range."""
        return min(self.state.window, self.windows - 1)

    def window_range(self, length: int) -> range:
        """The positions of an axis of `length` inside the current window (all of them for
        short inputs; a proportional stretch on the shorter side of cross-attention)."""
        if self.windows == 1 or length <= FULL:
            return range(length)
        start = min(self.window * WINDOW * length // self.longest, max(length - WINDOW, 0))
        return range(start, min(start + WINDOW, length))

    def scale_note(self, vmax: float) -> str:
        """What the colours span, in words."""
        return f"colours: 0 to {vmax:.3g}, {SCALES[self.state.scale]}"


def window_count(shape: Shape) -> int:
    """How many windows an input of this shape is shown in (1: all at once)."""
    return 1 if shape.longest <= FULL else math.ceil(shape.longest / WINDOW)


def scene_of(exploration: Exploration, state: ViewState) -> Scene:
    """The scene for a state (its part and granularity checked)."""
    return Scene(exploration, state, exploration.attention(state.part, state.granularity))


def _layer_names(count: int) -> tuple[str, ...]:
    return tuple(f"layer {i}" for i in range(1, count + 1))


def _head_names(count: int) -> tuple[str, ...]:
    return tuple(f"h{i}" for i in range(1, count + 1))


def _pick(scene: Scene, peak: str, layer: float, shown: float) -> float:
    """The top of the colour scale for the state's scale mode; `peak` names the kind of value
    (in `PEAKS`) whose largest anywhere in the model tops the `model` scale."""
    scale = scene.state.scale
    if scale == "model":
        chosen = scene.attention.peak(peak)
    else:
        chosen = {"layer": layer, "picture": shown, "fixed": 1.0}[scale]
    return max(float(chosen), 1e-6)


class View:
    """One way of drawing an exploration. Subclasses set the class attributes and define
    `detail`, `blocks` and `table`; stepping wraps layers, heads, tokens and windows."""

    name: ClassVar[str]
    description: ClassVar[str]
    actions: ClassVar[frozenset[str]] = frozenset()
    windowed: ClassVar[bool] = False  # long inputs are shown a window at a time

    def title(self, scene: Scene) -> str:
        """The caption naming the model, the part and what is shown."""
        parts = [scene.exploration.model]
        if scene.state.part != SELF:
            parts.append(PART_TITLES[scene.state.part])
        parts.append(self.detail(scene))
        if scene.state.granularity == "word":
            parts.append("words")
        if self.windowed and scene.windows > 1:
            parts.append(f"window {scene.window + 1}/{scene.windows}")
        return " · ".join(parts)

    def enabled(self, shape: Shape) -> frozenset[str]:
        """The actions that change something for an exploration of this shape."""
        if self.windowed and window_count(shape) > 1:
            return self.actions | WINDOW_ACTIONS
        return self.actions

    def detail(self, scene: Scene) -> str:
        """What is shown, after the model's name in the title."""
        raise NotImplementedError

    def blocks(self, scene: Scene) -> tuple[list[Block], list[str]]:
        """The picture's blocks and notes."""
        raise NotImplementedError

    def draw(self, scene: Scene) -> bytes:
        """The picture, as PNG bytes."""
        blocks, notes = self.blocks(scene)
        return picture(self.title(scene), scene.exploration.caption, blocks, notes)

    def table(self, scene: Scene) -> tuple[str, str]:
        """The data behind the picture as a CSV file name and text (whole, not windowed)."""
        raise NotImplementedError

    def enter(self, state: ViewState) -> ViewState:
        """The state shown when this view is chosen in the menu."""
        return replace(state, view=self.name)

    def step(self, state: ViewState, action: str, shape: Shape) -> ViewState:
        """The state after pressing `action` (unchanged if this view does not enable it)."""
        if action not in self.enabled(shape):
            return state
        delta = 1 if action.endswith("+") else -1
        if action.startswith("layer"):
            return replace(state, layer=(state.layer - 1 + delta) % shape.layers + 1)
        if action.startswith("token"):
            return replace(state, token=(state.token + delta) % shape.tokens)
        if action.startswith("window"):
            return replace(state, window=(state.window + delta) % window_count(shape))
        return replace(state, head=(state.head - 1 + delta) % shape.heads + 1)


def windowed_matrix(
    scene: Scene, values: np.ndarray, vmax: float, caption: str, heading: str = ""
) -> Matrix:
    """The matrix, or for a long input its current window: the window's rows and columns,
    then special tokens outside the window, then the sum of all other tokens outside it."""
    queries, keys = scene.attention.queries, scene.attention.keys
    rows, cols = scene.window_range(len(queries)), scene.window_range(len(keys))
    if len(rows) == len(queries) and len(cols) == len(keys):
        return Matrix(
            values, queries.labels, keys.labels, vmax, caption, heading,
            queries.special, keys.special, queries.boundary, keys.boundary,
        )  # fmt: skip
    outside = [k for k in range(len(keys)) if k not in cols]
    special = [k for k in outside if keys.special[k]]
    others = [k for k in outside if not keys.special[k]]
    picked = values[rows.start : rows.stop]
    shown = np.concatenate(
        [picked[:, cols.start : cols.stop], picked[:, special], picked[:, others].sum(1)[:, None]],
        axis=1,
    )
    labels = [*keys.labels[cols.start : cols.stop], *(keys.labels[k] for k in special), OTHERS]
    col_special = [*keys.special[cols.start : cols.stop], *([True] * len(special)), False]

    def inside(boundary: int | None, span: range) -> int | None:
        return boundary - span.start if boundary is not None and boundary in span else None

    return Matrix(
        shown,
        queries.labels[rows.start : rows.stop],
        labels,
        vmax,
        caption,
        heading,
        queries.special[rows.start : rows.stop],
        col_special,
        inside(queries.boundary, rows),
        inside(keys.boundary, cols),
        split_at=len(cols),
    )


def window_note(scene: Scene) -> list[str]:
    """What a window leaves out, when the input is shown in windows."""
    if scene.windows == 1:
        return []
    return [
        f"{scene.unit}s {scene.window_range(len(scene.attention.queries)).start}–"
        f"{scene.window_range(len(scene.attention.queries)).stop - 1} of "
        f"{len(scene.attention.queries)}; after the gap: special tokens outside the window, "
        f"then “{OTHERS}”, the sum over all other {scene.unit}s outside it (clipped at the "
        "scale's top)"
    ]


class MatrixView(View):
    """A queries × keys matrix with labels on both axes."""

    windowed = True
    measure: ClassVar[str]

    def values(self, scene: Scene) -> np.ndarray:
        """The matrix shown."""
        raise NotImplementedError

    def span(self, scene: Scene, values: np.ndarray) -> float:
        """The top of the colour scale."""
        raise NotImplementedError

    @override
    def blocks(self, scene: Scene) -> tuple[list[Block], list[str]]:
        values = self.values(scene)
        vmax = self.span(scene, values)
        caption = f"{self.measure} · {scene.scale_note(vmax)}"
        matrix = windowed_matrix(scene, values, vmax, caption)
        notes = [f"rows: attending {scene.unit} (query) · columns: attended-to {scene.unit} (key)"]
        return [MatrixBlock(matrix)], notes + window_note(scene)

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
    measure = "attention weight"

    @override
    def detail(self, scene: Scene) -> str:
        return f"{scene.layer_name} · {scene.head_name(scene.state.head)}"

    @override
    def values(self, scene: Scene) -> np.ndarray:
        return scene.attention.weights[scene.state.layer - 1, scene.state.head - 1]

    @override
    def span(self, scene: Scene, values: np.ndarray) -> float:
        layer = scene.attention.weights[scene.state.layer - 1]
        return _pick(scene, "weight", layer.max(), values.max())

    @override
    def enter(self, state: ViewState) -> ViewState:
        return replace(state, view=self.name, head=state.head or 1)


class MeanView(MatrixView):
    """The heads of one layer, averaged."""

    name = "mean"
    description = "mean of a layer's heads"
    actions = LAYER_ACTIONS | HEAD_ACTIONS
    measure = "attention weight, mean of the heads"

    @override
    def detail(self, scene: Scene) -> str:
        return f"{scene.layer_name} · {scene.head_name(0)}"

    @override
    def values(self, scene: Scene) -> np.ndarray:
        return scene.attention.weights[scene.state.layer - 1].mean(axis=0)

    @override
    def span(self, scene: Scene, values: np.ndarray) -> float:
        return _pick(scene, "mean", values.max(), values.max())

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
    measure = "share of each input token after the layers (rollout)"

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

    @override
    def span(self, scene: Scene, values: np.ndarray) -> float:
        return _pick(scene, "rollout", values.max(), values.max())


class CyclingView(View):
    """A view whose head buttons cycle through the mean of the heads (0) and every head."""

    @override
    def step(self, state: ViewState, action: str, shape: Shape) -> ViewState:
        if action in HEAD_ACTIONS & self.actions:
            delta = 1 if action == "head+" else -1
            return replace(state, head=(state.head + delta) % (shape.heads + 1))
        return super().step(state, action, shape)


class TokenView(CyclingView):
    """What one token attends to, in every layer."""

    name = "token"
    description = "one token across layers"
    actions = LAYER_ACTIONS | HEAD_ACTIONS | TOKEN_ACTIONS
    windowed = True

    @override
    def detail(self, scene: Scene) -> str:
        state = scene.state
        label = scene.query_label(state.token)
        return f"{scene.unit} {state.token} “{label}” · {scene.head_name(state.head)}"

    def values(self, scene: Scene) -> np.ndarray:
        """What the token attends to: (layers, keys)."""
        state = scene.state
        return token_profile(scene.attention.weights, state.token, state.head or None)

    @override
    def blocks(self, scene: Scene) -> tuple[list[Block], list[str]]:
        values = self.values(scene)
        vmax = _pick(scene, "weight" if scene.state.head else "mean", values.max(), values.max())
        keys = scene.attention.keys
        span = scene.window_range(len(keys))
        marked = {scene.state.token} if scene.attention.square else set()
        layers = _layer_names(scene.shape.layers)
        blocks: list[Block] = []
        for start in range(span.start, span.stop, BAND):
            stop = min(start + BAND, span.stop)
            inside = keys.boundary is not None and start <= keys.boundary < stop
            boundary = keys.boundary - start if inside and keys.boundary is not None else None
            matrix = Matrix(
                values[:, start:stop],
                layers,
                keys.labels[start:stop],
                vmax,
                col_special=keys.special[start:stop],
                col_boundary=boundary,
                col_marked={m - start for m in marked if start <= m < stop},
                min_cell=18,
                max_cell=18,
                show_scale=start == span.start,
            )
            blocks.append(MatrixBlock(matrix))
        notes = [
            f"what {scene.unit} {scene.state.token} attends to in each layer "
            f"({scene.head_name(scene.state.head)}) · {scene.scale_note(vmax)}"
        ]
        if scene.windows > 1:
            notes.append(f"{scene.unit}s {span.start}–{span.stop - 1} of {len(keys)}")
        return blocks, notes

    @override
    def table(self, scene: Scene) -> tuple[str, str]:
        layers = _layer_names(scene.shape.layers)
        return "token.csv", matrix_table(self.values(scene), layers, scene.attention.keys.tokens)


def grid_axes(attention: Attention, marked: set[int]) -> tuple[GridAxis, GridAxis]:
    """Token labels for the thumbnails' rows and columns."""

    def axis(side: Axis) -> GridAxis:
        return GridAxis(side.labels, side.special, side.boundary, marked)

    return axis(attention.queries), axis(attention.keys)


LABELLED_GRID = 64  # grids label every token up to this many, legible at full size


def thumbnail_side(tokens: int, low: int, high: int, per_token: int = 12) -> int:
    """A thumbnail with `per_token` pixels per token, within [low, high]; past
    LABELLED_GRID tokens, where labels thin out anyway, no larger than two thirds of `high`
    (patterns stay visible, and the picture is drawn in time)."""
    if tokens > LABELLED_GRID:
        high = min(high, max(low, high * 2 // 3))
    return max(low, min(high, per_token * tokens))


class HeadsView(View):
    """Every head of one layer, as a grid."""

    name = "heads"
    description = "every head of a layer"
    actions = LAYER_ACTIONS

    @override
    def detail(self, scene: Scene) -> str:
        return f"{scene.layer_name} · all {scene.shape.heads} heads"

    @override
    def blocks(self, scene: Scene) -> tuple[list[Block], list[str]]:
        weights, heads = scene.attention.weights, scene.shape.heads
        layer = weights[scene.state.layer - 1]
        vmax = _pick(scene, "weight", layer.max(), layer.max())
        columns = math.ceil(math.sqrt(heads))
        panels = [layer[h] for h in range(heads)]
        names = [f"head {h + 1}" for h in range(heads)]
        rows = [panels[i : i + columns] for i in range(0, heads, columns)]
        titles = [names[i : i + columns] for i in range(0, heads, columns)]
        queries, keys = grid_axes(scene.attention, set())
        grid = Grid(
            rows,
            vmax,
            thumbnail_side(scene.longest, 120, 768),
            titles,
            queries=queries,
            keys=keys,
            caption=scene.scale_note(vmax),
        )
        note = f"rows: attending {scene.unit} (query) · columns: attended-to {scene.unit} (key)"
        return [GridBlock(grid)], [note]

    @override
    def table(self, scene: Scene) -> tuple[str, str]:
        layer = scene.state.layer - 1
        return "heads.csv", long_table(scene.attention, range(layer, layer + 1))


class ModelView(View):
    """Every layer × head, as thumbnails, a page of layers at a time."""

    name = "model"
    description = "every layer × head"
    actions = LAYER_ACTIONS

    @staticmethod
    def page(scene: Scene) -> range:
        """The layers (0-based) on the page holding the state's layer."""
        first = (scene.state.layer - 1) // MODEL_PAGE * MODEL_PAGE
        return range(first, min(first + MODEL_PAGE, scene.shape.layers))

    @override
    def detail(self, scene: Scene) -> str:
        page = self.page(scene)
        if len(page) == scene.shape.layers:
            return scene.model_shape
        return (
            f"layers {page.start + 1}–{page.stop} of {scene.shape.layers} × "
            f"{scene.shape.heads} heads"
        )

    @override
    def blocks(self, scene: Scene) -> tuple[list[Block], list[str]]:
        weights, heads = scene.attention.weights, scene.shape.heads
        page = self.page(scene)
        shown = weights[page.start : page.stop]
        vmax = _pick(scene, "weight", shown.max(), shown.max())
        queries, keys = grid_axes(scene.attention, set())
        grid = Grid(
            [[weights[layer, h] for h in range(heads)] for layer in page],
            vmax,
            thumbnail_side(scene.longest, 96, 160, per_token=8),
            row_headers=[f"layer {layer + 1}" for layer in page],
            col_headers=_head_names(heads),
            queries=queries,
            keys=keys,
            caption=scene.scale_note(vmax),
        )
        notes = []
        if len(page) < scene.shape.layers:
            notes.append(f"◀ layer ▶ turns the page ({MODEL_PAGE} layers each)")
        return [GridBlock(grid)], notes

    @override
    def step(self, state: ViewState, action: str, shape: Shape) -> ViewState:
        """The layer buttons turn pages of MODEL_PAGE layers."""
        if action in LAYER_ACTIONS:
            pages = math.ceil(shape.layers / MODEL_PAGE)
            page = ((state.layer - 1) // MODEL_PAGE + (1 if action == "layer+" else -1)) % pages
            return replace(state, layer=page * MODEL_PAGE + 1)
        return state

    @override
    def table(self, scene: Scene) -> tuple[str, str]:
        return "model.csv", long_table(scene.attention, range(scene.shape.layers))


def strongest(values: np.ndarray, count: int) -> list[tuple[int, int, float]]:
    """The `count` largest entries of a matrix: (row, column, value), largest first."""
    flat = np.argsort(values, axis=None)[::-1][:count]
    return [
        (int(i // values.shape[1]), int(i % values.shape[1]), float(values.flat[i])) for i in flat
    ]


class LinksView(CyclingView):
    """The strongest links between ordinary tokens of a layer's head (or mean), for texts of
    any length."""

    name = "links"
    description = "the strongest links"
    actions = LAYER_ACTIONS | HEAD_ACTIONS

    @override
    def detail(self, scene: Scene) -> str:
        return f"{scene.layer_name} · {scene.head_name(scene.state.head)} · strongest links"

    def values(self, scene: Scene) -> np.ndarray:
        """The layer's head, or the mean of its heads."""
        layer = scene.attention.weights[scene.state.layer - 1]
        return layer.mean(axis=0) if scene.state.head == 0 else layer[scene.state.head - 1]

    @staticmethod
    def ordinary(scene: Scene, values: np.ndarray) -> np.ndarray:
        """The values with links from or to special tokens left out (as -1)."""
        queries, keys = scene.attention.queries, scene.attention.keys
        kept = values.copy()
        kept[np.asarray(queries.special, dtype=bool), :] = -1.0
        kept[:, np.asarray(keys.special, dtype=bool)] = -1.0
        return kept

    @override
    def blocks(self, scene: Scene) -> tuple[list[Block], list[str]]:
        queries, keys = scene.attention.queries, scene.attention.keys
        values = self.values(scene)
        links = [link for link in strongest(self.ordinary(scene, values), LINKS) if link[2] >= 0]
        if not links:  # nothing but special tokens: show theirs
            links = strongest(values, LINKS)
        rows = [(f"{q} {queries.labels[q]} → {k} {keys.labels[k]}", value) for q, k, value in links]
        ordinary_rows = ~np.asarray(queries.special, dtype=bool)
        on_special = values[ordinary_rows][:, np.asarray(keys.special, dtype=bool)].sum(axis=1)
        unit = scene.unit
        notes = [
            f"attending {unit} → attended-to {unit}, positions as /tokenize lists them · bar: "
            "attention weight (0 to 1)",
            f"links from or to special tokens left out: ordinary {unit}s give them "
            f"{float(on_special.mean()) if on_special.size else 0.0:.0%} of their attention "
            "here on average",
        ]
        return [Bars(rows)], notes

    @override
    def table(self, scene: Scene) -> tuple[str, str]:
        queries, keys = scene.attention.queries, scene.attention.keys
        values = self.values(scene)
        links = strongest(values, values.size)
        rows: Sequence[str] = [
            f"{q},{queries.tokens[q]!r},{k},{keys.tokens[k]!r},{v:.6f}" for q, k, v in links
        ]
        return "links.csv", "query,query_token,key,key_token,weight\n" + "\n".join(rows) + "\n"


class SummaryView(View):
    """Per-head statistics: entropy, special-token and previous-token shares."""

    name = "summary"
    description = "per-head statistics"

    @override
    def detail(self, scene: Scene) -> str:
        return f"per-head statistics · {scene.model_shape}"

    @override
    def blocks(self, scene: Scene) -> tuple[list[Block], list[str]]:
        attention = scene.attention
        stats = head_stats(attention.weights, np.asarray(attention.keys.special))
        layers, heads = _layer_names(scene.shape.layers), _head_names(scene.shape.heads)
        most = math.log2(max(len(attention.keys), 2))

        def block(heading: str, values: np.ndarray, vmax: float, fmt: str, what: str) -> Block:
            matrix = Matrix(values, layers, heads, vmax, what, heading, number_format=fmt,
                            annotate=True, target=480)  # fmt: skip
            return MatrixBlock(matrix)

        blocks = [
            block("entropy (bits): low = focused", stats.entropy, most, "{:.1f}",
                  f"colours: 0 to {most:.2f} bits, uniform attention over all keys"),
            block("share of attention on special tokens ([CLS], [SEP]…): high = sink",
                  stats.special_share, 1.0, "{:.2f}", "colours: fixed from 0 to 1"),
        ]  # fmt: skip
        if stats.previous_share is not None:  # only within one sequence
            heading = "share of attention on the previous token: high = previous-token head"
            fixed = "colours: fixed from 0 to 1"
            blocks.append(block(heading, stats.previous_share, 1.0, "{:.2f}", fixed))
        return blocks, []

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
        LinksView(),
        SummaryView(),
    )
}
