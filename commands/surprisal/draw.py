"""The picture, table and files of a surprisal reading: pure functions of the result."""

from __future__ import annotations

import functools

from commands.surprisal.result import Measure, Surprisal
from explorer.contract import Attachment
from explorer.drawing.canvas import COLORMAP
from explorer.drawing.flow import Legend, Piece, TokenFlow, headline, mapped, words
from explorer.drawing.labels import display_token
from explorer.drawing.page import picture
from explorer.export import npy, table
from explorer.i18n import SOURCE_LANGUAGE, phrase, tell
from explorer.text import in_code, pad, pad_left, text_width

READINGS: dict[str, str] = {
    "causal": phrase("−log₂ p(token | the tokens before it)"),
    "pseudo": phrase(
        "−log₂ p(token | every other token), the token masked (pseudo-log-likelihood)"
    ),
}
MEASURES: dict[Measure, dict[str, str]] = {
    "surprisal": READINGS,
    "entropy": {
        "causal": phrase(
            "−Σ p log₂ p of the prediction each token was read from (how unsure the model was)"
        ),
        "pseudo": phrase(
            "−Σ p log₂ p of the prediction at each masked token (how unsure the model was)"
        ),
    },
}
# The measures' names in words (their values, `surprisal` and `entropy`, stay as typed).
MEASURE_WORDS: dict[Measure, str] = {"surprisal": phrase("surprisal"), "entropy": phrase("entropy")}
HEADINGS = (phrase("token"), phrase("bits"), phrase("entropy"))  # the table's, told
PAGE_TOKENS = 64  # past this many tokens, pages of this many can be shown one at a time


def summary(result: Surprisal) -> str:
    """The total and the mean in bits, and the perplexity they make (a `phrase`)."""
    count = len(result.positions)
    values = {
        "total": result.total,
        "count": count,
        "mean": result.total / count if count else 0.0,
        "perplexity": result.perplexity,
    }
    if result.kind == "pseudo":
        return phrase(
            "{total:.1f} bits over {count} scored tokens · mean {mean:.2f} bits/token · "
            "pseudo-perplexity {perplexity:.1f}",
            **values,
        )
    return phrase(
        "{total:.1f} bits over {count} scored tokens · mean {mean:.2f} bits/token · "
        "perplexity {perplexity:.1f}",
        **values,
    )


def page_bounds(tokens: int, page: int) -> tuple[int, int]:
    """The tokens a page shows, [start, end): the whole text for page 0, else the
    `page`-th run of PAGE_TOKENS (from 1)."""
    if page == 0:
        return 0, tokens
    start = (page - 1) * PAGE_TOKENS
    return start, min(tokens, start + PAGE_TOKENS)


def pages_of(tokens: int) -> int:
    """How many pages a text of `tokens` tokens has past its whole view (none if it fits)."""
    return 0 if tokens <= PAGE_TOKENS else -(-tokens // PAGE_TOKENS)


def render(model: str, text: str, result: Surprisal, measure: Measure = "surprisal",
           page: int = 0, language: str = SOURCE_LANGUAGE) -> bytes:  # fmt: skip
    """The text token by token (or one page of it) with a strip under each scored token
    coloured by its surprisal (or the entropy it was drawn from) and the bits written under
    it; the colours on one scale over the whole text, so pages compare; its words told in
    `language`."""
    values = result.bits if measure == "surprisal" else result.entropy
    top = max(1.0, float(values.max()) if len(values) else 1.0)
    colour = functools.partial(mapped, COLORMAP, low=0.0, high=top)
    scored = dict(zip(result.positions, values.tolist(), strict=True))
    start, end = page_bounds(len(result.encoding), page)
    pieces = []
    for index, (label, spaced) in list(enumerate(words(result.encoding)))[start:end]:
        bits = scored.get(index)
        strip = None if bits is None else colour(bits)
        value = "" if bits is None else f"{bits:.1f}"
        pieces.append(Piece(label, None, strip, value, result.encoding.special[index], spaced))
    named = MEASURE_WORDS[measure]
    notes = [
        phrase(
            "{measure}: {meaning}, in bits", measure=named, meaning=MEASURES[measure][result.kind]
        ),
        summary(result),
    ]
    if result.kind == "causal" and start == 0:
        notes.append(phrase("the first token has nothing before it and is not scored"))
    legend = Legend(colour, 0.0, top, tell(phrase("bits of {measure}", measure=named), language))
    title = f"{model} · {tell(named, language)}"
    subtitle = headline(text)
    if page:
        pages = phrase("page {page} of {pages}", page=page, pages=pages_of(len(result.encoding)))
        title += f" · {tell(pages, language)}"
        shown = phrase("tokens {first}–{last} of {count}", first=start + 1, last=end,
                       count=len(result.encoding))  # fmt: skip
        subtitle = tell(shown, language)
    told = [tell(note, language) for note in notes]
    return picture(title, subtitle, [TokenFlow(pieces), legend], told)


def surprisal_table(result: Surprisal, language: str = SOURCE_LANGUAGE) -> str:
    """A fixed-width table: position, token, surprisal and entropy in bits (its headings
    told in `language`)."""
    labels = [in_code(display_token(result.encoding.tokens[i], i)) for i in result.positions]
    token, bits, entropy = (tell(heading, language) for heading in HEADINGS)
    width = max(5, text_width(token), *(text_width(label) + 1 for label in labels))
    rows = [f"{'#':>4}  {pad(token, width)}  {pad_left(bits, 6)}  {pad_left(entropy, 7)}"]
    for position, label, bits, entropy in zip(
        result.positions, labels, result.bits, result.entropy, strict=True
    ):
        rows.append(f"{position:>4}  {pad(label, width)}  {bits:6.2f}  {entropy:7.2f}")
    return "\n".join(rows)


def exported(result: Surprisal, language: str = SOURCE_LANGUAGE) -> tuple[Attachment, Attachment]:
    """`surprisal.npy` (float32 bits, one per scored token) and `surprisal.csv` (the data as
    it is; the `.npy`'s description told in `language`)."""
    tokens = result.encoding.tokens
    rows = [
        (position, tokens[position], f"{bits:.6f}", f"{entropy:.6f}")
        for position, bits, entropy in zip(
            result.positions, result.bits, result.entropy, strict=True
        )
    ]
    return (
        npy(
            "surprisal.npy",
            result.bits,
            tell(phrase("surprisal in bits, one per scored token"), language),
        ),
        table("surprisal.csv", ("position", "token", "bits", "entropy_bits"), rows),
    )
