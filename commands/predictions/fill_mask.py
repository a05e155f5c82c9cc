"""`/fill-mask`: what a masked language model puts in place of each mask token; a text with
several masks is a live reply whose buttons chart them one at a time."""

from __future__ import annotations

import functools
from dataclasses import replace
from typing import Annotated

from commands.capabilities import MASKED_LM, model_with, notices
from commands.options import MODEL, TOP_K, mask_of, with_mask_token
from commands.predictions.predicted import Filled, filled_masks
from explorer.contract import (
    Attachment,
    Context,
    ForwardRequest,
    Live,
    Reply,
    State,
    UserError,
    reply_with_overflow,
)
from explorer.declare import TEXT_LIMIT, Opt, command
from explorer.drawing.charts import Bars
from explorer.drawing.page import Block, picture
from explorer.encoding import check_text
from explorer.i18n import SOURCE_LANGUAGE, phrase, plural_phrase, tell
from explorer.live import Control, Kind, cycle, previous_next
from explorer.text import in_code, pad, quote_inline

CHART_ROWS = 120  # bars in one chart: 5 masks of 20 guesses, 20 of 5
MASKED_TEXT = Opt("The text, with [MASK] (or the model's mask token) for each gap", 1, TEXT_LIMIT)


def mask_heading(number: int, position: int) -> str:
    """`mask 2 (token 5)` (a `phrase`)."""
    return phrase("mask {number} (token {position})", number=number, position=position)


def guesses_table(filled: Filled, language: str = SOURCE_LANGUAGE) -> str:
    """Per mask: rank, token, probability (the masks' headings told in `language`)."""
    lines = []
    for number, mask in enumerate(filled.masks, 1):
        lines.append(tell(mask_heading(number, mask.position), language))
        for rank, guess in enumerate(mask.guesses, 1):
            lines.append(f"  {rank:>2}. {pad(in_code(guess.token), 16)} {guess.probability:8.2%}")
    return "\n".join(lines)


def charted(filled: Filled) -> int:
    """How many masks the chart shows: as many as `CHART_ROWS` bars allow (a heading each),
    at least one; the table lists them all."""
    rows = len(filled.masks[0].guesses) + 1 if filled.masks else 1
    return min(len(filled.masks), max(1, CHART_ROWS // rows))


def draw(
    model: str, text: str, filled: Filled, focus: int = 0, language: str = SOURCE_LANGUAGE
) -> bytes:
    """One group of probability bars per mask, for the first `charted` masks; with `focus`,
    the bars of that mask (1-based) alone; its words told in `language`."""
    shown = charted(filled)
    numbered = list(enumerate(filled.masks, 1))
    picked = [numbered[focus - 1]] if focus else numbered[:shown]
    groups: list[Block] = [
        Bars(
            [(guess.token, guess.probability) for guess in mask.guesses],
            tell(mask_heading(number, mask.position), language) if len(filled.masks) > 1 else "",
        )
        for number, mask in picked
    ]
    title = f"{model} · {tell(phrase('what fills the mask'), language)}"
    if focus:
        which = phrase("mask {mask} of {masks}", mask=focus, masks=len(filled.masks))
        title += f" · {tell(which, language)}"
    notes = [phrase("bar: probability (softmax over the vocabulary)")]
    if not focus and shown < len(filled.masks):
        notes.append(
            phrase("the first {shown} of {count} masks; the text lists them all", shown=shown,
                   count=len(filled.masks))
        )  # fmt: skip
    told = [tell(note, language) for note in notes]
    return picture(title, quote_inline(text, 90).strip("`"), groups, told)


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
    mask, written = mask_of(card), with_mask_token(card, text)
    if mask not in written:
        raise UserError(
            phrase(
                "Put {mask} where a word is missing, e.g. "
                "`/fill-mask text:Paris is the {mask} of France.`",
                mask=mask,
            )
        )
    return await FILL_MASK.show(ctx, {"model": card.name, "text": written, "top_k": top_k})


async def render(ctx: Context, state: State) -> Reply:
    """Every mask's guesses, charted together or (`focus`, 1-based) one mask at a time."""
    card = await ctx.model(state["model"])
    text, top_k, focus = state["text"], state["top_k"], state.get("focus", 0)

    async def compute() -> Filled:
        request = ForwardRequest(text, None, card.max_tokens, run="head")
        return await ctx.forward(card, request, functools.partial(filled_masks, top_k))

    filled = await ctx.remember(("fill-mask", card.name, text, top_k), compute)
    ctx.record(tokens=len(filled.encoding))
    if not filled.masks:
        mask = mask_of(card)
        raise UserError(
            phrase("The text was cut to fit the model and no {mask} is left in it.", mask=mask)
        )
    masks = plural_phrase("{count:,} mask", "{count:,} masks", len(filled.masks))
    lines: list[str] = [
        phrase("**{model}** · {masks} · best guess: {guess}", model=card.name, masks=masks,
               guess=quote_inline(filled.filled, 300))
    ]  # fmt: skip
    lines += await notices(ctx, card, filled.encoding)
    if card.untrained_head:
        lines.append(
            phrase(
                "⚠️ This checkpoint ships no trained masked-LM head ({count} weights missing, "
                "e.g. `{example}`): these predictions come from randomly initialised weights.",
                count=len(card.untrained_head),
                example=card.untrained_head[0],
            )
        )
    if focus:
        position = filled.masks[focus - 1].position
        lines.append(
            phrase("The chart shows mask {mask} of {count} (token {position}).", mask=focus,
                   count=len(filled.masks), position=position)
        )  # fmt: skip
    elif (shown := charted(filled)) < len(filled.masks):
        lines.append(
            phrase("The chart shows the first {shown} of the {masks}; the list has them all.",
                   shown=shown, masks=masks)
        )  # fmt: skip
    live = Live(FILL_MASK.name, {"model": card.name, "text": text, "top_k": top_k,
                                 "focus": focus, "masks": len(filled.masks)})  # fmt: skip
    ctx.announce(live)  # kept while drawn
    png = await ctx.render(draw, card.name, text, filled, focus, ctx.language)
    described = ctx.tell(phrase("probabilities of the top tokens"))
    bars = Attachment("fill-mask.png", png, described)
    reply = reply_with_overflow(
        "\n".join(map(ctx.tell, lines)),
        guesses_table(filled, ctx.language),
        "fill-mask.txt",
        attachments=(bars,),
        reader=ctx.language,
    )
    return replace(reply, live=live)


def controls(state: State) -> tuple[Control, ...]:
    """With several masks: buttons charting them one at a time (and all of them again)."""
    return previous_next(phrase("mask")) if state.get("masks", 1) > 1 else ()


def transition(state: State, action: str, value: str | None) -> State:
    """The next or previous mask to chart; past the last (or before the first), all."""
    return {**state, "focus": cycle(state["focus"], state["masks"] + 1, action)}


FILL_MASK = Kind("fill-mask", controls, transition, render)
