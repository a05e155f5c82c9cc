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
from explorer.i18n import phrase

BAND = 32  # the token view wraps its columns into bands of this many


class TokenView(CyclingView):
    """What one token attends to, in every layer."""

    name = "token"
    description = phrase("one token across layers")
    actions = LAYER_ACTIONS | HEAD_ACTIONS | TOKEN_ACTIONS
    windowed = True

    @override
    def detail(self, scene: Scene) -> str:
        state = scene.state
        label = scene.query_label(state.token)
        return phrase("{unit} {token} “{label}” · {head}", unit=scene.unit, token=state.token,
                      label=label, head=scene.head_name(state.head))  # fmt: skip

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
        layers = layer_names(scene.shape.layers, scene.language)
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
        attends = phrase(
            "what {unit} {token} attends to in each layer ({head}) · {scale}",
            unit=scene.unit,
            token=scene.state.token,
            head=scene.head_name(scene.state.head),
            scale=scene.scale_note(vmax),
        )
        notes = [scene.tell(attends)]
        if scene.windows > 1:
            shown = {"first": span.start, "last": span.stop - 1, "count": len(keys)}
            if scene.state.granularity == "word":
                notes.append(scene.tell(phrase("words {first}–{last} of {count}", **shown)))
            else:
                notes.append(scene.tell(phrase("tokens {first}–{last} of {count}", **shown)))
        return blocks, notes

    @override
    def table(self, scene: Scene) -> tuple[str, str]:
        layers = layer_names(scene.shape.layers)
        return "token.csv", matrix_table(self.values(scene), layers, scene.attention.keys.tokens)
