"""The attention exploration as a live kind: a view menu, and buttons stepping layers, heads,
tokens and windows, each through the state's view."""

from __future__ import annotations

from dataclasses import replace

from commands.attention.exploration import KIND, explored_of, state_of
from commands.attention.explore import show
from commands.attention.views import VIEWS, enabled, shows, step, switch_view
from commands.attention.views.base import STEPPED, STEPPED_NAMES
from explorer.contract import Context, Reply, State
from explorer.i18n import phrase
from explorer.live import Choice, Control, Kind, Menu, back_forth


def controls(state: State) -> tuple[Control, ...]:
    """The view menu, then the stepping buttons: the first row's always (disabled where the
    view does not step them), the second row's only as the view needs them."""
    explored = explored_of(state)
    shown = explored.state.view
    weighting = explored.subject.weighting
    menu = Menu(
        "view",
        tuple(
            Choice(name, name, view.description, name == shown)
            for name, view in VIEWS.items()
            if shows(name, weighting)
        ),
        phrase("Choose a view"),
    )
    active = enabled(explored.state, explored.shape)
    buttons = tuple(
        replace(button, disabled=button.action not in active)
        for stepped, row in STEPPED.items()
        for button in back_forth(f"{stepped}-", f"{stepped}+", STEPPED_NAMES[stepped], row)
        if row == 1 or button.action in active
    )
    return (menu, *buttons)


def transition(state: State, action: str, value: str | None) -> State:
    """The state after choosing a view in the menu, or pressing an arrow (layers, heads,
    tokens and windows wrap around)."""
    explored = explored_of(state)
    if action == "view":
        shown = switch_view(explored.state, value or "")
    else:
        shown = step(explored.state, action, explored.shape)
    return state_of(replace(explored, state=shown))


async def render(ctx: Context, state: State) -> Reply:
    """The reply for a state: its exploration computed again if it is no longer kept."""
    return await show(ctx, explored_of(state))


ATTENTION = Kind(KIND, controls, transition, render)
