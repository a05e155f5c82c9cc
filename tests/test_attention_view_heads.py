"""The heads view: every head of one layer, as a grid."""

from __future__ import annotations

from commands.attention.exploration import Shape, ViewState
from commands.attention.views import enabled, step
from tests.attention_toy import LAYER, TOY, drawn_title_and_rows


def test_the_layer_buttons_step_and_the_head_buttons_do_nothing():
    shape = TOY.attention("self", "token").shape
    assert step(ViewState("heads", 1, 0, 0), "layer+", shape) == ViewState("heads", 2, 0, 0)
    assert step(ViewState("heads", 1, 0, 0), "head+", shape) == ViewState("heads", 1, 0, 0)
    assert enabled(ViewState("heads", 1, 0, 0), Shape(2, 3, 5, 5)) == LAYER
    assert enabled(ViewState("heads", 1, 0, 0), Shape(2, 3, 300, 300)) == LAYER  # not windowed


def test_title_and_csv_of_every_weight_of_the_layer():
    title, rows = drawn_title_and_rows(ViewState("heads", 2, 1, 2))
    assert title == "toy · layer 2/2 · all 3 heads"
    assert rows[0] == ["layer", "head", "query", "query_token", "key", "key_token", "weight"]
    assert len(rows) == 1 + 3 * 25 and {row[0] for row in rows[1:]} == {"2"}
