"""The token view: what one token attends to, in every layer."""

from __future__ import annotations

import numpy as np
from typing_extensions import override

from commands.attention.attention_math import token_profile
from commands.attention.views.base import (
    HEAD_ACTIONS,
    LAYER_ACTIONS,
    TOKEN_ACTIONS,
    CyclingView,
    Scene,
    layer_names,
    pick_top,
)
from commands.attention.views.tables import matrix_table
from explorer.drawing.matrix import Matrix, MatrixBlock
from explorer.drawing.page import Block

BAND = 32  # the token view wraps its columns into bands of this many


class TokenView(CyclingView):
    """What one token attends to, in every layer."""

    name = "token"
    description = "one token across layers"
    actions = LAYER_ACTIONS | HEAD_ACTIONS | TOKEN_ACTIONS
    windowed = True

    @override
    def detail(self, scene: Scene) -> str:
        state = scene.state
        label = scene.query_label(state.token)
        return f"{scene.unit} {state.token} “{label}” · {scene.head_name(state.head)}"

    def values(self, scene: Scene) -> np.ndarray:
        """What the token attends to: (layers, keys)."""
        state = scene.state
        return token_profile(scene.attention.weights, state.token, state.head or None)

    @override
    def blocks(self, scene: Scene) -> tuple[list[Block], list[str]]:
        values = self.values(scene)
        vmax = pick_top(scene, "weight" if scene.state.head else "mean", values.max(), values.max())
        keys = scene.attention.keys
        span = scene.window_range(len(keys))
        marked = {scene.state.token} if scene.attention.square else set()
        layers = layer_names(scene.shape.layers)
        blocks: list[Block] = []
        for start in range(span.start, span.stop, BAND):
            stop = min(start + BAND, span.stop)
            inside = keys.boundary is not None and start <= keys.boundary < stop
            boundary = keys.boundary - start if inside and keys.boundary is not None else None
            matrix = Matrix(
                values[:, start:stop],
                layers,
                keys.labels[start:stop],
                vmax,
                col_special=keys.special[start:stop],
                col_boundary=boundary,
                col_marked={m - start for m in marked if start <= m < stop},
                min_cell=18,
                max_cell=18,
                show_scale=start == span.start,
            )
            blocks.append(MatrixBlock(matrix))
        notes = [
            f"what {scene.unit} {scene.state.token} attends to in each layer "
            f"({scene.head_name(scene.state.head)}) · {scene.scale_note(vmax)}"
        ]
        if scene.windows > 1:
            notes.append(f"{scene.unit}s {span.start}–{span.stop - 1} of {len(keys)}")
        return blocks, notes

    @override
    def table(self, scene: Scene) -> tuple[str, str]:
        layers = layer_names(scene.shape.layers)
        return "token.csv", matrix_table(self.values(scene), layers, scene.attention.keys.tokens)
