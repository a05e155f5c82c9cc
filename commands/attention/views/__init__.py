"""The attention views, in the chat's menu order, and the state transitions of their controls.
A new view is one module here (a `View` subclass, see `base`) and one line in `VIEWS`."""

from __future__ import annotations

from commands.attention.exploration import Shape, ViewState
from commands.attention.views.base import Scene, View, scene_of
from commands.attention.views.head import HeadView
from commands.attention.views.heads import HeadsView
from commands.attention.views.links import LinksView
from commands.attention.views.mean import MeanView
from commands.attention.views.model import ModelView
from commands.attention.views.rollout import RolloutView
from commands.attention.views.summary import SummaryView
from commands.attention.views.token import TokenView
from explorer.contract import UserError
from explorer.i18n import phrase
from explorer.text import quote_inline

VIEWS: dict[str, View] = {
    view.name: view
    for view in (
        HeadView(),
        MeanView(),
        HeadsView(),
        ModelView(),
        RolloutView(),
        TokenView(),
        LinksView(),
        SummaryView(),
    )
}

VIEW_CHOICES = tuple((f"{name}: {view.description}", name) for name, view in VIEWS.items())


def view_of(state: ViewState) -> View:
    """The view a state shows."""
    return VIEWS[state.view]


def switch_view(state: ViewState, name: str) -> ViewState:
    """The state shown after choosing view `name` in the menu."""
    if name not in VIEWS:
        raise UserError(
            phrase("Unknown view {shown}. Views: {views}.", shown=quote_inline(name, 40),
                   views=", ".join(VIEWS))
        )  # fmt: skip
    return VIEWS[name].enter(state)


def shows(name: str, weighting: str) -> bool:
    """Whether view `name` makes sense with this weighting (all do with weights)."""
    return weighting != "norm" or not VIEWS[name].refuses_norms


def check_weighting(name: str, weighting: str) -> None:
    """Refuse a view that makes no sense with this weighting, saying why."""
    if not shows(name, weighting):
        raise UserError(VIEWS[name].refuses_norms)


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
    "check_weighting",
    "enabled",
    "scene_of",
    "shows",
    "step",
    "switch_view",
    "view_of",
]
