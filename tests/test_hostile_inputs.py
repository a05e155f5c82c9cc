"""Hostile and odd input, command by command: every reply is a specific, polite answer (the
work done, or what to change), never the generic error. Driven through the console, which
parses and bounds options as the chat does and runs the same command handlers."""

from __future__ import annotations

import io

import pytest

from bot.console import Console
from tests.conftest import running

LONG = "word " * 4000  # 20,000 characters
HOSTILE_TEXTS = {
    "zero-width": '"\u200b"',
    "control": '"\x00\x07"',
    "spaces": '"   "',
    "long": f'"{LONG}"',
    "rtl": "שלום עולם مرحبا",
    "combining": "e\u0301\u0301\u0301\u0301 a\u0308",
    "surrogate": "ok \ud800 then",
    "emoji": "🤗🫠👩‍👩‍👧",
    "marks only": "\u0301\u0308 \u0301",
    "mask": "[MASK]",
}
HOSTILE_MODELS = ["../../etc", "/root", "~", "hfl/rbt3@main", "tiny@main", "ti\u0000ny"]
HOSTILE_NUMBERS = ["0", "-1", "99999999999999999999", "²", "٣"]


def lines() -> list[str]:
    found = []
    for name, text in HOSTILE_TEXTS.items():
        found += [
            f"/tokenize text:{text} model:tiny",
            f"/tokenize text:hi text_pair:{text} model:tiny",
            f"/attention text:{text} model:tiny",
            f"/forward text:{text} model:tiny attentions:true",
            f"/fill-mask text:{text} model:tiny",
            f"/predict text:{text} model:gpt2",
            f"/lens text:{text} model:gpt2",
            f"/compare text:{text} model_a:tiny model_b:gpt2",
        ]
        if name != "long":
            found.append(f"/attention text:hello model:tiny token:{text}")
            found.append(f"/config model:tiny key:{text}")
    for model in HOSTILE_MODELS:
        found += [
            f"/tokenize text:hello model:{model}",
            f"/config model:{model}",
            f"/compare text:hello model_a:tiny model_b:{model}",
            f"/admin load model:{model}",
            f"/settings default-model model:{model}",
        ]
    for number in HOSTILE_NUMBERS:
        found += [
            f"/attention text:hello model:tiny layer:{number}",
            f"/attention text:hello model:tiny head:{number}",
            f"/attention text:hello model:tiny token:{number}",
            f"/fill-mask text:a [MASK] b model:tiny top_k:{number}",
            f"/predict text:hello model:gpt2 top_k:{number}",
        ]
    found += [
        "/fill-mask text:" + "[MASK]" * 333 + " model:tiny top_k:20",
        "/fill-mask text:no mask here model:tiny",
        "/tokenize text:hello model:tiny target:x",
        "/attention text:hello model:t5 target:\u200b",
        "/attention text:hello model:tiny part:decoder",
        "/config model:tiny key:attention_probs_dropout_prob.x",
    ]
    return found + [line for line in SPECIFIC if line not in found]


INVISIBLE = "⚠️ The text has only invisible characters (spaces, control or formatting characters)"
HALF = "⚠️ The text holds half of a character (U+D800, a lone surrogate) that is not valid"
# What the cases that used to reach the generic error answer now.
SPECIFIC = {
    "/attention text:hello model:tiny token:²": "⚠️ No token `²` in this text. Tokens: 0:",
    '/compare text:"\u200b" model_a:tiny model_b:gpt2': INVISIBLE,
    '/compare text:"\x00\x07" model_a:tiny model_b:gpt2': INVISIBLE,
    "/compare text:\u0301\u0308 \u0301 model_a:tiny model_b:gpt2": (
        "⚠️ No word of this text is read by both models"
    ),
    "/tokenize text:ok \ud800 then model:tiny": HALF,
    "/tokenize text:hi text_pair:ok \ud800 then model:tiny": HALF.replace("text", "second text"),
    "/attention text:ok \ud800 then model:tiny": HALF,
    "/forward text:ok \ud800 then model:tiny attentions:true": HALF,
    "/predict text:ok \ud800 then model:gpt2": HALF,
    "/lens text:ok \ud800 then model:gpt2": HALF,
    "/compare text:ok \ud800 then model_a:tiny model_b:gpt2": HALF,
    "/tokenize text:hello model:hfl/rbt3@main": (
        "A revision is pinned by the bot's operator (in `MODELS`), not typed: use `hfl/rbt3`."
    ),
}


@pytest.fixture(scope="module")
async def hostile(settings):
    """A runtime of its own: the refusals count in its `/status`, not in the shared one's."""
    async with running(settings) as runtime:
        yield runtime


@pytest.mark.parametrize("line", lines())
async def test_no_hostile_input_reaches_the_generic_error(hostile, tmp_path, line):
    out = io.StringIO()
    await Console(hostile, tmp_path, out).execute(line)
    printed = out.getvalue()
    assert "Something went wrong" not in printed, printed
    assert printed.strip()
    assert SPECIFIC.get(line, "") in printed
