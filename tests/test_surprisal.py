"""`/surprisal`: next-token surprisal checked against a log-softmax of the full model's
logits written out here, the pseudo-log-likelihood against a loop that masks one token at a
time, and the command as the console runs it."""

from __future__ import annotations

import csv
import io
import math

import numpy as np
import pytest
import torch
from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForMaskedLM, AutoTokenizer

from bot.console import Console
from commands.surprisal.command import surprisal
from commands.surprisal.finish import NextTokenSurprisal, PseudoSurprisal
from commands.surprisal.result import Surprisal
from explorer.budget import Budget, check_request, dimensions
from explorer.contract import ForwardRequest, UserError
from tests.pictures import assert_drawn

TEXT = "The cat sat on the mat."


def source_of(settings, name: str) -> str:
    return next(spec.source for spec in settings.models if spec.name == name)


async def read(ctx, name: str, text: str, run: str, finish) -> Surprisal:
    card = await ctx.model(name)
    return await ctx.forward(card, ForwardRequest(text, None, card.max_tokens, run=run), finish)


@pytest.mark.parametrize("name", ["gpt2", "llama"])
async def test_causal_surprisal_is_minus_log2_of_the_next_token_probability(ctx, settings, name):
    ours = await read(ctx, name, TEXT, "head", NextTokenSurprisal())
    source = source_of(settings, name)
    model = AutoModelForCausalLM.from_pretrained(source, attn_implementation="eager").eval()
    ids = AutoTokenizer.from_pretrained(source)(TEXT)["input_ids"]
    with torch.no_grad():
        probabilities = model(input_ids=torch.tensor([ids])).logits[0].double().softmax(-1)
    expected = [-math.log2(float(probabilities[i - 1, ids[i]])) for i in range(1, len(ids))]
    entropies = [
        -float((p * p.log2()).sum()) for p in probabilities[:-1]
    ]  # each position's distribution over the next token
    assert ours.positions == tuple(range(1, len(ids))) and ours.kind == "causal"
    assert ours.bits.dtype == np.float32
    np.testing.assert_allclose(ours.bits, expected, rtol=1e-5)
    np.testing.assert_allclose(ours.entropy, entropies, rtol=1e-5)
    assert ours.total == pytest.approx(sum(expected), rel=1e-5)


async def test_pseudo_log_likelihood_masks_one_token_at_a_time(ctx, settings):
    text = "the cat sat on the mat because it was tired ."
    ours = await read(ctx, "tiny", text, "none", PseudoSurprisal())
    source = source_of(settings, "tiny")
    model = AutoModelForMaskedLM.from_pretrained(source, attn_implementation="eager").eval()
    tokenizer = AutoTokenizer.from_pretrained(source)
    ids = tokenizer(text)["input_ids"]
    expected, positions = [], []
    for position in range(1, len(ids) - 1):  # every token but [CLS] and [SEP], one pass each
        masked = list(ids)
        masked[position] = tokenizer.mask_token_id
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([masked])).logits[0, position].double()
        expected.append(-float(logits.log_softmax(-1)[ids[position]]) / math.log(2))
        positions.append(position)
    assert ours.positions == tuple(positions) and ours.kind == "pseudo"
    np.testing.assert_allclose(ours.bits, expected, rtol=1e-5)


async def test_the_console_draws_lists_and_exports(runtime, tmp_path):
    out = io.StringIO()
    assert await Console(runtime, tmp_path, out).execute(
        f"/surprisal text:{TEXT} model:gpt2 export:true"
    )
    printed = out.getvalue()
    assert (
        "**gpt2** · surprisal of " in printed and "−log₂ p(token | the tokens before it)" in printed
    )
    assert "bits/token · perplexity" in printed
    bits = np.load(next(tmp_path.glob("*surprisal.npy")))
    rows = list(csv.reader(next(tmp_path.glob("*surprisal.csv")).open()))
    assert rows[0] == ["position", "token", "bits", "entropy_bits"]
    assert bits.dtype == np.float32 and len(bits) == len(rows) - 1
    np.testing.assert_allclose([float(r[2]) for r in rows[1:]], bits, atol=1e-6)
    assert [int(r[0]) for r in rows[1:]] == list(range(1, len(bits) + 1))
    assert_drawn(next(tmp_path.glob("*surprisal.png")).read_bytes(), min_size=(300, 120))


async def test_long_texts_are_drawn_and_a_masked_lm_reads_at_most_128_tokens(ctx):
    causal = await surprisal(ctx, "the cat sat on the mat. " * 80, model="gpt2")
    assert "(The full output is attached as `surprisal.txt`.)" in causal.content
    assert_drawn(causal.attachments[-1].data, min_size=(300, 300))
    pseudo = await surprisal(ctx, "我在学习自然语言处理" * 30, model="long")
    assert "surprisal of 126 tokens" in pseudo.content
    assert "⚠️ Input truncated to 128 tokens (it had 302)." in pseudo.content


async def test_a_model_without_a_language_model_head_is_refused(ctx):
    with pytest.raises(UserError, match="`/surprisal` needs a language-model head") as refused:
        await surprisal(ctx, TEXT, model="minilm")
    assert "Models here that can:" in str(refused.value)


def test_the_masked_copies_count_against_the_request_budget(settings):
    dims = dimensions(AutoConfig.from_pretrained(source_of(settings, "rbt3")))
    request = ForwardRequest("x", run="none", max_tokens=512)
    check_request(Budget(512 * 2**20, dims), request, 128, PseudoSurprisal())
    with pytest.raises(UserError, match=r"please shorten the text to at most \d+ tokens"):
        check_request(Budget(16 * 2**20, dims), request, 128, PseudoSurprisal())
