"""/config, /forward and /models as the user reads them."""

from __future__ import annotations

import json

import pytest
import torch
from transformers import AutoModel, AutoTokenizer, BertForMaskedLM

from commands.config import config, human_count
from commands.forward import forward
from commands.models import models
from explorer.contract import UserError
from tests.conftest import loaded_model


def summary(content: str) -> dict[str, str]:
    block = content.split("```yaml")[1].split("```", maxsplit=1)[0].strip().splitlines()
    return dict(line.split(": ", 1) for line in block)


async def test_config_summary_of_rbt3_shaped_model_without_loading_weights(settings, rbt3_dir):
    from bot.runtime import Runtime

    runtime = Runtime(settings)  # a fresh registry, so "loaded" reflects this test alone
    try:
        reply = await config(runtime.job(), model="rbt3")
        fields = summary(reply.content)
        assert fields["architecture"] == "BertForMaskedLM"
        assert fields["layers"] == "3" and fields["attention heads"] == "12"
        assert fields["hidden size"] == "768" and fields["vocab size"] == "21128"
        assert fields["max positions"] == "512" and fields["intermediate size"] == "3072"
        assert fields["task"] == "masked language model"
        real = sum(p.numel() for p in BertForMaskedLM.from_pretrained(rbt3_dir).parameters())
        assert fields["parameters (as loaded, estimated)"] == f"38.5M ({real:,})"
        assert not any(entry.loaded for entry in runtime.job().catalog().entries)
    finally:
        await runtime.close()


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("tiny", {"model type": "bert", "layers": "2", "attention heads": "4",
                  "hidden size": "32", "intermediate size": "37", "max positions": "32"}),
        ("gpt2", {"model type": "gpt2", "layers": "2", "attention heads": "4",  # n_layer, n_head
                  "hidden size": "32", "intermediate size": "128",  # n_inner unset: 4 × n_embd
                  "max positions": "64"}),
        ("llama", {"model type": "llama", "layers": "2", "attention heads": "4",
                   "key/value heads": "2", "hidden size": "32", "intermediate size": "64"}),
        ("t5", {"model type": "t5", "layers": "2 encoder, 3 decoder",
                "attention heads": "4 encoder, 4 decoder", "hidden size": "32",  # d_model
                "intermediate size": "64"}),  # d_ff
    ],
)  # fmt: skip
async def test_config_summary_reads_each_familys_own_keys(ctx, model, expected):
    fields = summary((await config(ctx, model=model)).content)
    assert {label: fields.get(label) for label in expected} == expected
    assert "—" not in {fields[label] for label in ("layers", "hidden size", "intermediate size")}
    assert ("key/value heads" in fields) is (model == "llama")  # only where fewer than heads


async def test_parameter_estimate_equals_the_real_model(ctx, minilm_dir):
    reply = await config(ctx, model="minilm")
    real = sum(p.numel() for p in AutoModel.from_pretrained(minilm_dir).parameters())
    assert summary(reply.content)["parameters (as loaded, estimated)"].endswith(f"({real:,})")


async def test_full_config_is_valid_json_inline_or_attached(ctx):
    reply = await config(ctx, model="minilm")
    if reply.attachments:
        values = json.loads(reply.attachments[0].data)
    else:
        values = json.loads(reply.content.split("```json")[1].split("```")[0])
    assert values["num_hidden_layers"] == 6 and values["vocab_size"] == 30522
    assert len(reply.content) <= 2000


async def test_config_key_and_typo_suggestion(ctx):
    reply = await config(ctx, model="rbt3", key="num_attention_heads")
    assert reply.content.split("```json")[1].strip().startswith("12")
    with pytest.raises(UserError, match="Did you mean `num_attention_heads`"):
        await config(ctx, model="rbt3", key="num_attention_head")


@pytest.mark.parametrize(("count", "text"), [(999, "999"), (22_713_216, "22.7M"), (7e9, "7.0B")])
def test_human_count(count, text):
    assert human_count(int(count)) == text


async def test_forward_matches_model_called_directly(ctx, minilm_dir):
    reply = await forward(ctx, "I am studying NLP.")
    tokenizer = AutoTokenizer.from_pretrained(minilm_dir)
    model = AutoModel.from_pretrained(minilm_dir)
    with torch.inference_mode():
        outputs = model(**tokenizer("I am studying NLP.", return_tensors="pt"))
    text = reply.content
    assert "last_hidden_state: shape (1, 8, 384) float32" in text
    assert "pooler_output: shape (1, 384) float32" in text
    first = ", ".join(f"{v:.4f}" for v in outputs.last_hidden_state[0, 0, :6].tolist())
    assert f"[{first}, …]" in text
    norms = outputs.last_hidden_state[0].norm(dim=-1).tolist()
    rows = [line.split() for line in text.split("per token:")[1].splitlines()[1:-1]]
    assert [row[1] for row in rows] == ["[CLS]", "i", "am", "studying", "nl", "##p", ".", "[SEP]"]
    assert [float(row[2]) for row in rows] == pytest.approx(norms, abs=1e-3)
    assert "attentions" not in text


async def test_forward_with_attentions_lists_one_tensor_per_layer(ctx):
    reply = await forward(ctx, "我在学习", model="rbt3", attentions=True)
    assert "attentions: tuple of 3 × shape (1, 12, 6, 6) float32" in reply.content
    assert "output_attentions=True" in reply.content


async def test_models_lists_allowlist_default_and_loaded(runtime, ctx):
    await loaded_model(runtime, "tiny")
    reply = await models(ctx)
    lines = reply.content.splitlines()
    assert lines[1].startswith("• `minilm` (local directory) — default")
    assert "• `tiny` (local directory) — loaded" in lines
    assert "• `hfl/rbt3` (hub: hfl/rbt3) — not loaded yet" in lines
