"""`/attention`: explore a text's attention, one view at a time, with stepping controls."""

from __future__ import annotations

from typing import Annotated

from commands.options import MODEL, TEXT_PAIR, complete_token
from explorer.contract import Context, Reply
from explorer.declare import TEXT_LIMIT, Opt, command
from explorer.encoding import check_text
from explorer.exploration import Subject, ViewState, check_layer_head, find_token
from explorer.explore import explore, initial_state, reply_for
from explorer.views import VIEW_CHOICES, switch_view

MAX_INDEX = 128  # Discord-side bound on layer and head; the model's own is checked after


LAYER = Opt("Layer, 1 = first (default: the last layer)", 1, MAX_INDEX)
HEAD = Opt("Head, 1 = first (default: the mean of all heads)", 1, MAX_INDEX)
PAIR = Opt(f"{TEXT_PAIR.description}; a dashed line marks the boundary", 1, TEXT_LIMIT)
VIEW = Opt(
    "What to draw (default: one head if given, else the mean of the layer's heads)",
    choices=VIEW_CHOICES,
)
TOKEN = Opt(
    "For the token view: a position as /tokenize lists it, or the token's text",
    complete=complete_token,
)
EXPORT = Opt("Also attach the attention tensor (.npy) and the shown data (.csv)")


@command()
async def attention(
    ctx: Context,
    text: Annotated[str, Opt("The text whose attention to show", 1, TEXT_LIMIT)],
    model: Annotated[str | None, MODEL] = None,
    layer: Annotated[int | None, LAYER] = None,
    head: Annotated[int | None, HEAD] = None,
    text_pair: Annotated[str | None, PAIR] = None,
    view: Annotated[str | None, VIEW] = None,
    token: Annotated[str | None, TOKEN] = None,
    export: Annotated[bool, EXPORT] = False,
) -> Reply:
    """Explore attention: one head, a layer, the whole model or one token, with buttons."""
    check_text(text, ctx.limits.max_input_chars)
    if text_pair is not None:
        check_text(text_pair, ctx.limits.max_input_chars, "second text")
    if view is not None:
        switch_view(ViewState("mean", 1, 0, 0), view)  # an unknown view fails before any work
    card = await ctx.model(model)
    layer, head = check_layer_head(card.layers, card.heads, layer, head)
    exploration = await explore(ctx, Subject(card.name, text, text_pair))
    state = initial_state(view, layer, head, find_token(exploration.encoding, token))
    return await ctx.render(reply_for, exploration, state, export)
