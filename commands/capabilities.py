"""What a command needs of a model, declared once per capability: how to tell whether a model
has it without loading weights, and a Hub model that has it. When the chosen model lacks it,
the one reply path below names the models of this server that have it, or how the operator
adds one."""

from __future__ import annotations

import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from explorer.contract import TASK_NAMES, Context, ModelCard, Task, UserError
from explorer.encoding import Encoding
from explorer.i18n import phrase, plural_phrase
from explorer.models import task_of
from explorer.text import quote_inline, token_count

# Whether the named model has the capability (reading its config or tokenizer, not weights).
Fits = Callable[[Context, str], Awaitable[bool]]
SHOWN_MODELS = 3


@dataclass(frozen=True)
class Capability:
    """Something a command needs of a model: what it is, in words; how a model shows it; and a
    Hub model that has it (None: none to suggest)."""

    needs: str
    fits: Fits
    example: str | None


def head(*tasks: Task) -> Fits:
    """A head for one of `tasks`, as the checkpoint's config names its class."""

    async def fits(ctx: Context, name: str) -> bool:
        _, config = await ctx.config(name)
        return task_of(config) in tasks

    return fits


MASKED_LM = Capability(
    phrase("a masked-language-model head (as BERT has)"), head("masked-lm"), "hfl/rbt3"
)
CAUSAL_LM = Capability(
    phrase("a causal-language-model head (as GPT-2 has)"), head("causal-lm"), "gpt2"
)
LANGUAGE_MODEL = Capability(
    phrase("a language-model head (masked or causal)"), head("masked-lm", "causal-lm"), "hfl/rbt3"
)


def _chinese(character: str) -> bool:
    return unicodedata.name(character, "").startswith("CJK UNIFIED IDEOGRAPH")


def vocabulary(pieces: tuple[str, ...]) -> Capability:
    """A tokenizer that reads every one of `pieces` without its unknown token (hfl/rbt3 reads
    Chinese characters)."""

    async def fits(ctx: Context, name: str) -> bool:
        return not await ctx.unreadable(name, pieces)

    example = "hfl/rbt3" if any(map(_chinese, "".join(pieces))) else None
    return Capability(phrase("a vocabulary with these"), fits, example)


async def models_with(ctx: Context, capability: Capability, besides: str = "") -> list[str]:
    """This server's models that have the capability (models that cannot be read are left
    out)."""
    found = []
    for name in ctx.catalog().names:
        if name == besides:
            continue
        try:
            if await capability.fits(ctx, name):
                found.append(name)
        except UserError:
            continue
    return found


async def where_else(ctx: Context, capability: Capability, besides: str) -> str:
    """One sentence (a `phrase`): which of this server's models can, or how the operator
    adds one."""
    others = await models_with(ctx, capability, besides)
    if others:
        shown = ", ".join(f"`{name}`" for name in others[:SHOWN_MODELS])
        if len(others) > SHOWN_MODELS:
            return phrase(
                "Models here that can: {shown} and {more} more (try `model:{first}`).",
                shown=shown,
                more=len(others) - SHOWN_MODELS,
                first=others[0],
            )
        return phrase(
            "Models here that can: {shown} (try `model:{first}`).", shown=shown, first=others[0]
        )
    if capability.example is None:
        return phrase("No model here can.")
    name = capability.example.rsplit("/", 1)[-1]
    entry = capability.example if name == capability.example else f"{name}={capability.example}"
    return phrase(
        "No model here can; the bot's operator can add one: `./dev fetch {example}`, then "
        "`MODELS=…,{entry}`.",
        example=capability.example,
        entry=entry,
    )


async def model_with(
    ctx: Context, name: str | None, capability: Capability, command: str
) -> ModelCard:
    """The model, loaded, if it has the capability; else a reply naming those that do."""
    card = await ctx.model(name)
    if await capability.fits(ctx, card.name):
        return card
    raise UserError(
        phrase(
            "**{model}** ({architecture}) is a {task}; `/{command}` needs {needs}. {where}",
            model=card.name,
            architecture=card.architecture,
            task=TASK_NAMES[card.task],
            command=command,
            needs=capability.needs,
            where=await where_else(ctx, capability, card.name),
        )
    )


async def unknown_notice(ctx: Context, card: ModelCard, encoding: Encoding) -> list[str]:
    """A warning (a `phrase`) when tokens of the text are unknown to the model: which
    characters its vocabulary lacks, and the models here that have them (or how to add
    one)."""
    if not encoding.unknown:
        return []
    pieces = tuple(piece for piece in dict.fromkeys(encoding.unknown) if piece)
    values = {
        "tokens": token_count(len(encoding)),
        "model": card.name,
    }
    if not pieces:
        return [
            plural_phrase(
                "⚠️ {count} of {tokens} is unknown to **{model}**: its vocabulary lacks them.",
                "⚠️ {count} of {tokens} are unknown to **{model}**: its vocabulary lacks them.",
                len(encoding.unknown),
                **values,
            )
        ]
    return [
        plural_phrase(
            "⚠️ {count} of {tokens} is unknown to **{model}**: its vocabulary lacks {lacks}. "
            "{where}",
            "⚠️ {count} of {tokens} are unknown to **{model}**: its vocabulary lacks {lacks}. "
            "{where}",
            len(encoding.unknown),
            lacks=quote_inline(" ".join(pieces), 40),
            where=await where_else(ctx, vocabulary(pieces), card.name),
            **values,
        )
    ]


async def notices(ctx: Context, card: ModelCard, encoding: Encoding) -> list[str]:
    """Warnings (`phrase`s) about how the model read the text: tokens cut to fit, and tokens
    unknown to it."""
    cut = [encoding.truncation_notice()] if encoding.truncated else []
    return cut + await unknown_notice(ctx, card, encoding)
