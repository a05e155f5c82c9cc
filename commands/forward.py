"""`/forward`: what `model(**inputs)` returns, field by field, readable."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from commands.context import Context, ForwardOutput, ForwardRequest
from commands.encoding import Encoding, check_text
from commands.results import Reply, reply_with_overflow
from commands.text import in_code, plural

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
    return f"shape {tuple(tensor.shape)} {str(tensor.dtype).removeprefix('torch.')}"


def summarise_field(name: str, value: object) -> FieldSummary:
    """Shape, dtype and preview of a tensor, or of a tuple of tensors (one per layer)."""
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
    """The output fields plus the per-token L2 norm of `last_hidden_state`."""

    output_type: str
    fields: tuple[FieldSummary, ...]
    token_norms: tuple[float, ...]
    encoding: Encoding


def summarise(encoding: Encoding, output: ForwardOutput) -> ForwardResult:
    """Each output field, and the per-token L2 norm of `last_hidden_state`."""
    fields = tuple(summarise_field(name, value) for name, value in output.fields.items())
    hidden = output.fields.get("last_hidden_state")
    norms = () if hidden is None else tuple(hidden[0].float().norm(dim=-1).tolist())
    return ForwardResult(output.type_name, fields, norms, encoding)


def format_result(result: ForwardResult) -> str:
    """The fields, then a token-by-token table of hidden-state norms."""
    lines = [f"{result.output_type}("]
    for field in result.fields:
        lines.append(f"  {field.name}: {field.description}")
        lines.append(f"    {field.preview}")
    lines.append(")")
    if result.token_norms:
        lines.append("")
        lines.append("‖last_hidden_state‖ per token:")
        shown = [in_code(token) for token in result.encoding.tokens]
        width = max(len(token) for token in shown)
        for index, (token, norm) in enumerate(zip(shown, result.token_norms, strict=True)):
            lines.append(f"{index:>4}  {token:<{width}}  {norm:8.3f}")
    return "\n".join(lines)


async def forward(
    ctx: Context, text: str, model: str | None = None, attentions: bool = False
) -> Reply:
    """Run the model on text and show what it returns."""
    check_text(text, ctx.limits.max_input_chars)
    loaded = await ctx.model(model)
    request = ForwardRequest(text, None, loaded.max_tokens, attentions)
    result = await ctx.forward(loaded, request, summarise)
    ctx.record(tokens=len(result.encoding.input_ids))
    header = (
        f"**{loaded.name}** · `model(**inputs"
        f"{', output_attentions=True' if attentions else ''})` on "
        f"{plural(len(result.encoding.tokens), 'token')}"
    )
    notice = result.encoding.truncation_notice()
    if notice:
        header += f"\n{notice}"
    return reply_with_overflow(header, format_result(result), "forward.txt")
