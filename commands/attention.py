"""`/attention`: explore a text's attention, one view at a time."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch

from commands.context import Context, ForwardOutput, ForwardRequest
from commands.encoding import Encoding, check_text
from commands.explore import (
    Exploration,
    ViewState,
    check_layer_head,
    exports,
    find_token,
    initial_state,
    render,
    switch_view,
    title,
)
from commands.results import Attachment, Reply, UserError
from commands.text import plural, quote_inline


@dataclass(frozen=True)
class Session:
    """What the chat layer keeps so that buttons can step the reply: the exploration and the
    state it shows."""

    exploration: Exploration
    state: ViewState


def attention_array(output: ForwardOutput, model: str) -> np.ndarray:
    """All attention weights of one input as (layers, heads, tokens, tokens)."""
    attentions = output.fields.get("attentions")
    if not attentions:
        raise UserError(
            f"The model **{model}** returned no attention weights "
            "(its attention implementation does not expose them)."
        )
    return torch.stack(attentions)[:, 0].float().numpy()


def exploration_for(
    model: str, text: str, text_pair: str | None, encoding: Encoding, output: ForwardOutput
) -> Exploration:
    """Everything every view is drawn from."""
    caption_text = quote_inline(text if text_pair is None else f"{text} ‖ {text_pair}", 90)
    return Exploration(model, caption_text.strip("`"), encoding, attention_array(output, model))


def caption(session: Session) -> str:
    """The message text above the picture: what is shown, and whether tokens were cut."""
    encoding = session.exploration.encoding
    lines = [
        f"**{title(session.exploration, session.state)}** · {plural(len(encoding.tokens), 'token')}"
    ]
    if encoding.truncated:
        lines.append(
            f"⚠️ Only the first {len(encoding.tokens)} of {encoding.untruncated_length} tokens "
            "are shown."
        )
    return "\n".join(lines)


def view_reply(session: Session, export: bool = False) -> Reply:
    """The message for a session's current state: caption, picture, optional exports."""
    rendered = render(session.exploration, session.state)
    attachments = (Attachment("attention.png", rendered.png, rendered.title),)
    content = caption(session)
    if export:
        files, note = exports(session.exploration, session.state)
        attachments += files
        content += f"\n{note}" if note else ""
    return Reply(content, attachments, session)


async def attention(
    ctx: Context,
    text: str,
    model: str | None = None,
    layer: int | None = None,
    head: int | None = None,
    text_pair: str | None = None,
    view: str | None = None,
    token: str | None = None,
    export: bool = False,
) -> Reply:
    """Draw the attention of one head, a layer, the whole model, or one token."""
    check_text(text, ctx.limits.max_input_chars)
    if text_pair is not None:
        check_text(text_pair, ctx.limits.max_input_chars, "second text")
    if view is not None:
        switch_view(ViewState("mean", 1, 0, 0), view)  # an unknown view fails before any work
    loaded = await ctx.model(model)
    config = loaded.config
    layer, head = check_layer_head(
        config.num_hidden_layers, config.num_attention_heads, layer, head
    )
    max_tokens = min(loaded.max_tokens, ctx.limits.max_heatmap_tokens)
    request = ForwardRequest(text, text_pair, max_tokens, attentions=True)
    explore = functools.partial(exploration_for, loaded.name, text, text_pair)
    exploration = await ctx.forward(loaded, request, explore)
    ctx.record(tokens=len(exploration.encoding.input_ids))
    state = initial_state(view, layer, head, find_token(exploration.encoding, token))
    return await ctx.render(view_reply, Session(exploration, state), export)
