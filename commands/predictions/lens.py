"""`/lens`: the logit lens, what each layer would predict through the model's own head; a live
reply whose buttons show one layer at a time, every position's prediction listed."""

from __future__ import annotations

from typing import Annotated

from commands.capabilities import LANGUAGE_MODEL, model_with, notices
from commands.options import MODEL, TEXT
from commands.predictions.predicted import Lens, lens_of
from explorer.contract import Attachment, Context, ForwardRequest, Live, Reply, State
from explorer.declare import Opt, command
from explorer.drawing.charts import Bars
from explorer.drawing.charts import Lens as LensTable
from explorer.drawing.labels import display_token
from explorer.drawing.page import picture
from explorer.encoding import check_text
from explorer.i18n import SOURCE_LANGUAGE, phrase, plural_phrase, tell
from explorer.live import Control, Kind, cycle, previous_next
from explorer.text import quote_inline, token_count

LENS_TOKENS = 128  # a layer per row and a position per column: past this, too tall to read


def reads_of(causal: bool) -> str:
    """What the lens reads at a position (a `phrase`)."""
    return phrase("the next token") if causal else phrase("each position's token")


def draw(model: str, text: str, lens: Lens, causal: bool, language: str = SOURCE_LANGUAGE) -> bytes:
    """Layers × positions, each cell the top token and coloured by its probability; its
    words told in `language`."""
    tokens = lens.encoding.tokens
    layers = [tell(layer_name(layer), language) for layer in range(len(lens.tokens))]
    predicted = [[display_token(t, i) for i, t in enumerate(row)] for row in lens.tokens]
    if lens.normed:
        note = phrase(
            "cell: top prediction for {reads} through the output head, final norm applied · "
            "colour: probability",
            reads=reads_of(causal),
        )
    else:
        note = phrase(
            "cell: top prediction for {reads} through the output head · colour: probability",
            reads=reads_of(causal),
        )
    table = LensTable(
        layers,
        [display_token(t, i) for i, t in enumerate(tokens)],
        lens.encoding.special,
        predicted,
        lens.probabilities,
    )
    title = f"{model} · {tell(phrase('logit lens'), language)}"
    return picture(title, quote_inline(text, 90).strip("`"), [table], [tell(note, language)])


def layer_name(layer: int) -> str:
    """`embeddings` for row 0 of the lens, `layer N` after (a `phrase`)."""
    return phrase("embeddings") if layer == 0 else phrase("layer {layer}", layer=layer)


def draw_layer(
    model: str, text: str, lens: Lens, layer: int, causal: bool, language: str = SOURCE_LANGUAGE
) -> bytes:
    """One layer's top prediction at every position, as probability bars; its words told
    in `language`."""
    tokens = lens.encoding.tokens
    rows = [
        (f"{i} {display_token(t, i)} → {display_token(lens.tokens[layer][i], i)}",
         float(lens.probabilities[layer, i]))
        for i, t in enumerate(tokens)
    ]  # fmt: skip
    note = phrase(
        "position token → top prediction for {reads} · bar: its probability",
        reads=reads_of(causal),
    )
    shown = phrase("{layer} ({count} layers)", layer=layer_name(layer), count=len(lens.tokens) - 1)
    title = f"{model} · {tell(phrase('logit lens'), language)} · {tell(shown, language)}"
    return picture(title, quote_inline(text, 90).strip("`"), [Bars(rows)], [tell(note, language)])


@command()
async def lens(
    ctx: Context,
    text: Annotated[str, Opt("The text to read layer by layer", 1, TEXT.high)],
    model: Annotated[str | None, MODEL] = None,
) -> Reply:
    """Show what each layer predicts through the model's own output head (the logit lens)."""
    check_text(text, ctx.limits.max_input_chars)
    card = await model_with(ctx, model, LANGUAGE_MODEL, "lens")
    return await LENS.show(ctx, {"model": card.name, "text": text, "layer": -1})


async def render(ctx: Context, state: State) -> Reply:
    """Every layer (`layer` -1), or one layer's predictions (0: the embeddings)."""
    card = await ctx.model(state["model"])
    text, layer = state["text"], state["layer"]

    async def compute() -> Lens:
        limit = min(card.max_tokens, ctx.limits.max_heatmap_tokens, LENS_TOKENS)
        request = ForwardRequest(text, None, limit, run="head", hidden_states=True)
        return await ctx.forward(card, request, lens_of)

    read = await ctx.remember(("lens", card.name, text), compute)
    ctx.record(tokens=len(read.encoding))
    causal = card.task == "causal-lm"
    live = Live(LENS.name, {"model": card.name, "text": text, "layer": layer,
                            "layers": len(read.tokens) - 1})  # fmt: skip
    ctx.announce(live)  # kept while drawn
    if layer < 0:
        png = await ctx.render(draw, card.name, text, read, causal, ctx.language)
    else:
        png = await ctx.render(draw_layer, card.name, text, read, layer, causal, ctx.language)
    lines: list[str] = [
        phrase(
            "**{model} · logit lens** · {layers} × {tokens}",
            model=card.name,
            layers=plural_phrase("{count:,} layer", "{count:,} layers", len(read.tokens) - 1),
            tokens=token_count(len(read.encoding)),
        )
    ]
    if layer >= 0:
        lines[0] = phrase("{lens} · {layer}", lens=lines[0], layer=layer_name(layer))
    if card.untrained_head:
        lines.append(phrase("⚠️ This checkpoint ships no trained head: the predictions are random."))
    lines += await notices(ctx, card, read.encoding)
    image = Attachment("lens.png", png, ctx.tell(phrase("the logit lens")))
    return Reply("\n".join(map(ctx.tell, lines)), (image,), live)


def controls(state: State) -> tuple[Control, ...]:
    """Buttons showing one layer at a time: the embeddings, each layer, then all again."""
    return previous_next(phrase("layer"))


def transition(state: State, action: str, value: str | None) -> State:
    """The previous or next layer (after the last, every layer at once)."""
    rows = state["layers"] + 2  # all of them, the embeddings, each layer
    return {**state, "layer": cycle(state["layer"] + 1, rows, action) - 1}


LENS = Kind("lens", controls, transition, render)
