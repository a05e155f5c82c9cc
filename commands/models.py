"""`/models`: the allowlist, the default, and what is loaded now."""

from __future__ import annotations

from explorer.contract import Context, Reply
from explorer.declare import command
from explorer.i18n import phrase


@command(queued=False)
async def models(ctx: Context) -> Reply:
    """List the models you can use here, the default first, and which are loaded now."""
    catalog = ctx.catalog()
    lines = [ctx.tell(phrase("**Models you can use**"))]
    for entry in catalog.entries:
        marks = []
        if entry.name == catalog.default:
            marks.append(phrase("default"))
        marks.append(phrase("loaded") if entry.loaded else phrase("not loaded yet"))
        told = ctx.tell(phrase(", ")).join(map(ctx.tell, marks))
        lines.append(f"• `{entry.name}` ({entry.origin}) — {told}")
    return Reply("\n".join(lines))
