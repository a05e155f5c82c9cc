"""The `/surprisal` command: its options, the model check, and the reply."""

from __future__ import annotations

from typing import Annotated

from commands.capabilities import LANGUAGE_MODEL, model_with, notices
from commands.options import MODEL
from commands.surprisal.draw import READINGS, exported, render, summary, surprisal_table
from commands.surprisal.finish import NextTokenSurprisal, PseudoSurprisal
from explorer.contract import Attachment, Context, ForwardRequest, Reply, reply_with_overflow
from explorer.declare import TEXT_LIMIT, Opt, command
from explorer.encoding import check_text
from explorer.text import plural

MOST_TOKENS = 512
PSEUDO_TOKENS = 128  # a masked LM runs one pass per token: longer texts are cut to this
TEXT = Opt("The text to read token by token", 1, TEXT_LIMIT)
EXPORT = Opt("Also attach surprisal.npy (float32 bits per scored token) and surprisal.csv")


@command()
async def surprisal(
    ctx: Context,
    text: Annotated[str, TEXT],
    model: Annotated[str | None, MODEL] = None,
    export: Annotated[bool, EXPORT] = False,
) -> Reply:
    """Show how surprised a language model is by each token of a text, in bits."""
    check_text(text, ctx.limits.max_input_chars)
    card = await model_with(ctx, model, LANGUAGE_MODEL, "surprisal")
    if card.task == "causal-lm":
        request = ForwardRequest(text, None, min(card.max_tokens, MOST_TOKENS), run="head")
        result = await ctx.forward(card, request, NextTokenSurprisal())
    else:
        request = ForwardRequest(text, None, min(card.max_tokens, PSEUDO_TOKENS), run="none")
        result = await ctx.forward(card, request, PseudoSurprisal())
    ctx.record(tokens=len(result.encoding))
    lines = [
        f"**{card.name}** · surprisal of {plural(len(result.positions), 'token')}: "
        f"{READINGS[result.kind]}",
        summary(result),
    ]
    if card.untrained_head:
        lines.append("⚠️ This checkpoint ships no trained head: the probabilities are random.")
    lines += await notices(ctx, card, result.encoding)
    png = await ctx.render(render, card.name, text, result)
    files: tuple[Attachment, ...] = (
        Attachment("surprisal.png", png, "surprisal per token, in bits"),
    )
    if export:
        files += exported(result)
    return reply_with_overflow(
        "\n".join(lines), surprisal_table(result), "surprisal.txt", attachments=files
    )
