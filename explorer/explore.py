"""Exploring attention: computing a subject's exploration (or taking the kept one), the reply
for a state (caption, picture, exports), and the live kind `ATTENTION` that steps it: a view
menu and buttons for layers, heads, tokens and windows."""

from __future__ import annotations

import dataclasses
import functools
import io
from dataclasses import replace

import numpy as np

from explorer.contract import Attachment, Context, ForwardRequest, Live, Reply, State
from explorer.exploration import Exploration, Explored, Shape, Subject, ViewState, exploration_for
from explorer.live import Button, Choice, Control, Kind, Menu
from explorer.text import plural
from explorer.views import VIEWS, Scene, enabled, scene_of, step, switch_view, view_of
from explorer.views.catalog import STEPPED, WINDOW

# Discord's upload limit for a bot in an unboosted server is 10 MiB per message; keep margin.
EXPORT_LIMIT = 8 * 2**20


async def explore(ctx: Context, subject: Subject) -> Exploration:
    """The subject's exploration: kept from before, or computed now."""

    async def compute() -> Exploration:
        card = await ctx.model(subject.model)
        limit = min(card.max_tokens, ctx.limits.max_heatmap_tokens)
        request = ForwardRequest(
            subject.text, subject.text_pair, limit, attentions=True, target=subject.target
        )
        return await ctx.forward(card, request, functools.partial(exploration_for, subject))

    exploration = await ctx.remember(subject, compute)
    ctx.record(tokens=len(exploration.encoding))
    return exploration


def caption(scene: Scene) -> str:
    """The message text above the picture: what is shown, how many tokens or words, and
    whether tokens were cut or the decoder's text was the model's own."""
    exploration, encoding = scene.exploration, scene.exploration.encoding
    queries, keys = scene.attention.queries, scene.attention.keys
    counted = plural(len(keys), scene.unit)
    if queries is not keys:
        counted = f"{plural(len(queries), scene.unit)} × {counted}"
    lines = [f"**{view_of(scene.state).title(replace(scene, chat=True))}** · {counted}"]
    if encoding.truncated:
        lines.append(
            f"⚠️ Only the first {len(encoding)} of {encoding.untruncated_length} tokens are shown."
        )
    own_output = exploration.target is not None and exploration.subject.target is None
    if own_output and scene.state.part in ("decoder", "cross"):  # the encoder never reads it
        lines.append("The decoder reads the model's own greedy output (give `target:` to choose).")
    return "\n".join(lines)


def exports(scene: Scene) -> tuple[tuple[Attachment, ...], str]:
    """The shown part's attention tensor as `.npy` and the shown data as CSV, within
    Discord's upload limit; returns the attachments and a note when the CSV was left out."""
    buffer = io.BytesIO()
    np.save(buffer, scene.attention.weights.astype(np.float32))
    tensor = Attachment(
        "attention.npy", buffer.getvalue(), "attention weights (layers, heads, query, key)"
    )
    name, text = view_of(scene.state).table(scene)
    data = text.encode()
    if len(tensor.data) + len(data) > EXPORT_LIMIT:
        note = (
            f"The {name} ({len(data) / 2**20:.0f} MiB) is over Discord's upload limit: "
            "the .npy holds the same numbers."
        )
        return (tensor,), note
    return (tensor, Attachment(name, data, "the shown data")), ""


def reply_for(exploration: Exploration, state: ViewState, export: bool = False) -> Reply:
    """The message for a state: caption, picture, optional exports, and the exploration the
    chat keeps for its controls (drawing work, run off the event loop)."""
    scene = scene_of(exploration, state)
    view = view_of(state)
    attachments: tuple[Attachment, ...] = (
        Attachment("attention.png", view.draw(scene), view.title(scene)),
    )
    content = caption(scene)
    if export:
        files, note = exports(scene)
        attachments += files
        content += f"\n{note}" if note else ""
    kept = Explored(exploration.subject, state, scene.shape)
    return Reply(content, attachments, Live(ATTENTION.name, state_of(kept)))


async def show(ctx: Context, explored: Explored) -> Reply:
    """The reply for an exploration's state (its tensors recomputed if they were dropped)."""
    exploration = await explore(ctx, explored.subject)
    return await ctx.render(reply_for, exploration, explored.state)


def state_of(explored: Explored) -> State:
    """An exploration as a live reply's state: what it is computed from, what it shows, and
    the sizes stepping wraps around."""
    return {
        "subject": dataclasses.asdict(explored.subject),
        "shown": dataclasses.asdict(explored.state),
        "shape": dataclasses.asdict(explored.shape),
    }


def explored_of(state: State) -> Explored:
    """The exploration a live reply's state holds (fields kept by older versions ignored,
    those they lacked defaulted)."""
    known = {field.name for field in dataclasses.fields(ViewState)}
    shown = ViewState(**{name: v for name, v in state["shown"].items() if name in known})
    return Explored(Subject(**state["subject"]), shown, Shape(**state["shape"]))


def controls(state: State) -> tuple[Control, ...]:
    """The view menu, then the stepping buttons: the first row's always (disabled where the
    view does not step them), the second row's only as the view needs them."""
    explored = explored_of(state)
    shown = explored.state.view
    menu = Menu(
        "view",
        tuple(Choice(name, name, view.description, name == shown) for name, view in VIEWS.items()),
        "Choose a view",
    )
    active = enabled(explored.state, explored.shape)
    buttons = tuple(
        Button(action, label, row, disabled=action not in active)
        for stepped, row in STEPPED.items()
        for action, label in ((f"{stepped}-", f"◀ {stepped}"), (f"{stepped}+", f"{stepped} ▶"))
        if row == 1 or action in active
    )
    return (menu, *buttons)


def transition(state: State, action: str, value: str | None) -> State:
    """The state after choosing a view in the menu, or pressing an arrow (layers, heads,
    tokens and windows wrap around)."""
    explored = explored_of(state)
    if action == "view":
        shown = switch_view(explored.state, value or "")
    else:
        shown = step(explored.state, action, explored.shape)
    return state_of(replace(explored, state=shown))


async def render(ctx: Context, state: State) -> Reply:
    """The reply for a state: its exploration computed again if it is no longer kept."""
    return await show(ctx, explored_of(state))


ATTENTION = Kind("attention", controls, transition, render)


def initial_state(
    view: str | None,
    layer: int,
    head: int,
    token: int,
    part: str,
    granularity: str,
    scale: str,
) -> ViewState:
    """The first view: as asked, else one head if a head was given, else the head mean; the
    window holding the chosen token."""
    chosen = view or ("head" if head else "mean")
    state = ViewState(chosen, layer, head, token, part, granularity, scale, token // WINDOW)
    return switch_view(state, chosen)
