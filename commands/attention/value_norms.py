"""Value-weighted attention (Kobayashi et al. 2020, "Attention is not only a weight"): the
norm ‖α_ij · f(x_j)‖ of what token j actually adds to token i through a head, f being the
value projection (its bias included) followed by the head's slice of the output projection.
The output projection's own bias is added once after the heads are summed, so it belongs to
no token and is left out, as in the paper.

Covered: BERT-like encoders (BERT, RoBERTa, MiniLM: `attention.self.value` and
`attention.output.dense`), GPT-2 (the fused `c_attn`, `c_proj`), Llama-like decoders
(`v_proj`, `o_proj`, grouped-query attention's shared value heads repeated), and T5's
encoder (`SelfAttention.v`, `.o`). Another architecture is refused by name. Worker-side:
it runs the model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from explorer.contract import UserError
from explorer.i18n import phrase


@dataclass(frozen=True)
class HeadOutputs:
    """One layer's attention: the module whose output holds the values, how to read them
    from it (batch, tokens, value heads × head size), and each head's slice of the output
    projection as (heads, head size, hidden)."""

    value: torch.nn.Module
    take: Callable[[torch.Tensor], torch.Tensor]
    out: torch.Tensor


def _same(values: torch.Tensor) -> torch.Tensor:
    return values


def _linear_slices(linear: Any, heads: int) -> torch.Tensor:
    """(heads, head size, hidden) of an `nn.Linear` output projection (y = x Wᵀ + b)."""
    weight: torch.Tensor = linear.weight  # (hidden, heads × head size)
    return weight.T.reshape(heads, -1, weight.shape[0])


def layers_of(model: Any) -> tuple[list[HeadOutputs], Any]:
    """Each attention layer's value module and output slices, and the module to run (the
    base model, or T5's encoder)."""
    base, config = model.base_model, model.config
    heads = config.num_attention_heads
    if hasattr(base, "encoder") and hasattr(base.encoder, "layer"):  # BERT-like
        return [
            HeadOutputs(
                layer.attention.self.value,
                _same,
                _linear_slices(layer.attention.output.dense, heads),
            )
            for layer in base.encoder.layer
        ], base
    if hasattr(base, "h") and hasattr(base.h[0].attn, "c_attn"):  # GPT-2: Conv1D, y = x W + b
        hidden = config.hidden_size

        def values(fused: torch.Tensor) -> torch.Tensor:
            return fused[..., 2 * hidden : 3 * hidden]

        return [
            HeadOutputs(
                block.attn.c_attn, values, block.attn.c_proj.weight.reshape(heads, -1, hidden)
            )
            for block in base.h
        ], base
    if hasattr(base, "layers") and hasattr(base.layers[0].self_attn, "v_proj"):  # Llama-like
        return [
            HeadOutputs(
                layer.self_attn.v_proj, _same, _linear_slices(layer.self_attn.o_proj, heads)
            )
            for layer in base.layers
        ], base
    encoder = getattr(model, "encoder", None)
    if encoder is not None and hasattr(encoder, "block"):  # T5's encoder
        return [
            HeadOutputs(
                block.layer[0].SelfAttention.v,
                _same,
                _linear_slices(block.layer[0].SelfAttention.o, config.num_heads),
            )
            for block in encoder.block
        ], encoder
    raise UserError(
        phrase(
            "Value-weighted attention is not available for {architecture}: it reads "
            "BERT-like encoders, GPT-2, Llama-like decoders and T5's encoder.",
            architecture=type(model).__name__,
        )
    )


@torch.inference_mode()
def value_norms(model: Any, inputs: Mapping[str, torch.Tensor]) -> np.ndarray:
    """‖α_ij · f(x_j)‖ for one input (batch of 1): float32 (layers, heads, tokens, tokens),
    rows attending to columns, as the attention weights are laid out."""
    layers, module = layers_of(model)
    captured: list[torch.Tensor] = []
    hooks = [
        layer.value.register_forward_hook(
            lambda _module, _args, output, take=layer.take: captured.append(take(output))
        )
        for layer in layers
    ]
    try:
        given = {
            k: v for k, v in inputs.items() if k != "token_type_ids" or module is model.base_model
        }
        attentions = module(**given, output_attentions=True).attentions
    finally:
        for hook in hooks:
            hook.remove()
    norms = []
    for layer, values, weights in zip(layers, captured, attentions, strict=True):
        heads, size, _ = layer.out.shape
        per_head = values[0].reshape(values.shape[1], -1, size).transpose(0, 1)  # (kv, n, d)
        if per_head.shape[0] != heads:  # grouped-query attention: each value head serves a group
            per_head = per_head.repeat_interleave(heads // per_head.shape[0], dim=0)
        transformed = torch.einsum("hnd,hde->hne", per_head, layer.out)  # f(x_j) per head
        norms.append(weights[0] * transformed.norm(dim=-1)[:, None, :])
    return torch.stack(norms).float().numpy()
