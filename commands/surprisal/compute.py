"""How surprised a language model is by each token, computed on the worker (`finish`es).

A causal LM reads its own logits: token t's surprisal is −log₂ p(t | the tokens before it),
for every token after the first, with the entropy of that predicted distribution. A masked
LM has no left-to-right probability: each ordinary token is masked in turn and read from the
rest (the pseudo-log-likelihood of Salazar et al. 2020), the masked copies run in batches.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from commands.predictions.predicted import output_head
from commands.surprisal.result import Surprisal
from explorer.contract import Forwarded, LoadedModel
from explorer.encoding import Encoding

LN2 = math.log(2.0)


def in_bits(log_probabilities: torch.Tensor, ids: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """From natural log-probabilities (rows, vocabulary) and each row's token id: the
    surprisal of that token and the distribution's entropy, both in bits, float32."""
    picked = -log_probabilities.gather(-1, ids[:, None])[:, 0]
    entropy = -(log_probabilities.exp() * log_probabilities).sum(-1)
    return (
        (picked.double() / LN2).numpy().astype(np.float32),
        (entropy.double() / LN2).numpy().astype(np.float32),
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


def next_token_surprisal(forwarded: Forwarded) -> Surprisal:
    """Surprisal of tokens 2…n, each read from the pass's logits at the position before it."""
    assert forwarded.output is not None
    logits = forwarded.output.fields["logits"][0].float()
    ids = torch.tensor(forwarded.encoding.input_ids)
    bits, entropy = in_bits(logits[:-1].log_softmax(-1), ids[1:])
    positions = tuple(range(1, len(ids)))
    return Surprisal(forwarded.encoding, positions, bits, entropy, "causal")


def pseudo_surprisal(forwarded: Forwarded, rows: int) -> Surprisal:
    """Surprisal of each ordinary token with it masked and the others given, `rows` masked
    copies per pass."""
    loaded, encoding = forwarded.model, forwarded.encoding
    positions = tuple(i for i, special in enumerate(encoding.special) if not special)
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
