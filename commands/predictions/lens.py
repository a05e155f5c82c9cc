"""`/lens`: the logit lens, what each layer would predict through the model's own head."""

from __future__ import annotations

from typing import Annotated

from commands.capabilities import LANGUAGE_MODEL, model_with, notices
from commands.options import MODEL, TEXT
from commands.predictions.predicted import Lens, lens_of
from explorer.contract import Attachment, Context, ForwardRequest, Reply
from explorer.declare import Opt, command
from explorer.drawing.charts import Lens as LensTable
from explorer.drawing.labels import display_token
from explorer.drawing.page import picture
from explorer.encoding import check_text
from explorer.text import plural, quote_inline

LENS_TOKENS = 128  # a layer per row and a position per column: past this, too tall to read


def draw(model: str, text: str, lens: Lens, causal: bool) -> bytes:
    """Layers × positions, each cell the top token and coloured by its probability."""
    tokens = lens.encoding.tokens
    layers = ["embeddings"] + [f"layer {i}" for i in range(1, len(lens.tokens))]
    predicted = [[display_token(t, i) for i, t in enumerate(row)] for row in lens.tokens]
    reads = "the next token" if causal else "each position's token"
    norm = ", final norm applied" if lens.normed else ""
    note = f"cell: top prediction for {reads} through the output head{norm} · colour: probability"
    table = LensTable(
        layers,
        [display_token(t, i) for i, t in enumerate(tokens)],
        lens.encoding.special,
        predicted,
        lens.probabilities,
    )
    return picture(f"{model} · logit lens", quote_inline(text, 90).strip("`"), [table], [note])


@command()
async def lens(
    ctx: Context,
    text: Annotated[str, Opt("The text to read layer by layer", 1, TEXT.high)],
    model: Annotated[str | None, MODEL] = None,
) -> Reply:
    """Show what each layer predicts through the model's own output head (the logit lens)."""
    check_text(text, ctx.limits.max_input_chars)
    card = await model_with(ctx, model, LANGUAGE_MODEL, "lens")
    limit = min(card.max_tokens, ctx.limits.max_heatmap_tokens, LENS_TOKENS)
    request = ForwardRequest(text, None, limit, run="head", hidden_states=True)
    read = await ctx.forward(card, request, lens_of)
    ctx.record(tokens=len(read.encoding))
    causal = card.task == "causal-lm"
    png = await ctx.render(draw, card.name, text, read, causal)
    lines = [
        f"**{card.name} · logit lens** · {plural(len(read.tokens) - 1, 'layer')} × "
        f"{plural(len(read.encoding), 'token')}"
    ]
    if card.untrained_head:
        lines.append("⚠️ This checkpoint ships no trained head: the predictions are random.")
    lines += await notices(ctx, card, read.encoding)
    return Reply("\n".join(lines), (Attachment("lens.png", png, "the logit lens"),))
