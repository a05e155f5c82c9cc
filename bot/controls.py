"""The view menu and buttons that step an `/attention` reply in place for the whole channel.

State lives here, keyed by a short random id carried in each component's custom id, so a press
from anyone edits the one shared message. Presses are routed by custom id alone, so a press on a
message from before a restart still reaches the bot, and every component interaction, whatever
its payload, is answered.

Presses pass the same pipeline as commands. While a message is being redrawn, further presses
on it are acknowledged at once and folded into one pending redraw of the latest state: a
channel mashing buttons costs at most one redraw in flight and one pending per message.
Explorations are kept in the store, so a message's buttons outlive a restart: what it shows is
read back, and its attention computed again.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import discord

from explorer.contract import Reply, UserError
from explorer.exploration import Explored
from explorer.explore import show
from explorer.views import VIEWS, enabled, step, switch_view

from .pipeline import STORE_DOWN, Lane, Pipeline
from .replies import send_reply, update_message
from .runtime import Job
from .store import ExplorationRecord, Store, StoreError

log = logging.getLogger(__name__)

# A control's custom id: the exploration's key and what the control does.
CONTROL = re.compile(
    r"mx:(?P<key>[A-Za-z0-9_-]{6,16}):(?P<action>view|(?:layer|head|token|window)[+-])"
)
# How long an answer waits for its exploration to be committed; a slower database does not
# hold the answer back (the exploration is then kept in memory only).
STORE_WAIT_SECONDS = 5.0
UNKNOWN_CONTROL = (
    "This control is not one the bot knows (it may come from an older version): "
    "run `/attention` again."
)
EXPIRED = (
    "⌛ This exploration is no longer kept (explorations unused for a while are removed): "
    "run `/attention` again to explore this text."
)
BUTTONS = (
    ("layer-", "◀ layer", 1),
    ("layer+", "layer ▶", 1),
    ("head-", "◀ head", 1),
    ("head+", "head ▶", 1),
    ("token-", "◀ token", 2),
    ("token+", "token ▶", 2),
    ("window-", "◀ window", 2),
    ("window+", "window ▶", 2),
)
# Explorations whose state is kept in memory too (the store keeps them all).
MEMORY_EXPLORATIONS = 256
# A change a press makes to what is shown.
Change = Callable[[Explored], Explored]


def controls(key: str, explored: Explored, *, disabled: bool = False) -> discord.ui.View:
    """The view menu and the stepping buttons for an exploration's current state. The view is
    stopped before it is sent: discord.py then sends its components but keeps no state for
    them, and every press reaches `Explorer.interact` (see `ExplorerBot.on_interaction`)."""
    view = discord.ui.View(timeout=None)
    state = explored.state
    options = [
        discord.SelectOption(
            label=name, value=name, description=item.description, default=name == state.view
        )
        for name, item in VIEWS.items()
    ]
    view.add_item(
        discord.ui.Select(
            custom_id=f"mx:{key}:view",
            options=options,
            placeholder="Choose a view",
            disabled=disabled,
            row=0,
        )
    )
    active = enabled(state, explored.shape)
    for action, label, row in BUTTONS:
        if row == 2 and action not in active:  # the second row only as the view needs it
            continue
        view.add_item(
            discord.ui.Button(
                label=label,
                custom_id=f"mx:{key}:{action}",
                style=discord.ButtonStyle.secondary,
                disabled=disabled or action not in active,
                row=row,
            )
        )
    view.stop()
    return view


def stepping(action: str) -> Change:
    """The change of pressing a layer/head/token arrow."""
    return lambda explored: replace(explored, state=step(explored.state, action, explored.shape))


def choosing(name: str) -> Change:
    """The change of choosing a view in the menu."""
    return lambda explored: replace(explored, state=switch_view(explored.state, name))


@dataclass
class _Entry:
    shown: Explored  # what the message shows
    wanted: Explored  # what the latest press asked for
    content: str  # the message's text
    busy: bool = False  # a redraw is under way
    waiting: discord.Interaction | None = None  # a folded press; its redraw is owed


class Explorer:
    """Keeps explorations (in memory, and in the store so they outlive a restart) and
    applies presses through the pipeline."""

    def __init__(
        self, pipeline: Pipeline, store: Store | None, capacity: int = MEMORY_EXPLORATIONS
    ) -> None:
        self._pipeline = pipeline
        self._store = store
        self._capacity = capacity
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._loading: dict[str, asyncio.Future[_Entry | None]] = {}
        self.redraws = 0

    def _remember(self, key: str, entry: _Entry) -> _Entry:
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)
        return entry

    async def send(self, interaction: discord.Interaction, reply: Reply) -> None:
        """Answer a command; an exploration gets its controls and is kept for them."""
        explored = reply.exploration
        if explored is None:
            await send_reply(interaction, reply)
            return
        key = secrets.token_urlsafe(6)
        self._remember(key, _Entry(explored, explored, reply.content))
        if self._store is not None:
            now = datetime.now(UTC)
            record = ExplorationRecord(
                key, explored, reply.content, interaction.guild_id, interaction.channel_id,
                interaction.user.id, now, now,
            )  # fmt: skip
            try:  # committed before the message whose buttons need it is sent
                await asyncio.wait_for(
                    asyncio.shield(self._store.add_exploration(record)), STORE_WAIT_SECONDS
                )
            except (StoreError, TimeoutError):
                log.warning("exploration %s is kept in memory only", key)
        message_id = await send_reply(interaction, reply, controls(key, explored))
        if self._store is not None and message_id is not None:
            self._store.set_message(key, message_id)

    async def _entry(self, key: str) -> _Entry | None:
        """The exploration behind a message's controls: in memory, or read from the store
        (once, however many presses arrive meanwhile)."""
        entry = self._entries.get(key)
        if entry is not None or self._store is None:
            return entry
        if key not in self._loading:
            self._loading[key] = asyncio.ensure_future(self._load(key))
        try:
            return await asyncio.shield(self._loading[key])
        finally:
            self._loading.pop(key, None)

    async def _load(self, key: str) -> _Entry | None:
        assert self._store is not None
        try:
            record = await self._store.exploration(key)
        except StoreError as error:
            raise UserError(STORE_DOWN) from error
        if record is None:
            return None
        return self._remember(key, _Entry(record.explored, record.explored, record.content))

    async def interact(self, interaction: discord.Interaction) -> None:
        """Answer any component interaction, whatever it carries: a press or a choice on an
        exploration's controls is applied; a menu emptied of its choice is acknowledged
        silently; an unknown control is refused politely. None goes unanswered."""
        data: dict[str, Any] = dict(interaction.data or {})
        control = CONTROL.fullmatch(str(data.get("custom_id", "")))
        if control is None:
            await self._pipeline.refuse(
                interaction, "attention", "press", UserError(UNKNOWN_CONTROL)
            )
            return
        key, action = control["key"], control["action"]
        if action != "view":
            await self.press(interaction, key, stepping(action))
            return
        values = data.get("values") or []
        if not values:
            await self._pipeline.acknowledge(interaction, "attention", "unchanged")
            return
        await self.press(interaction, key, choosing(str(values[0])))

    async def press(self, interaction: discord.Interaction, key: str, change: Change) -> None:
        """Apply a press to the shared message: redraw it, or fold the press into the redraw
        under way (acknowledged at once; the latest state wins)."""
        try:
            entry = await self._entry(key)
            if entry is None:
                raise UserError(EXPIRED)
            wanted = change(entry.wanted)
        except UserError as error:  # gone, the store down, or a menu value unknown here
            await self._pipeline.refuse(interaction, "attention", "press", error)
            return
        entry.wanted = wanted
        if entry.busy:
            # Acknowledged before it is handed on: the redraw under way must find it so.
            await self._pipeline.acknowledge(interaction, "attention")
            if entry.busy:
                entry.waiting = interaction
                return
            # That redraw ended meanwhile: this press draws its own state.
        entry.busy = True
        try:
            drawn = await self._redraw(interaction, key, entry, "queued")
            if drawn is None and entry.waiting is None:
                entry.wanted = entry.shown  # refused or failed: the press changed nothing
            while entry.waiting is not None and entry.wanted != entry.shown:
                follower, entry.waiting = entry.waiting, None
                await self._redraw(follower, key, entry, "continuation")
        finally:
            entry.busy = False
            entry.waiting = None

    async def _redraw(
        self, interaction: discord.Interaction, key: str, entry: _Entry, lane: Lane
    ) -> Reply | None:
        async def work(job: Job) -> Reply:
            self.redraws += 1
            return await show(job, entry.wanted)

        async def deliver(reply: Reply) -> None:
            assert reply.exploration is not None
            await update_message(interaction, reply, controls(key, reply.exploration))
            entry.shown, entry.content = reply.exploration, reply.content
            self._entries.move_to_end(key)
            if self._store is not None:  # not waited for: the message shows the state already
                now = datetime.now(UTC)
                self._store.touch_exploration(key, reply.exploration, reply.content, now)

        return await self._pipeline.serve(interaction, "attention", "press", work, deliver, lane)
