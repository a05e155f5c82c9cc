"""Buttons and a view menu that step an `/attention` reply in place for the whole channel.

State lives here, keyed by a short random id carried in each component's custom id, so a press
from anyone edits the one shared message. Components are discord.py `DynamicItem`s: they are
matched by custom id, so a press on a message from before a restart still reaches us and is
answered politely instead of failing.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import discord

from commands.attention import Session, caption, view_reply
from commands.explore import VIEWS, enabled, step, switch_view

from .replies import NO_MENTIONS, Acknowledgement, answer_error, update_message
from .runtime import Runtime

log = logging.getLogger(__name__)

KEY = r"[A-Za-z0-9_-]{6,16}"
EXPIRED = "⌛ This exploration has expired: run `/attention` again to explore this text."
BUTTONS = (
    ("layer-", "◀ layer", 1),
    ("layer+", "layer ▶", 1),
    ("head-", "◀ head", 1),
    ("head+", "head ▶", 1),
    ("token-", "◀ token", 2),
    ("token+", "token ▶", 2),
)


@dataclass
class _Entry:
    session: Session
    interaction: discord.Interaction
    last_used: float = field(default_factory=time.monotonic)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def controls(key: str, session: Session, *, disabled: bool = False) -> discord.ui.View:
    """The view menu and the stepping buttons for a session's current state."""
    view = discord.ui.View(timeout=None)
    state = session.state
    options = [
        discord.SelectOption(label=name, value=name, description=text, default=name == state.view)
        for name, text in VIEWS.items()
    ]
    view.add_item(ViewMenu(key, options, disabled=disabled))
    active = enabled(state)
    for action, label, row in BUTTONS:
        if row == 2 and state.view != "token":
            continue
        view.add_item(StepButton(key, action, label, disabled=disabled or action not in active))
    return view


class StepButton(
    discord.ui.DynamicItem[discord.ui.Button],
    template=rf"mx:(?P<key>{KEY}):(?P<action>(?:layer|head|token)[+-])",
):
    """One of the layer/head/token arrows."""

    def __init__(self, key: str, action: str, label: str, *, disabled: bool = False) -> None:
        row = next(row for name, _, row in BUTTONS if name == action)
        super().__init__(
            discord.ui.Button(
                label=label,
                custom_id=f"mx:{key}:{action}",
                style=discord.ButtonStyle.secondary,
                disabled=disabled,
                row=row,
            )
        )
        self.key, self.action = key, action

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: Any
    ) -> StepButton:
        return cls(match["key"], match["action"], item.label or match["action"])

    async def callback(self, interaction: discord.Interaction) -> None:
        await _explorer(interaction).press(interaction, self.key, action=self.action)


class ViewMenu(discord.ui.DynamicItem[discord.ui.Select], template=rf"mx:(?P<key>{KEY}):view"):
    """The menu choosing the view."""

    def __init__(
        self, key: str, options: list[discord.SelectOption], *, disabled: bool = False
    ) -> None:
        super().__init__(
            discord.ui.Select(
                custom_id=f"mx:{key}:view",
                options=options,
                placeholder="Choose a view",
                disabled=disabled,
                row=0,
            )
        )
        self.key = key

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Select, match: Any
    ) -> ViewMenu:
        return cls(match["key"], list(item.options))

    async def callback(self, interaction: discord.Interaction) -> None:
        chosen = self.item.values[0] if self.item.values else None
        await _explorer(interaction).press(interaction, self.key, view=chosen)


def _explorer(interaction: discord.Interaction) -> Explorer:
    return interaction.client.explorer  # type: ignore[attr-defined]


class Explorer:
    """Keeps explorations, applies presses, and retires idle ones."""

    def __init__(self, runtime: Runtime, idle_seconds: int, capacity: int = 256) -> None:
        self._runtime = runtime
        self._idle = idle_seconds
        self._capacity = capacity
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    @staticmethod
    def new_key() -> str:
        return secrets.token_urlsafe(6)

    def keep(self, key: str, session: Session, interaction: discord.Interaction) -> None:
        """Remember a sent exploration; the oldest is forgotten past the capacity."""
        self._entries[key] = _Entry(session, interaction)
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)

    async def press(
        self,
        interaction: discord.Interaction,
        key: str,
        *,
        action: str | None = None,
        view: str | None = None,
    ) -> None:
        """Edit the shared message to the new state (acknowledging first if that is slow)."""
        entry = self._entries.get(key)
        if entry is None:
            await interaction.response.send_message(
                EXPIRED, ephemeral=True, allowed_mentions=NO_MENTIONS
            )
            return
        delay = self._runtime.settings.defer_after_ms / 1000
        try:
            async with (
                Acknowledgement(interaction, delay, thinking=False) as acknowledgement,
                entry.lock,  # presses on one message apply in order
            ):
                state = entry.session.state
                exploration = entry.session.exploration
                if view is not None:
                    state = switch_view(state, view)
                if action is not None:
                    state = step(state, action, exploration)
                session = Session(exploration, state)
                reply = await self._runtime.run(view_reply, session)
                await acknowledgement.ready(reply)
                await update_message(interaction, reply, controls(key, session))
                entry.session, entry.interaction = session, interaction
                entry.last_used = time.monotonic()
                self._entries.move_to_end(key)
        except Exception as error:
            await answer_error(interaction, error)

    async def retire_idle(self) -> int:
        """Disable the controls of explorations idle for too long; returns how many."""
        now = time.monotonic()
        idle = [key for key, e in self._entries.items() if now - e.last_used >= self._idle]
        for key in idle:
            entry = self._entries.pop(key)
            idle_for = f"{self._idle} s" if self._idle < 60 else f"{round(self._idle / 60)} min"
            note = f"\n⌛ Controls closed after {idle_for} without use: run `/attention` again."
            try:
                await entry.interaction.edit_original_response(
                    content=caption(entry.session) + note,
                    view=controls(key, entry.session, disabled=True),
                    allowed_mentions=NO_MENTIONS,
                )
            except discord.HTTPException as error:
                log.info("could not close exploration %s: %s", key, error)
        return len(idle)

    async def run_sweeper(self) -> None:
        """Retire idle explorations every few seconds, for as long as the bot runs."""
        interval = max(1.0, min(30.0, self._idle / 4))
        while True:
            await asyncio.sleep(interval)
            await self.retire_idle()
