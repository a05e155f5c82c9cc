"""`/predict`: the next token a causal language model expects, and how it would go on; a live
reply whose buttons step through the text's positions, showing what the model expected after
each one and what the text really has there."""

from __future__ import annotations

import functools
from dataclasses import replace
from typing import Annotated

from commands.capabilities import CAUSAL_LM, model_with, notices
from commands.options import MODEL, TEXT, TOP_K
from commands.predictions.predicted import Guess, NextTokens, next_tokens
from explorer.contract import (
    Attachment,
    Context,
    ForwardRequest,
    Live,
    Reply,
    State,
    reply_with_overflow,
)
from explorer.declare import Opt, command
from explorer.drawing.charts import Bars
from explorer.drawing.labels import display_token
from explorer.drawing.page import picture
from explorer.encoding import check_text
from explorer.i18n import SOURCE_LANGUAGE, phrase, tell
from explorer.live import Control, Kind, cycle, previous_next
from explorer.text import in_code, pad, quote_inline

CONTINUATION_TOKENS = 12


def draw(
    model: str, text: str, guesses: tuple[Guess, ...], after: str, language: str = SOURCE_LANGUAGE
) -> bytes:
    """Probability bars of the most likely tokens after a position (`after`, a `phrase`,
    says which); its words told in `language`."""
    bars = Bars([(guess.token, guess.probability) for guess in guesses])
    title = f"{model} · {tell(after, language)}"
    note = tell(phrase("bar: probability (softmax of the position's logits)"), language)
    return picture(title, quote_inline(text, 90).strip("`"), [bars], [note])


@command()
async def predict(
    ctx: Context,
    text: Annotated[str, Opt("The start of a text to continue", 1, TEXT.high)],
    model: Annotated[str | None, MODEL] = None,
    top_k: Annotated[int, TOP_K] = 5,
) -> Reply:
    """Predict the next token, as a causal language model (GPT-2, Llama) does."""
    check_text(text, ctx.limits.max_input_chars)
    card = await model_with(ctx, model, CAUSAL_LM, "predict")
    return await PREDICT.show(ctx, {"model": card.name, "text": text, "top_k": top_k})


def header(model: str, text: str, predicted: NextTokens, position: int) -> str:
    """What the model expects after the text (and how it would go on), or after one of its
    positions, with the token the text has there (a `phrase`)."""
    best = predicted.steps[position][0]
    if position == len(predicted.steps) - 1:
        return phrase(
            "**{model}** · next token: {best} ({probability:.1%})\n"
            "greedy continuation: {text} → {continuation}",
            model=model,
            best=quote_inline(best.token, 40),
            probability=best.probability,
            text=quote_inline(text, 200),
            continuation=quote_inline(predicted.continuation, 300),
        )
    token = display_token(predicted.encoding.tokens[position], position)
    taken = predicted.taken[position]
    return phrase(
        "**{model}** · after token {position} {token}: expected {best} ({probability:.1%}); "
        "the text has {taken} ({taken_probability:.1%}, rank {rank:,})",
        model=model,
        position=position,
        token=quote_inline(token, 40),
        best=quote_inline(best.token, 40),
        probability=best.probability,
        taken=quote_inline(taken.guess.token, 40),
        taken_probability=taken.guess.probability,
        rank=taken.rank,
    )


async def render(ctx: Context, state: State) -> Reply:
    """The guesses after the state's position (-1: after the whole text)."""
    card = await ctx.model(state["model"])
    text, top_k = state["text"], state["top_k"]

    async def compute() -> NextTokens:
        limit = card.max_tokens - CONTINUATION_TOKENS
        request = ForwardRequest(text, None, limit, run="head", continuation=CONTINUATION_TOKENS)
        return await ctx.forward(card, request, functools.partial(next_tokens, top_k))

    predicted = await ctx.remember(("predict", card.name, text, top_k), compute)
    ctx.record(tokens=len(predicted.encoding))
    positions = len(predicted.steps)
    position = state.get("position", -1) % positions
    lines = [header(card.name, text, predicted, position)]
    lines += await notices(ctx, card, predicted.encoding)
    guesses = predicted.steps[position]
    table = "\n".join(
        f"{rank:>2}. {pad(in_code(guess.token), 16)} {guess.probability:8.2%}"
        for rank, guess in enumerate(guesses, 1)
    )
    token = display_token(predicted.encoding.tokens[position], position)
    after = phrase("the next token")
    if position != positions - 1:
        after = phrase("the next token after token {position} “{token}”", position=position,
                       token=token)  # fmt: skip
    live = Live(PREDICT.name, {"model": card.name, "text": text, "top_k": top_k,
                               "position": position, "positions": positions})  # fmt: skip
    ctx.announce(live)  # kept while drawn
    png = await ctx.render(draw, card.name, text, guesses, after, ctx.language)
    described = ctx.tell(phrase("probabilities of the most likely next tokens"))
    bars = Attachment("predict.png", png, described)
    reply = reply_with_overflow(
        "\n".join(map(ctx.tell, lines)),
        table,
        "predict.txt",
        attachments=(bars,),
        reader=ctx.language,
    )
    return replace(reply, live=live)


def controls(state: State) -> tuple[Control, ...]:
    """Buttons stepping through the text's positions (a text of one token has none)."""
    return previous_next(phrase("position")) if state.get("positions", 1) > 1 else ()


def transition(state: State, action: str, value: str | None) -> State:
    """The previous or next position (wrapping around the text)."""
    return {**state, "position": cycle(state["position"], state["positions"], action)}


PREDICT = Kind("predict", controls, transition, render)
