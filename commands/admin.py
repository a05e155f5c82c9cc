"""`/status` and the management commands: what the bot is doing, and loading or unloading."""

from __future__ import annotations

from typing import Annotated

from commands.options import complete_model
from explorer.contract import Context, Reply, Snapshot, reply_with_overflow
from explorer.declare import Group, Opt, command
from explorer.i18n import SOURCE_LANGUAGE, phrase, tell, told
from explorer.text import pad, text_width

ADMIN = Group("admin", "Manage the bot (needs the Manage Server permission)")


def duration(seconds: float) -> str:
    """`3d 4h 05m`, `2h 03m 07s`, `42s`."""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d {hours}h {minutes:02d}m"
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def status_text(snapshot: Snapshot, language: str = SOURCE_LANGUAGE) -> str:
    """Uptime, gateway latency, queue, models in memory and latency per command (labels
    told in `language`)."""
    latency = (
        "—" if snapshot.gateway_latency_ms is None else f"{snapshot.gateway_latency_ms:.0f} ms"
    )
    used = sum(model.nbytes for model in snapshot.models)
    rows: list[tuple[str, str]] = [
        (phrase("uptime"), duration(snapshot.uptime_s)),
        (phrase("gateway latency"), latency),
        (phrase("queue"), phrase("{running} running, {waiting} waiting",
                                 running=snapshot.running, waiting=snapshot.waiting)),
        (phrase("model memory"), phrase("{used:.0f} of {budget:.0f} MiB", used=used / 2**20,
                                        budget=snapshot.memory_budget / 2**20)),
    ]  # fmt: skip
    if snapshot.store is not None:
        rows.insert(3, (phrase("store"), snapshot.store))
    labels = [tell(label, language) for label, _ in rows]
    width = max(15, *(text_width(label) for label in labels))
    lines = [
        f"{pad(label, width)} {told(value, language)}"
        for label, (_, value) in zip(labels, rows, strict=True)
    ]
    for model in snapshot.models:
        use = (
            tell(phrase(", in use by {count}", count=model.holds), language) if model.holds else ""
        )
        lines.append(f"  {model.name:<14}{model.nbytes / 2**20:8.0f} MiB{use}")
    if snapshot.latencies:
        lines += ["", f"{'command':<12}{'count':>7}{'failed':>8}{'p50 ms':>9}{'p95 ms':>9}"]
        for row in snapshot.latencies:
            lines.append(
                f"{row.command:<12}{row.count:>7}{row.failed:>8}{row.p50_ms:>9.0f}{row.p95_ms:>9.0f}"
            )
    return "\n".join(lines)


@command(queued=False)
async def status(ctx: Context) -> Reply:
    """Show uptime, latency, loaded models, the queue and command latencies."""
    return reply_with_overflow(
        ctx.tell(phrase("**Model Explorer status**")),
        status_text(ctx.snapshot(), ctx.language),
        "status.txt",
        reader=ctx.language,
    )


@command(group=ADMIN, queued=False, permission="manage_guild", operators=True)
async def load(
    ctx: Context,
    model: Annotated[str, Opt("The model to load into memory now", complete=complete_model)],
) -> Reply:
    """Load a model into memory now, so the next command on it is fast."""
    card = await ctx.load(model)
    loaded = phrase("✅ **{model}** is loaded ({size:.0f} MiB).", model=card.name,
                    size=card.nbytes / 2**20)  # fmt: skip
    return Reply(ctx.tell(loaded))


@command(group=ADMIN, queued=False, permission="manage_guild", operators=True)
async def unload(
    ctx: Context,
    model: Annotated[str, Opt("The model to drop from memory", complete=complete_model)],
) -> Reply:
    """Drop a loaded model from memory."""
    unloaded = phrase("✅ **{model}** was unloaded.", model=await ctx.unload(model))
    return Reply(ctx.tell(unloaded))


@command(group=ADMIN, queued=False, permission="manage_guild")
async def internals(ctx: Context) -> Reply:
    """Show the runtime's internals: threads, batching, garbage collector, memory."""
    rows = ctx.snapshot().internals
    width = max(len(key) for key in rows)
    table = "\n".join(f"{key:<{width}}  {value}" for key, value in rows.items())
    return reply_with_overflow(
        ctx.tell(phrase("**Internals**")), table, "internals.txt", reader=ctx.language
    )
