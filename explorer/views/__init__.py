"""The attention views and the state transitions of their controls."""

from __future__ import annotations

from explorer.contract import UserError
from explorer.exploration import Shape, ViewState
from explorer.text import quote_inline
from explorer.views.catalog import VIEWS, Scene, View, scene_of

VIEW_CHOICES = tuple((f"{name}: {view.description}", name) for name, view in VIEWS.items())


def view_of(state: ViewState) -> View:
    """The view a state shows."""
    return VIEWS[state.view]


def switch_view(state: ViewState, name: str) -> ViewState:
    """The state shown after choosing view `name` in the menu."""
    if name not in VIEWS:
        raise UserError(f"Unknown view {quote_inline(name, 40)}. Views: {', '.join(VIEWS)}.")
    return VIEWS[name].enter(state)


def step(state: ViewState, action: str, shape: Shape) -> ViewState:
    """The state after pressing `action`; layers, heads and tokens wrap around."""
    return view_of(state).step(state, action, shape)


def enabled(state: ViewState, shape: Shape) -> frozenset[str]:
    """The actions that change something in this state's view, for this shape."""
    return view_of(state).enabled(shape)


__all__ = [
    "VIEWS",
    "VIEW_CHOICES",
    "Scene",
    "View",
    "enabled",
    "scene_of",
    "step",
    "switch_view",
    "view_of",
]
