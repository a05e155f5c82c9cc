"""The rollout view: attention followed through the layers up to the chosen one."""

from __future__ import annotations

import numpy as np
from typing_extensions import override

from commands.attention.attention_math import rollout
from commands.attention.views.base import LAYER_ACTIONS, MatrixView, Scene, pick_top
from explorer.contract import UserError
from explorer.i18n import phrase


class RolloutView(MatrixView):
    """Attention rollout through the chosen layer."""

    name = "rollout"
    description = phrase("attention rollout")
    actions = LAYER_ACTIONS
    refuses_norms = phrase(
        "Rollout mixes each layer's attention with the residual path and multiplies the "
        "layers, which needs rows that sum to 1, as weights do; value-weighted norms are in "
        "the hidden state's units and do not. Use `weighting:weights` for a rollout."
    )

    @override
    def detail(self, scene: Scene) -> str:
        return phrase("attention rollout through layers 1–{layer}", layer=scene.state.layer)

    @override
    def measure(self, scene: Scene) -> str:
        return phrase("share of each input token after the layers (rollout)")

    @override
    def values(self, scene: Scene) -> np.ndarray:
        if not scene.attention.square:
            raise UserError(
                phrase(
                    "Rollout follows attention through the layers of one stack; "
                    "cross-attention joins two stacks. Choose `part:encoder` or "
                    "`part:decoder` for a rollout."
                )
            )
        return rollout(scene.attention.weights, scene.state.layer)

    @override
    def span(self, scene: Scene, values: np.ndarray) -> float:
        return pick_top(scene, "rollout", values.max(), values.max())
