"""`/settings`: a server's managers choose its default model and narrow the bot's allowlist
(never widen it). `/models` and autocompletion then show the server's choice."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from commands.options import complete_any_model, complete_model
from explorer.contract import Context, Reply, ServerSettings, UserError
from explorer.declare import Group, Opt, command
from explorer.i18n import phrase
from explorer.text import quote_inline

SETTINGS = Group("settings", "Choose this server's models (needs the Manage Server permission)")


def summary(allowed: tuple[str, ...]) -> str:
    """`This server uses `a` (default), `b`.` (a `phrase`)"""
    rest = "".join(f", `{name}`" for name in allowed[1:])
    return phrase("This server uses `{default}` (default){rest}.", default=allowed[0], rest=rest)


def operator_model(ctx: Context, name: str) -> str:
    """`name`, if the bot allows it at all."""
    everything = ctx.catalog(everything=True).names
    if name.strip() not in everything:
        shown = ", ".join(f"`{n}`" for n in everything)
        raise UserError(
            phrase("{name} is not one of this bot's models: {models}.",
                   name=quote_inline(name, 60), models=shown)
        )  # fmt: skip
    return name.strip()


def narrowed(
    server: ServerSettings, allowed: list[str], everything: tuple[str, ...]
) -> ServerSettings:
    """The server's settings with a new allowlist (None again once it allows everything),
    its default kept only if still allowed."""
    ordered = tuple(name for name in everything if name in allowed)
    default = server.default_model if server.default_model in ordered else None
    return replace(server, allowed=None if ordered == everything else ordered,
                   default_model=default)  # fmt: skip


async def saved(ctx: Context, settings: ServerSettings, done: str) -> Reply:
    """Keep the settings, then say what changed and what the server uses now."""
    await ctx.save_server_settings(settings)
    return Reply(f"✅ {ctx.tell(done)} {ctx.tell(summary(ctx.catalog().names))}")


MODEL = Opt("The model (one of the bot's)", complete=complete_any_model)


@command(group=SETTINGS, name="default-model", queued=False, permission="manage_guild")
async def default_model(
    ctx: Context,
    model: Annotated[
        str | None,
        Opt("The model to use here by default (leave out: the bot's own)", complete=complete_model),
    ] = None,
) -> Reply:
    """Choose the model this server's commands use when none is named."""
    server = await ctx.server_settings()
    if model is None:
        return await saved(ctx, replace(server, default_model=None), phrase("Default reset."))
    name = operator_model(ctx, model)
    if name not in ctx.catalog().names:
        raise UserError(
            phrase("`{name}` is not allowed on this server: `/settings allow` it first.",
                   name=name)
        )  # fmt: skip
    now = phrase("Default is now `{name}`.", name=name)
    return await saved(ctx, replace(server, default_model=name), now)


@command(group=SETTINGS, name="allow", queued=False, permission="manage_guild")
async def allow(ctx: Context, model: Annotated[str, MODEL]) -> Reply:
    """Let this server use one of the bot's models again."""
    server = await ctx.server_settings()
    name = operator_model(ctx, model)
    everything = ctx.catalog(everything=True).names
    current = list(server.allowed or everything)
    if name in current:
        already = phrase("`{name}` is already allowed here.", name=name)
        return Reply(f"{ctx.tell(already)} {ctx.tell(summary(ctx.catalog().names))}")
    allowed = phrase("`{name}` allowed.", name=name)
    return await saved(ctx, narrowed(server, [*current, name], everything), allowed)


@command(group=SETTINGS, name="deny", queued=False, permission="manage_guild")
async def deny(ctx: Context, model: Annotated[str, MODEL]) -> Reply:
    """Stop this server from using one of the bot's models."""
    server = await ctx.server_settings()
    name = operator_model(ctx, model)
    everything = ctx.catalog(everything=True).names
    current = list(server.allowed or everything)
    if name not in current:
        already = phrase("`{name}` is already denied here.", name=name)
        return Reply(f"{ctx.tell(already)} {ctx.tell(summary(ctx.catalog().names))}")
    if current == [name]:
        raise UserError(
            phrase("`{name}` is the only model left on this server: allow another first.",
                   name=name)
        )  # fmt: skip
    current.remove(name)
    return await saved(
        ctx, narrowed(server, current, everything), phrase("`{name}` denied.", name=name)
    )
