"""Models load with their heads, as the checkpoint's own class, once, with one memory charge."""

from __future__ import annotations

import pytest

from explorer.contract import ForwardRequest
from tests.conftest import loaded_model


@pytest.mark.parametrize(
    ("name", "architecture", "task", "layers", "heads", "decoder"),
    [
        ("minilm", "BertModel", "base", 6, 12, (0, 0)),
        ("rbt3", "BertForMaskedLM", "masked-lm", 3, 12, (0, 0)),
        ("gpt2", "GPT2LMHeadModel", "causal-lm", 2, 4, (0, 0)),
        ("llama", "LlamaForCausalLM", "causal-lm", 2, 4, (0, 0)),
        ("t5", "T5ForConditionalGeneration", "seq2seq", 2, 4, (3, 4)),
    ],
)
async def test_each_family_loads_as_its_own_class(runtime, name, architecture, task, layers,
                                                   heads, decoder):  # fmt: skip
    loaded = await loaded_model(runtime, name)
    card = loaded.card
    assert (card.architecture, card.task, card.layers, card.heads) == (
        architecture, task, layers, heads
    )  # fmt: skip
    assert (card.decoder_layers, card.decoder_heads) == decoder
    assert type(loaded.model).__name__ == architecture
    assert loaded.model.config._attn_implementation == "eager"  # attention weights come back
    parameters = sum(p.numel() * p.element_size() for p in loaded.model.parameters())
    buffers = sum(b.numel() * b.element_size() for b in loaded.model.buffers())
    assert card.nbytes == parameters + buffers  # one charge for the whole model
    assert card.untrained_head == ()


async def test_the_base_model_is_shared_with_the_head(runtime):
    loaded = await loaded_model(runtime, "rbt3")
    embeddings = loaded.base.embeddings.word_embeddings.weight
    assert embeddings is loaded.model.bert.embeddings.word_embeddings.weight
    assert loaded.model.cls.predictions.decoder.weight is embeddings  # tied, not a copy


async def test_a_checkpoint_without_head_weights_is_recorded_as_untrained(runtime):
    card = (await loaded_model(runtime, "headless")).card
    assert card.architecture == "BertForMaskedLM" and card.task == "masked-lm"
    assert "cls.predictions.transform.dense.weight" in card.untrained_head
    assert not any(key.startswith("bert.") for key in card.untrained_head)


@pytest.mark.parametrize("name", ["gpt2", "llama", "t5", "rbt3", "minilm"])
async def test_every_family_tokenises_and_runs(ctx, name):
    card = await ctx.model(name)
    request = ForwardRequest("The cat sat on the mat.", run="head", attentions=True)
    fields = await ctx.forward(card, request, lambda forwarded: forwarded.output.fields)
    assert fields  # no crash, outputs came back
    if card.encoder_decoder:
        assert {"encoder_attentions", "decoder_attentions", "cross_attentions"} <= set(fields)
    else:
        assert len(fields["attentions"]) == card.layers
