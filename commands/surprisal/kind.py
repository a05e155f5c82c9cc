"""`/surprisal` as a live reply: a menu switching the measure the strip shows (surprisal, or
the entropy each token was read from) and, for a text longer than a page, buttons showing it
a page at a time. The reading is computed once per text (`Context.remember`); every state
is a redraw."""

from __future__ import annotations

from dataclasses import replace

from commands.capabilities import notices
from commands.surprisal.draw import (
    MEASURE_WORDS,
    MEASURES,
    READINGS,
    exported,
    page_bounds,
    pages_of,
    render,
    summary,
    surprisal_table,
)
from commands.surprisal.finish import reading
from commands.surprisal.result import MEASURE_NAMES, Surprisal, measure_named
from explorer.contract import Attachment, Context, Live, Reply, State, reply_with_overflow
from explorer.i18n import phrase
from explorer.live import Choice, Control, Kind, Menu, cycle, previous_next
from explorer.text import token_count

DESCRIPTIONS = {
    "surprisal": phrase("−log₂ p of each token: how unexpected it was"),
    "entropy": phrase("of each prediction: how unsure the model was"),
}


async def show(ctx: Context, state: State) -> Reply:
    """The reading drawn with the state's measure, whole or one page; the table lists every
    token's surprisal and entropy (exported too when the command asked)."""
    card = await ctx.model(state["model"])
    text, measure, page = state["text"], state["measure"], state["page"]

    async def compute() -> Surprisal:
        return await ctx.forward(card, *reading(card, text))

    result = await ctx.remember(("surprisal", card.name, text), compute)
    tokens = len(result.encoding)
    ctx.record(tokens=tokens)
    lines = [
        phrase(
            "**{model}** · surprisal of {tokens}: {reading}",
            model=card.name,
            tokens=token_count(len(result.positions)),
            reading=READINGS[result.kind],
        ),
        summary(result),
    ]
    named = MEASURE_WORDS[measure]
    if measure != "surprisal":
        lines.append(
            phrase("The picture shows the {measure}: {meaning}.", measure=named,
                   meaning=MEASURES[measure][result.kind])
        )  # fmt: skip
    if page:
        start, end = page_bounds(tokens, page)
        lines.append(
            phrase("The picture shows tokens {first}–{last} of {count}.", first=start + 1,
                   last=end, count=tokens)
        )  # fmt: skip
    if card.untrained_head:
        lines.append(
            phrase("⚠️ This checkpoint ships no trained head: the probabilities are random.")
        )
    lines += await notices(ctx, card, result.encoding)
    live = Live(SURPRISAL.name, {**state, "pages": pages_of(tokens)})
    ctx.announce(live)  # kept while drawn
    png = await ctx.render(render, card.name, text, result, measure, page, ctx.language)
    described = ctx.tell(phrase("{measure} per token, in bits", measure=named))
    files: tuple[Attachment, ...] = (Attachment("surprisal.png", png, described),)
    if state["export"]:
        files += exported(result, ctx.language)
    reply = reply_with_overflow(
        "\n".join(map(ctx.tell, lines)),
        surprisal_table(result, ctx.language),
        "surprisal.txt",
        attachments=files,
        reader=ctx.language,
    )
    return replace(reply, live=live)


def controls(state: State) -> tuple[Control, ...]:
    """The measure menu; for a text longer than a page, buttons stepping the pages."""
    measure = state["measure"]
    menu = Menu(
        "measure",
        tuple(Choice(name, name, DESCRIPTIONS[name], name == measure) for name in MEASURE_NAMES),
        phrase("Choose what the strip shows"),
    )
    pages = previous_next(phrase("page"), row=1) if state.get("pages", 0) else ()
    return (menu, *pages)


def transition(state: State, action: str, value: str | None) -> State:
    """Another measure, or the previous or next page (past the last: the whole text)."""
    if action == "measure":
        return {**state, "measure": measure_named(value)}
    return {**state, "page": cycle(state["page"], state["pages"] + 1, action)}


SURPRISAL = Kind("surprisal", controls, transition, show)
