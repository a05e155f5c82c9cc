"""How surprised a language model is by each token, computed on the worker (`finish`es).

A causal LM reads its own logits: token t's surprisal is −log₂ p(t | the tokens before it),
for every token after the first, with the entropy of that predicted distribution. A masked
LM has no left-to-right probability: each ordinary token is masked in turn and read from the
rest (the pseudo-log-likelihood of Salazar et al. 2020), the masked copies run in batches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from explorer.budget import FLOAT_BYTES, Dimensions, dimensions, pass_bytes, rows_within
from explorer.contract import Forwarded, LoadedModel
from explorer.encoding import Encoding
from explorer.predictions import output_head

MASKED_ROWS = 32  # the most masked copies of a text run as one batch
LN2 = math.log(2.0)

Kind = Literal["causal", "pseudo"]


@dataclass(frozen=True)
class Surprisal:
    """Per scored token (`positions` in the encoding): its surprisal and the entropy of the
    distribution it was drawn from, in bits; `kind` says how they were read."""

    encoding: Encoding
    positions: tuple[int, ...]
    bits: np.ndarray  # float32
    entropy: np.ndarray  # float32
    kind: Kind

    @property
    def total(self) -> float:
        """The summed surprisal: −log₂ of the text's (pseudo-)likelihood, in bits."""
        return float(self.bits.astype(np.float64).sum())

    @property
    def perplexity(self) -> float:
        """2 to the mean surprisal (NaN with nothing scored)."""
        return 2.0 ** (self.total / len(self.positions)) if self.positions else math.nan


def in_bits(log_probabilities: torch.Tensor, ids: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """From natural log-probabilities (rows, vocabulary) and each row's token id: the
    surprisal of that token and the distribution's entropy, both in bits, float32."""
    picked = -log_probabilities.gather(-1, ids[:, None])[:, 0]
    entropy = -(log_probabilities.exp() * log_probabilities).sum(-1)
    return (
        (picked.double() / LN2).numpy().astype(np.float32),
        (entropy.double() / LN2).numpy().astype(np.float32),
    )


@dataclass(frozen=True)
class NextTokenSurprisal:
    """The `finish` for a causal LM, from the pass's logits (with its head)."""

    def memory(self, dims: Dimensions, tokens: int) -> int:
        """Log-probabilities and their exponentials over the vocabulary at every position."""
        return 2 * tokens * dims.vocab * FLOAT_BYTES

    def __call__(self, forwarded: Forwarded) -> Surprisal:
        """Surprisal of tokens 2…n, each read from the position before it."""
        assert forwarded.output is not None
        logits = forwarded.output.fields["logits"][0].float()
        ids = torch.tensor(forwarded.encoding.input_ids)
        bits, entropy = in_bits(logits[:-1].log_softmax(-1), ids[1:])
        positions = tuple(range(1, len(ids)))
        return Surprisal(forwarded.encoding, positions, bits, entropy, "causal")


@dataclass(frozen=True)
class PseudoSurprisal:
    """The `finish` for a masked LM: each ordinary token masked in turn, in batches."""

    def memory(self, dims: Dimensions, tokens: int) -> int:
        """One batch of masked copies: their passes, last hidden states and head outputs."""
        rows = rows_within(dims, tokens, MASKED_ROWS)
        per_row = pass_bytes(dims, tokens) + tokens * dims.hidden * FLOAT_BYTES
        return rows * (per_row + 2 * dims.vocab * FLOAT_BYTES)

    def __call__(self, forwarded: Forwarded) -> Surprisal:
        """Surprisal of each ordinary token with it masked and the others given."""
        loaded, encoding = forwarded.model, forwarded.encoding
        positions = tuple(i for i, special in enumerate(encoding.special) if not special)
        rows = rows_within(dimensions(loaded.card.config), len(encoding), MASKED_ROWS)
        bits, entropy = [], []
        for start in range(0, len(positions), rows):
            chunk = positions[start : start + rows]
            found = masked_log_probabilities(loaded, encoding, chunk)
            wanted = torch.tensor([encoding.input_ids[p] for p in chunk])
            chunk_bits, chunk_entropy = in_bits(found, wanted)
            bits.append(chunk_bits)
            entropy.append(chunk_entropy)
        empty = np.zeros(0, dtype=np.float32)
        return Surprisal(
            encoding,
            positions,
            np.concatenate(bits) if bits else empty,
            np.concatenate(entropy) if entropy else empty,
            "pseudo",
        )


@torch.inference_mode()
def masked_log_probabilities(
    loaded: LoadedModel, encoding: Encoding, positions: tuple[int, ...]
) -> torch.Tensor:
    """For each position, the text with that token masked, read at that position:
    log-probabilities (positions, vocabulary)."""
    ids = torch.tensor([encoding.input_ids] * len(positions))
    rows = torch.arange(len(positions))
    where = torch.tensor(positions)
    ids[rows, where] = loaded.tokenizer.mask_token_id
    hidden = loaded.model.base_model(input_ids=ids)[0][rows, where]
    for module in output_head(loaded.model):
        hidden = module(hidden)
    return hidden.float().log_softmax(-1)
