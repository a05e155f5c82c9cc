"""Value-weighted attention checked against a loop written out here for single heads: the
attention block's input captured with a hook, the value and output weights read from the
checkpoint's own modules, one token pair at a time."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import (
    AutoModel,
    AutoModelForCausalLM,
    AutoModelForMaskedLM,
    AutoTokenizer,
    T5ForConditionalGeneration,
)

from commands.attention.value_norms import value_norms
from explorer.contract import UserError

TEXT = "The cat sat on the mat."


def loaded(settings, name):
    source = next(spec.source for spec in settings.models if spec.name == name)
    kind = {
        "tiny": AutoModelForMaskedLM,
        "minilm": AutoModel,
        "gpt2": AutoModelForCausalLM,
        "llama": AutoModelForCausalLM,
        "t5": T5ForConditionalGeneration,
    }[name]
    model = kind.from_pretrained(source, attn_implementation="eager").eval()
    return model, AutoTokenizer.from_pretrained(source)


def attention_modules(model, name):
    """Per layer: the attention module (whose input is the value projection's input), and a
    function of that input giving one head's f(x) = (x W_V + b_V) W_O^h for every token."""
    if name in ("tiny", "minilm"):
        layers = model.base_model.encoder.layer
        heads = model.config.num_attention_heads

        def f(layer, x, head):
            size = layer.attention.self.value.weight.shape[0] // heads
            cut = slice(head * size, (head + 1) * size)
            value = layer.attention.self.value
            v = x @ value.weight[cut].T + value.bias[cut]
            return v @ layer.attention.output.dense.weight[:, cut].T

        return [(layer.attention.self, layer) for layer in layers], f
    if name == "gpt2":
        hidden = model.config.hidden_size
        size = hidden // model.config.num_attention_heads

        def f(block, x, head):
            cut = slice(2 * hidden + head * size, 2 * hidden + (head + 1) * size)
            v = x @ block.attn.c_attn.weight[:, cut] + block.attn.c_attn.bias[cut]
            return v @ block.attn.c_proj.weight[head * size : (head + 1) * size]

        return [(block.attn, block) for block in model.base_model.h], f
    if name == "llama":
        config = model.config
        group = config.num_attention_heads // config.num_key_value_heads
        size = config.head_dim

        def f(layer, x, head):
            shared = head // group  # the value head this query head reads
            v = x @ layer.self_attn.v_proj.weight[shared * size : (shared + 1) * size].T
            return v @ layer.self_attn.o_proj.weight[:, head * size : (head + 1) * size].T

        return [(layer.self_attn, layer) for layer in model.base_model.layers], f
    size = model.config.d_kv  # T5's encoder

    def f(block, x, head):
        attention = block.layer[0].SelfAttention
        v = x @ attention.v.weight[head * size : (head + 1) * size].T
        return v @ attention.o.weight[:, head * size : (head + 1) * size].T

    return [(block.layer[0].SelfAttention, block) for block in model.encoder.block], f


@pytest.mark.parametrize("name", ["tiny", "minilm", "gpt2", "llama", "t5"])
def test_norms_equal_a_loop_over_token_pairs(settings, name):
    model, tokenizer = loaded(settings, name)
    inputs = tokenizer(TEXT, return_tensors="pt")
    ours = value_norms(model, inputs)
    modules, f = attention_modules(model, name)
    seen: list[torch.Tensor] = []
    hooks = [
        module.register_forward_pre_hook(
            lambda _m, args, kwargs: seen.append(args[0] if args else kwargs["hidden_states"]),
            with_kwargs=True,
        )
        for module, _ in modules
    ]
    with torch.no_grad():
        run = model.encoder if name == "t5" else model
        given = {k: v for k, v in inputs.items() if name != "t5" or k != "token_type_ids"}
        attentions = run(**given, output_attentions=True).attentions
    for hook in hooks:
        hook.remove()
    heads = attentions[0].shape[1]
    tokens = inputs["input_ids"].shape[1]
    assert ours.shape == (len(modules), heads, tokens, tokens) and ours.dtype == np.float32
    for layer_index in (0, len(modules) - 1):
        for head in (0, heads - 1):
            with torch.no_grad():
                contributions = f(modules[layer_index][1], seen[layer_index][0], head)
            expected = np.zeros((tokens, tokens))
            for i in range(tokens):
                for j in range(tokens):
                    weight = float(attentions[layer_index][0, head, i, j])
                    expected[i, j] = float(torch.linalg.vector_norm(weight * contributions[j]))
            np.testing.assert_allclose(ours[layer_index, head], expected, rtol=1e-4, atol=1e-6)


def test_a_causal_model_adds_nothing_from_later_tokens(settings):
    model, tokenizer = loaded(settings, "gpt2")
    norms = value_norms(model, tokenizer(TEXT, return_tensors="pt"))
    assert np.all(np.triu(norms, k=1) == 0) and np.all(np.tril(norms) >= 0)


def test_an_unknown_architecture_is_refused_by_name():
    class Odd(torch.nn.Module):
        config = type("Config", (), {"num_attention_heads": 2})()

        @property
        def base_model(self):
            return self

    with pytest.raises(UserError, match="not available for Odd"):
        value_norms(Odd(), {})
