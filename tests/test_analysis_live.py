"""/attribute and /surprisal as live replies: their steps (pure), what each step shows and
what it recomputes (through the commands), the console typing the steps, and a state kept
in the store and shown again."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import numpy as np
import pytest
import torch
from transformers import AutoModelForMaskedLM, AutoTokenizer

from bot.console import Console
from bot.store import ExplorationRecord, Store
from commands.attribution.command import attribute
from commands.attribution.kind import ATTRIBUTE
from commands.surprisal.command import surprisal
from commands.surprisal.kind import SURPRISAL
from explorer.contract import Live, UserError
from explorer.live import Button, Menu
from tests.pictures import assert_drawn

ATTRIBUTED = {"model": "tiny", "text": "t", "method": "integrated-gradients", "steps": 32,
              "token": None, "mask": 0, "export": False, "masks": 3}  # fmt: skip
READ = {"model": "long", "text": "t", "measure": "surprisal", "page": 0, "export": False,
        "pages": 2}  # fmt: skip
TWO_MASKS = "the [MASK] sat on the [MASK] ."


def files(reply) -> dict[str, bytes]:
    """A reply's attachments by file name."""
    return {attachment.filename: attachment.data for attachment in reply.attachments}


@pytest.mark.parametrize(
    ("kind", "before", "action", "value", "after"),
    [
        (ATTRIBUTE, {}, "method", "saliency", {"method": "saliency"}),
        (ATTRIBUTE, {"method": "saliency"}, "method", "integrated-gradients",
         {"method": "integrated-gradients"}),
        (ATTRIBUTE, {}, "steps", "128", {"steps": 128}),
        (ATTRIBUTE, {"steps": 50}, "steps", "8", {"steps": 8}),  # the typed 50 was offered too
        (ATTRIBUTE, {}, "next", None, {"mask": 1}),
        (ATTRIBUTE, {"mask": 2}, "next", None, {"mask": 0}),  # past the last mask: the first
        (ATTRIBUTE, {}, "previous", None, {"mask": 2}),
        (SURPRISAL, {}, "measure", "entropy", {"measure": "entropy"}),
        (SURPRISAL, {"measure": "entropy"}, "measure", "surprisal", {"measure": "surprisal"}),
        (SURPRISAL, {}, "next", None, {"page": 1}),  # the whole text, then page by page
        (SURPRISAL, {"page": 2}, "next", None, {"page": 0}),  # past the last page: whole again
        (SURPRISAL, {}, "previous", None, {"page": 2}),
    ],
)  # fmt: skip
def test_steps(kind, before, action, value, after):
    state = {**(ATTRIBUTED if kind is ATTRIBUTE else READ), **before}
    stepped = kind.step(state, action, value)
    assert stepped == {**state, **after}
    assert json.loads(json.dumps(stepped)) == stepped


@pytest.mark.parametrize(
    ("kind", "state", "expected"),
    [
        (ATTRIBUTE, ATTRIBUTED, ["method", "steps", "previous", "next"]),
        (ATTRIBUTE, {**ATTRIBUTED, "method": "saliency"}, ["method", "previous", "next"]),
        (ATTRIBUTE, {**ATTRIBUTED, "masks": 1}, ["method", "steps"]),  # one mask: no stepping
        (ATTRIBUTE, {**ATTRIBUTED, "masks": 0}, ["method", "steps"]),  # a causal LM's next token
        (SURPRISAL, READ, ["measure", "previous", "next"]),
        (SURPRISAL, {**READ, "pages": 0}, ["measure"]),  # the text fits in one picture
    ],
)  # fmt: skip
def test_controls_offer_only_what_the_state_can_step(kind, state, expected):
    assert [control.action for control in kind.controls(state)] == expected


def test_the_menus_mark_what_is_shown_and_offer_the_typed_steps_too():
    method, steps, *_ = ATTRIBUTE.controls({**ATTRIBUTED, "steps": 50})
    assert isinstance(method, Menu) and isinstance(steps, Menu)
    assert [c.value for c in method.choices if c.default] == ["integrated-gradients"]
    assert [c.value for c in steps.choices] == ["8", "16", "32", "50", "64", "128"]
    assert [c.value for c in steps.choices if c.default] == ["50"]
    measure, back, forth = SURPRISAL.controls(READ)
    assert isinstance(back, Button) and (back.label, forth.label) == ("◀ page", "page ▶")
    assert isinstance(measure, Menu) and [c.value for c in measure.choices] == [
        "surprisal", "entropy"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "state", "action", "value", "message"),
    [
        (ATTRIBUTE, ATTRIBUTED, "method", "occlusion", "Choose a method: saliency, integrated"),
        (ATTRIBUTE, ATTRIBUTED, "steps", "100000", "Choose from 2 to 256 steps."),
        (ATTRIBUTE, {**ATTRIBUTED, "method": "saliency"}, "steps", "8", "does nothing here"),
        (SURPRISAL, READ, "measure", "perplexity", "Choose a measure: surprisal, entropy."),
        (SURPRISAL, {**READ, "pages": 0}, "next", None, "`next` does nothing here now"),
    ],
)  # fmt: skip
def test_a_step_the_state_does_not_offer_is_refused_politely(kind, state, action, value, message):
    with pytest.raises(UserError, match=message):
        kind.step(state, action, value)


async def test_attribute_steps_methods_and_masks_computing_each_state_once(ctx, runtime, settings):
    memo = runtime.memo
    reply = await attribute(ctx, TWO_MASKS, model="tiny", method="saliency", export=True)
    assert reply.live is not None and reply.live.kind == "attribute"
    first = reply.live.state
    assert first["masks"] == 2 and first["mask"] == 0
    assert "target: the logit of `" in reply.content and "as mask 1 of 2, token 2" in reply.content
    assert list(files(reply)) == ["attribution.png", "attribution.npy", "attribution.csv"]
    misses = memo.misses
    second = await ATTRIBUTE.show(ctx, ATTRIBUTE.step(first, "next"))
    assert "as mask 2 of 2, token 6" in second.content and memo.misses == misses + 1
    assert list(files(second)) == ["attribution.png", "attribution.npy", "attribution.csv"]
    # The second mask's scores: gradient × input of its top logit, written out here.
    source = next(spec.source for spec in settings.models if spec.name == "tiny")
    model = AutoModelForMaskedLM.from_pretrained(source, attn_implementation="eager").eval()
    ids = AutoTokenizer.from_pretrained(source)(TWO_MASKS)
    embeds = model.get_input_embeddings()(torch.tensor([ids["input_ids"]])).detach()
    embeds.requires_grad_()
    logits = model(inputs_embeds=embeds).logits[0, 6]
    logits[int(logits.argmax())].backward()
    expected = (embeds.grad * embeds).sum(-1)[0].detach().numpy()
    np.testing.assert_allclose(np.load(io.BytesIO(files(second)["attribution.npy"])), expected,
                               rtol=1e-4, atol=1e-7)  # fmt: skip
    integrated = await ATTRIBUTE.show(ctx, ATTRIBUTE.step(first, "method", "integrated-gradients"))
    assert "integrated gradients, 32 steps" in integrated.content
    assert "completeness: sum of scores" in integrated.content and memo.misses == misses + 2
    assert_drawn(files(integrated)["attribution.png"], min_size=(300, 120))
    fewer = await ATTRIBUTE.show(ctx, ATTRIBUTE.step(integrated.live.state, "steps", "8"))
    assert "integrated gradients, 8 steps" in fewer.content and memo.misses == misses + 3
    hits = memo.hits
    back = await ATTRIBUTE.show(ctx, ATTRIBUTE.step(fewer.live.state, "method", "saliency"))
    assert back.content == reply.content and memo.misses == misses + 3  # kept: no new pass
    assert memo.hits == hits + 1


async def test_surprisal_steps_measures_and_pages_over_one_reading(ctx, runtime):
    memo = runtime.memo
    reply = await surprisal(ctx, "我在学习自然语言处理" * 30, model="long", export=True)
    assert reply.live is not None and reply.live.state["pages"] == 2  # 128 tokens
    assert {"surprisal.png", "surprisal.npy", "surprisal.csv"} <= set(files(reply))
    misses = memo.misses
    page = await SURPRISAL.show(ctx, SURPRISAL.step(reply.live.state, "next"))
    assert "The picture shows tokens 1–64 of 128." in page.content
    height, _ = assert_drawn(files(page)["surprisal.png"], min_size=(300, 120))
    whole, _ = assert_drawn(files(reply)["surprisal.png"])
    assert height < whole  # a page is half the text
    last = await SURPRISAL.show(ctx, SURPRISAL.step(reply.live.state, "previous"))
    assert "The picture shows tokens 65–128 of 128." in last.content
    entropy = await SURPRISAL.show(ctx, SURPRISAL.step(reply.live.state, "measure", "entropy"))
    assert "The picture shows the entropy: −Σ p log₂ p of the prediction at each masked token" in (
        entropy.content
    )
    exported = ("surprisal.npy", "surprisal.csv")
    assert [files(entropy)[name] for name in exported] == [files(reply)[name] for name in exported]
    assert memo.misses == misses  # every state is a redraw of the one reading
    short = await surprisal(ctx, "The cat sat on the mat.", model="gpt2")
    assert short.live is not None and SURPRISAL.controls(short.live.state)[0].action == "measure"
    assert len(SURPRISAL.controls(short.live.state)) == 1  # fits one picture: no pages
    entropy = await SURPRISAL.show(ctx, SURPRISAL.step(short.live.state, "measure", "entropy"))
    assert "the entropy: −Σ p log₂ p of the prediction each token was read from" in entropy.content


async def test_the_console_types_the_steps_of_an_attribution(runtime, tmp_path):
    out = io.StringIO()
    lines = [f"/attribute text:{TWO_MASKS} model:tiny method:saliency", "next",
             "integrated-gradients", "16", "64 steps"]  # fmt: skip
    assert await Console(runtime, tmp_path, out).run_lines(lines) == 1  # the last is refused
    printed = out.getvalue().split("\n> ")
    assert "↪ Steps: previous, next · method: integrated-gradients." in printed[0]
    assert "as mask 2 of 2, token 6" in printed[1]
    assert "integrated gradients, 32 steps" in printed[2] and "mask 2 of 2" in printed[2]
    assert "· steps: 8, 16, 64, 128." in printed[2]
    assert "integrated gradients, 16 steps" in printed[3]
    assert "`64 steps` is not a step here. Steps: previous, next · method: saliency" in printed[4]


async def test_a_live_state_kept_in_the_store_is_shown_again(ctx, tmp_path):
    reply = await surprisal(ctx, "The cat sat on the mat.", model="gpt2")
    assert reply.live is not None
    stepped = Live(reply.live.kind, SURPRISAL.step(reply.live.state, "measure", "entropy"))
    store = Store(f"sqlite+aiosqlite:///{tmp_path / 'explorer.db'}")
    await store.start()
    try:
        now = datetime.now(UTC)
        await store.add_exploration(ExplorationRecord("k1", stepped, "…", 1, 2, 3, now, now))
        kept = await store.exploration("k1")
    finally:
        await store.close()
    assert kept is not None and kept.live == stepped
    again = await SURPRISAL.show(ctx, kept.live.state)
    assert again.live is not None and again.live.state == stepped.state
    assert "The picture shows the entropy" in again.content
