"""The summary view: per-head statistics (entropy, special-token and previous-token shares)."""

from __future__ import annotations

import math

import numpy as np
from typing_extensions import override

from commands.attention.attention_math import HeadStats, head_stats
from commands.attention.views.base import Scene, View, head_names, layer_names
from commands.attention.views.tables import summary_table
from explorer.drawing.matrix import Matrix, MatrixBlock
from explorer.drawing.page import Block


def stats_of(scene: Scene) -> HeadStats:
    """The statistics of the scene's heads; value-weighted norms are first taken as shares
    of their row's sum, so that rows sum to 1 as weights do."""
    values = scene.attention.weights
    if scene.exploration.norms:
        values = values / np.maximum(values.sum(axis=-1, keepdims=True), np.float32(1e-12))
    return head_stats(values, np.asarray(scene.attention.keys.special))


class SummaryView(View):
    """Per-head statistics: entropy, special-token and previous-token shares."""

    name = "summary"
    description = "per-head statistics"

    @override
    def detail(self, scene: Scene) -> str:
        return f"per-head statistics · {scene.model_shape}"

    @override
    def blocks(self, scene: Scene) -> tuple[list[Block], list[str]]:
        attention = scene.attention
        stats = stats_of(scene)
        layers, heads = layer_names(scene.shape.layers), head_names(scene.shape.heads)
        most = math.log2(max(len(attention.keys), 2))
        shared = "‖αf(x)‖" if scene.exploration.norms else "attention"

        def block(heading: str, values: np.ndarray, vmax: float, fmt: str, what: str) -> Block:
            matrix = Matrix(values, layers, heads, vmax, what, heading, number_format=fmt,
                            annotate=True, target=480)  # fmt: skip
            return MatrixBlock(matrix)

        blocks = [
            block("entropy (bits): low = focused", stats.entropy, most, "{:.1f}",
                  f"colours: 0 to {most:.2f} bits, uniform attention over all keys"),
            block(f"share of {shared} on special tokens ([CLS], [SEP]…): high = sink",
                  stats.special_share, 1.0, "{:.2f}", "colours: fixed from 0 to 1"),
        ]  # fmt: skip
        if stats.previous_share is not None:  # only within one sequence
            heading = f"share of {shared} on the previous token: high = previous-token head"
            fixed = "colours: fixed from 0 to 1"
            blocks.append(block(heading, stats.previous_share, 1.0, "{:.2f}", fixed))
        notes = []
        if scene.exploration.norms:
            notes.append(
                "value-weighted: each row's ‖αf(x)‖ taken as shares of the row's sum, so a "
                "share is of what is really added, not of where the head looks"
            )
        return blocks, notes

    @override
    def table(self, scene: Scene) -> tuple[str, str]:
        return "summary.csv", summary_table(stats_of(scene))
