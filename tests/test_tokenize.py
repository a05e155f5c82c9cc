"""/tokenize: what the user reads matches the tokenizer called directly."""

from __future__ import annotations

import re

import pytest
from transformers import AutoTokenizer

from commands.tokenize import tokenize
from explorer.contract import UserError

SENTENCE = "I am studying NLP."


def table_rows(content: str) -> list[list[str]]:
    block = content.split("```")[1].strip().splitlines()[1:]
    return [row.split() for row in block]


async def test_tutorial_sentence_token_by_token(ctx, minilm_dir):
    reply = await tokenize(ctx, SENTENCE)
    expected = AutoTokenizer.from_pretrained(minilm_dir)(SENTENCE)
    tokens = AutoTokenizer.from_pretrained(minilm_dir).convert_ids_to_tokens(expected["input_ids"])
    rows = table_rows(reply.content)
    assert [row[1].rstrip("*") for row in rows] == tokens
    assert [int(row[2]) for row in rows] == expected["input_ids"]
    assert [int(row[3]) for row in rows] == expected["token_type_ids"]
    assert [int(row[4]) for row in rows] == expected["attention_mask"]
    assert tokens == ["[CLS]", "i", "am", "studying", "nl", "##p", ".", "[SEP]"]
    assert rows[0][1] == "[CLS]*" and rows[-1][1] == "[SEP]*" and rows[1][1] == "i"
    assert "18 characters → 8 tokens (2 special" in reply.content
    assert reply.attachments == ()


async def test_sentence_pair_marks_second_segment(ctx):
    reply = await tokenize(ctx, "我在学习", model="rbt3", text_pair="今天天气很好")
    rows = table_rows(reply.content)
    assert [row[1] for row in rows] == [
        "[CLS]*", "我", "在", "学", "习", "[SEP]*", "今", "天", "天", "气", "很", "好", "[SEP]*"
    ]  # fmt: skip
    assert [row[3] for row in rows] == ["0"] * 6 + ["1"] * 7
    assert "sentence pair" in reply.content


async def test_long_input_is_truncated_to_model_maximum_with_notice(ctx):
    text = "hello world " * 40  # 80 words for a model with 32 positions
    reply = await tokenize(ctx, text, model="tiny")
    assert len(table_rows(reply.content)) == 32
    assert "truncated to 32 tokens (it had 82)" in reply.content


async def test_table_too_long_for_discord_comes_as_a_file(ctx):
    reply = await tokenize(ctx, "hello world " * 150, model="minilm")
    assert len(reply.content) <= 2000
    assert [a.filename for a in reply.attachments] == ["tokens.txt"]
    lines = reply.attachments[0].data.decode().splitlines()
    assert len(lines) == 1 + 302 and lines[1].split()[1] == "[CLS]*"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "it was empty"),
        ("   ", "it was empty"),
        ("x" * 2001, "2,001 characters long; the limit is 2,000"),
    ],
)
async def test_bad_text_is_refused_before_any_work(ctx, text, message):
    with pytest.raises(UserError, match=re.escape(message)):
        await tokenize(ctx, text, model="gone")  # the model is never touched


async def test_backticks_in_tokens_cannot_break_the_code_block(ctx):
    reply = await tokenize(ctx, "```@everyone```", model="minilm")
    assert reply.content.count("```") == 2
