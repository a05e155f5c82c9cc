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
from explorer.i18n import SOURCE_LANGUAGE, phrase, tell
from explorer.text import quote_inline

DIVERGING = "RdBu_r"  # negative blue, zero white, positive red
VALUED_TOKENS = 128  # scores are written under the tokens up to this many


def method_line(result: Attribution) -> str:
    """The method in words, with its steps, baseline and, where not float32, the precision
    (a `phrase`)."""
    if result.method == "saliency":
        return phrase("saliency: gradient × input, summed over the embedding dimension")
    if result.precision == "bfloat16":
        return phrase(
            "integrated gradients, {steps} steps (Gauss–Legendre), from a baseline of "
            "{baseline} with the special tokens kept, matrix products in bfloat16",
            steps=result.steps,
            baseline=result.baseline,
        )
    return phrase(
        "integrated gradients, {steps} steps (Gauss–Legendre), from a baseline of {baseline} "
        "with the special tokens kept",
        steps=result.steps,
        baseline=result.baseline,
    )


def target_line(result: Attribution, causal: bool, quote: bool = True) -> str:
    """What is explained: the target token, where, and its probability (the token quoted
    for Discord, or in plain quotes for a picture; a `phrase`)."""
    if causal:
        where = phrase("the next token")
    elif result.masks > 1:
        where = phrase("mask {mask} of {masks}, token {position}", mask=result.mask + 1,
                       masks=result.masks, position=result.position)  # fmt: skip
    else:
        where = phrase("the mask at token {position}", position=result.position)
    token = quote_inline(result.target, 40) if quote else f"“{result.target}”"
    return phrase(
        "target: the logit of {token} as {where} (probability {probability:.2%})",
        token=token,
        where=where,
        probability=result.probability,
    )


def completeness_line(result: Attribution) -> str:
    """Integrated gradients' completeness check, in numbers (a `phrase`; empty for
    saliency)."""
    if result.baseline_logit is None or result.gap is None:
        return ""
    return phrase(
        "completeness: sum of scores {total:+.4f} vs logit(input) − logit(baseline) = "
        "{logit:.4f} − {baseline:.4f} = {difference:+.4f} (gap {gap:+.2g})",
        total=float(result.scores.sum()),
        logit=result.logit,
        baseline=result.baseline_logit,
        difference=result.logit - result.baseline_logit,
        gap=result.gap,
    )


def unit_of(vmax: float) -> int:
    """The power of ten the scores are written in: none from 0.1 to 100, else the one that
    makes the largest read from 1 to 9.9."""
    return 0 if vmax <= 0 or 0.1 <= vmax < 100 else math.floor(math.log10(vmax))


def unit_text(power: int) -> str:
    """`×10⁻³` for -3 (nothing for 0)."""
    digits = str(power).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))
    return f" (×10{digits})" if power else ""


def render(
    model: str, text: str, result: Attribution, causal: bool, language: str = SOURCE_LANGUAGE
) -> bytes:
    """The text token by token, each coloured by its score on a diverging scale centred at
    0 (red drives the target's logit up, blue down); up to VALUED_TOKENS tokens, the score
    under each, in one power of ten; its words told in `language`."""
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
    title = phrase("{model} · what drives {target}", model=model, target=result.target)
    notes = [target_line(result, causal, quote=False), method_line(result)]
    notes += [line for line in (completeness_line(result),) if line]
    if not valued:
        notes.append(
            phrase("past {count} tokens only colours: export:true has the scores",
                   count=VALUED_TOKENS)
        )  # fmt: skip
    caption = phrase(
        "score{unit}: red raises the target's logit, blue lowers it", unit=unit_text(power)
    )
    told = [tell(note, language) for note in notes]
    legend = Legend(colour, -shown, shown, tell(caption, language))
    blocks: list[Block] = [TokenFlow(pieces), legend]
    return picture(tell(title, language), headline(text), blocks, told, DIVERGING)


def exported(result: Attribution, language: str = SOURCE_LANGUAGE) -> tuple[Attachment, Attachment]:
    """The scores as `attribution.npy` (float32, token order) and `attribution.csv` (the
    data as it is; the `.npy`'s description told in `language`)."""
    rows = [
        (token, f"{score:.8g}")
        for token, score in zip(result.encoding.tokens, result.scores, strict=True)
    ]
    return (
        npy(
            "attribution.npy",
            result.scores,
            tell(phrase("one score per token, in token order"), language),
        ),
        table("attribution.csv", ("token", "score"), rows),
    )
