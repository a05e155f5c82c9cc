"""`/models`: the allowlist, the default, and what is loaded now."""

from __future__ import annotations

from commands.context import Context
from commands.results import Reply


async def models(ctx: Context) -> Reply:
    """List the models this bot may load."""
    catalog = ctx.catalog()
    lines = ["**Models you can use**"]
    for entry in catalog.entries:
        marks = []
        if entry.name == catalog.default:
            marks.append("default")
        marks.append("loaded" if entry.loaded else "not loaded yet")
        lines.append(f"• `{entry.name}` ({entry.origin}) — {', '.join(marks)}")
    return Reply("\n".join(lines))
