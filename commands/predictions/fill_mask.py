"""`/fill-mask`: what a masked language model puts in place of each mask token."""

from __future__ import annotations

import functools
from typing import Annotated

from commands.capabilities import MASKED_LM, model_with, notices
from commands.options import MODEL, TOP_K
from commands.predictions.predicted import Filled, filled_masks
from explorer.contract import (
    Attachment,
    Context,
    ForwardRequest,
    Reply,
    UserError,
    reply_with_overflow,
)
from explorer.declare import TEXT_LIMIT, Opt, command
from explorer.drawing.charts import Bars
from explorer.drawing.page import Block, picture
from explorer.encoding import check_text
from explorer.text import in_code, pad, plural, quote_inline

ALIAS = "[MASK]"
CHART_ROWS = 120  # bars in one chart: 5 masks of 20 guesses, 20 of 5
MASKED_TEXT = Opt("The text, with [MASK] (or the model's mask token) for each gap", 1, TEXT_LIMIT)


def guesses_table(filled: Filled) -> str:
    """Per mask: rank, token, probability."""
    lines = []
    for number, mask in enumerate(filled.masks, 1):
        lines.append(f"mask {number} (token {mask.position})")
        for rank, guess in enumerate(mask.guesses, 1):
            lines.append(f"  {rank:>2}. {pad(in_code(guess.token), 16)} {guess.probability:8.2%}")
    return "\n".join(lines)


def charted(filled: Filled) -> int:
    """How many masks the chart shows: as many as `CHART_ROWS` bars allow (a heading each),
    at least one; the table lists them all."""
    rows = len(filled.masks[0].guesses) + 1 if filled.masks else 1
    return min(len(filled.masks), max(1, CHART_ROWS // rows))


def draw(model: str, text: str, filled: Filled) -> bytes:
    """One group of probability bars per mask, for the first `charted` masks."""
    shown = charted(filled)
    groups: list[Block] = [
        Bars(
            [(guess.token, guess.probability) for guess in mask.guesses],
            f"mask {number} (token {mask.position})" if len(filled.masks) > 1 else "",
        )
        for number, mask in enumerate(filled.masks[:shown], 1)
    ]
    title = f"{model} · what fills the mask"
    notes = ["bar: probability (softmax over the vocabulary)"]
    if shown < len(filled.masks):
        notes.append(f"the first {shown} of {len(filled.masks)} masks; the text lists them all")
    return picture(title, quote_inline(text, 90).strip("`"), groups, notes)


@command(name="fill-mask")
async def fill_mask(
    ctx: Context,
    text: Annotated[str, MASKED_TEXT],
    model: Annotated[str | None, MODEL] = None,
    top_k: Annotated[int, TOP_K] = 5,
) -> Reply:
    """Predict the tokens behind each mask token, as a masked language model (BERT) does."""
    check_text(text, ctx.limits.max_input_chars)
    card = await model_with(ctx, model, MASKED_LM, "fill-mask")
    mask = card.mask_token or ALIAS
    written = text.replace(ALIAS, mask)
    if mask not in written:
        raise UserError(
            f"Put {mask} where a word is missing, e.g. "
            f"`/fill-mask text:Paris is the {mask} of France.`"
        )
    request = ForwardRequest(written, None, card.max_tokens, run="head")
    filled = await ctx.forward(card, request, functools.partial(filled_masks, top_k))
    ctx.record(tokens=len(filled.encoding))
    if not filled.masks:
        raise UserError(f"The text was cut to fit the model and no {mask} is left in it.")
    lines = [
        f"**{card.name}** · {plural(len(filled.masks), 'mask')} · "
        f"best guess: {quote_inline(filled.filled, 300)}"
    ]
    lines += await notices(ctx, card, filled.encoding)
    if card.untrained_head:
        lines.append(
            "⚠️ This checkpoint ships no trained masked-LM head "
            f"({len(card.untrained_head)} weights missing, e.g. `{card.untrained_head[0]}`): "
            "these predictions come from randomly initialised weights."
        )
    if (shown := charted(filled)) < len(filled.masks):
        masks = plural(len(filled.masks), "mask")
        lines.append(f"The chart shows the first {shown} of the {masks}; the list has them all.")
    png = await ctx.render(draw, card.name, written, filled)
    bars = Attachment("fill-mask.png", png, "probabilities of the top tokens")
    return reply_with_overflow(
        "\n".join(lines), guesses_table(filled), "fill-mask.txt", attachments=(bars,)
    )
