"""The mean view: the heads of one layer, averaged."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from typing_extensions import override

from commands.attention.exploration import Shape, ViewState
from commands.attention.views.base import HEAD_ACTIONS, LAYER_ACTIONS, MatrixView, Scene, pick_top
from explorer.i18n import phrase


class MeanView(MatrixView):
    """The heads of one layer, averaged."""

    name = "mean"
    description = phrase("mean of a layer's heads")
    actions = LAYER_ACTIONS | HEAD_ACTIONS

    @override
    def detail(self, scene: Scene) -> str:
        return phrase("{layer} · {head}", layer=scene.layer_name, head=scene.head_name(0))

    @override
    def measure(self, scene: Scene) -> str:
        return phrase("{quantity}, mean of the heads", quantity=scene.quantity)

    @override
    def values(self, scene: Scene) -> np.ndarray:
        return scene.attention.weights[scene.state.layer - 1].mean(axis=0)

    @override
    def span(self, scene: Scene, values: np.ndarray) -> float:
        return pick_top(scene, "mean", values.max(), values.max())

    @override
    def step(self, state: ViewState, action: str, shape: Shape) -> ViewState:
        """Head ▶ and ◀ open the head view at the first and the last head."""
        if action in HEAD_ACTIONS:
            return replace(state, view="head", head=1 if action == "head+" else shape.heads)
        return super().step(state, action, shape)
