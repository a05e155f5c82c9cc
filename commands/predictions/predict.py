"""`/predict`: the next token a causal language model expects, and how it would go on."""

from __future__ import annotations

import functools
from typing import Annotated

from commands.capabilities import CAUSAL_LM, model_with, notices
from commands.options import MODEL, TEXT, TOP_K
from commands.predictions.predicted import NextTokens, next_tokens
from explorer.contract import Attachment, Context, ForwardRequest, Reply, reply_with_overflow
from explorer.declare import Opt, command
from explorer.drawing.charts import Bars
from explorer.drawing.page import picture
from explorer.encoding import check_text
from explorer.text import in_code, pad, quote_inline

CONTINUATION_TOKENS = 12


def draw(model: str, text: str, predicted: NextTokens) -> bytes:
    """Probability bars of the most likely next tokens."""
    bars = Bars([(guess.token, guess.probability) for guess in predicted.guesses])
    title = f"{model} · the next token"
    note = "bar: probability (softmax of the last position's logits)"
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
    limit = card.max_tokens - CONTINUATION_TOKENS
    request = ForwardRequest(text, None, limit, run="head", continuation=CONTINUATION_TOKENS)
    predicted = await ctx.forward(card, request, functools.partial(next_tokens, top_k))
    ctx.record(tokens=len(predicted.encoding))
    header = (
        f"**{card.name}** · next token: {quote_inline(predicted.guesses[0].token, 40)} "
        f"({predicted.guesses[0].probability:.1%})\n"
        f"greedy continuation: {quote_inline(text, 200)} → "
        f"{quote_inline(predicted.continuation, 300)}"
    )
    header = "\n".join([header, *await notices(ctx, card, predicted.encoding)])
    table = "\n".join(
        f"{rank:>2}. {pad(in_code(guess.token), 16)} {guess.probability:8.2%}"
        for rank, guess in enumerate(predicted.guesses, 1)
    )
    png = await ctx.render(draw, card.name, text, predicted)
    bars = Attachment("predict.png", png, "probabilities of the most likely next tokens")
    return reply_with_overflow(header, table, "predict.txt", attachments=(bars,))
