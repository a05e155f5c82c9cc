"""The token view: what one token attends to, in every layer."""

from __future__ import annotations

import numpy as np
import pytest

from commands.attention.attention_math import token_profile
from commands.attention.exploration import Shape, ViewState
from commands.attention.views import enabled, step
from tests.attention_toy import HEAD, LAYER, TOKEN, TOY, WINDOW, drawn_title_and_rows


@pytest.mark.parametrize(
    ("state", "action", "expected"),
    [
        (ViewState("token", 1, 3, 2), "head+", ViewState("token", 1, 0, 2)),  # back to the mean
        (ViewState("token", 1, 0, 2), "head-", ViewState("token", 1, 3, 2)),
        (ViewState("token", 1, 0, 4), "token+", ViewState("token", 1, 0, 0)),  # wraps
        (ViewState("token", 1, 0, 0), "token-", ViewState("token", 1, 0, 4)),
    ],
)
def test_steps(state, action, expected):
    assert step(state, action, TOY.attention("self", "token").shape) == expected


def test_controls():
    assert enabled(ViewState("token", 1, 0, 0), Shape(2, 3, 5, 5)) == LAYER | HEAD | TOKEN
    long = LAYER | HEAD | TOKEN | WINDOW
    assert enabled(ViewState("token", 1, 0, 0), Shape(2, 3, 300, 300)) == long


def test_token_profile():
    np.testing.assert_allclose(token_profile(TOY.weights, 2, None), TOY.weights[:, :, 2].mean(1))
    np.testing.assert_allclose(token_profile(TOY.weights, 2, 3), TOY.weights[:, 2, 2])


def test_title_and_csv_of_a_row_per_layer():
    title, rows = drawn_title_and_rows(ViewState("token", 1, 0, 2))
    assert title == "toy · token 2 “cat” · mean of 3 heads"
    assert [row[0] for row in rows] == ["", "layer 1", "layer 2"]
