"""Registering the declared commands with Discord: each `Command` becomes a discord.py app
command (options, ranges, choices, autocompletion and permissions from its declaration) whose
callback hands the interaction to the pipeline. Its names and texts are shown in the languages
the catalogues have (`Translations`), and it can be used where its kind of command may be:
server-only commands in servers that added the bot, the others in DMs too and, when users may
install the bot themselves, wherever they use it."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any, Optional

import discord
from discord import app_commands

from explorer.contract import UserError
from explorer.declare import Command, Group, Option
from explorer.i18n import MENU, NAME, phrase, tell, tell_name

from .pipeline import Answer, Pipeline

Location = app_commands.TranslationContextLocation
NAMES = {Location.command_name, Location.group_name, Location.parameter_name}
SERVER_ONLY = phrase(
    "This command changes the bot for a server: use it in a server that has added the bot."
)


class Translations(app_commands.Translator):
    """Command, group and option names, descriptions and choices in each language with a
    catalogue (`explorer.i18n`), which Discord shows to users whose client is set to it;
    English where there is none."""

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        """The translation of `string` into `locale`, or None to show it in English."""
        if context.location in NAMES:
            menu = isinstance(context.data, app_commands.ContextMenu)
            return tell_name(string.message, locale.value, MENU if menu else NAME)
        told = tell(string.message, locale.value)
        return None if told == string.message else told


def server_only(command: Command) -> bool:
    """Whether a command acts on a server (its settings) or on the bot for every server:
    such a command is installed with the bot in a server and used there only."""
    return command.permission is not None or command.operators


def reach(
    only_servers: bool, user_installs: bool
) -> tuple[app_commands.AppInstallationType, app_commands.AppCommandContext]:
    """Where a command comes with the bot and where it can be used: a server-only one in the
    servers that added the bot; any other in DMs with the bot too, and, when users may install
    the bot, with a user's install in any server, DM or group DM."""
    anywhere = user_installs and not only_servers
    installs = app_commands.AppInstallationType(guild=True, user=anywhere)
    contexts = app_commands.AppCommandContext(
        guild=True, dm_channel=not only_servers, private_channel=anywhere
    )
    return installs, contexts


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


def _callback(pipeline: Pipeline, command: Command, answer: Answer[Any]) -> Callable[..., Any]:
    """A callback with the command's options as its signature, which discord.py reads."""

    async def callback(interaction: discord.Interaction, **arguments: Any) -> None:
        if server_only(command) and not interaction.is_guild_integration():
            # Discord offers it nowhere else; a client that has not caught up may still send it.
            error = UserError(SERVER_ONLY)
            await pipeline.refuse(interaction, command.path, "command", error)
            return
        await pipeline.command(interaction, command, arguments, answer)

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


def _menu(
    pipeline: Pipeline, command: Command, answer: Answer[Any], user_installs: bool
) -> app_commands.ContextMenu:
    """A message context-menu command: the message's text is its `text` option."""

    async def callback(interaction: discord.Interaction, message: discord.Message) -> None:
        await pipeline.command(interaction, command, {"text": message.content}, answer)

    installs, contexts = reach(server_only(command), user_installs)
    return app_commands.ContextMenu(
        name=command.name,
        callback=callback,
        allowed_installs=installs,
        allowed_contexts=contexts,
    )


def _group(group: Group, permission: str | None, user_installs: bool) -> app_commands.Group:
    permissions = discord.Permissions(**{permission: True}) if permission else None
    installs, contexts = reach(permission is not None, user_installs)
    return app_commands.Group(
        name=group.name,
        description=group.description,
        default_permissions=permissions,
        guild_only=permission is not None,
        allowed_installs=installs,
        allowed_contexts=contexts,
    )


def register(
    tree: app_commands.CommandTree,
    pipeline: Pipeline,
    commands: Iterable[Command],
    answer: Answer[Any],
    user_installs: bool = False,
) -> None:
    """Add every declared command to `tree`; each answers through `answer`. `user_installs`:
    users may install the bot themselves and use it wherever they are."""
    groups: dict[str, app_commands.Group] = {}
    for command in commands:
        if command.menu:
            tree.add_command(_menu(pipeline, command, answer, user_installs))
            continue
        parent = None
        if command.group is not None:
            if command.group.name not in groups:
                group = _group(command.group, command.permission, user_installs)
                groups[command.group.name] = group
            parent = groups[command.group.name]
        installs, contexts = reach(server_only(command), user_installs)
        app_command: app_commands.Command[Any, ..., None] = app_commands.Command(
            name=command.name,
            description=command.description,
            callback=_callback(pipeline, command, answer),
            parent=parent,
            allowed_installs=None if parent else installs,
            allowed_contexts=None if parent else contexts,
        )
        if command.permission and parent is None:
            app_command.default_permissions = discord.Permissions(**{command.permission: True})
            app_command.guild_only = True
        (parent or tree).add_command(app_command)
    for group in groups.values():
        tree.add_command(group)
