"""`/forward`: what `model(**inputs)` returns, field by field, readable."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from commands.capabilities import notices
from commands.options import MODEL, TARGET, TEXT, check_target
from explorer.contract import (
    DISCORD_MESSAGE_LIMIT,
    Context,
    Forwarded,
    ForwardRequest,
    Reply,
    reply_with_overflow,
)
from explorer.declare import Opt, command
from explorer.encoding import Encoding, check_text
from explorer.i18n import phrase
from explorer.text import in_code, pad, quote_inline, text_width, token_count

if TYPE_CHECKING:
    import torch

PREVIEW_VALUES = 6


@dataclass(frozen=True)
class FieldSummary:
    """One output field: its name, what it holds, and a few of its values."""

    name: str
    description: str
    preview: str


def preview(tensor: torch.Tensor, count: int = PREVIEW_VALUES) -> str:
    """The first `count` values of the tensor's first row, like a shortened `print`."""
    flat = tensor.reshape(-1, tensor.shape[-1])[0] if tensor.dim() > 1 else tensor.reshape(-1)
    values = ", ".join(f"{float(value):.4f}" for value in flat[:count])
    more = ", …" if flat.numel() > count else ""
    return f"[{values}{more}]"


def describe_tensor(tensor: torch.Tensor) -> str:
    """`shape (1, 8, 384) float32`."""
    return f"shape {tuple(tensor.shape)} {str(tensor.dtype).removeprefix('torch.')}"


def summarise_field(name: str, value: Any) -> FieldSummary:
    """Shape, dtype and preview of a tensor, or of a tuple of tensors (one per layer)."""
    import torch  # worker side, where torch is loaded

    if isinstance(value, torch.Tensor):
        return FieldSummary(name, describe_tensor(value), preview(value))
    if isinstance(value, tuple) and value and isinstance(value[0], torch.Tensor):
        return FieldSummary(
            name,
            f"tuple of {len(value)} × {describe_tensor(value[0])}",
            f"[0] {preview(value[0])}",
        )
    return FieldSummary(name, type(value).__name__, repr(value)[:60])


@dataclass(frozen=True)
class ForwardResult:
    """The output fields plus the per-token L2 norm of the last hidden state."""

    output_type: str
    fields: tuple[FieldSummary, ...]
    token_norms: tuple[float, ...]
    encoding: Encoding
    target: Encoding | None


def summarise(forwarded: Forwarded) -> ForwardResult:
    """Each output field, and the per-token L2 norm of `last_hidden_state` (a `finish`)."""
    output = forwarded.output
    assert output is not None
    fields = tuple(summarise_field(name, value) for name, value in output.fields.items())
    hidden = output.fields.get("last_hidden_state")
    if hidden is None and "decoder_hidden_states" in output.fields:  # an encoder–decoder LM
        hidden = output.fields["decoder_hidden_states"][-1]
    norms = () if hidden is None else tuple(hidden[0].float().norm(dim=-1).tolist())
    return ForwardResult(output.type_name, fields, norms, forwarded.encoding, forwarded.target)


def format_result(result: ForwardResult) -> str:
    """The fields, then a token-by-token table of hidden-state norms."""
    lines = [f"{result.output_type}("]
    for field in result.fields:
        lines.append(f"  {field.name}: {field.description}")
        lines.append(f"    {field.preview}")
    lines.append(")")
    if result.token_norms:
        # An encoder–decoder model's last hidden state is the decoder's.
        tokens = (result.target or result.encoding).tokens
        name = "decoder_hidden_states[-1]" if result.target is not None else "last_hidden_state"
        lines += ["", f"‖{name}‖ per token:"]
        shown = [in_code(token) for token in tokens]
        width = max(text_width(token) for token in shown)
        for index, (token, norm) in enumerate(zip(shown, result.token_norms, strict=True)):
            lines.append(f"{index:>4}  {pad(token, width)}  {norm:8.3f}")
    return "\n".join(lines)


ATTENTIONS = Opt("Also return attention weights (output_attentions=True)")


@command()
async def forward(
    ctx: Context,
    text: Annotated[str, Opt("The text to run through the model", 1, TEXT.high)],
    model: Annotated[str | None, MODEL] = None,
    attentions: Annotated[bool, ATTENTIONS] = False,
    target: Annotated[str | None, TARGET] = None,
) -> Reply:
    """Run model(**inputs) and show each output's shape, dtype and values."""
    check_text(text, ctx.limits.max_input_chars)
    if target is not None:
        check_text(target, ctx.limits.max_input_chars, phrase("target text"))
    card = await ctx.model(model)
    check_target(card, target)
    # An encoder–decoder LM returns its decoder's states only when asked for hidden states.
    request = ForwardRequest(
        text,
        None,
        card.max_tokens,
        attentions=attentions,
        hidden_states=card.encoder_decoder,
        target=target,
    )
    result = await ctx.forward(card, request, summarise)
    ctx.record(tokens=len(result.encoding))
    lines: list[str] = [
        phrase(
            "**{model}** · `model(**inputs{options})` on {tokens}",
            model=card.name,
            options=", output_attentions=True" if attentions else "",
            tokens=token_count(len(result.encoding)),
        )
    ]
    if result.target is not None:
        decoded = quote_inline(" ".join(result.target.tokens), DISCORD_MESSAGE_LIMIT)
        if target is not None:
            lines.append(
                phrase("decoder input (the target text, shifted right): {tokens}", tokens=decoded)
            )
        else:
            lines.append(
                phrase("decoder input (the model's own greedy output, shifted right): {tokens}",
                       tokens=decoded)
            )  # fmt: skip
    lines += await notices(ctx, card, result.encoding)
    header = "\n".join(map(ctx.tell, lines))
    return reply_with_overflow(header, format_result(result), "forward.txt", reader=ctx.language)
