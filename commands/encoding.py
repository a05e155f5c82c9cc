"""Tokenising a request the way the tutorial does, capped at the model's maximum length."""

from __future__ import annotations

from dataclasses import dataclass

from commands.context import LoadedModel
from commands.results import UserError
from commands.text import plural


@dataclass(frozen=True)
class Encoding:
    """The tokenizer's output for one text (or pair), as plain tuples."""

    tokens: tuple[str, ...]
    input_ids: tuple[int, ...]
    token_type_ids: tuple[int, ...] | None
    attention_mask: tuple[int, ...]
    special: tuple[bool, ...]
    untruncated_length: int

    @property
    def truncated(self) -> bool:
        return self.untruncated_length > len(self.input_ids)

    @property
    def segment_boundary(self) -> int | None:
        """Index of the first token of the second segment, if this is a pair."""
        if self.token_type_ids is None:
            return None
        for index, type_id in enumerate(self.token_type_ids):
            if type_id != self.token_type_ids[0]:
                return index
        return None

    def truncation_notice(self) -> str:
        if not self.truncated:
            return ""
        return (
            f"⚠️ Input truncated to {plural(len(self.input_ids), 'token')} "
            f"(it had {self.untruncated_length:,})."
        )


def check_text(text: str, max_chars: int, what: str = "text") -> str:
    """Reject empty or over-long user text before any work is done."""
    if not text or not text.strip():
        raise UserError(f"Please give some {what} to work on; it was empty.")
    if len(text) > max_chars:
        raise UserError(
            f"The {what} is {len(text):,} characters long; the limit is {max_chars:,}. "
            "Please send a shorter passage."
        )
    return text


def encode(loaded: LoadedModel, text: str, text_pair: str | None, max_tokens: int) -> Encoding:
    """Tokenise `text` (and `text_pair`), truncating to at most `max_tokens` tokens."""
    tokenizer = loaded.tokenizer
    with loaded.lock:
        encoded = tokenizer(text, text_pair, return_special_tokens_mask=True, verbose=False)
        full_length = len(encoded["input_ids"])
        if full_length > max_tokens:  # only then a second pass, truncating
            encoded = tokenizer(
                text,
                text_pair,
                truncation=True,
                max_length=max_tokens,
                return_special_tokens_mask=True,
                verbose=False,
            )
    ids = tuple(encoded["input_ids"])
    if len(ids) > max_tokens:
        raise UserError(
            f"This text needs {len(ids)} tokens even after truncation; "
            f"the model accepts {max_tokens}."
        )
    type_ids = encoded.get("token_type_ids")
    return Encoding(
        tokens=tuple(tokenizer.convert_ids_to_tokens(list(ids))),
        input_ids=ids,
        token_type_ids=tuple(type_ids) if type_ids is not None else None,
        attention_mask=tuple(encoded["attention_mask"]),
        special=tuple(bool(flag) for flag in encoded["special_tokens_mask"]),
        untruncated_length=full_length,
    )
