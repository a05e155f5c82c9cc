"""The mean view: the heads of one layer, averaged."""

from __future__ import annotations

import pytest

from commands.attention.exploration import Shape, ViewState
from commands.attention.views import enabled, step, switch_view
from tests.attention_toy import HEAD, LAYER, TOY, WINDOW, colour_top, drawn_title_and_rows


@pytest.mark.parametrize(
    ("state", "action", "expected"),
    [
        (ViewState("mean", 1, 0, 0), "layer+", ViewState("mean", 2, 0, 0)),
        (ViewState("mean", 1, 0, 0), "head+", ViewState("head", 1, 1, 0)),  # the first head
        (ViewState("mean", 1, 0, 0), "head-", ViewState("head", 1, 3, 0)),  # the last head
    ],
)
def test_steps_and_the_head_buttons_open_the_head_view(state, action, expected):
    assert step(state, action, TOY.attention("self", "token").shape) == expected


def test_switching_to_the_head_view_from_the_mean_picks_head_one():
    assert switch_view(ViewState("mean", 2, 0, 0), "head") == ViewState("head", 2, 1, 0)


def test_controls():
    assert enabled(ViewState("mean", 1, 0, 0), Shape(2, 3, 5, 5)) == LAYER | HEAD
    assert enabled(ViewState("mean", 1, 0, 0), Shape(2, 3, 300, 300)) == LAYER | HEAD | WINDOW


def test_title_and_csv():
    title, rows = drawn_title_and_rows(ViewState("mean", 1, 3, 0))
    assert title == "toy · layer 1/2 · mean of 3 heads"
    assert len(rows) == 1 + 5


@pytest.mark.parametrize(
    ("scale", "expected"),
    [("model", TOY.weights.mean(axis=1).max()), ("picture", TOY.weights[1].mean(axis=0).max())],
)
def test_the_colour_scale_tops_at_what_its_scale_says(scale, expected):
    assert colour_top("mean", scale) == pytest.approx(float(expected))
