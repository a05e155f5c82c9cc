"""Every command, and every step of its live reply, answered for a zh-CN reader: each reply
and each picture's description has Chinese in it, and telling never fails (a field missing,
a format a translation does not take), whatever the model family, view, part or window."""

from __future__ import annotations

import re

import pytest

from bot.console import parse
from commands import KINDS
from explorer.contract import Reply, UserError
from explorer.i18n import tell
from explorer.live import Button, kinds_by_name

CHINESE = re.compile(r"[\u4e00-\u9fff]")
LONG = " ".join(["the cat sat on the mat"] * 30)  # past one window of the attention views
LINES = [
    "/tokenize text:hello world model:tiny",
    "/tokenize text:hello compare:rbt3 model:tiny",
    "/tokenize text:translate this model:t5",
    "/config model:rbt3",
    "/forward text:hello model:t5",
    "/attention text:我在学习自然语言处理。 model:rbt3",
    "/attention text:我在学习自然语言处理。 model:rbt3 granularity:word view:token",
    f"/attention text:{LONG} model:minilm",
    "/attention text:hello there model:t5",
    "/attention text:hello there model:minilm weighting:norm view:summary",
    "/fill-mask text:Paris is the [MASK] of [MASK]. model:rbt3",
    "/predict text:hello there model:gpt2",
    "/lens text:hello there model:gpt2",
    "/attribute text:Paris is the [MASK] of [MASK]. model:rbt3",
    f"/surprisal text:{LONG} model:gpt2",
    "/compare text:hello world model_a:minilm model_b:gpt2",
    "/models",
    "/status",
]
KIND = kinds_by_name(KINDS)


def told(reply: Reply) -> None:
    assert CHINESE.search(reply.content), reply.content
    for attachment in reply.attachments:
        if attachment.filename.endswith(".png"):
            assert CHINESE.search(attachment.description), attachment.description


@pytest.mark.parametrize("line", LINES)
async def test_a_reply_and_each_of_its_steps_are_told_in_chinese(runtime, line):
    job = runtime.job(language="zh-CN")
    try:
        invocation = parse(line)
        reply = await invocation.command(job, **invocation.arguments)
        told(reply)
        if reply.live is None:
            return
        kind, state = KIND[reply.live.kind], reply.live.state
        for control in kind.controls(state):
            if control.disabled:
                continue
            values = [None] if isinstance(control, Button) else [
                choice.value for choice in control.choices if not choice.default
            ]  # fmt: skip
            for value in values:
                try:
                    stepped = await kind.show(job, kind.step(state, control.action, value))
                except UserError as refusal:  # a view this part cannot show: said in Chinese
                    assert CHINESE.search(tell(refusal.args[0], "zh-CN")), refusal
                    continue
                told(stepped)
    finally:
        job.close()
