"""The live-reply protocol: a reply the whole channel steps through with buttons and menus.

A live reply is a kind's name and a JSON-serialisable state (`Live`, carried by `Reply.live`).
A kind, declared once in its feature's package, gives the controls a state offers (buttons
and menus, each naming its action), a pure `step` from a state and an action to the next
state, and `render`, which makes the reply for a state (it may compute, through the
`Context`). The bot turns the controls into Discord components and routes their presses back
here by action name; the console steps the same actions typed; the store keeps the state.
Nothing here knows a feature, or Discord.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace

from explorer.contract import Context, Live, Reply, State, UserError
from explorer.i18n import phrase
from explorer.text import quote_inline


@dataclass(frozen=True)
class Button:
    """A button: pressing it does `action`."""

    action: str
    label: str
    row: int = 0
    disabled: bool = False


@dataclass(frozen=True)
class Choice:
    """One option of a menu: the value its action receives."""

    value: str
    label: str
    description: str = ""
    default: bool = False  # the one shown as chosen


@dataclass(frozen=True)
class Menu:
    """A menu: choosing one of its options does `action` with that option's value."""

    action: str
    choices: tuple[Choice, ...]
    placeholder: str = ""
    row: int = 0
    disabled: bool = False


Control = Button | Menu


@dataclass(frozen=True)
class Kind:
    """A kind of live reply: its name, the controls a state offers, how an action changes a
    state (`transition`, pure; a menu's action gets the chosen value) and how a state is
    shown (`render`)."""

    name: str
    controls: Callable[[State], tuple[Control, ...]]
    transition: Callable[[State, str, str | None], State]
    render: Callable[[Context, State], Awaitable[Reply]]

    def step(self, state: State, action: str, value: str | None = None) -> State:
        """The state after `action` (a menu's with the chosen `value`); a `UserError` for an
        action this state does not offer."""
        offered = {control.action for control in self.controls(state) if not control.disabled}
        if action not in offered:
            shown = quote_inline(action, 30)
            available = ", ".join(sorted(offered)) or phrase("none")
            raise UserError(
                phrase("{shown} does nothing here now. Available: {available}.", shown=shown,
                       available=available)
            )  # fmt: skip
        return self.transition(state, action, value)

    async def show(self, ctx: Context, state: State) -> Reply:
        """The reply for a state, carrying the live reply (as `render` left it, or this
        state) for its controls."""
        reply = await self.render(ctx, state)
        return reply if reply.live is not None else replace(reply, live=Live(self.name, state))


def previous_next(what: str, row: int = 0) -> tuple[Button, Button]:
    """Buttons stepping back and forth through `what` (a mask, a position, a layer: a
    `phrase`): actions `previous` and `next`, which `cycle` applies."""
    return back_forth("previous", "next", what, row)


def back_forth(back: str, forth: str, what: str, row: int = 0) -> tuple[Button, Button]:
    """Two buttons stepping `what` (a `phrase`) back with action `back` and forth with
    `forth`, their labels told where they are shown."""
    return (
        Button(back, phrase("◀ {what}", what=what), row),
        Button(forth, phrase("{what} ▶", what=what), row),
    )


def cycle(current: int, count: int, action: str) -> int:
    """The index after `previous` or `next` among `count` (wrapping around)."""
    return (current + (1 if action == "next" else -1)) % count


def kinds_by_name(kinds: tuple[Kind, ...]) -> Mapping[str, Kind]:
    """The kinds by their names (each name once)."""
    named = {kind.name: kind for kind in kinds}
    if len(named) != len(kinds):
        raise ValueError("two live kinds share a name")
    return named


def typed_step(kind: Kind, state: State, typed: str) -> tuple[str, str | None]:
    """What a typed word asks of a live reply: a button's action (`layer+`, `next`), or a menu
    choice by its value (a view's name, a page number); a `UserError` listing what can be
    typed otherwise."""
    word = typed.strip()
    for control in kind.controls(state):
        if control.disabled:
            continue
        if isinstance(control, Button) and control.action == word:
            return control.action, None
        if isinstance(control, Menu) and word in {choice.value for choice in control.choices}:
            return control.action, word
    raise UserError(
        phrase("{word} is not a step here. {steps}", word=quote_inline(word, 30),
               steps=typeable(kind, state))
    )  # fmt: skip


def typeable(kind: Kind, state: State) -> str:
    """The steps a live reply offers now, as they can be typed."""
    buttons: list[str] = []
    menus: list[str] = []
    for control in kind.controls(state):
        if control.disabled:
            continue
        if isinstance(control, Button):
            buttons.append(control.action)
        else:
            values = ", ".join(choice.value for choice in control.choices if not choice.default)
            menus.append(f"{control.action}: {values}")
    parts = ([", ".join(buttons)] if buttons else []) + menus
    return (
        phrase("Steps: {steps}.", steps=" · ".join(parts))
        if parts
        else phrase("It has no steps now.")
    )
