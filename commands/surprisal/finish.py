"""What `/surprisal` asks of the worker: the pass, and `finish`es that declare their memory;
the work itself (torch) is imported on the worker, when it runs."""

from __future__ import annotations

from dataclasses import dataclass

from commands.surprisal.result import Surprisal
from explorer.budget import FLOAT_BYTES, Dimensions, dimensions, pass_bytes, rows_within
from explorer.contract import Forwarded, ForwardRequest, ModelCard

MASKED_ROWS = 32  # the most masked copies of a text run as one batch
MOST_TOKENS = 512
PSEUDO_TOKENS = 128  # a masked LM runs one pass per token: longer texts are cut to this


@dataclass(frozen=True)
class NextTokenSurprisal:
    """The `finish` for a causal LM, from the pass's logits (with its head)."""

    def memory(self, dims: Dimensions, tokens: int) -> int:
        """Log-probabilities and their exponentials over the vocabulary at every position."""
        return 2 * tokens * dims.vocab * FLOAT_BYTES

    def __call__(self, forwarded: Forwarded) -> Surprisal:
        """Surprisal of tokens 2…n (on the worker)."""
        from commands.surprisal.compute import next_token_surprisal

        return next_token_surprisal(forwarded)


@dataclass(frozen=True)
class PseudoSurprisal:
    """The `finish` for a masked LM: each ordinary token masked in turn, in batches."""

    def memory(self, dims: Dimensions, tokens: int) -> int:
        """One batch of masked copies: their passes, last hidden states and head outputs."""
        rows = rows_within(dims, tokens, MASKED_ROWS)
        per_row = pass_bytes(dims, tokens) + tokens * dims.hidden * FLOAT_BYTES
        return rows * (per_row + 2 * dims.vocab * FLOAT_BYTES)

    def __call__(self, forwarded: Forwarded) -> Surprisal:
        """Surprisal of each ordinary token, masked in turn (on the worker)."""
        from commands.surprisal.compute import pseudo_surprisal

        dims = dimensions(forwarded.model.card.config)
        return pseudo_surprisal(forwarded, rows_within(dims, len(forwarded.encoding), MASKED_ROWS))


Finish = NextTokenSurprisal | PseudoSurprisal


def reading(card: ModelCard, text: str) -> tuple[ForwardRequest, Finish]:
    """The pass and the `finish` that read a text's surprisal with this model: a causal LM's
    own logits, or a masked LM's masked copies (at most PSEUDO_TOKENS tokens)."""
    if card.task == "causal-lm":
        request = ForwardRequest(text, None, min(card.max_tokens, MOST_TOKENS), run="head")
        return request, NextTokenSurprisal()
    request = ForwardRequest(text, None, min(card.max_tokens, PSEUDO_TOKENS), run="none")
    return request, PseudoSurprisal()
