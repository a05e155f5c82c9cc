"""Tokenising a request the way the tutorial does, capped at the model's maximum length."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from explorer.contract import Encoding, LoadedModel, UserError
from explorer.i18n import phrase

TEXT = phrase("text")  # what `check_text` checks, unless told otherwise


def _unknown_pieces(
    texts: tuple[str, ...],
    ids: tuple[int, ...],
    offsets: tuple[tuple[int, int], ...],
    segments: tuple[int | None, ...],
    unknown_id: int | None,
) -> tuple[str, ...]:
    """The text behind each unknown token ("" where offsets are not known)."""
    pieces = []
    for index, token_id in enumerate(ids):
        if unknown_id is None or token_id != unknown_id:
            continue
        segment = segments[index] if segments else 0
        if offsets and segment is not None:
            start, end = offsets[index]
            pieces.append(texts[segment][start:end])
        else:
            pieces.append("")
    return tuple(pieces)


def unreadable(tokenizer: Any, pieces: tuple[str, ...]) -> tuple[str, ...]:
    """The pieces of text the tokenizer reads, each on its own, only with its unknown token
    (none for a tokenizer without one: byte-level ones read anything)."""
    unknown_id = tokenizer.unk_token_id
    if unknown_id is None or not pieces:
        return ()
    found = tokenizer(list(pieces), add_special_tokens=False, verbose=False)["input_ids"]
    return tuple(piece for piece, ids in zip(pieces, found, strict=True) if unknown_id in ids)


def check_text(text: str, max_chars: int, what: str = TEXT) -> str:
    """Reject empty or over-long user text before any work is done (`what` it is: a
    `phrase`)."""
    if not text or not text.strip():
        raise UserError(phrase("Please give some {what} to work on; it was empty.", what=what))
    if len(text) > max_chars:
        raise UserError(
            phrase(
                "The {what} is {length:,} characters long; the limit is {limit:,}. "
                "Please send a shorter passage.",
                what=what,
                length=len(text),
                limit=max_chars,
            )
        )
    if not any(character.isprintable() and not character.isspace() for character in text):
        raise UserError(
            phrase(
                "The {what} has only invisible characters (spaces, control or formatting "
                "characters): please give some visible text to work on.",
                what=what,
            )
        )
    broken = next((c for c in text if "\ud800" <= c <= "\udfff"), None)
    if broken is not None:
        raise UserError(
            phrase(
                "The {what} holds half of a character (U+{code:04X}, a lone surrogate) that "
                "is not valid Unicode: please copy the text again.",
                what=what,
                code=ord(broken),
            )
        )
    return text


def _segments(encoded: Any) -> tuple[int | None, ...]:
    try:
        return tuple(encoded.sequence_ids())
    except (AttributeError, ValueError):  # a slow tokenizer: no alignment information
        return ()


def encode(loaded: LoadedModel, text: str, text_pair: str | None, max_tokens: int) -> Encoding:
    """Tokenise `text` (and `text_pair`), truncating to at most `max_tokens` tokens."""
    tokenizer = loaded.tokenizer
    options = {"return_special_tokens_mask": True, "verbose": False}
    offsets = bool(getattr(tokenizer, "is_fast", False))
    with loaded.lock:
        encoded = tokenizer(text, text_pair, return_offsets_mapping=offsets, **options)
        full_length = len(encoded["input_ids"])
        if full_length > max_tokens:  # only then a second pass, truncating
            encoded = tokenizer(
                text,
                text_pair,
                truncation=True,
                max_length=max_tokens,
                return_offsets_mapping=offsets,
                **options,
            )
    ids = tuple(encoded["input_ids"])
    if len(ids) > max_tokens:
        raise UserError(
            phrase(
                "This text needs {count} tokens even after truncation; the model accepts {most}.",
                count=len(ids),
                most=max_tokens,
            )
        )
    type_ids = encoded.get("token_type_ids")
    offsets_of = tuple(tuple(span) for span in encoded.get("offset_mapping", ()))
    segments = _segments(encoded) if offsets else ()
    texts = (text,) if text_pair is None else (text, text_pair)
    return Encoding(
        tokens=tuple(tokenizer.convert_ids_to_tokens(list(ids))),
        input_ids=ids,
        token_type_ids=tuple(type_ids) if type_ids is not None else None,
        attention_mask=tuple(encoded["attention_mask"]),
        special=tuple(bool(flag) for flag in encoded["special_tokens_mask"]),
        untruncated_length=full_length,
        offsets=offsets_of,
        segments=segments,
        marker=loaded.card.word_marker,
        unknown=_unknown_pieces(texts, ids, offsets_of, segments, tokenizer.unk_token_id),
    )


def decoder_encoding(loaded: LoadedModel, ids: Sequence[int]) -> Encoding:
    """The decoder's input of an encoder–decoder model as an encoding: its start token, then
    the target's tokens."""
    tokenizer = loaded.tokenizer
    special_ids = set(tokenizer.all_special_ids)
    ids = tuple(int(i) for i in ids)
    return Encoding(
        tokens=tuple(tokenizer.convert_ids_to_tokens(list(ids))),
        input_ids=ids,
        token_type_ids=None,
        attention_mask=(1,) * len(ids),
        special=tuple(i in special_ids for i in ids),
        untruncated_length=len(ids),
        marker=loaded.card.word_marker,
    )


def target_ids(loaded: LoadedModel, target: str, max_tokens: int) -> tuple[int, ...]:
    """The decoder's input for a target text: the start token, then the text's tokens (the
    labels shifted right, as in training)."""
    start = loaded.model.config.decoder_start_token_id
    with loaded.lock:
        labels = loaded.tokenizer(text_target=target, truncation=True, max_length=max_tokens)
    ids = [int(i) for i in labels["input_ids"]]
    return (int(start), *ids[:-1])
