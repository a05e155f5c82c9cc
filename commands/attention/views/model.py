"""The model view: every layer × head as thumbnails, a page of layers at a time."""

from __future__ import annotations

import math
from dataclasses import replace

from typing_extensions import override

from commands.attention.exploration import Shape, ViewState
from commands.attention.views.base import (
    LAYER_ACTIONS,
    Scene,
    View,
    grid_axes,
    head_names,
    layer_names,
    pick_top,
    thumbnail_side,
)
from commands.attention.views.tables import long_table
from explorer.drawing.grid import Grid, GridBlock
from explorer.drawing.page import Block
from explorer.i18n import phrase

MODEL_PAGE = 4  # layers on one page of the model view


class ModelView(View):
    """Every layer × head, as thumbnails, a page of layers at a time."""

    name = "model"
    description = phrase("every layer × head")
    actions = LAYER_ACTIONS

    @staticmethod
    def page(scene: Scene) -> range:
        """The layers (0-based) on the page holding the state's layer."""
        first = (scene.state.layer - 1) // MODEL_PAGE * MODEL_PAGE
        return range(first, min(first + MODEL_PAGE, scene.shape.layers))

    @override
    def detail(self, scene: Scene) -> str:
        page = self.page(scene)
        if len(page) == scene.shape.layers:
            return scene.model_shape
        return phrase(
            "layers {first}–{last} of {layers} × {heads} heads",
            first=page.start + 1,
            last=page.stop,
            layers=scene.shape.layers,
            heads=scene.shape.heads,
        )

    @override
    def blocks(self, scene: Scene) -> tuple[list[Block], list[str]]:
        weights, heads = scene.attention.weights, scene.shape.heads
        page = self.page(scene)
        shown = weights[page.start : page.stop]
        vmax = pick_top(scene, "weight", shown.max(), shown.max())
        queries, keys = grid_axes(scene.attention, set())
        grid = Grid(
            [[weights[layer, h] for h in range(heads)] for layer in page],
            vmax,
            thumbnail_side(scene.longest, 96, 160, per_token=8),
            row_headers=[layer_names(scene.shape.layers, scene.language)[layer] for layer in page],
            col_headers=head_names(heads, scene.language),
            queries=queries,
            keys=keys,
            caption=scene.tell(scene.scale_note(vmax)),
        )
        notes = []
        if len(page) < scene.shape.layers:
            turns = phrase("◀ layer ▶ turns the page ({count} layers each)", count=MODEL_PAGE)
            notes.append(scene.tell(turns))
        return [GridBlock(grid)], notes

    @override
    def step(self, state: ViewState, action: str, shape: Shape) -> ViewState:
        """The layer buttons turn pages of MODEL_PAGE layers."""
        if action in LAYER_ACTIONS:
            pages = math.ceil(shape.layers / MODEL_PAGE)
            page = ((state.layer - 1) // MODEL_PAGE + (1 if action == "layer+" else -1)) % pages
            return replace(state, layer=page * MODEL_PAGE + 1)
        return state

    @override
    def table(self, scene: Scene) -> tuple[str, str]:
        return "model.csv", long_table(scene.attention, range(scene.shape.layers), scene.column)
