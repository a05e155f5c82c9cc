"""Options several commands share, and their autocompleters."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from explorer.contract import Context, Forwarded, ForwardRequest, ModelCard, UserError
from explorer.declare import TEXT_LIMIT, Opt
from explorer.encoding import Encoding
from explorer.i18n import phrase

MASK_ALIAS = "[MASK]"  # what users may type for any model's mask token


def mask_of(card: ModelCard) -> str:
    """The model's mask token, or `[MASK]` for a model without one."""
    return card.mask_token or MASK_ALIAS


def with_mask_token(card: ModelCard, text: str) -> str:
    """The text with each `[MASK]` typed written as the model's own mask token."""
    return text.replace(MASK_ALIAS, mask_of(card))


def _matching(names: tuple[str, ...], current: str) -> list[tuple[str, str]]:
    needle = current.strip().lower()
    return [(name, name) for name in names if needle in name.lower()][:25]


async def complete_model(
    ctx: Context, options: Mapping[str, Any], current: str
) -> list[tuple[str, str]]:
    """The models this server may use whose name contains what was typed."""
    return _matching(ctx.catalog().names, current)


async def complete_any_model(
    ctx: Context, options: Mapping[str, Any], current: str
) -> list[tuple[str, str]]:
    """Every model the bot allows whose name contains what was typed."""
    return _matching(ctx.catalog(everything=True).names, current)


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


def check_target(card: ModelCard, target: str | None) -> None:
    """Refuse a decoder text for a model without a decoder."""
    if target is not None and not card.encoder_decoder:
        raise UserError(
            phrase(
                "**{model}** has no decoder: `target` is for encoder–decoder models "
                "(T5, BART, Marian).",
                model=card.name,
            )
        )


TARGET = Opt(
    "Encoder–decoder models: the decoder's text (default: the model's own output)", 1, TEXT_LIMIT
)
TOP_K = Opt("How many of the most likely tokens to list (default 5)", 1, 20)
TEXT = Opt("The text to work on", 1, TEXT_LIMIT)
TEXT_PAIR = Opt("An optional second sentence, as in sentence-pair tasks", 1, TEXT_LIMIT)
MODEL = Opt(
    "Which model (default: this server's default; /models lists them)", complete=complete_model
)
