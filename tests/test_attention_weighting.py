"""`/attention weighting:norm`: value-weighted attention (‖αf(x)‖) through the command, its
views, its exports, its live reply and its memory, checked against `value_norms` called on
the checkpoint loaded apart."""

from __future__ import annotations

import csv
import io
import json
import re

import numpy as np
import pytest
from sqlalchemy.ext.asyncio import create_async_engine
from transformers import AutoConfig

from bot.console import Console
from bot.store import ExplorationRecord, Store
from commands.attention import ATTENTION, attention
from commands.attention.exploration import (
    NORM_LABEL,
    Exploration,
    Subject,
    ViewState,
    explored_of,
)
from commands.attention.explore import explore, reply_for
from commands.attention.value_norms import value_norms
from commands.attention.value_weighted import ValueWeighted
from commands.attention.views import VIEWS, scene_of
from explorer.budget import Budget, check_request, dimensions
from explorer.contract import ForwardRequest, UserError
from tests.attention_toy import TOY
from tests.conftest import make_settings, running
from tests.pictures import assert_drawn
from tests.test_attention_value_norms import loaded
from tests.test_store import insert_old, migrate

TEXT = "The cat sat on the mat."


def exported(reply) -> dict[str, bytes]:
    return {attachment.filename: attachment.data for attachment in reply.attachments}


@pytest.mark.parametrize("name", ["tiny", "gpt2", "llama", "t5"])
async def test_the_exported_norms_are_value_norms_of_the_model_loaded_apart(ctx, settings, name):
    reply = await attention(ctx, TEXT, model=name, weighting="norm", view="heads", export=True)
    files = exported(reply)
    assert list(files) == ["attention.png", "attention.npy", "heads.csv"]
    norms = np.load(io.BytesIO(files["attention.npy"]))
    model, tokenizer = loaded(settings, name)
    expected = value_norms(model, tokenizer(TEXT, return_tensors="pt"))
    assert norms.dtype == np.float32 and norms.shape == expected.shape
    np.testing.assert_allclose(norms, expected, rtol=1e-5, atol=1e-6)
    rows = list(csv.reader(io.StringIO(files["heads.csv"].decode())))
    assert rows[0][-1] == "norm"
    layer = norms.shape[0] - 1  # the heads view shows the last layer
    assert float(rows[1][6]) == pytest.approx(float(norms[layer, 0, 0, 0]), abs=1e-6)


async def test_titles_and_colour_scales_say_they_are_norms(ctx):
    reply = await attention(ctx, TEXT, model="tiny", weighting="norm", head=2)
    assert reply.content.startswith(f"**tiny · {NORM_LABEL} · layer 2/2 · head 2/4**")
    assert reply.attachments[0].description.startswith(f"tiny · {NORM_LABEL} · layer 2/2")
    weights = await attention(ctx, TEXT, model="tiny", head=2)
    assert "value-weighted" not in weights.content
    exploration = await explore(ctx, Subject("tiny", TEXT, weighting="norm"))
    units = r"0 to [\d.]+ \(the hidden state's units\), the largest value this view shows"
    ((matrix,), _) = VIEWS["head"].blocks(scene_of(exploration, ViewState("head", 2, 2, 1)))
    assert re.match(rf"‖αf\(x\)‖ · colours: {units}", matrix.matrix.caption)
    ((grid,), _) = VIEWS["heads"].blocks(scene_of(exploration, ViewState("heads", 2, 0, 1)))
    assert re.match(rf"colours: ‖αf\(x\)‖ {units}", grid.grid.caption)


@pytest.mark.parametrize("view", [name for name in VIEWS if name != "rollout"])
@pytest.mark.parametrize("granularity", ["token", "word"])
async def test_every_view_but_rollout_draws_norms(ctx, view, granularity):
    exploration = await explore(ctx, Subject("tiny", TEXT, weighting="norm"))
    reply = reply_for(exploration, ViewState(view, 2, 1, 1, granularity=granularity), True)
    assert NORM_LABEL in reply.content
    assert_drawn(reply.attachments[0].data)
    assert np.load(io.BytesIO(exported(reply)["attention.npy"])).shape[:2] == (2, 4)


def test_the_summary_takes_each_rows_norms_as_shares_of_their_sum():
    norms = TOY.weights * np.linspace(1.0, 5.0, 5, dtype=np.float32)  # rows no longer sum to 1
    exploration = Exploration(Subject("toy", "the cats", weighting="norm"), TOY.encoding, norms)
    _, text = VIEWS["summary"].table(scene_of(exploration, ViewState("summary", 1, 1, 1)))
    rows = list(csv.reader(io.StringIO(text)))
    shares = norms / norms.sum(axis=-1, keepdims=True)
    on_special = shares[..., [0, 4]].sum(axis=-1).mean(axis=-1)  # [CLS] and [SEP]
    assert rows[0][3] == "special_share"
    assert float(rows[1][3]) == pytest.approx(float(on_special[0, 0]), abs=1e-4)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"view": "rollout"}, "Rollout mixes each layer's attention with the residual path"),
        ({"scale": "fixed"}, "`scale:fixed` spans a weight's whole range"),
        ({"weighting": "value"}, "`weighting` is one of weights, norm"),
    ],
)
async def test_views_and_scales_that_make_no_sense_are_refused_before_any_work(
    ctx, options, message
):
    with pytest.raises(UserError, match=message):
        await attention(ctx, TEXT, model="gone", **{"weighting": "norm", **options})


async def test_rollout_is_left_out_of_the_menu_and_refused_if_chosen_anyway(ctx):
    reply = await attention(ctx, TEXT, model="tiny", weighting="norm")
    assert reply.live is not None
    menu, *_ = ATTENTION.controls(reply.live.state)
    assert "rollout" not in [choice.value for choice in menu.choices]  # type: ignore[attr-defined]
    chosen = ATTENTION.step(reply.live.state, "view", "rollout")
    with pytest.raises(UserError, match="Use `weighting:weights` for a rollout"):
        await ATTENTION.render(ctx, chosen)


@pytest.mark.parametrize(("part", "refused"), [(None, False), ("encoder", False),
                                               ("cross", True), ("decoder", True)])  # fmt: skip
async def test_an_encoder_decoder_model_shows_its_encoders_norms_only(ctx, part, refused):
    if refused:
        with pytest.raises(UserError, match="encoder self-attention only: choose `part:encoder`"):
            await attention(ctx, TEXT, model="t5", weighting="norm", part=part)
        return
    reply = await attention(ctx, TEXT, model="t5", weighting="norm", part=part)
    assert reply.content.startswith(f"**t5 · encoder self-attention · {NORM_LABEL} · layer ")
    assert reply.live is not None and explored_of(reply.live.state).state.part == "encoder"


async def test_a_target_text_is_refused_with_norms_on_an_encoder_decoder_model(ctx):
    with pytest.raises(UserError, match="encoder self-attention only"):
        await attention(ctx, TEXT, model="t5", weighting="norm", target="Die Katze.")


async def test_the_console_keeps_the_weighting_across_presses(runtime, tmp_path):
    out = io.StringIO()
    console = Console(runtime, tmp_path, out)
    lines = [f"/attention text:{TEXT} model:tiny weighting:norm layer:1", "layer+", "token"]
    assert await console.run_lines(lines) == 0
    printed = out.getvalue().split("\n> ")
    assert f"**tiny · {NORM_LABEL} · layer 1/2 · mean of 4 heads**" in printed[0]
    assert f"**tiny · {NORM_LABEL} · layer 2/2 · mean of 4 heads**" in printed[1]
    assert f"**tiny · {NORM_LABEL} · token 1 " in printed[2]
    assert "rollout" not in printed[0].split("↪ Steps:")[1]


async def test_the_weighting_survives_the_store_and_old_rows_are_of_weights(ctx, tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'explorer.db'}"
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(migrate, "0001")
        await insert_old(connection, "0001", "old")
    await engine.dispose()
    reply = await attention(ctx, "hi", model="tiny", weighting="norm")
    assert reply.live is not None
    store = Store(url)
    await store.start()  # upgrades the old row
    try:
        old = await store.exploration("old")
        assert old is not None
        when = old.created_at
        await store.add_exploration(
            ExplorationRecord("new", reply.live, reply.content, 7, 8, 9, when, when)
        )
        new = await store.exploration("new")
    finally:
        await store.close()
    assert new is not None and json.loads(json.dumps(new.live.state)) == reply.live.state
    assert explored_of(new.live.state).subject.weighting == "norm"
    assert explored_of(old.live.state).subject.weighting == "weights"
    redrawn = await ATTENTION.render(ctx, old.live.state)
    assert NORM_LABEL not in redrawn.content


def test_the_norms_count_against_the_request_budget(settings):
    source = next(spec.source for spec in settings.models if spec.name == "rbt3")
    dims = dimensions(AutoConfig.from_pretrained(source))
    request = ForwardRequest("x", run="none", max_tokens=512)
    work = ValueWeighted(Subject("rbt3", "x", weighting="norm"))
    norms = dims.layers * dims.heads * 256**2 * 4
    assert work.memory(dims, 256) > 3 * norms  # the norms, their copy and the weights
    check_request(Budget(512 * 2**20, dims), request, 256, work)
    with pytest.raises(UserError, match=r"please shorten the text to at most \d+ tokens"):
        check_request(Budget(16 * 2**20, dims), request, 256, work)


async def test_a_text_whose_norms_are_over_the_budget_is_refused_where_weights_fit(
    rbt3_dir, tmp_path
):
    settings = make_settings(
        f"rbt3={rbt3_dir}",
        REQUEST_MEMORY_MB="24",
        MAX_HEATMAP_TOKENS="512",
        CONSOLE_OUTPUT_DIR=str(tmp_path),
    )
    text = "the cat sat on the mat " * 33  # 200 tokens: weights take ~17 MiB, norms ~32 MiB
    async with running(settings) as frugal:
        out = io.StringIO()
        console = Console(frugal, tmp_path, out)
        assert await console.execute(f"/attention text:{text}")
        assert not await console.execute(f"/attention text:{text} weighting:norm")
    assert "the limit per request is 24 MiB: please shorten the text to at most" in out.getvalue()
