"""Tokens as picture labels."""

from __future__ import annotations

from explorer.drawing.fonts import drawable

_MARKERS = {"Ġ": "␣", "▁": "␣", "Ċ": "↵", "ĉ": "⇥"}


def display_token(token: str, index: int) -> str:
    """A token as a label: BPE/SentencePiece space markers made visible; a token no installed
    font can draw becomes `#index` rather than a row of boxes."""
    shown = "".join(_MARKERS.get(char, char) for char in token)
    if not shown.strip():
        shown = repr(token)
    return shown if drawable(shown) else f"#{index}"
