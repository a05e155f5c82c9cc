"""The live-reply protocol: a kind's controls, its checked steps, and typed steps."""

from __future__ import annotations

import pytest

from explorer.contract import Live, Reply, State, UserError
from explorer.live import Button, Choice, Control, Kind, Menu, kinds_by_name, typeable, typed_step


def pages_controls(state: State) -> tuple[Control, ...]:
    page, pages = state["page"], state["pages"]
    choices = tuple(Choice(str(n), f"page {n}", default=n == page) for n in range(1, pages + 1))
    return (
        Menu("page", choices),
        Button("previous", "◀", disabled=page == 1),
        Button("next", "▶", disabled=page == pages),
    )


def pages_transition(state: State, action: str, value: str | None) -> State:
    page = {"next": state["page"] + 1, "previous": state["page"] - 1}.get(action)
    return {**state, "page": int(value or 0) if page is None else page}


async def pages_render(ctx, state: State) -> Reply:
    return Reply(f"page {state['page']} of {state['pages']}")


PAGES = Kind("pages", pages_controls, pages_transition, pages_render)


@pytest.mark.parametrize(
    ("page", "action", "value", "after"),
    [
        (1, "next", None, 2),
        (2, "previous", None, 1),
        (1, "page", "3", 3),
        (3, "page", "1", 1),
    ],
)
def test_a_step_the_state_offers_changes_it(page, action, value, after):
    assert PAGES.step({"page": page, "pages": 3}, action, value) == {"page": after, "pages": 3}


@pytest.mark.parametrize(
    ("page", "action", "message"),
    [
        (3, "next", "^`next` does nothing here now. Available: page, previous.$"),
        (1, "previous", "^`previous` does nothing here now. Available: next, page.$"),
        (1, "sideways", "^`sideways` does nothing here now"),
    ],
)
def test_a_step_the_state_does_not_offer_is_refused(page, action, message):
    with pytest.raises(UserError, match=message):
        PAGES.step({"page": page, "pages": 3}, action)


async def test_show_carries_the_live_reply_for_its_controls():
    reply = await PAGES.show(None, {"page": 2, "pages": 3})  # type: ignore[arg-type]
    assert reply == Reply("page 2 of 3", (), Live("pages", {"page": 2, "pages": 3}))


@pytest.mark.parametrize(
    ("typed", "step"),
    [("next", ("next", None)), (" 3 ", ("page", "3")), ("1", ("page", "1"))],
)
def test_typed_words_are_a_buttons_action_or_a_menus_choice(typed, step):
    assert typed_step(PAGES, {"page": 1, "pages": 3}, typed) == step


def test_typed_words_that_step_nothing_list_the_steps():
    steps = r"^`previous` is not a step here. Steps: next · page: 2, 3\.$"
    with pytest.raises(UserError, match=steps):
        typed_step(PAGES, {"page": 1, "pages": 3}, "previous")
    assert typeable(PAGES, {"page": 2, "pages": 3}) == "Steps: previous, next · page: 1, 3."


def test_kinds_are_found_by_their_unique_names():
    assert kinds_by_name((PAGES,)) == {"pages": PAGES}
    with pytest.raises(ValueError, match="share a name"):
        kinds_by_name((PAGES, PAGES))
