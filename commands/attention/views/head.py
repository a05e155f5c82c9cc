"""The head view: one head of one layer."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from typing_extensions import override

from commands.attention.exploration import ViewState
from commands.attention.views.base import HEAD_ACTIONS, LAYER_ACTIONS, MatrixView, Scene, pick_top
from explorer.i18n import phrase


class HeadView(MatrixView):
    """One head of one layer."""

    name = "head"
    description = phrase("one head of a layer")
    actions = LAYER_ACTIONS | HEAD_ACTIONS

    @override
    def detail(self, scene: Scene) -> str:
        return phrase("{layer} · {head}", layer=scene.layer_name,
                      head=scene.head_name(scene.state.head))  # fmt: skip

    @override
    def measure(self, scene: Scene) -> str:
        return scene.quantity

    @override
    def values(self, scene: Scene) -> np.ndarray:
        return scene.attention.weights[scene.state.layer - 1, scene.state.head - 1]

    @override
    def span(self, scene: Scene, values: np.ndarray) -> float:
        layer = scene.attention.weights[scene.state.layer - 1]
        return pick_top(scene, "weight", layer.max(), values.max())

    @override
    def enter(self, state: ViewState) -> ViewState:
        return replace(state, view=self.name, head=state.head or 1)
