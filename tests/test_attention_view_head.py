"""The head view: one head of one layer."""

from __future__ import annotations

import numpy as np
import pytest

from commands.attention.exploration import Shape, ViewState
from commands.attention.views import enabled, step
from tests.attention_toy import (
    HEAD,
    LAYER,
    TOY,
    WINDOW,
    colour_top,
    drawn_title_and_rows,
    synthetic,
)


@pytest.mark.parametrize(
    ("state", "action", "expected"),
    [
        (ViewState("head", 1, 1, 0), "layer+", ViewState("head", 2, 1, 0)),
        (ViewState("head", 2, 1, 0), "layer+", ViewState("head", 1, 1, 0)),  # wraps
        (ViewState("head", 1, 1, 0), "layer-", ViewState("head", 2, 1, 0)),
        (ViewState("head", 1, 3, 0), "head+", ViewState("head", 1, 1, 0)),
        (ViewState("head", 1, 1, 0), "head-", ViewState("head", 1, 3, 0)),
    ],
)
def test_steps(state, action, expected):
    assert step(state, action, TOY.attention("self", "token").shape) == expected


@pytest.mark.parametrize(("action", "window"), [("window+", 1), ("window-", 4)])
def test_long_inputs_step_a_window_at_a_time(action, window):
    # 300 tokens: 5 windows of 64
    stepped = step(ViewState("head", 1, 1, 0), action, Shape(10, 3, 300, 300))
    assert stepped == ViewState("head", 1, 1, 0, window=window)


def test_controls():
    assert enabled(ViewState("head", 1, 1, 0), Shape(2, 3, 5, 5)) == LAYER | HEAD
    assert enabled(ViewState("head", 1, 1, 0), Shape(2, 3, 300, 300)) == LAYER | HEAD | WINDOW


def test_title_and_the_csv_holds_the_shown_matrix():
    title, rows = drawn_title_and_rows(ViewState("head", 2, 3, 0))
    assert title == "toy · layer 2/2 · head 3/3"
    assert rows[0] == ["", "[CLS]", "the", "cat", "##s", "[SEP]"]
    values = np.array([[float(v) for v in row[1:]] for row in rows[1:]])
    np.testing.assert_allclose(values, TOY.weights[1, 2], atol=1e-6)


@pytest.mark.parametrize(
    ("scale", "expected"),
    [
        ("model", TOY.weights.max()),
        ("layer", TOY.weights[1].max()),
        ("picture", TOY.weights[1, 1].max()),
    ],
)
def test_the_colour_scale_tops_at_what_its_scale_says(scale, expected):
    assert colour_top("head", scale) == pytest.approx(float(expected))


def test_the_model_wide_top_is_computed_once_per_exploration():
    fresh = synthetic()
    first = colour_top("head", "model", layer=1, exploration=fresh)
    fresh.weights[0, 0, 0, 0] = 10.0  # were it computed again for the next press, it would move
    assert colour_top("head", "model", layer=2, exploration=fresh) == first
