"""/compare as a live reply: both models' layers stepped together, by relative depth."""

from __future__ import annotations

import pytest

from commands.comparison.compare import COMPARE, compare
from commands.comparison.sides import Side
from tests.pictures import assert_drawn


@pytest.mark.parametrize(
    ("before", "action", "after"),
    [(6, "next", 1), (1, "previous", 6), (3, "next", 4), (3, "previous", 2)],
)
def test_steps_wrap_around_the_deeper_model(before, action, after):
    state = {"text": "t", "models": ["a", "b"], "depth": before, "deepest": 6}
    assert COMPARE.step(state, action) == {**state, "depth": after}


@pytest.mark.parametrize(
    ("layers", "depth", "deepest", "layer"),
    [(6, 4, 6, 4), (2, 6, 6, 2), (2, 3, 6, 1), (2, 1, 6, 1), (3, 5, 6, 2)],
)
def test_the_other_model_shows_the_layer_at_the_same_relative_depth(layers, depth, deepest, layer):
    side = Side("m", layers, 4, None, 0, 0, (), None)  # type: ignore[arg-type]
    assert side.layer_at(depth, deepest) == layer


async def test_compare_steps_both_models_layers(ctx):
    reply = await compare(ctx, "The cat sat on the mat.", "tiny", "minilm")
    assert reply.live is not None
    assert reply.live.state == {
        "text": "The cat sat on the mat.", "models": ["tiny", "minilm"], "depth": 6, "deepest": 6
    }  # fmt: skip
    stepped = await COMPARE.show(ctx, COMPARE.step(reply.live.state, "next"))
    assert stepped.content == reply.content  # the same tokens and configs; another picture
    assert stepped.attachments[0].data != reply.attachments[0].data
    assert_drawn(stepped.attachments[0].data)
