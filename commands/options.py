"""Options several commands share, and their autocompleters."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from explorer.contract import Context, Forwarded, ForwardRequest
from explorer.declare import TEXT_LIMIT, Opt
from explorer.encoding import Encoding


async def complete_model(
    ctx: Context, options: Mapping[str, Any], current: str
) -> list[tuple[str, str]]:
    """The allowed models whose name contains what was typed."""
    needle = current.strip().lower()
    return [(name, name) for name in ctx.catalog().names if needle in name.lower()][:25]


def source_encoding(forwarded: Forwarded) -> Encoding:
    """The input's encoding alone (a `finish` for tokenising)."""
    return forwarded.encoding


async def complete_token(
    ctx: Context, options: Mapping[str, Any], current: str
) -> list[tuple[str, str]]:
    """The tokens of the text typed so far, if its model is loaded already (autocompletion
    never waits for a model to load)."""
    text = options.get("text")
    card = ctx.peek(options.get("model"))
    if not text or card is None or len(text) > ctx.limits.max_input_chars:
        return []
    limit = min(card.max_tokens, ctx.limits.max_heatmap_tokens)
    request = ForwardRequest(text, options.get("text_pair"), limit, run="none")
    encoding = await ctx.forward(card, request, source_encoding)
    needle = current.strip().lower()
    return [
        (f"{index}: {token}"[:100], str(index))
        for index, token in enumerate(encoding.tokens)
        if needle in token.lower() or needle == str(index)
    ][:25]


TEXT = Opt("The text to work on", 1, TEXT_LIMIT)
TEXT_PAIR = Opt("An optional second sentence, as in sentence-pair tasks", 1, TEXT_LIMIT)
MODEL = Opt("Which model (default: the bot's default model)", complete=complete_model)
