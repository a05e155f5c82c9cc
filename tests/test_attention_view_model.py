"""The model view: every layer × head, a page of layers at a time."""

from __future__ import annotations

import pytest

from commands.attention.exploration import Shape, ViewState
from commands.attention.views import enabled, step
from tests.attention_toy import LAYER, TOY, drawn_title_and_rows


@pytest.mark.parametrize(
    ("state", "action", "expected"),
    [
        (ViewState("model", 1, 0, 0), "layer+", ViewState("model", 5, 0, 0)),  # next page
        (ViewState("model", 9, 0, 0), "layer+", ViewState("model", 1, 0, 0)),  # wraps
        (ViewState("model", 1, 0, 0), "layer-", ViewState("model", 9, 0, 0)),
    ],
)
def test_the_layer_buttons_turn_pages_of_four_layers(state, action, expected):
    assert step(state, action, Shape(10, 3, 300, 300)) == expected  # 3 pages


def test_one_page_only_stays():
    shape = TOY.attention("self", "token").shape
    assert step(ViewState("model", 1, 0, 0), "layer+", shape) == ViewState("model", 1, 0, 0)
    assert enabled(ViewState("model", 1, 0, 0), Shape(2, 3, 300, 300)) == LAYER


def test_title_and_csv_of_every_weight():
    title, rows = drawn_title_and_rows(ViewState("model", 2, 1, 2))
    assert title == "toy · 2 layers × 3 heads"
    assert len(rows) == 1 + 2 * 3 * 25
