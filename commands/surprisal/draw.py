"""The picture, table and files of a surprisal reading: pure functions of the result."""

from __future__ import annotations

import functools

from commands.surprisal.result import Surprisal
from explorer.contract import Attachment
from explorer.drawing.canvas import COLORMAP
from explorer.drawing.flow import Legend, Piece, TokenFlow, headline, mapped, words
from explorer.drawing.labels import display_token
from explorer.drawing.page import picture
from explorer.export import npy, table
from explorer.text import in_code, pad, text_width

READINGS = {
    "causal": "−log₂ p(token | the tokens before it)",
    "pseudo": "−log₂ p(token | every other token), the token masked (pseudo-log-likelihood)",
}


def summary(result: Surprisal) -> str:
    """The total and the mean in bits, and the perplexity they make."""
    count = len(result.positions)
    mean = result.total / count if count else 0.0
    name = "pseudo-perplexity" if result.kind == "pseudo" else "perplexity"
    return (
        f"{result.total:.1f} bits over {count} scored tokens · mean {mean:.2f} bits/token · "
        f"{name} {result.perplexity:.1f}"
    )


def render(model: str, text: str, result: Surprisal) -> bytes:
    """The text token by token with a strip under each scored token coloured by its
    surprisal and the bits written under it."""
    top = max(1.0, float(result.bits.max()) if len(result.bits) else 1.0)
    colour = functools.partial(mapped, COLORMAP, low=0.0, high=top)
    scored = dict(zip(result.positions, result.bits.tolist(), strict=True))
    pieces = []
    for index, (label, spaced) in enumerate(words(result.encoding)):
        bits = scored.get(index)
        strip = None if bits is None else colour(bits)
        value = "" if bits is None else f"{bits:.1f}"
        pieces.append(Piece(label, None, strip, value, result.encoding.special[index], spaced))
    notes = [f"surprisal: {READINGS[result.kind]}, in bits", summary(result)]
    if result.kind == "causal":
        notes.append("the first token has nothing before it and is not scored")
    legend = Legend(colour, 0.0, top, "bits of surprisal")
    title = f"{model} · surprisal"
    return picture(title, headline(text), [TokenFlow(pieces), legend], notes)


def surprisal_table(result: Surprisal) -> str:
    """A fixed-width table: position, token, surprisal and entropy in bits."""
    labels = [in_code(display_token(result.encoding.tokens[i], i)) for i in result.positions]
    width = max(5, *(text_width(label) + 1 for label in labels)) if labels else 5
    rows = [f"{'#':>4}  {'token':<{width}}  {'bits':>6}  {'entropy':>7}"]
    for position, label, bits, entropy in zip(
        result.positions, labels, result.bits, result.entropy, strict=True
    ):
        rows.append(f"{position:>4}  {pad(label, width)}  {bits:6.2f}  {entropy:7.2f}")
    return "\n".join(rows)


def exported(result: Surprisal) -> tuple[Attachment, Attachment]:
    """`surprisal.npy` (float32 bits, one per scored token) and `surprisal.csv`."""
    tokens = result.encoding.tokens
    rows = [
        (position, tokens[position], f"{bits:.6f}", f"{entropy:.6f}")
        for position, bits, entropy in zip(
            result.positions, result.bits, result.entropy, strict=True
        )
    ]
    return (
        npy("surprisal.npy", result.bits, "surprisal in bits, one per scored token"),
        table("surprisal.csv", ("position", "token", "bits", "entropy_bits"), rows),
    )
