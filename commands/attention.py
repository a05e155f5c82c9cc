"""`/attention`: a heatmap of one head, or the mean of a layer's heads."""

from __future__ import annotations

import numpy as np
import torch

from commands.context import Context, LoadedModel
from commands.encoding import Encoding, check_text, encode
from commands.heatmap import Heatmap, render_heatmap
from commands.results import Attachment, Reply, UserError
from commands.text import plural, quote_inline


def attention_weights(loaded: LoadedModel, encoding: Encoding) -> np.ndarray:
    """All attention weights as an array of shape (layers, heads, tokens, tokens)."""
    with torch.inference_mode():
        outputs = loaded.model(**encoding.model_inputs(), output_attentions=True)
    if not outputs.attentions:
        raise UserError(
            f"The model **{loaded.name}** returned no attention weights "
            "(its attention implementation does not expose them)."
        )
    return torch.stack(outputs.attentions)[:, 0].float().numpy()


def pick_layer_head(
    layers: int, heads: int, layer: int | None, head: int | None
) -> tuple[int, int | None]:
    """Validate 1-based `layer` and `head`; default to the last layer and the head mean."""
    chosen = layers if layer is None else layer
    if not 1 <= chosen <= layers:
        raise UserError(f"This model has {layers} layers: choose a layer from 1 to {layers}.")
    if head is not None and not 1 <= head <= heads:
        raise UserError(
            f"This model has {heads} heads per layer: choose a head from 1 to {heads}, "
            "or leave it out for the mean of all heads."
        )
    return chosen, head


def heatmap_for(
    model: str, caption: str, weights: np.ndarray, encoding: Encoding, layer: int, head: int | None
) -> Heatmap:
    """The matrix and captions for a 1-based layer and head (None: mean of heads)."""
    layers, heads = weights.shape[:2]
    per_layer = weights[layer - 1]
    if head is None:
        matrix, which = per_layer.mean(axis=0), f"mean of {heads} heads"
    else:
        matrix, which = per_layer[head - 1], f"head {head}/{heads}"
    return Heatmap(
        matrix=matrix,
        labels=encoding.tokens,
        title=f"{model} · layer {layer}/{layers} · {which}",
        subtitle=caption,
        boundary=encoding.segment_boundary,
    )


def _compute(
    loaded: LoadedModel,
    text: str,
    text_pair: str | None,
    layer: int | None,
    head: int | None,
    max_tokens: int,
) -> tuple[Heatmap, Encoding]:
    config = loaded.config
    chosen_layer, chosen_head = pick_layer_head(
        config.num_hidden_layers, config.num_attention_heads, layer, head
    )
    encoding = encode(loaded, text, text_pair, max_tokens)
    weights = attention_weights(loaded, encoding)
    caption = quote_inline(text if text_pair is None else f"{text} ‖ {text_pair}", 70)
    heatmap = heatmap_for(
        loaded.name, caption.strip("`"), weights, encoding, chosen_layer, chosen_head
    )
    return heatmap, encoding


async def attention(
    ctx: Context,
    text: str,
    model: str | None = None,
    layer: int | None = None,
    head: int | None = None,
    text_pair: str | None = None,
) -> Reply:
    """Render the attention of one head (or the mean of all heads) in one layer."""
    check_text(text, ctx.limits.max_input_chars)
    if text_pair is not None:
        check_text(text_pair, ctx.limits.max_input_chars, "second text")
    loaded = await ctx.model(model)
    max_tokens = min(loaded.max_tokens, ctx.limits.max_heatmap_tokens)
    heatmap, encoding = await ctx.run(_compute, loaded, text, text_pair, layer, head, max_tokens)
    png = await ctx.run(render_heatmap, heatmap)
    lines = [f"**{heatmap.title}** · {plural(len(encoding.tokens), 'token')}"]
    if encoding.truncated:
        lines.append(
            f"⚠️ Only the first {len(encoding.tokens)} of {encoding.untruncated_length} tokens "
            f"are shown (limit: {max_tokens} tokens)."
        )
    return Reply("\n".join(lines), (Attachment("attention.png", png, heatmap.title),))
