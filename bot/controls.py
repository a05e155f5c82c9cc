"""The controls of live replies: each kind's buttons and menus on the message, stepping it in
place for the whole channel.

A live reply's state lives here, keyed by a short random id carried in each component's
custom id (`mx:<key>:<action>`), so a press from anyone edits the one shared message. Presses
are routed by custom id alone, so a press on a message from before a restart still reaches
the bot, and every component interaction, whatever its payload, is answered. The bot knows
no kind: it draws the controls a kind gives, and hands each press to the kind's `step` and
`render` (`explorer.live`).

Presses pass the same pipeline as commands. While a message is being redrawn, further presses
on it are acknowledged first, before any work of theirs, and queued; the redraw under way then
applies them in their order and draws only the latest state: a channel mashing buttons costs
at most one redraw in flight and one pending per message, and each press little more than its
acknowledgement.
Live replies are kept in the store, so a message's controls outlive a restart: its state is
read back, and what it shows computed again. A live reply is committed before its message is
sent; one the command announced before drawing it (`Context.announce`) is committed, and its
controls made, while the picture is drawn.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import discord

from explorer.contract import Live, Reply, UserError
from explorer.i18n import phrase, told
from explorer.live import Button, Control, Kind

from .pipeline import STORE_DOWN, Lane, Pipeline
from .replies import language_of, send_reply, update_message
from .runtime import Job
from .store import ExplorationRecord, Store, StoreError

log = logging.getLogger(__name__)

# A control's custom id: the live reply's key and the action of the control, any kind's
# (`view`, `layer+`, `next`…).
CONTROL = re.compile(r"mx:(?P<key>[A-Za-z0-9_-]{6,16}):(?P<action>[a-z][a-z0-9_]{0,31}[+-]?)")
# How long an answer waits for its live reply to be committed; a slower database does not
# hold the answer back (the live reply is then kept in memory only).
STORE_WAIT_SECONDS = 5.0
# The name presses are counted under when their kind is not known.
CONTROLS = "controls"
UNKNOWN_CONTROL = phrase(
    "This control is not one the bot knows (it may come from an older version): "
    "run the command again."
)
EXPIRED = phrase(
    "⌛ This exploration is no longer kept (explorations unused for a while are removed): "
    "run the command again to explore this text."
)
# The pause between redraws of one message while presses keep coming: a flood is drawn a few
# times a second, in its latest state (Discord limits how often a message may be edited too).
REDRAW_GAP_SECONDS = 0.25
# Live replies whose state is kept in memory too (the store keeps them all).
MEMORY_EXPLORATIONS = 256
# A change a press makes to what is shown.
Change = Callable[[Live], Live]


def components(key: str, controls: tuple[Control, ...], language: str) -> discord.ui.View:
    """A kind's controls as Discord components, each custom id naming the live reply and
    the action, and what they show told in `language` where it is a `phrase` (actions,
    values and names never). The view is stopped before it is sent: discord.py then sends
    its components but keeps no state for them, and every press reaches `Explorer.interact`
    (see `ExplorerBot.on_interaction`)."""
    view = discord.ui.View(timeout=None)
    for control in controls:
        custom_id = f"mx:{key}:{control.action}"
        if isinstance(control, Button):
            view.add_item(
                discord.ui.Button(
                    label=told(control.label, language),
                    custom_id=custom_id,
                    style=discord.ButtonStyle.secondary,
                    disabled=control.disabled,
                    row=control.row,
                )
            )
            continue
        options = [
            discord.SelectOption(
                label=told(choice.label, language),
                value=choice.value,
                description=told(choice.description, language) or None,
                default=choice.default,
            )
            for choice in control.choices
        ]
        view.add_item(
            discord.ui.Select(
                custom_id=custom_id,
                options=options,
                placeholder=told(control.placeholder, language) or None,
                disabled=control.disabled,
                row=control.row,
            )
        )
    view.stop()
    return view


def stepping(kind: Kind, action: str, value: str | None) -> Change:
    """The change of a press (or a menu's choice of `value`)."""
    return lambda live: Live(live.kind, kind.step(live.state, action, value))


@dataclass(frozen=True)
class _Folded:
    """A press queued while its message is redrawn: acknowledged meanwhile, stepped in turn."""

    interaction: discord.Interaction
    action: str
    value: str | None
    acknowledged: asyncio.Future[None]  # done once its acknowledgement has landed (or failed)
    stepped: asyncio.Future[UserError | None]  # the step's refusal, if any


@dataclass
class _Entry:
    kind: Kind
    shown: Live  # what the message shows
    wanted: Live  # what the latest press asked for
    busy: bool = False  # a redraw is under way
    folded: list[_Folded] = field(default_factory=list)  # presses queued meanwhile, in order


@dataclass(frozen=True)
class Kept:
    """A live reply being kept for a command's answer: its key, its kind, its controls, and
    its commit to the store under way (None without a store)."""

    key: str
    kind: Kind
    live: Live
    view: discord.ui.View
    committed: asyncio.Future[None] | None


class Explorer:
    """Keeps live replies (in memory, and in the store so they outlive a restart) and
    applies presses through the pipeline."""

    def __init__(
        self,
        pipeline: Pipeline,
        store: Store | None,
        kinds: Mapping[str, Kind],
        capacity: int = MEMORY_EXPLORATIONS,
    ) -> None:
        self._pipeline = pipeline
        self._store = store
        self._kinds = kinds
        self._capacity = capacity
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._loading: dict[str, asyncio.Future[_Entry | None]] = {}

    def _remember(self, key: str, entry: _Entry) -> _Entry:
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)
        return entry

    def keep(self, interaction: discord.Interaction, live: Live) -> Kept | None:
        """Start keeping a live reply that will answer `interaction`: a key, its controls, and
        its commit to the store, made while the reply is drawn (a command that fails after
        this leaves a row that nothing shows, removed as unused ones are). None when its
        state offers no controls (it is sent as a plain message)."""
        kind = self._kinds.get(live.kind)
        controls = () if kind is None else kind.controls(live.state)
        if kind is None or not controls:
            return None
        key = secrets.token_urlsafe(6)
        committed = None
        if self._store is not None:  # its text is noted once it is sent (`set_message`)
            now = datetime.now(UTC)
            record = ExplorationRecord(
                key, live, "", interaction.guild_id, interaction.channel_id,
                interaction.user.id, now, now,
            )  # fmt: skip
            committed = self._store.add_exploration(record)
        view = components(key, controls, language_of(interaction))
        return Kept(key, kind, live, view, committed)

    async def send(
        self, interaction: discord.Interaction, reply: Reply, kept: Kept | None = None
    ) -> None:
        """Answer a command; a live reply gets its kind's controls and is kept for them (kept
        now unless `kept` holds it already; one whose state offers none is sent as a plain
        message)."""
        live = reply.live
        if live is not None and (kept is None or kept.live != live):
            kept = self.keep(interaction, live)
        if live is None or kept is None:
            await send_reply(interaction, reply)
            return
        self._remember(kept.key, _Entry(kept.kind, live, live))
        if kept.committed is not None:
            try:  # committed before the message whose controls need it is sent
                await asyncio.wait_for(asyncio.shield(kept.committed), STORE_WAIT_SECONDS)
            except (StoreError, TimeoutError):
                log.warning("exploration %s is kept in memory only", kept.key)
        message_id = await send_reply(interaction, reply, kept.view)
        if self._store is not None and message_id is not None:
            self._store.set_message(kept.key, message_id, reply.content)

    async def _entry(self, key: str) -> _Entry | None:
        """The live reply behind a message's controls: in memory, or read from the store
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
        kind = self._kinds.get(record.live.kind)
        if kind is None:  # a kind this version no longer has
            raise UserError(UNKNOWN_CONTROL)
        return self._remember(key, _Entry(kind, record.live, record.live))

    async def interact(self, interaction: discord.Interaction) -> None:
        """Answer any component interaction, whatever it carries: a press or a choice on a
        live reply's controls is applied; a menu emptied of its choice is acknowledged
        silently; an unknown control is refused politely. None goes unanswered."""
        data: dict[str, Any] = dict(interaction.data or {})
        control = CONTROL.fullmatch(str(data.get("custom_id", "")))
        if control is None:
            await self._pipeline.refuse(interaction, CONTROLS, "press", UserError(UNKNOWN_CONTROL))
            return
        values = data.get("values") or []
        await self.press(interaction, control["key"], control["action"],
                         str(values[0]) if values else None)  # fmt: skip

    async def press(
        self, interaction: discord.Interaction, key: str, action: str, value: str | None
    ) -> None:
        """Apply a press (or a menu's choice of `value`) to the shared message: redraw it, or,
        while a redraw is under way, acknowledge the press at once and queue it for that
        redraw, which applies the queued presses in order and draws the latest state."""
        try:
            entry = await self._entry(key)
            if entry is None:
                raise UserError(EXPIRED)
        except UserError as error:  # gone, the store down, or a kind unknown here
            await self._pipeline.refuse(interaction, CONTROLS, "press", error)
            return
        name = entry.kind.name
        if entry.busy:
            await self._fold(interaction, entry, action, value)
            return
        try:
            wanted = self._step(entry, action, value)
        except UserError as error:  # an action or a menu value this state does not offer
            await self._pipeline.refuse(interaction, name, "press", error)
            return
        if wanted is None:
            await self._pipeline.acknowledge(interaction, name, "unchanged")  # nothing chosen
            return
        entry.wanted = wanted
        entry.busy = True
        try:
            drawn = await self._redraw(interaction, key, entry, "queued")
            if drawn is None and not entry.folded:
                entry.wanted = entry.shown  # refused or failed: the press changed nothing
            while entry.folded:
                await asyncio.sleep(REDRAW_GAP_SECONDS)  # presses meanwhile join this redraw
                follower = self._apply_folded(entry)
                if follower is None or entry.wanted == entry.shown:
                    break
                await follower.acknowledged  # its redraw edits the message it deferred
                await self._redraw(follower.interaction, key, entry, "continuation")
        finally:
            entry.busy = False
            self._apply_folded(entry)  # none left unanswered if a redraw was cancelled

    async def _fold(
        self, interaction: discord.Interaction, entry: _Entry, action: str, value: str | None
    ) -> None:
        """Queue a press for the redraw under way and acknowledge it before anything else; a
        step the state turns out not to offer is then refused privately."""
        loop = asyncio.get_running_loop()
        folded = _Folded(interaction, action, value, loop.create_future(), loop.create_future())
        entry.folded.append(folded)
        try:
            await self._pipeline.acknowledge(interaction, entry.kind.name)
        finally:
            folded.acknowledged.set_result(None)
        refusal = await folded.stepped
        if refusal is not None:
            await self._pipeline.refuse(interaction, entry.kind.name, "press", refusal)

    @staticmethod
    def _step(entry: _Entry, action: str, value: str | None) -> Live | None:
        """What a press on top of the latest wanted state asks for: None for a menu emptied
        of its choice; a `UserError` for a step that state does not offer."""
        if value is None and _is_menu(entry.kind, entry.wanted, action):
            return None
        return stepping(entry.kind, action, value)(entry.wanted)

    def _apply_folded(self, entry: _Entry) -> _Folded | None:
        """Step the queued presses in their order onto the wanted state; the last one that
        changed it, whose redraw is owed (None if none did). A flood presses the same few
        controls through the same few states: each step is worked out once."""
        follower = None
        queued, entry.folded = entry.folded, []
        steps: dict[tuple[str, str, str | None], Live | UserError | None] = {}
        for folded in queued:
            known = (json.dumps(entry.wanted.state, sort_keys=True), folded.action, folded.value)
            if known not in steps:
                try:
                    steps[known] = self._step(entry, folded.action, folded.value)
                except UserError as error:
                    steps[known] = error
            wanted = steps[known]
            refused = wanted if isinstance(wanted, UserError) else None
            folded.stepped.set_result(refused)
            if isinstance(wanted, Live):
                entry.wanted, follower = wanted, folded
        return follower

    async def _redraw(
        self, interaction: discord.Interaction, key: str, entry: _Entry, lane: Lane
    ) -> Reply | None:
        kind = entry.kind

        async def work(job: Job) -> Reply:
            return await kind.show(job, entry.wanted.state)

        async def deliver(reply: Reply) -> None:
            assert reply.live is not None
            view = components(key, kind.controls(reply.live.state), language_of(interaction))
            await update_message(interaction, reply, view)
            entry.shown = reply.live
            self._entries.move_to_end(key)
            if self._store is not None:  # not waited for: the message shows the state already
                now = datetime.now(UTC)
                self._store.touch_exploration(key, reply.live, reply.content, now)

        return await self._pipeline.serve(interaction, kind.name, "press", work, deliver, lane)


def _is_menu(kind: Kind, live: Live, action: str) -> bool:
    """Whether `action` is one of the live reply's menus."""
    return any(c.action == action and not isinstance(c, Button) for c in kind.controls(live.state))
