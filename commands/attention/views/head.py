"""The head view: one head of one layer."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from typing_extensions import override

from commands.attention.exploration import ViewState
from commands.attention.views.base import HEAD_ACTIONS, LAYER_ACTIONS, MatrixView, Scene, pick_top


class HeadView(MatrixView):
    """One head of one layer."""

    name = "head"
    description = "one head of a layer"
    actions = LAYER_ACTIONS | HEAD_ACTIONS
    measure = "{quantity}"

    @override
    def detail(self, scene: Scene) -> str:
        return f"{scene.layer_name} · {scene.head_name(scene.state.head)}"

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
