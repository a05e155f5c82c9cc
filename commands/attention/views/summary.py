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
from explorer.i18n import phrase


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
    description = phrase("per-head statistics")

    @override
    def detail(self, scene: Scene) -> str:
        return phrase("per-head statistics · {shape}", shape=scene.model_shape)

    @override
    def blocks(self, scene: Scene) -> tuple[list[Block], list[str]]:
        attention = scene.attention
        stats = stats_of(scene)
        layers = layer_names(scene.shape.layers, scene.language)
        heads = head_names(scene.shape.heads, scene.language)
        most = math.log2(max(len(attention.keys), 2))
        shared = "‖αf(x)‖" if scene.exploration.norms else phrase("attention")
        told = scene.tell
        fixed = told(phrase("colours: fixed from 0 to 1"))

        def block(heading: str, values: np.ndarray, vmax: float, fmt: str, what: str) -> Block:
            matrix = Matrix(values, layers, heads, vmax, what, heading, number_format=fmt,
                            annotate=True, target=480)  # fmt: skip
            return MatrixBlock(matrix)

        blocks = [
            block(told(phrase("entropy (bits): low = focused")), stats.entropy, most, "{:.1f}",
                  told(phrase("colours: 0 to {most:.2f} bits, uniform attention over all keys",
                              most=most))),
            block(told(phrase("share of {shared} on special tokens ([CLS], [SEP]…): high = sink",
                              shared=shared)),
                  stats.special_share, 1.0, "{:.2f}", fixed),
        ]  # fmt: skip
        if stats.previous_share is not None:  # only within one sequence
            heading = phrase(
                "share of {shared} on the previous token: high = previous-token head",
                shared=shared,
            )
            blocks.append(block(told(heading), stats.previous_share, 1.0, "{:.2f}", fixed))
        notes = []
        if scene.exploration.norms:
            notes.append(
                told(
                    phrase(
                        "value-weighted: each row's ‖αf(x)‖ taken as shares of the row's sum, "
                        "so a share is of what is really added, not of where the head looks"
                    )
                )
            )
        return blocks, notes

    @override
    def table(self, scene: Scene) -> tuple[str, str]:
        return "summary.csv", summary_table(stats_of(scene))
