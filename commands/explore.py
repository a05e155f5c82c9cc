"""Attention exploration: the views, how the controls step between them, and exports."""

from __future__ import annotations

import csv
import functools
import io
import math
from dataclasses import dataclass, replace

import numpy as np

from commands.attention_math import HeadStats, head_stats, rollout, token_profile
from commands.encoding import Encoding
from commands.labels import display_token
from commands.pictures import Grid, Matrix, draw_grid, draw_matrices
from commands.results import Attachment, UserError

VIEWS: dict[str, str] = {
    "head": "one head of a layer",
    "mean": "mean of a layer's heads",
    "heads": "every head of a layer",
    "model": "every layer × head",
    "rollout": "attention rollout",
    "token": "one token across layers",
    "summary": "per-head statistics",
}
ACTIONS = ("layer-", "layer+", "head-", "head+", "token-", "token+")
# Discord's upload limit for a bot in an unboosted server is 10 MiB per message; keep margin.
EXPORT_LIMIT = 8 * 2**20
QUERY_KEY_NOTE = "rows: attending token (query) · columns: attended-to token (key)"


@dataclass(frozen=True)
class ViewState:
    """What is shown: a view, a 1-based layer and head (0: mean of heads), a token position."""

    view: str
    layer: int
    head: int
    token: int


@dataclass(frozen=True, eq=False)
class Exploration:
    """One text's attention, computed once, from which every view is drawn."""

    model: str
    caption: str
    encoding: Encoding
    weights: np.ndarray  # (layers, heads, tokens, tokens)

    @property
    def layers(self) -> int:
        return int(self.weights.shape[0])

    @property
    def heads(self) -> int:
        return int(self.weights.shape[1])

    @property
    def tokens(self) -> int:
        return int(self.weights.shape[2])

    @functools.cached_property
    def labels(self) -> tuple[str, ...]:
        """Token labels, worked out once: every press of a button draws from them."""
        return tuple(display_token(t, i) for i, t in enumerate(self.encoding.tokens))


@dataclass(frozen=True)
class Rendered:
    """A view drawn: PNG bytes and its title."""

    png: bytes
    title: str


def enabled(state: ViewState) -> frozenset[str]:
    """The actions that change something in this view."""
    actions = set()
    if state.view in {"head", "mean", "heads", "rollout", "token"}:
        actions |= {"layer-", "layer+"}
    if state.view in {"head", "mean", "token"}:
        actions |= {"head-", "head+"}
    if state.view == "token":
        actions |= {"token-", "token+"}
    return frozenset(actions)


def step(state: ViewState, action: str, exploration: Exploration) -> ViewState:
    """The state after pressing `action`; layers, heads and tokens wrap around.

    In the mean view, head ▶ and ◀ open the head view at the first and last head; in the token
    view the head cycles through the mean (0) and every head.
    """
    if action not in enabled(state):
        return state
    delta = 1 if action.endswith("+") else -1
    if action.startswith("layer"):
        return replace(state, layer=(state.layer - 1 + delta) % exploration.layers + 1)
    if action.startswith("token"):
        return replace(state, token=(state.token + delta) % exploration.tokens)
    if state.view == "mean":
        return replace(state, view="head", head=1 if delta > 0 else exploration.heads)
    if state.view == "token":
        return replace(state, head=(state.head + delta) % (exploration.heads + 1))
    return replace(state, head=(state.head - 1 + delta) % exploration.heads + 1)


def switch_view(state: ViewState, view: str) -> ViewState:
    """The state shown after choosing `view` in the menu."""
    if view not in VIEWS:
        raise UserError(f"Unknown view `{view}`. Views: {', '.join(VIEWS)}.")
    if view == "head" and state.head == 0:
        return replace(state, view=view, head=1)
    return replace(state, view=view)


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
    raise UserError(f"No token `{wanted[:40]}` in this text. Tokens: {shown}.")


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


def initial_state(view: str | None, layer: int, head: int, token: int) -> ViewState:
    """The first view: as asked, else one head if a head was given, else the head mean."""
    chosen = view or ("head" if head else "mean")
    return switch_view(ViewState(chosen, layer, head, token), chosen)


def _head_name(exploration: Exploration, head: int) -> str:
    return f"mean of {exploration.heads} heads" if head == 0 else f"head {head}/{exploration.heads}"


def title(exploration: Exploration, state: ViewState) -> str:
    """The caption naming model, view, layer and head."""
    layer = f"layer {state.layer}/{exploration.layers}"
    shape = f"{exploration.layers} layers × {exploration.heads} heads"
    match state.view:
        case "head":
            detail = f"{layer} · {_head_name(exploration, state.head)}"
        case "mean":
            detail = f"{layer} · {_head_name(exploration, 0)}"
        case "heads":
            detail = f"{layer} · all {exploration.heads} heads"
        case "model":
            detail = shape
        case "rollout":
            detail = f"attention rollout through layers 1–{state.layer}"
        case "token":
            label = exploration.labels[state.token]
            detail = f"token {state.token} “{label}” · {_head_name(exploration, state.head)}"
        case _:
            detail = f"per-head statistics · {shape}"
    return f"{exploration.model} · {detail}"


def _square(exploration: Exploration, values: np.ndarray, scale_label: str) -> Matrix:
    encoding = exploration.encoding
    return Matrix(
        values=values,
        rows=exploration.labels,
        cols=exploration.labels,
        scale_label=scale_label,
        row_special=encoding.special,
        col_special=encoding.special,
        row_boundary=encoding.segment_boundary,
        col_boundary=encoding.segment_boundary,
    )


def _layer_names(count: int) -> tuple[str, ...]:
    return tuple(f"layer {i}" for i in range(1, count + 1))


def _head_names(count: int) -> tuple[str, ...]:
    return tuple(f"h{i}" for i in range(1, count + 1))


def _matrix_csv(matrix: np.ndarray, rows: tuple[str, ...], cols: tuple[str, ...]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["", *cols])
    for label, values in zip(rows, matrix, strict=True):
        writer.writerow([label, *(f"{v:.6f}" for v in values)])
    return buffer.getvalue()


def _long_csv(exploration: Exploration, layers: range) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    tokens = exploration.encoding.tokens
    writer.writerow(["layer", "head", "query", "query_token", "key", "key_token", "weight"])
    for layer in layers:
        for head in range(exploration.heads):
            for (query, key), value in np.ndenumerate(exploration.weights[layer, head]):
                writer.writerow(
                    [layer + 1, head + 1, query, tokens[query], key, tokens[key], f"{value:.6f}"]
                )
    return buffer.getvalue()


def _square_values(exploration: Exploration, state: ViewState) -> tuple[np.ndarray, str]:
    """The token × token matrix of the head, mean and rollout views, and its scale label."""
    weights, layer = exploration.weights, state.layer - 1
    if state.view == "head":
        return weights[layer, state.head - 1], "attention weight"
    if state.view == "mean":
        return weights[layer].mean(axis=0), "attention weight (mean of heads)"
    return rollout(weights, state.layer), "share of each input token (rollout)"


def _heads_grid(exploration: Exploration, layer: int) -> Grid:
    columns = math.ceil(math.sqrt(exploration.heads))
    panels = [exploration.weights[layer, h] for h in range(exploration.heads)]
    names = [f"head {h + 1}" for h in range(exploration.heads)]
    rows = [tuple(panels[i : i + columns]) for i in range(0, len(panels), columns)]
    titles = [tuple(names[i : i + columns]) for i in range(0, len(names), columns)]
    if len(rows[-1]) < columns:  # pad the last row so the grid stays rectangular
        blank = np.zeros_like(panels[0])
        rows[-1] += (blank,) * (columns - len(rows[-1]))
        titles[-1] += ("",) * (columns - len(titles[-1]))
    return Grid(
        tuple(rows),
        tuple(titles),
        tokens=exploration.labels,
        special=exploration.encoding.special,
        boundary=exploration.encoding.segment_boundary,
    )


def _summary_blocks(exploration: Exploration) -> list[tuple[str, Matrix]]:
    stats = head_stats(exploration.weights, np.asarray(exploration.encoding.special))
    layers, heads = _layer_names(exploration.layers), _head_names(exploration.heads)
    return [
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


def render(exploration: Exploration, state: ViewState) -> Rendered:
    """Draw the view `state` asks for."""
    heading = title(exploration, state)
    caption = exploration.caption
    match state.view:
        case "head" | "mean" | "rollout":
            values, scale = _square_values(exploration, state)
            square = _square(exploration, values, scale)
            png = draw_matrices(heading, caption, [("", square)], note=QUERY_KEY_NOTE)
        case "token":
            matrix = Matrix(
                token_profile(exploration.weights, state.token, state.head or None),
                _layer_names(exploration.layers),
                exploration.labels,
                f"attention from token {state.token} to each token",
                col_special=exploration.encoding.special,
                col_boundary=exploration.encoding.segment_boundary,
            )
            png = draw_matrices(heading, caption, [("", matrix)])
        case "heads":
            grid = _heads_grid(exploration, state.layer - 1)
            png = draw_grid(heading, caption, grid, note=QUERY_KEY_NOTE)
        case "model":
            grid = Grid(
                tuple(
                    tuple(exploration.weights[layer, h] for h in range(exploration.heads))
                    for layer in range(exploration.layers)
                ),
                row_headers=_layer_names(exploration.layers),
                col_headers=_head_names(exploration.heads),
                shared_scale=False,
            )
            note = "each thumbnail is scaled to its own maximum"
            png = draw_grid(heading, caption, grid, note=note, target=64)
        case _:
            png = draw_matrices(heading, caption, _summary_blocks(exploration), target=480)
    return Rendered(png, heading)


def _summary_csv(stats: HeadStats) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["layer", "head", "entropy_bits", "special_share", "previous_token_share"])
    for (layer, head), entropy in np.ndenumerate(stats.entropy):
        writer.writerow(
            [
                layer + 1,
                head + 1,
                f"{entropy:.4f}",
                f"{stats.special_share[layer, head]:.4f}",
                f"{stats.previous_share[layer, head]:.4f}",
            ]
        )
    return buffer.getvalue()


def table(exploration: Exploration, state: ViewState) -> tuple[str, str]:
    """The data of the view `state` shows, as a CSV file name and text (for exports only)."""
    labels = exploration.labels
    match state.view:
        case "head" | "mean" | "rollout":
            values, _ = _square_values(exploration, state)
            return f"{state.view}.csv", _matrix_csv(values, labels, labels)
        case "token":
            values = token_profile(exploration.weights, state.token, state.head or None)
            return "token.csv", _matrix_csv(values, _layer_names(exploration.layers), labels)
        case "heads":
            return "heads.csv", _long_csv(exploration, range(state.layer - 1, state.layer))
        case "model":
            return "model.csv", _long_csv(exploration, range(exploration.layers))
        case _:
            stats = head_stats(exploration.weights, np.asarray(exploration.encoding.special))
            return "summary.csv", _summary_csv(stats)


def exports(exploration: Exploration, state: ViewState) -> tuple[tuple[Attachment, ...], str]:
    """The full attention tensor as `.npy` and the shown data as CSV, within Discord's upload
    limit; returns the attachments and a note when the CSV had to be left out."""
    buffer = io.BytesIO()
    np.save(buffer, exploration.weights.astype(np.float32))
    tensor = Attachment(
        "attention.npy", buffer.getvalue(), "attention weights (layers, heads, query, key)"
    )
    name, text = table(exploration, state)
    data = text.encode()
    if len(tensor.data) + len(data) > EXPORT_LIMIT:
        note = (
            f"The {name} ({len(data) / 2**20:.0f} MiB) is over Discord's upload limit: "
            "the .npy holds the same numbers."
        )
        return (tensor,), note
    return (tensor, Attachment(name, data, "the shown data")), ""
