"""`/compare`: two models on one text, side by side: tokens, configs and attention; a live
reply whose buttons step both models' layers together."""

from __future__ import annotations

import functools
import json
from dataclasses import replace
from typing import Annotated, Any

import numpy as np

from commands.comparison.sides import Side, Sides, different_splits, side_of, word_labels
from commands.options import TEXT, complete_model
from explorer.contract import (
    Attachment,
    Context,
    ForwardRequest,
    Live,
    ModelCard,
    Reply,
    State,
    UserError,
    reply_with_overflow,
)
from explorer.declare import Opt, command
from explorer.drawing.matrix import Matrix, MatrixBlock
from explorer.drawing.page import Block, picture
from explorer.encoding import check_text
from explorer.i18n import SOURCE_LANGUAGE, phrase, plural_phrase, tell, told
from explorer.live import Control, Kind, cycle, previous_next
from explorer.models import SUMMARISED_KEYS, summary
from explorer.text import in_code, quote_inline, token_count
from explorer.words import SPECIAL_LABEL, text_words

SHOWN_DIFFERENCES = 12
CHARTED_WORDS = 128  # two matrices of this many words stay within the picture cap
# Config keys that differ between any two checkpoints and say nothing about the models.
_IGNORED_KEYS = {"_name_or_path", "transformers_version", "architectures"}

MODEL_A = Opt("The first model", complete=complete_model)
MODEL_B = Opt("The second model", complete=complete_model)


def share(count: int, total: int) -> str:
    """`3 (12.5%)`."""
    return f"{count} ({count / max(total, 1):.1%})"


def _shown(values: dict[str, Any], key: str, language: str) -> str:
    if key in values:
        return json.dumps(values[key], ensure_ascii=False)
    return tell(phrase("(not set)"), language)


def config_differences(first: Any, second: Any, language: str = SOURCE_LANGUAGE) -> list[str]:
    """The shapes people compare first (whatever each family calls them), then every other
    setting whose value differs: `key: a → b` (labels and words told in `language`, config
    keys as they are)."""
    lines = []
    shown = [dict(summary(config)) for config in (first, second)]
    for label in dict.fromkeys([*shown[0], *shown[1]]):
        a, b = (told(side.get(label, "—"), language) for side in shown)
        if a != b:
            lines.append(f"{tell(label, language)}: {a} → {b}")
    values = [config.to_dict() for config in (first, second)]
    for key in sorted((values[0].keys() | values[1].keys()) - _IGNORED_KEYS - SUMMARISED_KEYS):
        if values[0].get(key) != values[1].get(key):
            a, b = (_shown(side, key, language) for side in values)
            lines.append(f"{key}: {a} → {b}")
    return lines


def draw(
    text: str, sides: Sides, keep: list[int], depth: int, language: str = SOURCE_LANGUAGE
) -> bytes:
    """Both models' attention (mean of heads) at the same relative depth (each one's last
    layer by default), on the words both cover; its words told in `language`."""
    labels = (*word_labels(text, sides.spans)[:-1], tell(SPECIAL_LABEL, language))
    rows = tuple(labels[i] for i in keep)
    cols = (*rows, labels[-1])
    columns = [*keep, len(labels) - 1]
    shown = [(side, side.layer_at(depth, sides.deepest)) for side in (sides.first, sides.second)]
    values = [side.weights[layer - 1][np.ix_(keep, columns)] for side, layer in shown]
    vmax = max(float(value.max()) for value in values)
    blocks: list[Block] = []
    for (side, layer), value in zip(shown, values, strict=True):
        shown_layer = phrase(
            "layer {layer}/{layers} · mean of {heads} heads",
            layer=layer,
            layers=side.layers,
            heads=side.heads,
        )
        heading = f"{side.model} · {tell(shown_layer, language)}"
        matrix = Matrix(
            value, rows, cols, vmax, heading=heading,
            col_special=tuple([False] * len(rows) + [True]),
        )  # fmt: skip
        blocks.append(MatrixBlock(matrix))
    title = phrase(
        "{first} vs {second} · attention on the same words",
        first=sides.first.model,
        second=sides.second.model,
    )
    notes = [
        phrase("rows: attending word · columns: attended-to word; the last column: special tokens"),
        phrase("colours: 0 to {top:.3g}, the larger of the two pictures' largest values", top=vmax),
    ]
    if sides.first.layers != sides.second.layers:
        notes.append(phrase("layers at the same relative depth of each model"))
    told = [tell(note, language) for note in notes]
    return picture(tell(title, language), quote_inline(text, 90).strip("`"), blocks, told)


async def _side(ctx: Context, card: ModelCard, text: str, spans: Any) -> Side:
    limit = min(card.max_tokens, ctx.limits.max_heatmap_tokens)
    request = ForwardRequest(text, None, limit, attentions=True)
    return await ctx.forward(card, request, functools.partial(side_of, spans))


@command()
async def compare(
    ctx: Context,
    text: Annotated[str, Opt("The text both models read", 1, TEXT.high)],
    model_a: Annotated[str, MODEL_A],
    model_b: Annotated[str, MODEL_B],
) -> Reply:
    """Compare two models on one text: their tokens, configs and attention side by side."""
    check_text(text, ctx.limits.max_input_chars)
    cards = (await ctx.model(model_a), await ctx.model(model_b))
    if cards[0].name == cards[1].name:
        raise UserError(phrase("Choose two different models to compare."))
    state = {"text": text, "models": [card.name for card in cards], "depth": 0}
    return await COMPARE.show(ctx, state)


async def render(ctx: Context, state: State) -> Reply:
    """Both models' tokens, configs and attention at the state's depth (0: the last layers)."""
    text = state["text"]
    cards = [await ctx.model(name) for name in state["models"]]

    async def compute() -> Sides:
        spans = await ctx.run(text_words, text)
        # One after the other: each pass may take the whole memory budget of a request.
        first = await _side(ctx, cards[0], text, spans)
        second = await _side(ctx, cards[1], text, spans)
        return Sides(spans, first, second)

    sides = await ctx.remember(("compare", text, cards[0].name, cards[1].name), compute)
    first, second, spans = sides.first, sides.second, sides.spans
    keep = [
        i for i, both in enumerate(zip(first.covered, second.covered, strict=True)) if all(both)
    ]
    if not keep:
        raise UserError(
            phrase(
                "No word of this text is read by both models (their tokenizers drop or merge "
                "all of it): please try a text with ordinary words."
            )
        )
    ctx.record(tokens=len(first.encoding) + len(second.encoding))
    depth = state["depth"] or sides.deepest
    t = ctx.tell
    lines = [
        t(phrase("**{first}** vs **{second}** on {text}", first=first.model,
                 second=second.model, text=quote_inline(text, 80)))
    ]  # fmt: skip
    for side in (first, second):
        reading = phrase(
            "• **{model}**: {tokens} ({pieces}), unknown {unknown}, byte fallback {fallback}",
            model=side.model,
            tokens=token_count(len(side.encoding)),
            pieces=plural_phrase("{count:,} word piece", "{count:,} word pieces", side.words),
            unknown=share(side.unknown, side.words),
            fallback=share(side.byte_fallback, side.words),
        )
        lines.append(t(reading))
    splits = different_splits(text, spans, first.encoding, second.encoding)
    details = [
        t(phrase("words cut differently ({count} of {words}):", count=len(splits),
                 words=len(spans)))
    ]  # fmt: skip
    vs = t(phrase("vs"))
    details += [f"  {in_code(word)}: {in_code(a)} {vs} {in_code(b)}" for word, a, b in splits]
    configs = [(await ctx.config(card.name))[1] for card in cards]
    differences = config_differences(configs[0], configs[1], ctx.language)
    details += ["", t(phrase("config differences ({count}):", count=len(differences)))]
    details += [f"  {line}" for line in differences[:SHOWN_DIFFERENCES]]
    if len(differences) > SHOWN_DIFFERENCES:
        more = phrase("… and {count} more", count=len(differences) - SHOWN_DIFFERENCES)
        details.append(f"  {t(more)}")
    if len(keep) > CHARTED_WORDS:
        lines.append(
            t(phrase("The picture shows the first {shown} of the {count} words both read.",
                     shown=CHARTED_WORDS, count=len(keep)))
        )  # fmt: skip
    live = Live(COMPARE.name, {**state, "depth": depth, "deepest": sides.deepest})
    ctx.announce(live)  # kept while drawn
    png = await ctx.render(draw, text, sides, keep[:CHARTED_WORDS], depth, ctx.language)
    image = Attachment("compare.png", png, t(phrase("both models' attention on the same words")))
    reply = reply_with_overflow("\n".join(lines), "\n".join(details), "compare.txt",
                                attachments=(image,), reader=ctx.language)  # fmt: skip
    return replace(reply, live=live)


def controls(state: State) -> tuple[Control, ...]:
    """Buttons stepping both models' layers together (by relative depth)."""
    return previous_next(phrase("layer")) if state.get("deepest", 1) > 1 else ()


def transition(state: State, action: str, value: str | None) -> State:
    """The previous or next layer of the deeper model, the other at the same relative depth
    (wrapping around)."""
    return {**state, "depth": cycle(state["depth"] - 1, state["deepest"], action) + 1}


COMPARE = Kind("compare", controls, transition, render)
