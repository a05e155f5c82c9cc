"""The links view: the strongest links between ordinary tokens, for texts of any length."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from typing_extensions import override

from commands.attention.views.base import HEAD_ACTIONS, LAYER_ACTIONS, CyclingView, Scene
from explorer.drawing.charts import Bars
from explorer.drawing.page import Block
from explorer.i18n import phrase

LINKS = 20  # the strongest links listed


def strongest(values: np.ndarray, count: int) -> list[tuple[int, int, float]]:
    """The `count` largest entries of a matrix: (row, column, value), largest first."""
    flat = np.argsort(values, axis=None)[::-1][:count]
    return [
        (int(i // values.shape[1]), int(i % values.shape[1]), float(values.flat[i])) for i in flat
    ]


class LinksView(CyclingView):
    """The strongest links between ordinary tokens of a layer's head (or mean), for texts of
    any length."""

    name = "links"
    description = phrase("the strongest links")
    actions = LAYER_ACTIONS | HEAD_ACTIONS

    @override
    def detail(self, scene: Scene) -> str:
        return phrase("{layer} · {head} · strongest links", layer=scene.layer_name,
                      head=scene.head_name(scene.state.head))  # fmt: skip

    def values(self, scene: Scene) -> np.ndarray:
        """The layer's head, or the mean of its heads."""
        layer = scene.attention.weights[scene.state.layer - 1]
        return layer.mean(axis=0) if scene.state.head == 0 else layer[scene.state.head - 1]

    @staticmethod
    def ordinary(scene: Scene, values: np.ndarray) -> np.ndarray:
        """The values with links from or to special tokens left out (as -1)."""
        queries, keys = scene.attention.queries, scene.attention.keys
        kept = values.copy()
        kept[np.asarray(queries.special, dtype=bool), :] = -1.0
        kept[:, np.asarray(keys.special, dtype=bool)] = -1.0
        return kept

    @override
    def blocks(self, scene: Scene) -> tuple[list[Block], list[str]]:
        queries, keys = scene.attention.queries, scene.attention.keys
        values = self.values(scene)
        links = [link for link in strongest(self.ordinary(scene, values), LINKS) if link[2] >= 0]
        if not links:  # nothing but special tokens: show theirs
            links = strongest(values, LINKS)
        rows = [(f"{q} {queries.labels[q]} → {k} {keys.labels[k]}", value) for q, k, value in links]
        ordinary = values[~np.asarray(queries.special, dtype=bool)]
        on_special = ordinary[:, np.asarray(keys.special, dtype=bool)].sum(axis=1)
        shares = on_special / np.maximum(ordinary.sum(axis=1), 1e-12)  # rows of norms: any sum
        bars = Bars(rows)
        bar: str = phrase("attention weight (0 to 1)")
        given: str = phrase("attention")
        if scene.exploration.norms:  # no bound: the bars reach up to the strongest link
            bars = Bars(rows, top=max(links[0][2], 1e-6), number_format="{:.3g}")
            bar = phrase("‖αf(x)‖, 0 to {top:.3g} (the hidden state's units)", top=bars.top)
            given = "‖αf(x)‖"
        share = float(shares.mean()) if shares.size else 0.0
        notes = [
            phrase("attending {unit} → attended-to {unit}, positions as /tokenize lists them "
                   "· bar: {bar}", unit=scene.unit, bar=bar),
            phrase("links from or to special tokens left out: ordinary {units} give them "
                   "{share:.0%} of their {given} here on average",
                   units=scene.units, share=share, given=given),
        ]  # fmt: skip
        return [bars], [scene.tell(note) for note in notes]

    @override
    def table(self, scene: Scene) -> tuple[str, str]:
        queries, keys = scene.attention.queries, scene.attention.keys
        values = self.values(scene)
        links = strongest(values, values.size)
        rows: Sequence[str] = [
            f"{q},{queries.tokens[q]!r},{k},{keys.tokens[k]!r},{v:.6f}" for q, k, v in links
        ]
        header = f"query,query_token,key,key_token,{scene.column}\n"
        return "links.csv", header + "\n".join(rows) + "\n"
