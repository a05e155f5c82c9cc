"""`/models`: the allowlist, the default, and what is loaded now."""

from __future__ import annotations

from explorer.contract import Context, Reply
from explorer.declare import command


@command(queued=False)
async def models(ctx: Context) -> Reply:
    """List the models you can use here, the default first, and which are loaded now."""
    catalog = ctx.catalog()
    lines = ["**Models you can use**"]
    for entry in catalog.entries:
        marks = []
        if entry.name == catalog.default:
            marks.append("default")
        marks.append("loaded" if entry.loaded else "not loaded yet")
        lines.append(f"• `{entry.name}` ({entry.origin}) — {', '.join(marks)}")
    return Reply("\n".join(lines))
