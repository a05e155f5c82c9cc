"""/fill-mask, /predict and /lens as live replies: their steps (pure), and what each step
shows, through the commands."""

from __future__ import annotations

import json

import pytest

from commands.predictions.fill_mask import FILL_MASK, fill_mask
from commands.predictions.lens import LENS, lens
from commands.predictions.predict import PREDICT, predict
from explorer.contract import UserError
from tests.pictures import assert_drawn


@pytest.mark.parametrize(
    ("kind", "field", "size", "before", "action", "after"),
    [
        (FILL_MASK, "focus", ("masks", 3), 0, "next", 1),  # all masks, then one at a time
        (FILL_MASK, "focus", ("masks", 3), 3, "next", 0),  # past the last: all again
        (FILL_MASK, "focus", ("masks", 3), 0, "previous", 3),
        (PREDICT, "position", ("positions", 4), 3, "next", 0),  # wraps round the text
        (PREDICT, "position", ("positions", 4), 0, "previous", 3),
        (PREDICT, "position", ("positions", 4), 1, "next", 2),
        (LENS, "layer", ("layers", 2), -1, "next", 0),  # every layer, then the embeddings
        (LENS, "layer", ("layers", 2), 2, "next", -1),  # past the last layer: all again
        (LENS, "layer", ("layers", 2), -1, "previous", 2),
    ],
)
def test_steps(kind, field, size, before, action, after):
    state = {"model": "m", "text": "t", field: before, size[0]: size[1]}
    stepped = kind.step(state, action)
    assert stepped == {**state, field: after}
    assert json.loads(json.dumps(stepped)) == stepped


@pytest.mark.parametrize(
    ("kind", "state"),
    [
        (FILL_MASK, {"focus": 0, "masks": 1}),  # one mask: nothing to step
        (PREDICT, {"position": 0, "positions": 1}),
    ],
)
def test_a_reply_with_one_thing_to_show_has_no_steps(kind, state):
    assert kind.controls(state) == ()
    with pytest.raises(UserError, match="`next` does nothing here now"):
        kind.step(state, "next")


async def test_fill_mask_charts_its_masks_one_at_a_time(ctx):
    reply = await fill_mask(ctx, "hello [MASK] big [MASK] world", model="tiny")
    assert reply.live is not None and reply.live.state["masks"] == 2
    assert [c.label for c in FILL_MASK.controls(reply.live.state)] == ["◀ mask", "mask ▶"]
    second = await FILL_MASK.show(ctx, {**reply.live.state, "focus": 2})
    assert second.content.split("\n")[0] == reply.content.split("\n")[0]  # the same guesses
    assert "The chart shows mask 2 of 2 (token 4)." in second.content
    assert_drawn(second.attachments[0].data)
    once = await fill_mask(ctx, "hello [MASK] world", model="tiny")
    assert once.live is not None and FILL_MASK.controls(once.live.state) == ()


async def test_predict_steps_through_the_positions_of_the_text(ctx):
    reply = await predict(ctx, "The cat sat on the", model="gpt2")
    assert reply.live is not None
    last = reply.live.state
    assert last["position"] == last["positions"] - 1 and last["positions"] == 5
    assert reply.content.startswith("**gpt2** · next token: ")
    first = await PREDICT.show(ctx, PREDICT.step(last, "next"))
    assert first.content.startswith("**gpt2** · after token 0 `The`: expected `")
    assert "; the text has `␣cat` (" in first.content and ", rank " in first.content
    assert_drawn(first.attachments[0].data)


async def test_lens_shows_one_layer_at_a_time(ctx):
    reply = await lens(ctx, "The cat sat on the mat.", model="gpt2")
    assert reply.live is not None and reply.live.state == {
        "model": "gpt2", "text": "The cat sat on the mat.", "layer": -1, "layers": 2
    }  # fmt: skip
    embeddings = await LENS.show(ctx, LENS.step(reply.live.state, "next"))
    assert embeddings.content.startswith("**gpt2 · logit lens** · 2 layers × 7 tokens · embeddings")
    assert_drawn(embeddings.attachments[0].data)
    last = await LENS.show(ctx, {**reply.live.state, "layer": 2})
    assert "· layer 2" in last.content.split("\n")[0]
