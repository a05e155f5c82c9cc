"""The rollout view: attention followed through the layers."""

from __future__ import annotations

import numpy as np
import pytest

from commands.attention.attention_math import rollout
from commands.attention.exploration import Shape, ViewState
from commands.attention.views import enabled, step
from tests.attention_toy import LAYER, TOY, WINDOW, colour_top, drawn_title_and_rows


def test_steps_and_controls():
    shape = TOY.attention("self", "token").shape
    assert step(ViewState("rollout", 2, 0, 0), "layer+", shape) == ViewState("rollout", 1, 0, 0)
    assert enabled(ViewState("rollout", 1, 0, 0), Shape(2, 3, 5, 5)) == LAYER
    assert enabled(ViewState("rollout", 1, 0, 0), Shape(2, 3, 300, 300)) == LAYER | WINDOW


def test_rollout_of_pure_self_attention_is_identity_and_rows_are_distributions():
    eye = np.broadcast_to(np.eye(4, dtype=np.float32), (3, 2, 4, 4))
    np.testing.assert_allclose(rollout(eye, 3), np.eye(4), atol=1e-6)
    rolled = rollout(TOY.weights, 2)
    np.testing.assert_allclose(rolled.sum(axis=-1), 1.0, atol=1e-5)
    first = (TOY.weights[0].mean(axis=0) + np.eye(5)) / 2
    second = (TOY.weights[1].mean(axis=0) + np.eye(5)) / 2
    np.testing.assert_allclose(rolled, second @ first, atol=1e-5)


def test_title_and_csv():
    title, rows = drawn_title_and_rows(ViewState("rollout", 1, 0, 0))
    assert title == "toy · attention rollout through layers 1–1"
    assert len(rows) == 1 + 5


@pytest.mark.parametrize(
    ("scale", "expected"),
    [
        ("model", max(rollout(TOY.weights, n).max() for n in (1, 2))),
        ("picture", rollout(TOY.weights, 2).max()),
    ],
)
def test_the_colour_scale_tops_at_what_its_scale_says(scale, expected):
    assert colour_top("rollout", scale) == pytest.approx(float(expected))
