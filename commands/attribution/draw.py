"""The picture and the words of an attribution: pure functions of the computed result."""

from __future__ import annotations

import functools
import math

import numpy as np

from commands.attribution.result import Attribution
from explorer.contract import Attachment
from explorer.drawing.flow import Legend, Piece, TokenFlow, headline, mapped, words
from explorer.drawing.page import Block, picture
from explorer.export import npy, table
from explorer.text import quote_inline

DIVERGING = "RdBu_r"  # negative blue, zero white, positive red
VALUED_TOKENS = 128  # scores are written under the tokens up to this many


def method_line(result: Attribution) -> str:
    """The method in words, with its steps, baseline and, where not float32, the precision."""
    if result.method == "saliency":
        return "saliency: gradient × input, summed over the embedding dimension"
    reduced = ", matrix products in bfloat16" if result.precision == "bfloat16" else ""
    return (
        f"integrated gradients, {result.steps} steps (Gauss–Legendre), from a baseline of "
        f"{result.baseline} with the special tokens kept{reduced}"
    )


def target_line(result: Attribution, causal: bool, quote: bool = True) -> str:
    """What is explained: the target token, where, and its probability (the token quoted
    for Discord, or in plain quotes for a picture)."""
    if causal:
        where = "the next token"
    elif result.masks > 1:
        where = f"mask {result.mask + 1} of {result.masks}, token {result.position}"
    else:
        where = f"the mask at token {result.position}"
    token = quote_inline(result.target, 40) if quote else f"“{result.target}”"
    return f"target: the logit of {token} as {where} (probability {result.probability:.2%})"


def completeness_line(result: Attribution) -> str:
    """Integrated gradients' completeness check, in numbers (empty for saliency)."""
    if result.baseline_logit is None or result.gap is None:
        return ""
    difference = result.logit - result.baseline_logit
    return (
        f"completeness: sum of scores {float(result.scores.sum()):+.4f} vs logit(input) − "
        f"logit(baseline) = {result.logit:.4f} − {result.baseline_logit:.4f} = "
        f"{difference:+.4f} (gap {result.gap:+.2g})"
    )


def unit_of(vmax: float) -> int:
    """The power of ten the scores are written in: none from 0.1 to 100, else the one that
    makes the largest read from 1 to 9.9."""
    return 0 if vmax <= 0 or 0.1 <= vmax < 100 else math.floor(math.log10(vmax))


def unit_text(power: int) -> str:
    """`×10⁻³` for -3 (nothing for 0)."""
    digits = str(power).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))
    return f" (×10{digits})" if power else ""


def render(model: str, text: str, result: Attribution, causal: bool) -> bytes:
    """The text token by token, each coloured by its score on a diverging scale centred at
    0 (red drives the target's logit up, blue down); up to VALUED_TOKENS tokens, the score
    under each, in one power of ten."""
    vmax = float(np.abs(result.scores).max())
    power = unit_of(vmax)
    scale = 10.0**power
    shown = (vmax / scale) or 1.0
    colour = functools.partial(mapped, DIVERGING, low=-shown, high=shown)
    valued = len(result.scores) <= VALUED_TOKENS
    pieces = [
        Piece(
            label,
            colour(float(score) / scale),
            None,
            f"{float(score) / scale:+.{2 if shown < 1 else 1}f}".replace("-", "−")
            if valued
            else "",
            special,
            spaced,
        )
        for (label, spaced), score, special in zip(
            words(result.encoding), result.scores, result.encoding.special, strict=True
        )
    ]
    title = f"{model} · what drives {result.target}"
    notes = [target_line(result, causal, quote=False), method_line(result)]
    notes += [line for line in (completeness_line(result),) if line]
    if not valued:
        notes.append(f"past {VALUED_TOKENS} tokens only colours: export:true has the scores")
    caption = f"score{unit_text(power)}: red raises the target's logit, blue lowers it"
    blocks: list[Block] = [TokenFlow(pieces), Legend(colour, -shown, shown, caption)]
    return picture(title, headline(text), blocks, notes, DIVERGING)


def exported(result: Attribution) -> tuple[Attachment, Attachment]:
    """The scores as `attribution.npy` (float32, token order) and `attribution.csv`."""
    rows = [
        (token, f"{score:.8g}")
        for token, score in zip(result.encoding.tokens, result.scores, strict=True)
    ]
    return (
        npy("attribution.npy", result.scores, "one score per token, in token order"),
        table("attribution.csv", ("token", "score"), rows),
    )
