"""The links view: the strongest links between ordinary tokens."""

from __future__ import annotations

import pytest

from commands.attention.exploration import Shape, ViewState
from commands.attention.views import enabled, step
from tests.attention_toy import HEAD, LAYER, drawn_title_and_rows


@pytest.mark.parametrize(
    ("state", "action", "expected"),
    [
        (ViewState("links", 1, 2, 0), "head+", ViewState("links", 1, 3, 0)),
        (ViewState("links", 1, 3, 0), "head+", ViewState("links", 1, 0, 0)),  # the mean
    ],
)
def test_the_head_buttons_cycle_through_the_mean_and_every_head(state, action, expected):
    assert step(state, action, Shape(10, 3, 300, 300)) == expected
    assert enabled(state, Shape(2, 3, 300, 300)) == LAYER | HEAD  # any length, not windowed


def test_title_and_csv_of_every_link_strongest_first():
    title, rows = drawn_title_and_rows(ViewState("links", 2, 1, 2))
    assert title == "toy · layer 2/2 · head 1/3 · strongest links"
    assert rows[0] == ["query", "query_token", "key", "key_token", "weight"]
    weights = [float(row[4]) for row in rows[1:]]
    assert len(weights) == 25 and weights == sorted(weights, reverse=True)
