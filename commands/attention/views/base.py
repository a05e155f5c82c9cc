"""What every attention view shares: the `Scene` a view draws from, the `View` base class (its
name and description for the chat's menu, the controls it enables, its title, its picture and
its exported table, how its buttons step), and the pieces several views draw with. Each view
is a module of its own next to this one.

Colours follow the state's scale (by default the largest value the view shows anywhere in the
model, so stepping with the buttons keeps colours comparable). Inputs longer than FULL tokens
are shown a window of WINDOW tokens at a time, which the window buttons step through."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np
from typing_extensions import override

from commands.attention.exploration import (
    NORM_LABEL,
    SCALES,
    SELF,
    Attention,
    Axis,
    Exploration,
    Shape,
    ViewState,
)
from commands.attention.views.tables import matrix_table
from explorer.drawing.grid import Axis as GridAxis
from explorer.drawing.matrix import Matrix, MatrixBlock
from explorer.drawing.page import Block, picture
from explorer.i18n import SOURCE_LANGUAGE, phrase, plural_phrase, tell
from explorer.text import escape_markdown, token_count

# What the stepping buttons step, each back (-) and forth (+), on which row of controls.
STEPPED = {"layer": 1, "head": 1, "token": 2, "window": 2}
STEPPED_NAMES = {
    "layer": phrase("layer"),
    "head": phrase("head"),
    "token": phrase("token"),
    "window": phrase("window"),
}


def arrows(stepped: str) -> frozenset[str]:
    """The two actions stepping `stepped` back and forth: `layer-`, `layer+`."""
    return frozenset({f"{stepped}-", f"{stepped}+"})


LAYER_ACTIONS, HEAD_ACTIONS, TOKEN_ACTIONS, WINDOW_ACTIONS = map(arrows, STEPPED)
FULL = 128  # up to this many tokens a picture shows them all
WINDOW = 64  # past that, this many at a time
PART_TITLES = {
    "encoder": phrase("encoder self-attention"),
    "decoder": phrase("decoder self-attention"),
    "cross": phrase("cross-attention"),
}
OTHERS = phrase("others Σ")


@dataclass(frozen=True, eq=False)
class Scene:
    """What a view draws from: the exploration, the state, and the part's attention at the
    state's granularity (worked out once per reply)."""

    exploration: Exploration
    state: ViewState
    attention: Attention
    chat: bool = False  # worded for the chat's caption (real tokens) rather than the picture
    language: str = SOURCE_LANGUAGE  # the reader's: every text is told in it

    def tell(self, text: str) -> str:
        """`text` (a `phrase`) in the reader's language."""
        return tell(text, self.language)

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
        if head == 0:
            return phrase("mean of {heads} heads", heads=heads)
        return phrase("head {head}/{heads}", head=head, heads=heads)

    @property
    def layer_name(self) -> str:
        """`layer 2/6`."""
        return phrase("layer {layer}/{layers}", layer=self.state.layer, layers=self.shape.layers)

    @property
    def model_shape(self) -> str:
        """`6 layers × 12 heads`."""
        return phrase(
            "{layers} layers × {heads} heads", layers=self.shape.layers, heads=self.shape.heads
        )

    @property
    def unit(self) -> str:
        """What a row and column stand for."""
        return phrase("word") if self.state.granularity == "word" else phrase("token")

    @property
    def units(self) -> str:
        """What rows and columns stand for, more than one."""
        return phrase("words") if self.state.granularity == "word" else phrase("tokens")

    def counted(self, count: int) -> str:
        """`12 tokens`, `1 word`."""
        if self.state.granularity == "word":
            return plural_phrase("{count:,} word", "{count:,} words", count)
        return token_count(count)

    @property
    def axes_note(self) -> str:
        """What a matrix's rows and columns are."""
        if self.state.granularity == "word":
            return phrase("rows: attending word (query) · columns: attended-to word (key)")
        return phrase("rows: attending token (query) · columns: attended-to token (key)")

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

    @property
    def quantity(self) -> str:
        """What a value is: an attention weight, or a value-weighted norm."""
        return "‖αf(x)‖" if self.exploration.norms else phrase("attention weight")

    @property
    def column(self) -> str:
        """A value's column name in the exported tables."""
        return "norm" if self.exploration.norms else "weight"

    def scale_note(self, vmax: float, named: bool = True) -> str:
        """What the colours span, in words; a norm's in the hidden state's units, and named
        unless the caption already says what a value is."""
        scale = SCALES[self.state.scale]
        if not self.exploration.norms:
            return phrase("colours: 0 to {top:.3g}, {scale}", top=vmax, scale=scale)
        return phrase(
            "colours: {named}0 to {top:.3g} (the hidden state's units), {scale}",
            named="‖αf(x)‖ " if named else "",
            top=vmax,
            scale=scale,
        )


def window_count(shape: Shape) -> int:
    """How many windows an input of this shape is shown in (1: all at once)."""
    return 1 if shape.longest <= FULL else math.ceil(shape.longest / WINDOW)


def scene_of(exploration: Exploration, state: ViewState, language: str = SOURCE_LANGUAGE) -> Scene:
    """The scene for a state (its part and granularity checked), told in `language`."""
    attention = exploration.attention(state.part, state.granularity)
    return Scene(exploration, state, attention, language=language)


def layer_names(count: int, language: str = SOURCE_LANGUAGE) -> tuple[str, ...]:
    """`layer 1`, `layer 2`…, as rows are labelled (in exports: English)."""
    return tuple(tell(phrase("layer {layer}", layer=i), language) for i in range(1, count + 1))


def head_names(count: int, language: str = SOURCE_LANGUAGE) -> tuple[str, ...]:
    """`h1`, `h2`…, as columns are labelled."""
    return tuple(tell(phrase("h{head}", head=i), language) for i in range(1, count + 1))


def pick_top(scene: Scene, peak: str, layer: float, shown: float) -> float:
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
    description: ClassVar[str]  # a `phrase`
    actions: ClassVar[frozenset[str]] = frozenset()
    windowed: ClassVar[bool] = False  # long inputs are shown a window at a time
    refuses_norms: ClassVar[str] = ""  # why value-weighted norms make no sense here ("": they do)

    def title(self, scene: Scene) -> str:
        """The caption naming the model, the part, the weighting and what is shown, told in
        the scene's language."""
        parts: list[str] = []
        if scene.state.part != SELF:
            parts.append(PART_TITLES[scene.state.part])
        if scene.exploration.norms:
            parts.append(NORM_LABEL)
        parts.append(self.detail(scene))
        if scene.state.granularity == "word":
            parts.append(phrase("words"))
        if self.windowed and scene.windows > 1:
            parts.append(phrase("window {window}/{windows}", window=scene.window + 1,
                                windows=scene.windows))  # fmt: skip
        return " · ".join([scene.exploration.model, *map(scene.tell, parts)])

    def enabled(self, shape: Shape) -> frozenset[str]:
        """The actions that change something for an exploration of this shape."""
        if self.windowed and window_count(shape) > 1:
            return self.actions | WINDOW_ACTIONS
        return self.actions

    def detail(self, scene: Scene) -> str:
        """What is shown, after the model's name in the title."""
        raise NotImplementedError

    def blocks(self, scene: Scene) -> tuple[list[Block], list[str]]:
        """The picture's blocks and notes, told in the scene's language."""
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
    labels = [
        *keys.labels[cols.start : cols.stop],
        *(keys.labels[k] for k in special),
        scene.tell(OTHERS),
    ]
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
    shown = scene.window_range(len(scene.attention.queries))
    values = {"first": shown.start, "last": shown.stop - 1, "count": len(scene.attention.queries),
              "others": OTHERS}  # fmt: skip
    if scene.state.granularity == "word":
        note = phrase(
            "words {first}–{last} of {count}; after the gap: special tokens outside the "
            "window, then “{others}”, the sum over all other words outside it (clipped at the "
            "scale's top)",
            **values,
        )
    else:
        note = phrase(
            "tokens {first}–{last} of {count}; after the gap: special tokens outside the "
            "window, then “{others}”, the sum over all other tokens outside it (clipped at the "
            "scale's top)",
            **values,
        )
    return [scene.tell(note)]


class MatrixView(View):
    """A queries × keys matrix with labels on both axes."""

    windowed = True

    def measure(self, scene: Scene) -> str:
        """What a cell holds (a `phrase`)."""
        raise NotImplementedError

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
        caption = f"{scene.tell(self.measure(scene))} · {scene.tell(scene.scale_note(vmax, False))}"
        matrix = windowed_matrix(scene, values, vmax, caption)
        return [MatrixBlock(matrix)], [scene.tell(scene.axes_note), *window_note(scene)]

    @override
    def table(self, scene: Scene) -> tuple[str, str]:
        attention = scene.attention
        text = matrix_table(self.values(scene), attention.queries.tokens, attention.keys.tokens)
        return f"{self.name}.csv", text


class CyclingView(View):
    """A view whose head buttons cycle through the mean of the heads (0) and every head."""

    @override
    def step(self, state: ViewState, action: str, shape: Shape) -> ViewState:
        if action in HEAD_ACTIONS & self.actions:
            delta = 1 if action == "head+" else -1
            return replace(state, head=(state.head + delta) % (shape.heads + 1))
        return super().step(state, action, shape)


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
