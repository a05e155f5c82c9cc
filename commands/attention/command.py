"""`/attention`: explore a text's attention, one view at a time, with stepping controls."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Annotated, Any

from commands.attention.exploration import (
    ENCODER_ONLY,
    GRANULARITIES,
    PARTS,
    SCALES,
    SELF,
    WEIGHTINGS,
    Explored,
    Subject,
    ViewState,
    check_layer_head,
    find_token,
    live_of,
)
from commands.attention.explore import explore, initial_state, reply_for
from commands.attention.views import VIEW_CHOICES, check_weighting, switch_view
from commands.attention.views.base import STEPPED_NAMES
from commands.capabilities import unknown_notice
from commands.options import MODEL, TARGET, TEXT_PAIR, check_target, complete_token
from explorer.contract import Context, ModelCard, Reply, UserError
from explorer.declare import TEXT_LIMIT, Completer, Opt, command
from explorer.encoding import check_text
from explorer.i18n import phrase
from explorer.models import shapes


def decodes(encoder_decoder: bool, part: str | None, weighting: str | None = None) -> bool:
    """Whether the part shown is the decoder's (an encoder–decoder's default: cross, but
    value-weighted: the encoder)."""
    return encoder_decoder and weighting != "norm" and part in (None, "decoder", "cross")


def _stack_completer(kind: str) -> Completer:
    """Autocompletion of a layer or head: the numbers the chosen model really has (from its
    config: no weights are loaded), so no fixed range is ever shown."""

    async def complete(
        ctx: Context, options: Mapping[str, Any], current: str
    ) -> list[tuple[str, str]]:
        card = ctx.peek(options.get("model"))
        config = card.config if card is not None else (await ctx.config(options.get("model")))[1]
        layers, heads, decoder_layers, decoder_heads = shapes(config)
        decoder = decodes(bool(decoder_layers), options.get("part"), options.get("weighting"))
        count = {"layer": (layers, decoder_layers), "head": (heads, decoder_heads)}[kind][decoder]
        typed = current.strip()
        return [
            (
                ctx.tell(
                    phrase(
                        "{kind} {number} of {count}",
                        kind=STEPPED_NAMES[kind],
                        number=number,
                        count=count,
                    )
                ),
                str(number),
            )
            for number in range(1, count + 1)
            if str(number).startswith(typed)
        ][:25]

    return complete


LAYER = Opt("Layer, 1 = first (default: the last layer)", complete=_stack_completer("layer"))
HEAD = Opt("Head, 1 = first (default: the mean of all heads)", complete=_stack_completer("head"))
PAIR = Opt(f"{TEXT_PAIR.description}; a dashed line marks the boundary", 1, TEXT_LIMIT)
VIEW = Opt(
    "What to draw (default: one head if given, else the mean of the layer's heads)",
    choices=VIEW_CHOICES,
)
TOKEN = Opt(
    "For the token view: a position as /tokenize lists it, or the token's text",
    complete=complete_token,
)
EXPORT = Opt("Also attach the attention tensor (.npy) and the shown data (.csv)")
PART = Opt(
    "Encoder–decoder models: which attention (default: cross)",
    choices=tuple((f"{name}: {text}", name) for name, text in PARTS.items()),
)
SCALE = Opt(
    "What the colours span (default: model, so stepping keeps colours comparable)",
    choices=tuple((f"{name}: {text}"[:100], name) for name, text in SCALES.items()),
)
WEIGHTING = Opt(
    "weights (default) or norm: ‖αf(x)‖, what each token really adds",
    choices=tuple((f"{name}: {text}"[:100], name) for name, text in WEIGHTINGS.items()),
)
GRANULARITY = Opt(
    "token (default) or word: attention between whole words",
    choices=tuple((f"{name}: {text}"[:100], name) for name, text in GRANULARITIES.items()),
)


def check_part(card: ModelCard, part: str | None, target: str | None, weighting: str) -> str:
    """The part to show: as asked for an encoder–decoder model (cross-attention by
    default; value-weighted, only the encoder's), the self-attention of any other."""
    check_target(card, target)
    if card.encoder_decoder:
        if part is not None and part not in PARTS:
            raise UserError(phrase("Unknown part. Parts: {parts}.", parts=", ".join(PARTS)))
        if weighting == "norm":
            if part not in (None, "encoder") or target is not None:
                raise UserError(ENCODER_ONLY)
            return "encoder"
        return part or "cross"
    if part is not None:
        raise UserError(
            phrase(
                "**{model}** has a single stack of layers: `part` is for encoder–decoder "
                "models (T5, BART, Marian).",
                model=card.name,
            )
        )
    return SELF


def check_weighting_options(weighting: str, view: str | None, scale: str) -> None:
    """Refuse, before any work, a weighting a view or a colour scale cannot show."""
    if weighting not in WEIGHTINGS:
        raise UserError(phrase("`weighting` is one of {names}.", names=", ".join(WEIGHTINGS)))
    if view is not None:
        check_weighting(view, weighting)
    if weighting == "norm" and scale == "fixed":
        raise UserError(
            phrase(
                "`scale:fixed` spans a weight's whole range, 0 to 1; value-weighted norms have "
                "no such bound (they are in the hidden state's units). Choose `scale:model`, "
                "`layer` or `picture`."
            )
        )


@command()
async def attention(
    ctx: Context,
    text: Annotated[str, Opt("The text whose attention to show", 1, TEXT_LIMIT)],
    model: Annotated[str | None, MODEL] = None,
    layer: Annotated[int | None, LAYER] = None,
    head: Annotated[int | None, HEAD] = None,
    text_pair: Annotated[str | None, PAIR] = None,
    view: Annotated[str | None, VIEW] = None,
    token: Annotated[str | None, TOKEN] = None,
    export: Annotated[bool, EXPORT] = False,
    part: Annotated[str | None, PART] = None,
    target: Annotated[str | None, TARGET] = None,
    granularity: Annotated[str, GRANULARITY] = "token",
    scale: Annotated[str, SCALE] = "model",
    weighting: Annotated[str, WEIGHTING] = "weights",
) -> Reply:
    """Explore attention: one head, a layer, the whole model or one token, with buttons."""
    check_text(text, ctx.limits.max_input_chars)
    for extra, what in ((text_pair, phrase("second text")), (target, phrase("target text"))):
        if extra is not None:
            check_text(extra, ctx.limits.max_input_chars, what)
    if view is not None:
        switch_view(ViewState("mean", 1, 0, 0), view)  # an unknown view fails before any work
    if granularity not in GRANULARITIES:
        raise UserError(phrase("`granularity` is one of {names}.", names=", ".join(GRANULARITIES)))
    if scale not in SCALES:
        raise UserError(phrase("`scale` is one of {names}.", names=", ".join(SCALES)))
    check_weighting_options(weighting, view, scale)
    card = await ctx.model(model)
    part = check_part(card, part, target, weighting)
    decoding = decodes(card.encoder_decoder, part)
    layers = card.decoder_layers if decoding else card.layers
    heads = card.decoder_heads if decoding else card.heads
    layer, head = check_layer_head(layers, heads, layer, head)
    exploration = await explore(ctx, Subject(card.name, text, text_pair, target, weighting))
    shown = exploration.attention(part, granularity)  # a view keeps its part and granularity
    position = find_token(shown.queries, token)
    state = initial_state(view, layer, head, position, part, granularity, scale)
    ctx.announce(live_of(Explored(exploration.subject, state, shown.shape)))  # kept while drawn
    reply = await ctx.render(reply_for, exploration, state, export, ctx.language)
    unknown = await unknown_notice(ctx, card, exploration.encoding)  # the caption tells the rest
    return replace(reply, content="\n".join([reply.content, *map(ctx.tell, unknown)]))
