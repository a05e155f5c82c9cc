"""/tokenize: what the user reads matches the tokenizer called directly."""

from __future__ import annotations

import re

import pytest
from transformers import AutoTokenizer

from commands.lineup import Read, line_up
from commands.tokenize import tokenize
from explorer.contract import UserError
from explorer.encoding import Encoding

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


CHINESE = "我在学习自然语言处理。"


async def test_chinese_on_minilm_names_the_characters_and_the_models_that_have_them(
    ctx, minilm_dir
):
    reply = await tokenize(ctx, CHINESE)
    reference = AutoTokenizer.from_pretrained(minilm_dir)
    ids = reference(CHINESE)["input_ids"]
    lacked = [c for c in CHINESE if reference(c, add_special_tokens=False)["input_ids"] == [100]]
    unknown = ids.count(reference.unk_token_id)
    assert unknown == len(lacked) == 8  # of 13 tokens: MiniLM's vocabulary is English
    assert [row[1] for row in table_rows(reply.content)].count("[UNK]") == unknown
    assert (
        f"⚠️ 8 of 13 tokens are unknown to **minilm**: its vocabulary lacks "
        f"`{' '.join(lacked)}`. Models here that can: `tiny`, `rbt3`, `gpt2` and 3 more "
        "(try `model:tiny`)." in reply.content
    )
    assert "unknown to" not in (await tokenize(ctx, CHINESE, model="rbt3")).content
    assert "unknown to" not in (await tokenize(ctx, SENTENCE)).content


async def test_with_no_model_that_covers_them_the_notice_says_how_to_add_one(minilm_dir):
    from bot.runtime import Runtime
    from tests.conftest import make_settings

    runtime = Runtime(make_settings(f"minilm={minilm_dir}"))  # as a fresh install has it
    job = runtime.job()
    try:
        reply = await tokenize(job, CHINESE)
    finally:
        job.close()
        await runtime.close()
    assert reply.content.splitlines()[1].endswith(
        "No model here can; the bot's operator can add one: `./dev fetch hfl/rbt3`, "
        "then `MODELS=…,rbt3=hfl/rbt3`."
    )


def encoding_of(tokens, offsets, special=None, marker="") -> Encoding:
    count = len(tokens)
    return Encoding(
        tokens=tuple(tokens),
        input_ids=tuple(range(count)),
        token_type_ids=None,
        attention_mask=(1,) * count,
        special=tuple(special or [False] * count),
        untruncated_length=count,
        offsets=tuple(offsets),
        marker=marker,
    )


@pytest.mark.parametrize(
    ("left", "right", "stretches", "cells"),
    [
        (  # WordPiece drops the space; byte-level BPE keeps it in the next piece
            encoding_of(["[CLS]", "i", "am", "[SEP]"], [(0, 0), (0, 1), (2, 4), (0, 0)],
                        [True, False, False, True]),
            encoding_of(["I", "Ġam"], [(0, 1), (1, 4)], marker="Ġ"),
            [(0, 1), (1, 2), (2, 4)],
            [("i", "I"), ("", "␣am"), ("am", "┆")],
        ),
        (  # one piece over three of the other's; two pieces of one character (its bytes)
            encoding_of(["studying", "我"], [(0, 8), (8, 9)]),
            encoding_of(["stud", "ying", "æĪ", "ĳ"], [(0, 4), (4, 8), (8, 9), (8, 9)],
                        marker="Ġ"),
            [(0, 4), (4, 8), (8, 9)],
            [("studying", "stud"), ("┆", "ying"), ("我", "e6 88 91")],
        ),
    ],
)  # fmt: skip
def test_pieces_line_up_on_the_characters_they_cover(left, right, stretches, cells):
    text = "I am" if stretches[-1][1] == 4 else "studying我"
    lineup = line_up(text, (Read("a", left), Read("b", right)))
    assert list(lineup.stretches) == stretches
    assert [tuple(row) for row in lineup.cells] == cells


async def test_several_tokenizers_side_by_side(ctx, settings):
    reply = await tokenize(ctx, SENTENCE, model="tiny", compare="gpt2, minilm")
    block = reply.content.split("```")[1].strip().splitlines()
    assert [c.strip() for c in block[0].split("│")] == ["text", "tiny", "gpt2", "minilm"]
    columns = list(zip(*([c.strip() for c in row.split("│")] for row in block[1:]), strict=True))
    for name, column in zip(["tiny", "gpt2", "minilm"], columns[1:], strict=True):
        source = next(spec.source for spec in settings.models if spec.name == name)
        tokenizer = AutoTokenizer.from_pretrained(source)
        expected = tokenizer.convert_ids_to_tokens(
            tokenizer(SENTENCE, add_special_tokens=False)["input_ids"]
        )
        shown = [piece for cell in column if cell not in ("", "┆") for piece in cell.split(" ")]
        assert shown == [token.replace("Ġ", "␣") for token in expected], name
    assert "".join(c.replace("␣", " ") for c in columns[0]) == SENTENCE
    assert "`minilm`: 8 tokens (2 special) · 0 unknown · 3.00 characters/token" in reply.content


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"compare": "tiny"}, "Name at least one other model in `compare` than **tiny**"),
        ({"compare": "gpt2,llama,minilm,rbt3"}, "The line-up takes up to 4 models; 5 were named."),
        ({"compare": "gpt2", "text_pair": "x"}, "`compare` lines up one text"),
    ],
)
async def test_the_line_up_refuses_what_it_cannot_show(ctx, options, message):
    with pytest.raises(UserError, match=re.escape(message)):
        await tokenize(ctx, SENTENCE, model="tiny", **options)


async def test_a_long_line_up_comes_as_a_file(ctx):
    reply = await tokenize(ctx, "hello world " * 60, model="tiny", compare="gpt2")
    assert len(reply.content) <= 2000
    assert [a.filename for a in reply.attachments] == ["lineup.txt"]
