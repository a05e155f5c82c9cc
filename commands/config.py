"""`/config`: a model's configuration, summarised, in full, or one key at a time."""

from __future__ import annotations

import difflib
import json
from typing import Annotated, Any

from commands.options import MODEL
from explorer.contract import TASK_NAMES, Context, Reply, UserError, reply_with_overflow
from explorer.declare import Opt, command
from explorer.i18n import SOURCE_LANGUAGE, phrase, tell, told
from explorer.models import architecture, config_values, parameter_count, summary, task_of
from explorer.text import quote_inline, safe_filename


def human_count(count: int) -> str:
    """`38.5M`, `1.2B`."""
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if count >= size:
            return f"{count / size:.1f}{suffix}"
    return str(count)


def summary_lines(
    config: Any, parameters: int | None, language: str = SOURCE_LANGUAGE
) -> list[str]:
    """`label: value` lines for the fields people look at first, told in `language`."""
    shown: list[tuple[str, str]] = [
        (phrase("architecture"), architecture(config)),
        (phrase("task"), TASK_NAMES[task_of(config)]),
        *summary(config),
    ]
    estimate: str = phrase("unknown")
    if parameters is not None:
        estimate = f"{human_count(parameters)} ({parameters:,})"
    shown.append((phrase("parameters (as loaded, estimated)"), estimate))
    return [f"{tell(label, language)}: {told(value, language)}" for label, value in shown]


def lookup(values: dict[str, Any], key: str) -> Any:
    """One config field; an unknown key suggests close matches."""
    if key in values:
        return values[key]
    matches = difflib.get_close_matches(key, values.keys(), n=3, cutoff=0.5)
    shown = quote_inline(key)
    if matches:
        suggested = ", ".join(quote_inline(m) for m in matches)
        raise UserError(
            phrase("This config has no key {key}. Did you mean {matches}?", key=shown,
                   matches=suggested)
        )  # fmt: skip
    raise UserError(phrase("This config has no key {key}.", key=shown))


@command()
async def config(
    ctx: Context,
    model: Annotated[str | None, MODEL] = None,
    key: Annotated[str | None, Opt("Show one field only, e.g. num_hidden_layers")] = None,
) -> Reply:
    """Show a model's configuration (read without loading its weights)."""
    name, hf_config = await ctx.config(model)
    values = config_values(hf_config)
    if key is not None and key.strip():
        key = key.strip()
        value = json.dumps(lookup(values, key), indent=2, ensure_ascii=False)
        return reply_with_overflow(
            f"**{name}** · {quote_inline(key)}",
            value,
            f"{safe_filename(name)}-{safe_filename(key)}.json",
            language="json",
            reader=ctx.language,
        )
    parameters = await ctx.run(parameter_count, hf_config)
    header = (
        ctx.tell(phrase("**{model}** configuration", model=name))
        + "\n```yaml\n"
        + "\n".join(summary_lines(hf_config, parameters, ctx.language))
        + "\n```\n"
        + ctx.tell(phrase("Full config:"))
    )
    full = json.dumps(values, indent=2, ensure_ascii=False)
    filename = f"{safe_filename(name)}-config.json"
    return reply_with_overflow(header, full, filename, language="json", reader=ctx.language)
