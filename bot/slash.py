"""The slash commands: thin wrappers that defer, call a handler and send its reply."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from typing import Any

import discord
from discord import app_commands

from commands.encoding import encode
from commands.explore import VIEWS
from commands.handlers import HANDLERS
from commands.results import UserError

from .explorer import Explorer, controls
from .replies import Acknowledgement, answer_error, send_reply
from .runtime import Job, Runtime

log = logging.getLogger(__name__)

# Cheap commands that must answer even when the queue is full.
UNQUEUED = frozenset({"models", "status", "load", "unload", "internals"})

# Discord's own ceiling for a string option; the configured limit is enforced by the handlers.
Text = app_commands.Range[str, 1, 6000]
Layer = app_commands.Range[int, 1, 128]
Head = app_commands.Range[int, 1, 128]


def user_tag(user_id: int) -> str:
    """A stable, non-reversible tag for logs instead of the raw user id."""
    return hashlib.sha256(str(user_id).encode()).hexdigest()[:10]


def log_line(command: str, user_id: int, job: Job, queue_wait: float, total: float,
             outcome: str) -> str:  # fmt: skip
    """One logfmt line per command, with no user text and no raw user id."""
    fields = {
        "command": command,
        "user": user_tag(user_id),
        "model": job.fields.get("model", "-"),
        "tokens": job.fields.get("tokens", "-"),
        "queue_ms": f"{queue_wait * 1000:.0f}",
        "compute_ms": f"{job.compute_s * 1000:.0f}",
        "render_ms": f"{job.render_s * 1000:.0f}",
        "total_ms": f"{total * 1000:.0f}",
        "outcome": outcome,
    }
    return " ".join(f"{key}={value}" for key, value in fields.items())


async def respond(
    interaction: discord.Interaction,
    runtime: Runtime,
    explorer: Explorer,
    command: str,
    **arguments: Any,
) -> None:
    """Wait for a slot in the bounded queue (model work only), run the handler with a time
    limit, and answer (with stepping controls for an exploration): in one message when the
    reply is ready within DEFER_AFTER_MS, else after a "thinking…" acknowledgement sent in
    Discord's 3 seconds. Logs one line whatever happens."""
    started = time.perf_counter()
    job, outcome, queue_wait = Job(runtime), "ok", 0.0
    limit = runtime.settings.capacity.timeout_seconds
    delay = runtime.settings.defer_after_ms / 1000
    try:
        # The slot is held until the answer is sent, so a shutdown drain waits for it.
        async with (
            Acknowledgement(interaction, delay, thinking=True) as acknowledgement,
            contextlib.AsyncExitStack() as stack,
        ):
            if command not in UNQUEUED:
                ticket = await stack.enter_async_context(runtime.admission.job(interaction.user.id))
                queue_wait = ticket.queue_wait
            try:
                async with asyncio.timeout(limit):
                    reply = await HANDLERS[command](job, **arguments)
            except TimeoutError:
                raise UserError(
                    f"This took longer than {limit:g} s and was stopped. "
                    "Try a shorter text or a smaller model."
                ) from None
            await acknowledgement.ready(reply)
            if reply.session is not None:
                key = explorer.new_key()
                await send_reply(interaction, reply, controls(key, reply.session))
                explorer.keep(key, reply.session, interaction)
            else:
                await send_reply(interaction, reply)
    except Exception as error:
        outcome = type(error).__name__
        raise
    finally:
        job.close()
        total = time.perf_counter() - started
        runtime.stats.record(command, total, outcome)
        log.info(log_line(command, interaction.user.id, job, queue_wait, total, outcome))


VIEW_CHOICES = [
    app_commands.Choice(name=f"{name}: {text}", value=name) for name, text in VIEWS.items()
]


def install(tree: app_commands.CommandTree, runtime: Runtime, explorer: Explorer) -> None:
    """Add every command, the autocompletes and the error path to `tree`."""

    async def model_names(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        needle = current.strip().lower()
        return [
            app_commands.Choice(name=entry.name, value=entry.name)
            for entry in runtime.registry.catalog().entries
            if needle in entry.name.lower()
        ][:25]

    async def token_positions(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """The tokens of the text typed so far, if its model is already loaded."""
        text = getattr(interaction.namespace, "text", None)
        loaded = runtime.registry.peek(getattr(interaction.namespace, "model", None))
        if not text or loaded is None or len(text) > runtime.limits.max_input_chars:
            return []
        limit = min(loaded.max_tokens, runtime.limits.max_heatmap_tokens)
        encoding = await runtime.run(encode, loaded, text, None, limit)
        needle = current.strip().lower()
        return [
            app_commands.Choice(name=f"{index}: {token}"[:100], value=str(index))
            for index, token in enumerate(encoding.tokens)
            if needle in token.lower() or needle == str(index)
        ][:25]

    @tree.command(name="tokenize")
    @app_commands.describe(
        text="The text to tokenise",
        model="Which model's tokenizer (default: the bot's default model)",
        text_pair="An optional second sentence, as in sentence-pair tasks",
    )
    @app_commands.autocomplete(model=model_names)
    async def tokenize_command(
        interaction: discord.Interaction,
        text: Text,
        model: str | None = None,
        text_pair: Text | None = None,
    ) -> None:
        """Split text into tokens with ids, token types and attention mask."""
        await respond(
            interaction, runtime, explorer, "tokenize", text=text, model=model, text_pair=text_pair
        )

    @tree.command(name="attention")
    @app_commands.describe(
        text="The text whose attention to show",
        model="Which model (default: the bot's default model)",
        layer="Layer, 1 = first (default: the last layer)",
        head="Head, 1 = first (default: the mean of all heads)",
        text_pair="An optional second sentence; a dashed line marks the boundary",
        view="What to draw (default: one head if given, else the mean of the layer's heads)",
        token="For the token view: a position as /tokenize lists it, or the token's text",
        export="Also attach the attention tensor (.npy) and the shown data (.csv)",
    )
    @app_commands.choices(view=VIEW_CHOICES)
    @app_commands.autocomplete(model=model_names, token=token_positions)
    async def attention_command(
        interaction: discord.Interaction,
        text: Text,
        model: str | None = None,
        layer: Layer | None = None,
        head: Head | None = None,
        text_pair: Text | None = None,
        view: str | None = None,
        token: str | None = None,
        export: bool = False,
    ) -> None:
        """Explore attention: one head, a layer, the whole model or one token, with buttons."""
        await respond(
            interaction,
            runtime,
            explorer,
            "attention",
            text=text,
            model=model,
            layer=layer,
            head=head,
            text_pair=text_pair,
            view=view,
            token=token,
            export=export,
        )

    @tree.command(name="config")
    @app_commands.describe(
        model="Which model (default: the bot's default model)",
        key="Show one field only, e.g. num_hidden_layers",
    )
    @app_commands.autocomplete(model=model_names)
    async def config_command(
        interaction: discord.Interaction, model: str | None = None, key: str | None = None
    ) -> None:
        """Show a model's configuration (read without loading its weights)."""
        await respond(interaction, runtime, explorer, "config", model=model, key=key)

    @tree.command(name="forward")
    @app_commands.describe(
        text="The text to run through the model",
        model="Which model (default: the bot's default model)",
        attentions="Also return attention weights (output_attentions=True)",
    )
    @app_commands.autocomplete(model=model_names)
    async def forward_command(
        interaction: discord.Interaction,
        text: Text,
        model: str | None = None,
        attentions: bool = False,
    ) -> None:
        """Run model(**inputs) and show each output's shape, dtype and values."""
        await respond(
            interaction, runtime, explorer, "forward", text=text, model=model, attentions=attentions
        )

    @tree.command(name="models")
    async def models_command(interaction: discord.Interaction) -> None:
        """List the models this bot can load, and which are loaded now."""
        await respond(interaction, runtime, explorer, "models")

    @tree.command(name="status")
    async def status_command(interaction: discord.Interaction) -> None:
        """Show uptime, latency, loaded models, the queue and command latencies."""
        await respond(interaction, runtime, explorer, "status")

    admin = app_commands.Group(
        name="admin",
        description="Manage the bot (needs the Manage Server permission)",
        default_permissions=discord.Permissions(manage_guild=True),
        guild_only=True,
    )

    @admin.command(name="load")
    @app_commands.describe(model="The model to load into memory now")
    @app_commands.autocomplete(model=model_names)
    @app_commands.checks.has_permissions(manage_guild=True)
    async def load_command(interaction: discord.Interaction, model: str) -> None:
        """Load a model into memory now, so the next command on it is fast."""
        await respond(interaction, runtime, explorer, "load", model=model)

    @admin.command(name="unload")
    @app_commands.describe(model="The model to drop from memory")
    @app_commands.autocomplete(model=model_names)
    @app_commands.checks.has_permissions(manage_guild=True)
    async def unload_command(interaction: discord.Interaction, model: str) -> None:
        """Drop a loaded model from memory."""
        await respond(interaction, runtime, explorer, "unload", model=model)

    @admin.command(name="internals")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def internals_command(interaction: discord.Interaction) -> None:
        """Show the runtime's internals: threads, batching, garbage collector, memory."""
        await respond(interaction, runtime, explorer, "internals")

    tree.add_command(admin)

    @tree.error
    async def on_error(interaction: discord.Interaction, error: app_commands.AppCommandError):
        await answer_error(interaction, error)
