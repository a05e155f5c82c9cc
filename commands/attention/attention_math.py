"""Pure functions over attention weights shaped (layers, heads, tokens, tokens)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def rollout(weights: np.ndarray, through_layer: int) -> np.ndarray:
    """Attention rollout (Abnar & Zuidema 2020) through 1-based `through_layer`.

    Each layer's head-mean attention gets the identity added (the residual path) and its rows
    renormalised; the layers are multiplied from the first upwards. Row i says how much each
    input token contributes to token i after that many layers.
    """
    return rollouts(weights[:through_layer])[-1]


def rollouts(weights: np.ndarray) -> np.ndarray:
    """Attention rollout through every layer: (layers, tokens, tokens), row l through l+1."""
    count = weights.shape[-1]
    identity = np.eye(count, dtype=np.float64)
    result, every = identity, []
    for layer in range(weights.shape[0]):
        mixed = weights[layer].mean(axis=0).astype(np.float64) + identity
        mixed /= mixed.sum(axis=-1, keepdims=True)
        result = mixed @ result
        every.append(result)
    return np.stack(every).astype(np.float32)


def token_profile(weights: np.ndarray, token: int, head: int | None) -> np.ndarray:
    """What `token` attends to in every layer: (layers, tokens), one head or the head mean."""
    rows = weights[:, :, token, :]
    return rows.mean(axis=1) if head is None else rows[:, head - 1, :]


@dataclass(frozen=True)
class HeadStats:
    """Per-head statistics, each shaped (layers, heads)."""

    entropy: np.ndarray
    special_share: np.ndarray
    previous_share: np.ndarray | None  # None when queries and keys are different sequences


def head_stats(weights: np.ndarray, special: np.ndarray) -> HeadStats:
    """Mean row entropy in bits; mean share of attention on special tokens and on the
    previous token (self-attention only). A low-entropy head with a high special share is a
    `[SEP]`/`[CLS]` sink; a high previous share marks a previous-token head."""
    logs = np.log2(np.maximum(weights, np.float32(1e-12)), dtype=np.float32)
    entropy = -np.einsum("...qk,...qk->...", weights, logs, dtype=np.float64) / weights.shape[-2]
    special_share = weights[..., np.asarray(special, dtype=bool)].sum(axis=-1).mean(axis=-1)
    queries, count = weights.shape[-2:]
    previous: np.ndarray | None = None
    if queries == count:
        if count > 1:
            previous = weights[..., np.arange(1, count), np.arange(count - 1)].mean(axis=-1)
        else:
            previous = np.zeros(weights.shape[:2])
        previous = previous.astype(np.float32)
    return HeadStats(entropy.astype(np.float32), special_share.astype(np.float32), previous)
