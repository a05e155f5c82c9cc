"""The `/surprisal` command: its options, the model check, and the first state of its live
reply (`commands.surprisal.kind`)."""

from __future__ import annotations

from typing import Annotated

from commands.capabilities import LANGUAGE_MODEL, model_with
from commands.options import MODEL
from commands.surprisal.kind import SURPRISAL
from explorer.contract import Context, Reply
from explorer.declare import TEXT_LIMIT, Opt, command
from explorer.encoding import check_text

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
    state = {"model": card.name, "text": text, "measure": "surprisal", "page": 0,
             "export": export}  # fmt: skip
    return await SURPRISAL.show(ctx, state)
