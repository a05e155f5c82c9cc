"""The heads view: every head of one layer, as a grid."""

from __future__ import annotations

import math

from typing_extensions import override

from commands.attention.views.base import (
    LAYER_ACTIONS,
    Scene,
    View,
    grid_axes,
    pick_top,
    thumbnail_side,
)
from commands.attention.views.tables import long_table
from explorer.drawing.grid import Grid, GridBlock
from explorer.drawing.page import Block
from explorer.i18n import phrase


class HeadsView(View):
    """Every head of one layer, as a grid."""

    name = "heads"
    description = phrase("every head of a layer")
    actions = LAYER_ACTIONS

    @override
    def detail(self, scene: Scene) -> str:
        return phrase("{layer} · all {heads} heads", layer=scene.layer_name,
                      heads=scene.shape.heads)  # fmt: skip

    @override
    def blocks(self, scene: Scene) -> tuple[list[Block], list[str]]:
        weights, heads = scene.attention.weights, scene.shape.heads
        layer = weights[scene.state.layer - 1]
        vmax = pick_top(scene, "weight", layer.max(), layer.max())
        columns = math.ceil(math.sqrt(heads))
        panels = [layer[h] for h in range(heads)]
        names = [scene.tell(phrase("head {head}", head=h + 1)) for h in range(heads)]
        rows = [panels[i : i + columns] for i in range(0, heads, columns)]
        titles = [names[i : i + columns] for i in range(0, heads, columns)]
        queries, keys = grid_axes(scene.attention, set())
        grid = Grid(
            rows,
            vmax,
            thumbnail_side(scene.longest, 120, 768),
            titles,
            queries=queries,
            keys=keys,
            caption=scene.tell(scene.scale_note(vmax)),
        )
        return [GridBlock(grid)], [scene.tell(scene.axes_note)]

    @override
    def table(self, scene: Scene) -> tuple[str, str]:
        layer = scene.state.layer - 1
        return "heads.csv", long_table(scene.attention, range(layer, layer + 1), scene.column)
