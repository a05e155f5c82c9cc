"""Commands declared once: a handler's signature is its declaration.

`@command()` reads the handler's parameters after its `Context`: their names, types and
defaults, and an `Opt` in `Annotated[...]` for the description, bounds, choices and
autocompletion. The Discord registration, the console's parser and `/help` are all derived
from the resulting `Command`.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from explorer.contract import Context, Reply, UserError
from explorer.i18n import phrase
from explorer.text import quote_inline

Handler = Callable[..., Awaitable[Reply]]
# An autocompleter: (context, the options typed so far, the focused option's text) → choices
# as (label, value) pairs.
Completer = Callable[[Context, Mapping[str, Any], str], Awaitable[list[tuple[str, str]]]]

PERMISSIONS = {"manage_guild": "Manage Server"}
TEXT_LIMIT = 6000  # Discord's ceiling for a string option; handlers enforce the configured one


@dataclass(frozen=True)
class Opt:
    """How one option is described and bounded; put it in `Annotated[type, Opt(...)]`.
    `low`/`high` bound a number, or a text's length."""

    description: str
    low: int | None = None
    high: int | None = None
    choices: tuple[tuple[str, str], ...] = ()  # (label, value)
    complete: Completer | None = None


@dataclass(frozen=True)
class Option:
    """One option of a command, as the chat and the console offer it."""

    name: str
    kind: type  # str, int or bool
    required: bool
    default: Any
    description: str
    low: int | None = None
    high: int | None = None
    choices: tuple[tuple[str, str], ...] = ()
    complete: Completer | None = None

    def check(self, value: Any) -> None:
        """Refuse an empty value, or one outside the declared choices or bounds (the
        console's check; Discord enforces the same before the bot sees the value: it never
        sends an option left empty)."""
        if isinstance(value, str) and not value.strip():
            if self.required:
                raise UserError(phrase("`{name}:` is empty: give it a value.", name=self.name))
            raise UserError(
                phrase("`{name}:` is empty: give it a value, or leave it out for its default.",
                       name=self.name)
            )  # fmt: skip
        if self.choices and value not in {v for _, v in self.choices}:
            allowed = ", ".join(v for _, v in self.choices)
            raise UserError(
                phrase("`{name}` must be one of {allowed}; got {value}.", name=self.name,
                       allowed=allowed, value=quote_inline(value))
            )  # fmt: skip
        bounded = self.kind is int and self.low is not None and self.high is not None
        if bounded and not self.low <= value <= self.high:
            raise UserError(
                phrase("`{name}` must be from {low} to {high}; got {value}.", name=self.name,
                       low=self.low, high=self.high, value=value)
            )  # fmt: skip


@dataclass(frozen=True)
class Group:
    """A command group (`/admin …`): its name and description."""

    name: str
    description: str


@dataclass(frozen=True)
class Command:
    """A declared command: its handler, options, and how the bot admits it."""

    name: str
    handler: Handler
    options: tuple[Option, ...]
    group: Group | None = None
    queued: bool = True  # waits in the bounded queue (model work); False answers at once
    permission: str | None = None  # a Discord permission name, e.g. "manage_guild"
    operators: bool = False  # acts for every server: only the bot's operators may run it
    menu: bool = False  # a message's context menu (Apps →): its one option is the message's text

    @property
    def path(self) -> str:
        """How users type it, without the slash: `attention`, `admin load`."""
        return f"{self.group.name} {self.name}" if self.group else self.name

    @property
    def description(self) -> str:
        """The first line of the handler's docstring."""
        return (self.handler.__doc__ or "").strip().splitlines()[0]

    def option(self, name: str) -> Option:
        """The declared option called `name`."""
        return next(option for option in self.options if option.name == name)

    async def __call__(self, ctx: Context, /, *args: Any, **arguments: Any) -> Reply:
        """Run the handler."""
        return await self.handler(ctx, *args, **arguments)


def _base_type(annotation: Any) -> type:
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    if annotation not in (str, int, bool):
        raise TypeError(f"option type {annotation!r} is not str, int or bool")
    return annotation


def options_of(handler: Handler) -> tuple[Option, ...]:
    """The options a handler declares after its context."""
    hints = typing.get_type_hints(handler, include_extras=True)
    found = []
    for parameter in list(inspect.signature(handler).parameters.values())[1:]:
        hint = hints[parameter.name]
        opt = next((m for m in getattr(hint, "__metadata__", ()) if isinstance(m, Opt)), None)
        if opt is None:
            raise TypeError(f"{handler.__name__}: option {parameter.name!r} has no Opt(...)")
        required = parameter.default is inspect.Parameter.empty
        found.append(
            Option(
                name=parameter.name,
                kind=_base_type(typing.get_args(hint)[0]),
                required=required,
                default=None if required else parameter.default,
                description=opt.description,
                low=opt.low,
                high=opt.high,
                choices=opt.choices,
                complete=opt.complete,
            )
        )
    return tuple(found)


def command(
    *,
    name: str | None = None,
    group: Group | None = None,
    queued: bool = True,
    permission: str | None = None,
    operators: bool = False,
    menu: bool = False,
) -> Callable[[Handler], Command]:
    """Declare a handler as a command (its name defaults to the function's); a `menu`
    command is offered on messages and gets the message's text as its `text` option; an
    `operators` command changes the bot for every server, so only its operators may run it
    (`permission` then only decides who sees it in Discord's menus)."""
    if permission is not None and permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")

    def declare(handler: Handler) -> Command:
        if not (handler.__doc__ or "").strip():
            raise TypeError(f"{handler.__name__} needs a docstring: it is the command's help")
        options = options_of(handler)
        if menu and [option.name for option in options] != ["text"]:
            raise TypeError(f"{handler.__name__}: a menu command takes exactly `text`")
        return Command(
            name=name or handler.__name__.replace("_", "-"),
            handler=handler,
            options=options,
            group=group,
            queued=queued,
            permission=permission,
            operators=operators,
            menu=menu,
        )

    return declare
