"""`/tokenize`: every token with its id, token type and attention mask."""

from __future__ import annotations

from typing import Annotated

from commands.capabilities import notices
from commands.lineup import CONTINUES, MOST_MODELS, Read, counts, line_up, lineup_table
from commands.options import MODEL, TARGET, TEXT_PAIR, check_target, source_encoding
from explorer.contract import (
    Context,
    Forwarded,
    ForwardRequest,
    Reply,
    UserError,
    reply_with_overflow,
)
from explorer.declare import TEXT_LIMIT, Opt, command
from explorer.encoding import Encoding, check_text
from explorer.i18n import SOURCE_LANGUAGE, phrase, plural_phrase, tell
from explorer.text import in_code, pad, quote_inline, text_width, token_count

COMPARE = Opt(
    f"Up to {MOST_MODELS - 1} more models, comma-separated: their pieces side by side", 1, 300
)
TOKEN_HEADING = phrase("token")  # the tokens column's heading


def token_table(encoding: Encoding, language: str = SOURCE_LANGUAGE) -> str:
    """A fixed-width table: index, token (special ones starred), id, type id, mask (the
    tokens column's heading told in `language`)."""
    marks = ("*" if special else "" for special in encoding.special)
    labels = [in_code(token) + mark for token, mark in zip(encoding.tokens, marks, strict=True)]
    heading = tell(TOKEN_HEADING, language)
    width = max(5, text_width(heading), *(text_width(label) + 1 for label in labels))
    id_width = max(2, *(len(str(i)) for i in encoding.input_ids))
    rows = [f"{'#':>4}  {pad(heading, width)}  {'id':>{id_width}}  type  mask"]
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
    """One line of counts (a `phrase`)."""
    chars = len(text) + len(text_pair or "")
    values = {
        "model": model,
        "characters": plural_phrase("{count:,} character", "{count:,} characters", chars),
        "tokens": token_count(len(encoding)),
        "special": sum(encoding.special),
    }
    if text_pair is not None:
        return phrase(
            "**{model}** · {characters} → {tokens} ({special} special, marked *) · sentence "
            "pair: type id 1 marks the second segment",
            **values,
        )
    return phrase("**{model}** · {characters} → {tokens} ({special} special, marked *)", **values)


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
    compare: Annotated[str | None, COMPARE] = None,
) -> Reply:
    """Split text into tokens with ids, token types and attention mask."""
    check_text(text, ctx.limits.max_input_chars)
    if compare is not None:
        if text_pair is not None or target is not None:
            raise UserError(
                phrase("`compare` lines up one text: leave out `text_pair` and `target`.")
            )
        return await lineup(ctx, text, model, compare)
    for extra, what in ((text_pair, phrase("second text")), (target, phrase("target text"))):
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
    lines = [summary(card.name, text, text_pair, encoding), *await notices(ctx, card, encoding)]
    table = token_table(encoding, ctx.language)
    if decoded is not None:
        if target is not None:
            lines.append(
                phrase("encoder input, then the decoder's input (the target text, shifted right)")
            )
        else:
            lines.append(
                phrase(
                    "encoder input, then the decoder's input (the model's own "
                    "greedy output, shifted right)"
                )
            )
        decoder = phrase(
            "decoder input: {tokens}",
            tokens=token_count(len(decoded)),
        )
        table += f"\n\n{ctx.tell(decoder)}\n{token_table(decoded, ctx.language)}"
    header = "\n".join(map(ctx.tell, lines))
    return reply_with_overflow(header, table, "tokens.txt", reader=ctx.language)


def compared_names(first: str, compare: str) -> list[str]:
    """The models to line up: the first, then those named in `compare`, each once."""
    names = list(dict.fromkeys([first, *(n.strip() for n in compare.split(",") if n.strip())]))
    if len(names) < 2:
        raise UserError(
            phrase("Name at least one other model in `compare` than **{model}**.", model=first)
        )
    if len(names) > MOST_MODELS:
        raise UserError(
            phrase("The line-up takes up to {most} models; {count} were named.",
                   most=MOST_MODELS, count=len(names))
        )  # fmt: skip
    return names


async def lineup(ctx: Context, text: str, model: str | None, compare: str) -> Reply:
    """The text through each model's tokenizer, the pieces side by side."""
    first = await ctx.model(model)
    reads = []
    for name in compared_names(first.name, compare):
        card = await ctx.model(name)
        request = ForwardRequest(text, None, card.max_tokens, run="none")
        reads.append(Read(card.name, await ctx.forward(card, request, source_encoding)))
    ctx.record(tokens=max(len(read.encoding) for read in reads))
    aligned = line_up(text, tuple(reads))
    header = [
        phrase(
            "**line-up** · {text} · {characters} through {count} tokenizers (special tokens "
            "counted, not shown; {continues}: the piece above goes on)",
            text=quote_inline(text, 60),
            characters=plural_phrase("{count:,} character", "{count:,} characters", len(text)),
            count=len(reads),
            continues=CONTINUES,
        ),
        *counts(aligned),
    ]
    header += [read.encoding.truncation_notice() for read in reads if read.encoding.truncated]
    return reply_with_overflow(
        "\n".join(map(ctx.tell, header)),
        lineup_table(aligned, ctx.language),
        "lineup.txt",
        reader=ctx.language,
    )
