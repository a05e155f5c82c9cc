"""`/tokenize`: every token with its id, token type and attention mask."""

from __future__ import annotations

from typing import Annotated

from commands.capabilities import notices
from commands.options import MODEL, TARGET, TEXT_PAIR, check_target
from explorer.contract import (
    Context,
    Forwarded,
    ForwardRequest,
    Reply,
    reply_with_overflow,
)
from explorer.declare import TEXT_LIMIT, Opt, command
from explorer.encoding import Encoding, check_text
from explorer.text import in_code, pad, plural, text_width


def token_table(encoding: Encoding) -> str:
    """A fixed-width table: index, token (special ones starred), id, type id, mask."""
    marks = ("*" if special else "" for special in encoding.special)
    labels = [in_code(token) + mark for token, mark in zip(encoding.tokens, marks, strict=True)]
    width = max(5, *(text_width(label) + 1 for label in labels))
    id_width = max(2, *(len(str(i)) for i in encoding.input_ids))
    rows = [f"{'#':>4}  {'token':<{width}}  {'id':>{id_width}}  type  mask"]
    type_ids = encoding.token_type_ids or (None,) * len(encoding)
    for index, (label, token_id, type_id, mask) in enumerate(
        zip(labels, encoding.input_ids, type_ids, encoding.attention_mask, strict=True)
    ):
        type_text = "-" if type_id is None else str(type_id)
        rows.append(
            f"{index:>4}  {pad(label, width)}  {token_id:>{id_width}}  {type_text:>4}  {mask:>4}"
        )
    return "\n".join(rows)


def summary(model: str, text: str, text_pair: str | None, encoding: Encoding) -> str:
    """One line of counts."""
    chars = len(text) + len(text_pair or "")
    line = (
        f"**{model}** · {plural(chars, 'character')} → {plural(len(encoding), 'token')}"
        f" ({sum(encoding.special)} special, marked *)"
    )
    if text_pair is not None:
        line += " · sentence pair: type id 1 marks the second segment"
    return line


def both_sides(forwarded: Forwarded) -> tuple[Encoding, Encoding | None]:
    """The input's encoding and the decoder's, if any (a `finish`)."""
    return forwarded.encoding, forwarded.target


@command()
async def tokenize(
    ctx: Context,
    text: Annotated[str, Opt("The text to tokenize", 1, TEXT_LIMIT)],
    model: Annotated[str | None, MODEL] = None,
    text_pair: Annotated[str | None, TEXT_PAIR] = None,
    target: Annotated[str | None, TARGET] = None,
) -> Reply:
    """Split text into tokens with ids, token types and attention mask."""
    check_text(text, ctx.limits.max_input_chars)
    for extra, what in ((text_pair, "second text"), (target, "target text")):
        if extra is not None:
            check_text(extra, ctx.limits.max_input_chars, what)
    card = await ctx.model(model)
    check_target(card, target)
    # An encoder–decoder model's decoder side is its own output unless a target is given.
    decoding = card.encoder_decoder and target is None
    request = ForwardRequest(
        text, text_pair, card.max_tokens, run="base" if decoding else "none", target=target
    )
    encoding, decoded = await ctx.forward(card, request, both_sides)
    ctx.record(tokens=len(encoding))
    header = "\n".join(
        [summary(card.name, text, text_pair, encoding), *await notices(ctx, card, encoding)]
    )
    table = token_table(encoding)
    if decoded is not None:
        origin = "the target text" if target is not None else "the model's own greedy output"
        header += f"\nencoder input, then the decoder's input ({origin}, shifted right)"
        table += f"\n\ndecoder input: {plural(len(decoded), 'token')}\n{token_table(decoded)}"
    return reply_with_overflow(header, table, "tokens.txt")
