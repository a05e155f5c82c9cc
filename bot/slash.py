"""The slash commands: thin wrappers that defer, call a handler and send its reply."""

from __future__ import annotations

import hashlib
import logging
import time
from typing import Any

import discord
from discord import app_commands

from commands.encoding import encode
from commands.explore import VIEWS
from commands.handlers import HANDLERS

from .explorer import Explorer, controls
from .replies import answer_error, send_followup
from .runtime import Runtime

log = logging.getLogger(__name__)

# Discord's own ceiling for a string option; the configured limit is enforced by the handlers.
Text = app_commands.Range[str, 1, 6000]
Layer = app_commands.Range[int, 1, 128]
Head = app_commands.Range[int, 1, 128]


def user_tag(user_id: int) -> str:
    """A stable, non-reversible tag for logs instead of the raw user id."""
    return hashlib.sha256(str(user_id).encode()).hexdigest()[:10]


async def respond(
    interaction: discord.Interaction,
    runtime: Runtime,
    command: str,
    explorer: Explorer | None = None,
    **arguments: Any,
) -> None:
    """Defer within Discord's 3 seconds, run the handler off the loop, answer with a followup
    (with stepping controls when the reply is an exploration)."""
    started = time.perf_counter()
    await interaction.response.defer(thinking=True)
    outcome = "ok"
    try:
        reply = await HANDLERS[command](runtime, **arguments)
        if explorer is not None and reply.session is not None:
            key = explorer.new_key()
            await send_followup(interaction, reply, controls(key, reply.session))
            explorer.keep(key, reply.session, interaction)
        else:
            await send_followup(interaction, reply)
    except Exception as error:
        outcome = type(error).__name__
        raise
    finally:
        log.info(
            "command=%s user=%s model=%s outcome=%s duration_ms=%.0f",
            command,
            user_tag(interaction.user.id),
            arguments.get("model") or "default",
            outcome,
            (time.perf_counter() - started) * 1000,
        )


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
            for entry in runtime.catalog().entries
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
        await respond(interaction, runtime, "tokenize", text=text, model=model, text_pair=text_pair)

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
            "attention",
            explorer,
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
        await respond(interaction, runtime, "config", model=model, key=key)

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
            interaction, runtime, "forward", text=text, model=model, attentions=attentions
        )

    @tree.command(name="models")
    async def models_command(interaction: discord.Interaction) -> None:
        """List the models this bot can load, and which are loaded now."""
        await respond(interaction, runtime, "models")

    @tree.error
    async def on_error(interaction: discord.Interaction, error: app_commands.AppCommandError):
        await answer_error(interaction, error)
