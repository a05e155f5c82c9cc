"""Exploring attention: computing a subject's exploration (or taking the kept one), and the
reply for a state: caption, picture, exports, and the live reply its controls step."""

from __future__ import annotations

import functools
from dataclasses import replace

from commands.attention.exploration import (
    Exploration,
    Explored,
    Subject,
    ViewState,
    exploration_for,
    live_of,
)
from commands.attention.value_weighted import ValueWeighted
from commands.attention.views import Scene, check_weighting, scene_of, switch_view, view_of
from commands.attention.views.base import WINDOW
from explorer.contract import Attachment, Context, ForwardRequest, Reply
from explorer.export import npy
from explorer.i18n import SOURCE_LANGUAGE, phrase

# Discord's upload limit for a bot in an unboosted server is 10 MiB per message; keep margin.
EXPORT_LIMIT = 8 * 2**20


async def explore(ctx: Context, subject: Subject) -> Exploration:
    """The subject's exploration: kept from before, or computed now."""

    async def compute() -> Exploration:
        card = await ctx.model(subject.model)
        limit = min(card.max_tokens, ctx.limits.max_heatmap_tokens)
        if subject.weighting == "norm":  # the finish runs its own pass, with hooks
            tokenised = ForwardRequest(subject.text, subject.text_pair, limit, run="none")
            return await ctx.forward(card, tokenised, ValueWeighted(subject))
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
    counted = scene.tell(scene.counted(len(keys)))
    if queries is not keys:
        counted = f"{scene.tell(scene.counted(len(queries)))} × {counted}"
    lines = [f"**{view_of(scene.state).title(replace(scene, chat=True))}** · {counted}"]
    if encoding.truncated:
        cut = phrase(
            "⚠️ Only the first {shown} of {count} tokens are shown.",
            shown=len(encoding),
            count=encoding.untruncated_length,
        )
        lines.append(scene.tell(cut))
    own_output = exploration.target is not None and exploration.subject.target is None
    if own_output and scene.state.part in ("decoder", "cross"):  # the encoder never reads it
        own = phrase("The decoder reads the model's own greedy output (give `target:` to choose).")
        lines.append(scene.tell(own))
    return "\n".join(lines)


def exports(scene: Scene) -> tuple[tuple[Attachment, ...], str]:
    """The shown part's attention tensor as `.npy` and the shown data as CSV, within
    Discord's upload limit; returns the attachments and a note when the CSV was left out."""
    if scene.exploration.norms:
        what = phrase("value-weighted norms ‖αf(x)‖ (layers, heads, query, key)")
    else:
        what = phrase("attention weights (layers, heads, query, key)")
    tensor = npy("attention.npy", scene.attention.weights, scene.tell(what))
    name, text = view_of(scene.state).table(scene)
    data = text.encode()
    if len(tensor.data) + len(data) > EXPORT_LIMIT:
        note = phrase(
            "The {name} ({size:.0f} MiB) is over Discord's upload limit: the .npy holds the "
            "same numbers.",
            name=name,
            size=len(data) / 2**20,
        )
        return (tensor,), scene.tell(note)
    return (tensor, Attachment(name, data, scene.tell(phrase("the shown data")))), ""


def reply_for(
    exploration: Exploration,
    state: ViewState,
    export: bool = False,
    language: str = SOURCE_LANGUAGE,
) -> Reply:
    """The message for a state, told in `language`: caption, picture, optional exports, and
    the exploration the chat keeps for its controls (drawing work, run off the event loop)."""
    check_weighting(state.view, exploration.subject.weighting)
    scene = scene_of(exploration, state, language)
    view = view_of(state)
    attachments: tuple[Attachment, ...] = (
        Attachment("attention.png", view.draw(scene), view.title(scene)),
    )
    content = caption(scene)
    if export:
        files, note = exports(scene)
        attachments += files
        content += f"\n{note}" if note else ""
    return Reply(content, attachments, live_of(Explored(exploration.subject, state, scene.shape)))


async def show(ctx: Context, explored: Explored) -> Reply:
    """The reply for an exploration's state (its tensors recomputed if they were dropped)."""
    exploration = await explore(ctx, explored.subject)
    return await ctx.render(reply_for, exploration, explored.state, False, ctx.language)


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
