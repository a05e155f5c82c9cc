"""Attention exploration: views, stepping, statistics and exports."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from commands.attention import attention
from explorer.attention_math import head_stats, rollout, token_profile
from explorer.contract import UserError
from explorer.encoding import Encoding
from explorer.exploration import Exploration, Shape, Subject, ViewState, find_token
from explorer.explore import explore, explored_of, reply_for
from explorer.views import VIEWS, enabled, scene_of, step, switch_view, view_of
from tests.pictures import assert_drawn


def synthetic(layers: int = 2, heads: int = 3, tokens: int = 5) -> Exploration:
    rng = np.random.default_rng(0)
    weights = rng.random((layers, heads, tokens, tokens)).astype(np.float32)
    weights /= weights.sum(axis=-1, keepdims=True)
    names = ("[CLS]", "the", "cat", "##s", "[SEP]", "x", "y", "z")[:tokens]
    encoding = Encoding(
        tokens=names,
        input_ids=tuple(range(tokens)),
        token_type_ids=(0,) * tokens,
        attention_mask=(1,) * tokens,
        special=tuple(name.startswith("[") for name in names),
        untruncated_length=tokens,
    )
    return Exploration(Subject("toy", "the cats"), encoding, weights)


TOY = synthetic()


@pytest.mark.parametrize(
    ("state", "action", "expected"),
    [
        (ViewState("head", 1, 1, 0), "layer+", ViewState("head", 2, 1, 0)),
        (ViewState("head", 2, 1, 0), "layer+", ViewState("head", 1, 1, 0)),  # wraps
        (ViewState("head", 1, 1, 0), "layer-", ViewState("head", 2, 1, 0)),
        (ViewState("head", 1, 3, 0), "head+", ViewState("head", 1, 1, 0)),
        (ViewState("head", 1, 1, 0), "head-", ViewState("head", 1, 3, 0)),
        (ViewState("mean", 1, 0, 0), "head+", ViewState("head", 1, 1, 0)),
        (ViewState("mean", 1, 0, 0), "head-", ViewState("head", 1, 3, 0)),
        (ViewState("token", 1, 3, 2), "head+", ViewState("token", 1, 0, 2)),  # back to the mean
        (ViewState("token", 1, 0, 4), "token+", ViewState("token", 1, 0, 0)),
        (ViewState("token", 1, 0, 0), "token-", ViewState("token", 1, 0, 4)),
        (ViewState("model", 1, 0, 0), "layer+", ViewState("model", 1, 0, 0)),  # not enabled
        (ViewState("heads", 1, 0, 0), "head+", ViewState("heads", 1, 0, 0)),
        (ViewState("rollout", 2, 0, 0), "layer+", ViewState("rollout", 1, 0, 0)),
    ],
)
def test_step(state, action, expected):
    assert step(state, action, TOY.attention("self", "token").shape) == expected


LAYER, HEAD = {"layer-", "layer+"}, {"head-", "head+"}
TOKEN, WINDOW = {"token-", "token+"}, {"window-", "window+"}


@pytest.mark.parametrize(
    ("view", "short", "long"),
    [
        ("head", LAYER | HEAD, LAYER | HEAD | WINDOW),
        ("mean", LAYER | HEAD, LAYER | HEAD | WINDOW),
        ("heads", LAYER, LAYER),
        ("rollout", LAYER, LAYER | WINDOW),
        ("token", LAYER | HEAD | TOKEN, LAYER | HEAD | TOKEN | WINDOW),
        ("model", LAYER, LAYER),  # the layer buttons turn pages
        ("links", LAYER | HEAD, LAYER | HEAD),
        ("summary", set(), set()),
    ],
)
def test_enabled_controls_and_windows_for_long_inputs(view, short, long):
    state = ViewState(view, 1, 1, 0)
    assert enabled(state, Shape(2, 3, 5, 5)) == short
    assert enabled(state, Shape(2, 3, 300, 300)) == long


@pytest.mark.parametrize(
    ("state", "action", "expected"),
    [
        (ViewState("head", 1, 1, 0, window=0), "window+", ViewState("head", 1, 1, 0, window=1)),
        (ViewState("head", 1, 1, 0, window=0), "window-", ViewState("head", 1, 1, 0, window=4)),
        (ViewState("model", 1, 0, 0), "layer+", ViewState("model", 5, 0, 0)),  # next page
        (ViewState("model", 9, 0, 0), "layer+", ViewState("model", 1, 0, 0)),  # wraps
        (ViewState("model", 1, 0, 0), "layer-", ViewState("model", 9, 0, 0)),
        (ViewState("links", 1, 2, 0), "head+", ViewState("links", 1, 3, 0)),
        (ViewState("links", 1, 3, 0), "head+", ViewState("links", 1, 0, 0)),  # the mean
    ],
)
def test_stepping_windows_pages_and_links(state, action, expected):
    # 10 layers of 3 heads over 300 tokens: 5 windows of 64, 3 pages of 4 layers
    assert step(state, action, Shape(10, 3, 300, 300)) == expected


def test_switching_to_head_view_from_the_mean_picks_head_one():
    assert switch_view(ViewState("mean", 2, 0, 0), "head") == ViewState("head", 2, 1, 0)
    with pytest.raises(UserError, match="Unknown view `bogus`"):
        switch_view(ViewState("mean", 2, 0, 0), "bogus")


def test_rollout_of_pure_self_attention_is_identity_and_rows_are_distributions():
    eye = np.broadcast_to(np.eye(4, dtype=np.float32), (3, 2, 4, 4))
    np.testing.assert_allclose(rollout(eye, 3), np.eye(4), atol=1e-6)
    rolled = rollout(TOY.weights, 2)
    np.testing.assert_allclose(rolled.sum(axis=-1), 1.0, atol=1e-5)
    first = (TOY.weights[0].mean(axis=0) + np.eye(5)) / 2
    second = (TOY.weights[1].mean(axis=0) + np.eye(5)) / 2
    np.testing.assert_allclose(rolled, second @ first, atol=1e-5)


def test_token_profile():
    np.testing.assert_allclose(token_profile(TOY.weights, 2, None), TOY.weights[:, :, 2].mean(1))
    np.testing.assert_allclose(token_profile(TOY.weights, 2, 3), TOY.weights[:, 2, 2])


def test_head_stats_spot_previous_token_and_sink_heads():
    count = 6
    previous = np.zeros((count, count), dtype=np.float32)
    previous[0, 0] = 1.0
    previous[np.arange(1, count), np.arange(count - 1)] = 1.0
    sink = np.zeros((count, count), dtype=np.float32)
    sink[:, -1] = 1.0
    uniform = np.full((count, count), 1.0 / count, dtype=np.float32)
    weights = np.stack([previous, sink, uniform])[None]  # 1 layer × 3 heads
    special = np.array([True, False, False, False, False, True])
    stats = head_stats(weights, special)
    np.testing.assert_allclose(stats.previous_share[0], [1.0, 0.0, 1 / 6], atol=1e-6)
    np.testing.assert_allclose(stats.special_share[0], [2 / 6, 1.0, 2 / 6], atol=1e-6)
    np.testing.assert_allclose(stats.entropy[0], [0.0, 0.0, np.log2(count)], atol=1e-5)


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


@pytest.mark.parametrize("view", list(VIEWS))
def test_every_view_renders_a_titled_png_with_its_data(view):
    state = ViewState(view, 2, 1, 2)
    drawn = VIEWS[view]
    scene = scene_of(TOY, state)
    assert_drawn(drawn.draw(scene))
    assert drawn.title(scene).startswith("toy · ")
    name, text = drawn.table(scene)
    assert name == f"{view}.csv"
    rows = list(csv.reader(io.StringIO(text)))
    expected_rows = {
        "head": 1 + 5, "mean": 1 + 5, "rollout": 1 + 5, "token": 1 + 2,
        "heads": 1 + 3 * 25, "model": 1 + 2 * 3 * 25, "summary": 1 + 2 * 3, "links": 1 + 25,
    }  # fmt: skip
    assert len(rows) == expected_rows[view]


@pytest.mark.parametrize(
    ("state", "title"),
    [
        (ViewState("head", 2, 3, 0), "toy · layer 2/2 · head 3/3"),
        (ViewState("mean", 1, 3, 0), "toy · layer 1/2 · mean of 3 heads"),
        (ViewState("token", 1, 0, 2), "toy · token 2 “cat” · mean of 3 heads"),
        (ViewState("rollout", 1, 0, 0), "toy · attention rollout through layers 1–1"),
    ],
)
def test_titles_name_model_view_layer_and_head(state, title):
    assert view_of(state).title(scene_of(TOY, state)) == title


def test_head_csv_holds_the_shown_matrix():
    state = ViewState("head", 2, 3, 0)
    rows = list(csv.reader(io.StringIO(view_of(state).table(scene_of(TOY, state))[1])))
    assert rows[0] == ["", "[CLS]", "the", "cat", "##s", "[SEP]"]
    values = np.array([[float(v) for v in row[1:]] for row in rows[1:]])
    np.testing.assert_allclose(values, TOY.weights[1, 2], atol=1e-6)


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


def _top(view: str, scale: str, layer: int = 2, exploration: Exploration = TOY) -> float:
    """The top of the colour bar of a view (head 2)."""
    scene = scene_of(exploration, ViewState(view, layer, 2, 1, scale=scale))
    chosen = VIEWS[view]
    return chosen.span(scene, chosen.values(scene))  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("view", "scale", "expected"),
    [
        ("head", "model", TOY.weights.max()),
        ("head", "layer", TOY.weights[1].max()),
        ("head", "picture", TOY.weights[1, 1].max()),
        ("mean", "model", TOY.weights.mean(axis=1).max()),
        ("mean", "picture", TOY.weights[1].mean(axis=0).max()),
        ("rollout", "model", max(rollout(TOY.weights, n).max() for n in (1, 2))),
        ("rollout", "picture", rollout(TOY.weights, 2).max()),
    ],
)
def test_the_colour_scale_tops_at_what_its_scale_says(view, scale, expected):
    assert _top(view, scale) == pytest.approx(float(expected))


def test_the_model_wide_top_is_computed_once_per_exploration():
    fresh = synthetic()
    first = _top("head", "model", layer=1, exploration=fresh)
    fresh.weights[0, 0, 0, 0] = 10.0  # were it computed again for the next press, it would move
    assert _top("head", "model", layer=2, exploration=fresh) == first
