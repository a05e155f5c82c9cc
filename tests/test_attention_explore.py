"""Attention exploration through the command: tokens, views, exports (each view has its own
test module, test_attention_view_*)."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from commands.attention import attention
from commands.attention.exploration import (
    Subject,
    ViewState,
    explored_of,
    find_token,
)
from commands.attention.explore import explore, reply_for
from commands.attention.views import VIEWS, switch_view
from explorer.contract import UserError
from tests.attention_toy import TOY
from tests.pictures import assert_drawn


def test_an_unknown_view_is_refused_with_the_views():
    with pytest.raises(UserError, match=r"Unknown view `bogus`\. Views: head, mean, heads, model"):
        switch_view(ViewState("mean", 2, 0, 0), "bogus")


@pytest.mark.parametrize(
    ("wanted", "position"),
    [(None, 1), ("", 1), ("0", 0), ("3", 3), ("cat", 2), ("s", 3), ("CAT", 2)],
)
def test_find_token(wanted, position):
    assert find_token(TOY.axis("encoder", "token"), wanted) == position


@pytest.mark.parametrize(
    ("wanted", "message"),
    [("9", "There are 5 positions: choose one from 0 to 4"), ("dog", "No token `dog`")],
)
def test_find_token_errors(wanted, message):
    with pytest.raises(UserError, match=message):
        find_token(TOY.axis("encoder", "token"), wanted)


async def test_export_attaches_the_tensor_and_csv(ctx):
    reply = await attention(ctx, "I am studying NLP.", view="heads", layer=3, export=True)
    names = [a.filename for a in reply.attachments]
    assert names == ["attention.png", "attention.npy", "heads.csv"]
    tensor = np.load(io.BytesIO(reply.attachments[1].data))
    assert tensor.shape == (6, 12, 8, 8) and tensor.dtype == np.float32
    rows = list(csv.reader(io.StringIO(reply.attachments[2].data.decode())))
    assert rows[1][:6] == ["3", "1", "0", "[CLS]", "0", "[CLS]"]
    assert float(rows[1][6]) == pytest.approx(float(tensor[2, 0, 0, 0]), abs=1e-6)


async def test_every_view_on_rbt3_shaped_model_with_chinese(ctx):
    exploration = await explore(ctx, Subject("rbt3", "我在学习自然语言处理", "今天天气很好"))
    assert exploration.weights.shape == (3, 12, 19, 19)
    for view in VIEWS:
        reply = reply_for(exploration, ViewState(view, 3, 1, 4))
        assert reply.content.startswith("**rbt3 · ")
        assert_drawn(reply.attachments[0].data)


async def test_view_and_token_options(ctx):
    reply = await attention(ctx, "The cat sat on the mat", view="token", token="mat")
    assert reply.content.startswith("**minilm · token 6 “mat” · mean of 12 heads**")
    assert reply.live is not None and reply.live.kind == "attention"
    assert explored_of(reply.live.state).state == ViewState("token", 6, 0, 6, "self", "token")
    with pytest.raises(UserError, match="Unknown view"):
        await attention(ctx, "x", view="sideways", model="gone")  # refused before loading


async def test_export_too_large_for_discord_keeps_the_tensor_and_says_why(ctx):
    text = "attention " * 70  # 64 tokens after truncation: the model view's CSV is ~12 MiB
    reply = await attention(ctx, text, view="model", export=True)
    assert [a.filename for a in reply.attachments] == ["attention.png", "attention.npy"]
    assert "model.csv" in reply.content and "over Discord's upload limit" in reply.content
    assert sum(len(a.data) for a in reply.attachments) < 10 * 2**20
