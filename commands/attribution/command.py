"""The `/attribute` command: its options, the model check, and the first state of its live
reply (`commands.attribution.kind`)."""

from __future__ import annotations

from typing import Annotated

from commands.attribution.kind import ATTRIBUTE, FEWEST_STEPS, MOST_STEPS
from commands.attribution.result import METHODS
from commands.capabilities import LANGUAGE_MODEL, model_with
from commands.options import MODEL, with_mask_token
from explorer.contract import Context, Reply
from explorer.declare import TEXT_LIMIT, Opt, command
from explorer.encoding import check_text

TEXT = Opt(
    "The text; for a masked LM put [MASK] where the prediction to explain goes", 1, TEXT_LIMIT
)
METHOD = Opt(
    "saliency (gradient × input, one pass) or integrated-gradients (default)",
    choices=tuple((name, name) for name in METHODS),
)
STEPS = Opt(
    "Integrated gradients: steps along the path from the baseline (default 32)",
    FEWEST_STEPS,
    MOST_STEPS,
)
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
    written = text if causal else with_mask_token(card, text)
    chosen = "saliency" if method == "saliency" else "integrated-gradients"
    state = {"model": card.name, "text": written, "method": chosen, "steps": steps,
             "token": token, "mask": 0, "export": export}  # fmt: skip
    return await ATTRIBUTE.show(ctx, state)
