"""`/attribute` as a live reply: a menu switching the method, one choosing the steps of
integrated gradients, and buttons stepping the target through a text's masks. Each state's
scores are kept (`Context.remember`) under what they depend on, so returning to a state
redraws it without a new pass."""

from __future__ import annotations

from commands.attribution.draw import completeness_line, exported, method_line, render, target_line
from commands.attribution.finish import Attribute
from commands.attribution.result import METHODS, Attribution, Method
from commands.capabilities import notices
from explorer.contract import Attachment, Context, ForwardRequest, Live, Reply, State, UserError
from explorer.drawing.labels import display_token
from explorer.i18n import phrase, plural_phrase
from explorer.live import Choice, Control, Kind, Menu, cycle, previous_next
from explorer.text import quote_inline, token_count

MOST_TOKENS = 512  # drawn readably up to this many
STEP_CHOICES = (8, 16, 32, 64, 128)  # the menu's steps, with the state's own
FEWEST_STEPS, MOST_STEPS = 2, 256
DESCRIPTIONS = {
    "saliency": phrase("gradient × input: one pass, noisy"),
    "integrated-gradients": phrase("gradients along a path from a baseline; complete"),
}


def work_of(state: State) -> Attribute:
    """What a state asks of the worker (saliency's steps are irrelevant: always 1)."""
    method: Method = "saliency" if state["method"] == "saliency" else "integrated-gradients"
    steps = 1 if method == "saliency" else state["steps"]
    return Attribute(method, steps, state["token"], state["mask"])


def strongest(result: Attribution) -> str:
    """The five tokens with the largest scores, by magnitude, with their signed scores."""
    top = sorted(range(len(result.scores)), key=lambda i: -abs(float(result.scores[i])))[:5]
    return ", ".join(
        f"{quote_inline(display_token(result.encoding.tokens[i], i), 20)} "
        f"{float(result.scores[i]):+.3g}"
        for i in top
    )


async def show(ctx: Context, state: State) -> Reply:
    """The scores of the state's method for its target, drawn and listed (and exported when
    the command asked); computed once per method, steps, token and mask."""
    card = await ctx.model(state["model"])
    causal = card.task == "causal-lm"
    text, work = state["text"], work_of(state)

    async def compute() -> Attribution:
        request = ForwardRequest(text, None, min(card.max_tokens, MOST_TOKENS), run="none")
        return await ctx.forward(card, request, work)

    result = await ctx.remember(("attribute", card.name, text, work), compute)
    ctx.record(tokens=len(result.encoding))
    lines = [
        phrase(
            "**{model}** · {tokens} · {target}",
            model=card.name,
            tokens=token_count(len(result.encoding)),
            target=target_line(result, causal),
        ),
        method_line(result),
    ]
    lines += [line for line in (completeness_line(result),) if line]
    if card.untrained_head:
        lines.append(
            phrase(
                "⚠️ This checkpoint ships no trained head: the target is a random prediction, "
                "and the scores explain that."
            )
        )
    lines += await notices(ctx, card, result.encoding)
    lines.append(phrase("strongest: {tokens}", tokens=strongest(result)))
    live = Live(ATTRIBUTE.name, {**state, "masks": result.masks})
    ctx.announce(live)  # kept while drawn
    png = await ctx.render(render, card.name, text, result, causal, ctx.language)
    described = ctx.tell(phrase("each token coloured by its score"))
    files: tuple[Attachment, ...] = (Attachment("attribution.png", png, described),)
    if state["export"]:
        files += exported(result, ctx.language)
    content = "\n".join(map(ctx.tell, lines))[:2000]
    return Reply(content, files, live)


def controls(state: State) -> tuple[Control, ...]:
    """The method menu; for integrated gradients the steps menu; with several masks,
    buttons stepping the target mask."""
    method, steps = state["method"], state["steps"]
    found: list[Control] = [
        Menu(
            "method",
            tuple(Choice(name, name, DESCRIPTIONS[name], name == method) for name in METHODS),
            phrase("Choose a method"),
        )
    ]
    if method == "integrated-gradients":
        counts = sorted({*STEP_CHOICES, steps})
        found.append(
            Menu(
                "steps",
                tuple(
                    Choice(
                        str(n), plural_phrase("{count} step", "{count} steps", n), "", n == steps
                    )
                    for n in counts
                ),
                phrase("Steps of integrated gradients"),
                row=1,
            )
        )
    if state.get("masks", 0) > 1:
        found += previous_next(phrase("mask"), row=2)
    return tuple(found)


def transition(state: State, action: str, value: str | None) -> State:
    """Another method, another number of steps, or the previous or next mask (wrapping)."""
    if action == "method":
        if value not in METHODS:
            raise UserError(phrase("Choose a method: {methods}.", methods=", ".join(METHODS)))
        return {**state, "method": value}
    if action == "steps":
        steps = int(value) if value and value.isdigit() else 0
        if not FEWEST_STEPS <= steps <= MOST_STEPS:
            raise UserError(
                phrase("Choose from {fewest} to {most} steps.", fewest=FEWEST_STEPS,
                       most=MOST_STEPS)
            )  # fmt: skip
        return {**state, "steps": steps}
    return {**state, "mask": cycle(state["mask"], state["masks"], action)}


ATTRIBUTE = Kind("attribute", controls, transition, show)
