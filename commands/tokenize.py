"""`/tokenize`: every token with its id, token type and attention mask."""

from __future__ import annotations

from commands.context import Context
from commands.encoding import Encoding, check_text, encode
from commands.results import Reply, reply_with_overflow
from commands.text import in_code, plural


def token_table(encoding: Encoding) -> str:
    """A fixed-width table: index, token (special ones starred), id, type id, mask."""
    width = max(5, *(len(token) + 1 for token in encoding.tokens))
    id_width = max(2, *(len(str(i)) for i in encoding.input_ids))
    rows = [f"{'#':>4}  {'token':<{width}}  {'id':>{id_width}}  type  mask"]
    type_ids = encoding.token_type_ids or (None,) * len(encoding.input_ids)
    for index, (token, token_id, type_id, mask, special) in enumerate(
        zip(
            encoding.tokens,
            encoding.input_ids,
            type_ids,
            encoding.attention_mask,
            encoding.special,
            strict=True,
        )
    ):
        label = in_code(token) + ("*" if special else "")
        type_text = "-" if type_id is None else str(type_id)
        rows.append(
            f"{index:>4}  {label:<{width}}  {token_id:>{id_width}}  {type_text:>4}  {mask:>4}"
        )
    return "\n".join(rows)


def summary(model: str, text: str, text_pair: str | None, encoding: Encoding) -> str:
    """One line of counts plus the truncation notice, if any."""
    chars = len(text) + len(text_pair or "")
    special = sum(encoding.special)
    line = (
        f"**{model}** · {plural(chars, 'character')} → {plural(len(encoding.input_ids), 'token')}"
        f" ({special} special, marked *)"
    )
    if text_pair is not None:
        line += " · sentence pair: type id 1 marks the second segment"
    notice = encoding.truncation_notice()
    return f"{line}\n{notice}" if notice else line


async def tokenize(
    ctx: Context, text: str, model: str | None = None, text_pair: str | None = None
) -> Reply:
    """Tokenise text (and an optional second segment) and list every token."""
    check_text(text, ctx.limits.max_input_chars)
    if text_pair is not None:
        check_text(text_pair, ctx.limits.max_input_chars, "second text")
    loaded = await ctx.model(model)
    encoding = await ctx.run(encode, loaded, text, text_pair, loaded.max_tokens)
    ctx.record(tokens=len(encoding.input_ids))
    return reply_with_overflow(
        summary(loaded.name, text, text_pair, encoding),
        token_table(encoding),
        "tokens.txt",
    )
