"""Registering the declared commands with Discord: each `Command` becomes a discord.py app
command (options, ranges, choices, autocompletion and permissions from its declaration) whose
callback hands the interaction to the pipeline."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Optional

import discord
from discord import app_commands

from explorer.contract import Reply
from explorer.declare import Command, Group, Option

from .pipeline import Pipeline

Send = Callable[[discord.Interaction, Reply], Awaitable[None]]


def _annotation(option: Option) -> Any:
    """The discord.py type of an option: a bounded `Range` where it has bounds."""
    kind: Any = option.kind
    if option.low is not None and option.high is not None and kind in (str, int):
        kind = app_commands.Range[kind, option.low, option.high]
    return kind if option.required else Optional[kind]  # noqa: UP045 (discord.py's spelling)


def _completer(pipeline: Pipeline, command: Command, option: Option) -> Callable[..., Any]:
    async def complete(interaction: discord.Interaction, current: Any) -> list[Any]:
        typed = "" if current is None else str(current)  # a number option's text, as typed
        choices = await pipeline.complete(interaction, command, option, typed)
        return [app_commands.Choice(name=label, value=option.kind(v)) for label, v in choices]

    return complete


def _callback(pipeline: Pipeline, command: Command, send: Send) -> Callable[..., Any]:
    """A callback with the command's options as its signature, which discord.py reads."""

    async def callback(interaction: discord.Interaction, **arguments: Any) -> None:
        await pipeline.command(interaction, command, arguments, send)

    first = inspect.Parameter(
        "interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=discord.Interaction
    )
    parameters = [first] + [
        inspect.Parameter(
            option.name,
            inspect.Parameter.KEYWORD_ONLY,
            default=inspect.Parameter.empty if option.required else option.default,
            annotation=_annotation(option),
        )
        for option in command.options
    ]
    callback.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    callback.__doc__ = command.description
    if command.options:
        app_commands.describe(**{o.name: o.description for o in command.options})(callback)
    choices = {
        option.name: [
            app_commands.Choice(name=label, value=value) for label, value in option.choices
        ]
        for option in command.options
        if option.choices
    }
    if choices:
        app_commands.choices(**choices)(callback)
    completers = {
        option.name: _completer(pipeline, command, option)
        for option in command.options
        if option.complete is not None
    }
    if completers:
        app_commands.autocomplete(**completers)(callback)
    return callback


def _menu(pipeline: Pipeline, command: Command, send: Send) -> app_commands.ContextMenu:
    """A message context-menu command: the message's text is its `text` option."""

    async def callback(interaction: discord.Interaction, message: discord.Message) -> None:
        await pipeline.command(interaction, command, {"text": message.content}, send)

    return app_commands.ContextMenu(name=command.name, callback=callback)


def _group(group: Group, permission: str | None) -> app_commands.Group:
    permissions = discord.Permissions(**{permission: True}) if permission else None
    return app_commands.Group(
        name=group.name,
        description=group.description,
        default_permissions=permissions,
        guild_only=permission is not None,
    )


def register(
    tree: app_commands.CommandTree, pipeline: Pipeline, commands: Iterable[Command], send: Send
) -> None:
    """Add every declared command to `tree`; each answers through `send`."""
    groups: dict[str, app_commands.Group] = {}
    for command in commands:
        if command.menu:
            tree.add_command(_menu(pipeline, command, send))
            continue
        parent = None
        if command.group is not None:
            if command.group.name not in groups:
                groups[command.group.name] = _group(command.group, command.permission)
            parent = groups[command.group.name]
        app_command: app_commands.Command[Any, ..., None] = app_commands.Command(
            name=command.name,
            description=command.description,
            callback=_callback(pipeline, command, send),
            parent=parent,
        )
        if command.permission and parent is None:
            app_command.default_permissions = discord.Permissions(**{command.permission: True})
            app_command.guild_only = True
        (parent or tree).add_command(app_command)
    for group in groups.values():
        tree.add_command(group)
