"""The attention exploration as a live kind: its state as JSON, its controls and its steps."""

from __future__ import annotations

import json

import pytest

from commands.attention.exploration import (
    Explored,
    Shape,
    Subject,
    ViewState,
    explored_of,
    state_of,
)
from commands.attention.kind import ATTENTION
from explorer.contract import UserError
from explorer.live import Button, Menu

SHAPE = Shape(layers=6, heads=12, tokens=8, keys=8)
LONG = Shape(layers=6, heads=12, tokens=200, keys=200)


def state(view: str = "mean", layer: int = 6, head: int = 0, token: int = 1, shape=SHAPE):
    subject = Subject("minilm", "I am studying NLP.", None, None)
    return state_of(Explored(subject, ViewState(view, layer, head, token), shape))


def shown(state_: dict) -> ViewState:
    return explored_of(state_).state


def test_the_state_is_json_and_reads_back_equal():
    kept = state("token", 2, 3, 4)
    assert json.loads(json.dumps(kept)) == kept
    assert explored_of(kept).subject.text == "I am studying NLP."


def test_a_state_kept_by_an_older_version_reads_with_defaults():
    old = {**state(), "shown": {"view": "head", "layer": 1, "head": 2, "token": 0, "gone": 1}}
    assert shown(old) == ViewState("head", 1, 2, 0)


@pytest.mark.parametrize(
    ("before", "action", "value", "after"),
    [
        (state("mean", 6), "layer+", None, ViewState("mean", 1, 0, 1)),
        (state("mean", 1), "layer-", None, ViewState("mean", 6, 0, 1)),
        (state("mean", 2), "head+", None, ViewState("head", 2, 1, 1)),
        (state("mean", 2), "head-", None, ViewState("head", 2, 12, 1)),
        (state("head", 2, 12), "head+", None, ViewState("head", 2, 1, 1)),
        (state("token", 2, 0, 7), "token+", None, ViewState("token", 2, 0, 0)),
        (state("token", 2, 12), "head+", None, ViewState("token", 2, 0, 1)),
        (state("model", 1), "layer+", None, ViewState("model", 5, 0, 1)),
        (state("mean", 2), "view", "heads", ViewState("heads", 2, 0, 1)),
        (state("mean", 2), "view", "head", ViewState("head", 2, 1, 1)),
        (state("head", 1, 1, 0, LONG), "window+", None, ViewState("head", 1, 1, 0, window=1)),
    ],
)
def test_steps(before, action, value, after):
    assert shown(ATTENTION.step(before, action, value)) == after


@pytest.mark.parametrize(
    ("before", "action", "value", "message"),
    [
        (state("heads"), "head+", None, "`head\\+` does nothing here now"),
        (state("summary"), "layer+", None, "Available: view"),
        (state("mean"), "token+", None, "`token\\+` does nothing here now"),
        (state("mean"), "window+", None, "`window\\+` does nothing here now"),
        (state("mean"), "view", "sideways", "Unknown view `sideways`"),
    ],
)
def test_steps_the_state_does_not_offer_are_refused(before, action, value, message):
    with pytest.raises(UserError, match=message):
        ATTENTION.step(before, action, value)


def test_controls_the_menu_then_the_buttons_the_view_needs():
    menu, *buttons = ATTENTION.controls(state("mean"))
    assert isinstance(menu, Menu) and menu.action == "view" and menu.placeholder
    assert [(c.value, c.default) for c in menu.choices][:3] == [
        ("head", False), ("mean", True), ("heads", False)
    ]  # fmt: skip
    assert buttons == [
        Button("layer-", "◀ layer", 1),
        Button("layer+", "layer ▶", 1),
        Button("head-", "◀ head", 1),
        Button("head+", "head ▶", 1),
    ]
    _, *heads = ATTENTION.controls(state("heads"))
    assert [(b.action, b.disabled) for b in heads if isinstance(b, Button)] == [
        ("layer-", False), ("layer+", False), ("head-", True), ("head+", True)
    ]  # fmt: skip
    _, *long = ATTENTION.controls(state("token", shape=LONG))
    assert [b.action for b in long if isinstance(b, Button) and b.row == 2] == [
        "token-", "token+", "window-", "window+"
    ]  # fmt: skip
