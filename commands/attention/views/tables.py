"""The data behind the views as CSV text, for exports."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

import numpy as np

from commands.attention.attention_math import HeadStats
from commands.attention.exploration import Attention


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


def long_table(attention: Attention, layers: range, column: str = "weight") -> str:
    """Every value of the given layers, one row each: layer, head, query, key, and the value
    (its `column`: a weight or a norm)."""
    queries, keys = attention.queries.tokens, attention.keys.tokens
    table: list[list[object]] = [
        ["layer", "head", "query", "query_token", "key", "key_token", column]
    ]
    for layer in layers:
        for head in range(attention.shape.heads):
            for (query, key), value in np.ndenumerate(attention.weights[layer, head]):
                table.append(
                    [layer + 1, head + 1, query, queries[query], key, keys[key], f"{value:.6f}"]
                )
    return _csv(table)


def summary_table(stats: HeadStats) -> str:
    """Per head: entropy, special-token share and (self-attention) previous-token share."""
    previous = stats.previous_share
    header: list[object] = ["layer", "head", "entropy_bits", "special_share"]
    if previous is not None:
        header.append("previous_token_share")
    table: list[list[object]] = [header]
    for (layer, head), entropy in np.ndenumerate(stats.entropy):
        row: list[object] = [
            layer + 1,
            head + 1,
            f"{entropy:.4f}",
            f"{stats.special_share[layer, head]:.4f}",
        ]
        if previous is not None:
            row.append(f"{previous[layer, head]:.4f}")
        table.append(row)
    return _csv(table)
