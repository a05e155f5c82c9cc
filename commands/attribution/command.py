"""The `/attribute` command: its options, the model check, and the reply."""

from __future__ import annotations

from typing import Annotated

from commands.attribution.draw import completeness_line, exported, method_line, render, target_line
from commands.attribution.finish import Attribute
from commands.attribution.result import METHODS, Method
from commands.capabilities import LANGUAGE_MODEL, model_with, notices
from commands.options import MODEL
from explorer.contract import Attachment, Context, ForwardRequest, Reply
from explorer.declare import TEXT_LIMIT, Opt, command
from explorer.drawing.labels import display_token
from explorer.encoding import check_text
from explorer.text import plural, quote_inline

MASK_ALIAS = "[MASK]"  # what users may type for any model's mask token
MOST_TOKENS = 512  # drawn readably up to this many

TEXT = Opt(
    "The text; for a masked LM put [MASK] where the prediction to explain goes", 1, TEXT_LIMIT
)
METHOD = Opt(
    "saliency (gradient × input, one pass) or integrated-gradients (default)",
    choices=tuple((name, name) for name in METHODS),
)
STEPS = Opt("Integrated gradients: steps along the path from the baseline (default 32)", 2, 256)
TOKEN = Opt("The token whose logit to explain (default: the model's top prediction)", 1, 100)
EXPORT = Opt("Also attach the scores as attribution.npy (float32) and attribution.csv")


@command()
async def attribute(
    ctx: Context,
    text: Annotated[str, TEXT],
    model: Annotated[str | None, MODEL] = None,
    method: Annotated[str, METHOD] = "integrated-gradients",
    steps: Annotated[int, STEPS] = 32,
    token: Annotated[str | None, TOKEN] = None,
    export: Annotated[bool, EXPORT] = False,
) -> Reply:
    """Show which input tokens drive a prediction (saliency or integrated gradients)."""
    check_text(text, ctx.limits.max_input_chars)
    card = await model_with(ctx, model, LANGUAGE_MODEL, "attribute")
    causal = card.task == "causal-lm"
    written = text if causal else text.replace(MASK_ALIAS, card.mask_token or MASK_ALIAS)
    chosen: Method = "saliency" if method == "saliency" else "integrated-gradients"
    request = ForwardRequest(written, None, min(card.max_tokens, MOST_TOKENS), run="none")
    result = await ctx.forward(card, request, Attribute(chosen, steps, token))
    ctx.record(tokens=len(result.encoding))
    lines = [
        f"**{card.name}** · {plural(len(result.encoding), 'token')} · "
        f"{target_line(result, causal)}",
        method_line(result),
    ]
    lines += [line for line in (completeness_line(result),) if line]
    if card.untrained_head:
        lines.append(
            "⚠️ This checkpoint ships no trained head: the target is a random prediction, "
            "and the scores explain that."
        )
    lines += await notices(ctx, card, result.encoding)
    png = await ctx.render(render, card.name, written, result, causal)
    files: tuple[Attachment, ...] = (
        Attachment("attribution.png", png, "each token coloured by its score"),
    )
    if export:
        files += exported(result)
    top = sorted(range(len(result.scores)), key=lambda i: -abs(float(result.scores[i])))[:5]
    strongest = ", ".join(
        f"{quote_inline(display_token(result.encoding.tokens[i], i), 20)} "
        f"{float(result.scores[i]):+.3g}"
        for i in top
    )
    lines.append(f"strongest: {strongest}")
    return Reply("\n".join(lines)[:2000], files)
