"""The data behind the views as CSV text, for exports."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

import numpy as np

from explorer.attention_math import HeadStats
from explorer.exploration import Exploration


def _csv(rows: list[list[object]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


def matrix_table(matrix: np.ndarray, rows: Sequence[str], cols: Sequence[str]) -> str:
    """A labelled matrix: a header row of column labels, then one labelled row each."""
    table: list[list[object]] = [["", *cols]]
    for label, values in zip(rows, matrix, strict=True):
        table.append([label, *(f"{v:.6f}" for v in values)])
    return _csv(table)


def long_table(exploration: Exploration, layers: range) -> str:
    """Every weight of the given layers, one row each: layer, head, query, key, weight."""
    tokens = exploration.encoding.tokens
    table: list[list[object]] = [
        ["layer", "head", "query", "query_token", "key", "key_token", "weight"]
    ]
    for layer in layers:
        for head in range(exploration.shape.heads):
            for (query, key), value in np.ndenumerate(exploration.weights[layer, head]):
                table.append(
                    [layer + 1, head + 1, query, tokens[query], key, tokens[key], f"{value:.6f}"]
                )
    return _csv(table)


def summary_table(stats: HeadStats) -> str:
    """Per head: entropy, special-token share and previous-token share."""
    table: list[list[object]] = [
        ["layer", "head", "entropy_bits", "special_share", "previous_token_share"]
    ]
    for (layer, head), entropy in np.ndenumerate(stats.entropy):
        table.append(
            [
                layer + 1,
                head + 1,
                f"{entropy:.4f}",
                f"{stats.special_share[layer, head]:.4f}",
                f"{stats.previous_share[layer, head]:.4f}",
            ]
        )
    return _csv(table)
