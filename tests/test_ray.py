"""Model work on Ray Serve, for real: a local Ray shared by the session (2 CPUs), replicas
that load the models themselves. The Ray backend gives the local backend's results; a replica
killed mid-request is a polite "try again" while Serve brings it back; a cluster that cannot be
reached stops the bot at start with one line; an application gone at run time is a clear reply.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import sys
import time
from types import SimpleNamespace

import numpy as np
import pytest
from ray import cloudpickle, serve

from bot import ray_compute
from bot.runtime import Runtime
from bot.settings import Settings
from commands.attention import attention
from commands.models import models
from commands.predictions.fill_mask import fill_mask
from commands.predictions.predict import predict
from explorer.contract import Forwarded, ForwardRequest, UserError
from tests.bot_process import ROOT, TOKEN, BotProcess, fresh_bot
from tests.conftest import PATIENT_RAY, make_settings, vanishing_model
from tests.fake_discord import message_data
from tests.test_e2e_discord import explore, press

# The replicas unpickle this module's finishing functions by value: they need not import it.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

TEXT = "I am studying NLP, and the attention heads are studying me."
FAMILIES = ["rbt3", "gpt2", "llama", "t5"]


@pytest.fixture(scope="module")
def ray_settings(
    ray_cluster, rbt3_dir, minilm_dir, gpt2_dir, llama_dir, t5_dir, tiny_dir, tmp_path_factory
) -> Settings:
    gone = vanishing_model(tmp_path_factory.mktemp("gone"))
    # The models that read English in the same order as locally: replies that name them agree.
    settings = make_settings(
        f"rbt3={rbt3_dir},minilm={minilm_dir},gpt2={gpt2_dir},llama={llama_dir},t5={t5_dir},tiny={tiny_dir},"
        f"gone={gone}",
        COMPUTE_BACKEND="ray",
        RAY_REPLICAS="2",
        RAY_REPLICA_CPUS="0.5",
        MAX_LOADED_MODELS="9",
        MAX_HEATMAP_TOKENS="512",
    )
    shutil.rmtree(gone)  # deleted after start: a replica meets a missing directory
    return settings


@pytest.fixture(scope="module")
async def on_ray(ray_settings):
    runtime = Runtime(ray_settings)
    await runtime.start(preload=False)
    yield runtime
    await runtime.close()
    serve.delete(runtime.compute.app)


def raw_outputs(forwarded: Forwarded) -> dict[str, list[np.ndarray]]:
    """Every tensor of the model's outputs, as arrays (runs where the model is)."""
    assert forwarded.output is not None
    arrays: dict[str, list[np.ndarray]] = {}
    for name, value in forwarded.output.fields.items():
        values = value if isinstance(value, tuple) else (value,)
        arrays[name] = [v.float().numpy() for v in values]
    return arrays


def pass_size(forwarded: Forwarded) -> int:
    """How many inputs of this one's length the padded pass that made its rows could hold:
    the rows are cut from the whole batch's tensor, and share its memory."""
    assert forwarded.output is not None
    rows = forwarded.output.fields["last_hidden_state"]
    return round(rows.untyped_storage().nbytes() / (rows.numel() * rows.element_size()))


def report_pid_then_sleep(port: int, forwarded: Forwarded) -> None:
    """Tell the test (listening on `port`) which process runs this request, then take long
    enough to be killed: a request that hangs is the behaviour under test."""
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.sendall(str(os.getpid()).encode())
    time.sleep(120)


async def forward_both(runtime, on_ray, name: str, request: ForwardRequest, finish):
    spec = runtime.allowlist.resolve(name)
    local = await runtime.compute.forward(spec, request, finish)
    remote = await on_ray.compute.forward(on_ray.allowlist.resolve(name), request, finish)
    return local, remote


@pytest.mark.parametrize("name", FAMILIES)
async def test_ray_gives_the_local_outputs(runtime, on_ray, name):
    request = ForwardRequest(TEXT, attentions=True, hidden_states=True)
    local, remote = await forward_both(runtime, on_ray, name, request, raw_outputs)
    assert local.keys() == remote.keys()
    assert any("attentions" in key for key in local) and any("hidden" in key for key in local)
    for key in local:
        for ours, theirs in zip(local[key], remote[key], strict=True):
            assert ours.shape == theirs.shape
            tolerance = 1e-6 if "attentions" in key else 1e-5
            np.testing.assert_allclose(theirs, ours, atol=tolerance, rtol=0)


@pytest.mark.parametrize(
    ("command", "options"),
    [
        (attention, {"model": "rbt3", "text": TEXT}),
        (attention, {"model": "t5", "text": TEXT, "part": "cross"}),
        (attention, {"model": "llama", "text": TEXT, "view": "heads"}),
        (attention, {"model": "rbt3", "text": TEXT, "weighting": "norm"}),  # its own finish
        (fill_mask, {"model": "rbt3", "text": "I am [MASK] NLP."}),
        (predict, {"model": "gpt2", "text": TEXT}),
    ],
)
async def test_ray_draws_the_same_pictures(runtime, on_ray, command, options):
    local = await command(runtime.job(), **options)
    remote = await command(on_ray.job(), **options)
    assert remote.content == local.content
    assert [a.filename for a in remote.attachments] == [a.filename for a in local.attachments]
    for ours, theirs in zip(local.attachments, remote.attachments, strict=True):
        assert theirs.data == ours.data  # the same PNG, byte for byte


async def test_a_model_a_replica_cannot_load_is_explained_as_locally(runtime, on_ray):
    with pytest.raises(UserError) as locally:
        await runtime.job().model("gone")
    with pytest.raises(UserError) as remotely:
        await on_ray.job().model("gone")
    assert str(remotely.value) == str(locally.value)
    assert "local directory that is missing" in str(remotely.value)


@pytest.mark.parametrize("name", ["t5", "rbt3", "gpt2"])
async def test_a_replica_reads_a_vocabulary_as_the_bot_does(runtime, on_ray, name):
    """Which characters a model cannot read, asked of a replica: the same as locally."""
    pieces = ("我", "学", "NLP")
    remote = await on_ray.job().unreadable(name, pieces)
    assert remote == await runtime.job().unreadable(name, pieces)
    assert remote == (("我", "学") if name == "t5" else ())  # T5's small vocabulary: no Chinese


async def test_requests_sent_together_share_a_pass_and_get_their_own_rows(runtime, on_ray):
    texts = [f"Request number {i} " + "word " * i for i in range(8)]
    spec = on_ray.allowlist.resolve("rbt3")
    together = await asyncio.gather(
        *(on_ray.compute.forward(spec, ForwardRequest(t), raw_outputs) for t in texts)
    )
    for text, outputs in zip(texts, together, strict=True):
        alone = await runtime.compute.forward(spec, ForwardRequest(text), raw_outputs)
        hidden = outputs["last_hidden_state"][0]
        assert hidden.shape == alone["last_hidden_state"][0].shape  # no padding left in
        np.testing.assert_allclose(hidden, alone["last_hidden_state"][0], atol=1e-5, rtol=0)
    sizes = await asyncio.gather(
        *(on_ray.compute.forward(spec, ForwardRequest(t), pass_size) for t in texts)
    )
    assert max(sizes) > 1  # several went in one pass


async def test_replicas_merge_the_batches_of_two_bot_processes(ray_cluster, tiny_dir):
    """Two runtimes with the same settings (two shards of one bot) share one application; with
    a batching window, their batches that reach the replica together run as one pass."""
    settings = make_settings(f"tiny={tiny_dir}", COMPUTE_BACKEND="ray", RAY_REPLICA_CPUS="0.25",
                             BATCH_WINDOW_MS="200")  # fmt: skip
    shards = [Runtime(settings), Runtime(settings)]
    for shard in shards:
        await shard.start(preload=False)
    try:
        assert shards[0].compute.app == shards[1].compute.app
        spec = settings.default_model
        sizes = await asyncio.gather(
            *(
                shard.compute.forward(spec, ForwardRequest(f"from shard {i}"), pass_size)
                for i, shard in enumerate(shards)
            )
        )
        assert sizes == [2, 2]  # each process sent a batch of one; they ran as one pass
    finally:
        for shard in shards:
            await shard.close()
        serve.delete(shards[0].compute.app)


async def test_a_replica_killed_mid_request_is_a_polite_retry(on_ray):
    spec = on_ray.allowlist.resolve("tiny")
    await on_ray.compute.forward(spec, ForwardRequest("warm"), raw_outputs)
    working: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def on_report(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        working.set_result(int(await reader.read()))
        writer.close()

    reports = await asyncio.start_server(on_report, "127.0.0.1", 0)
    port = reports.sockets[0].getsockname()[1]
    doomed = asyncio.ensure_future(
        on_ray.compute.forward(
            spec, ForwardRequest("slow"), lambda f: report_pid_then_sleep(port, f)
        )
    )
    async with reports:
        os.kill(await asyncio.wait_for(working, 300), signal.SIGKILL)
    with pytest.raises(UserError, match=r"stopped while working on this request.*try again"):
        await asyncio.wait_for(doomed, 300)  # hang guards, wide: replicas start slowly when busy
    # Other requests go on meanwhile, on the other replica or the restarted one.
    other = await on_ray.compute.forward(spec, ForwardRequest("meanwhile"), raw_outputs)
    assert other["last_hidden_state"][0].shape[1] == 3
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:  # Serve brings the replica back
        states = serve.status().applications[on_ray.compute.app].deployments["ModelWorkers"]
        if states.replica_states.get("RUNNING") == 2:
            break
        await asyncio.sleep(0.5)
    else:
        pytest.fail(f"the replica did not come back: {states.replica_states}")
    reply = await attention(on_ray.job(), model="tiny", text="after the restart")
    assert reply.content.startswith("**tiny · layer 2/2")


async def test_an_application_gone_at_run_time_is_a_clear_reply(ray_cluster, tiny_dir, monkeypatch):
    runtime = Runtime(make_settings(f"tiny={tiny_dir}", COMPUTE_BACKEND="ray",
                                    RAY_REPLICA_CPUS="0.25"))  # fmt: skip
    await runtime.start(preload=False)
    try:
        assert (await attention(runtime.job(), text="before")).attachments
        serve.delete(runtime.compute.app)  # the cluster no longer serves the bot's replicas
        with pytest.raises(UserError, match="cannot be reached right now"):
            await attention(runtime.job(), text="after")
        listed = await models(runtime.job())  # what needs no model work still answers
        assert listed.content.startswith("**Models you can use**") and "`tiny`" in listed.content
        # Serve's race: a request routed just before the application went waits for a replica
        # forever. The bot's call notices the application is gone and gives up.
        unanswered = Unanswered()
        runtime.compute._handle = SimpleNamespace(card=SimpleNamespace(remote=lambda _: unanswered))
        runtime.compute._cards.clear()
        monkeypatch.setattr(ray_compute, "APP_CHECK_SECONDS", 0.1)
        with pytest.raises(UserError, match="cannot be reached right now"):
            async with asyncio.timeout(300):  # a hang guard only
                await runtime.compute.hold(runtime.allowlist.resolve("tiny"))
        assert unanswered.cancelled
    finally:
        await runtime.close()


class Unanswered:
    """A Serve response that never comes (cancellable, as Serve's are)."""

    def __init__(self) -> None:
        self.answer: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.cancelled = False

    def __await__(self):
        return self.answer.__await__()

    def cancel(self) -> None:
        self.cancelled = True


async def test_a_ray_cluster_that_cannot_be_reached_stops_the_bot_with_one_line(tmp_path):
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "DISCORD_TOKEN": TOKEN,
        "DATA_DIR": str(tmp_path),
        "COMPUTE_BACKEND": "ray",
        "RAY_ADDRESS": "127.0.0.1:9",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(process.communicate(), 300)  # stops, rather than hanging
    assert process.returncode == 2
    lines = err.decode().strip().splitlines()
    assert lines[-1] == (
        "Compute error: COMPUTE_BACKEND=ray: cannot reach the Ray cluster at 127.0.0.1:9 "
        "(Connection refused)"
    )
    assert "Traceback" not in err.decode()


async def test_the_bot_on_ray_answers_presses_and_keeps_its_time_limit(
    ray_cluster, tmp_path, tiny_dir
):
    env = {
        "COMPUTE_BACKEND": "ray",
        "RAY_ADDRESS": ray_cluster,
        **PATIENT_RAY,
        "RAY_AUTH_MODE": os.environ.get("RAY_AUTH_MODE", ""),  # a token-guarded cluster
        "RAY_REPLICA_CPUS": "0.25",
        "PRELOAD_DEFAULT_MODEL": "false",
        "USER_COOLDOWN_SECONDS": "0",
    }
    # A limit far below a cold load on a replica (which takes a good fraction of a second at
    # least): the command is stopped and reported, whatever the machine's load.
    strict = {**env, "JOB_TIMEOUT_SECONDS": "0.05"}
    async with fresh_bot(tmp_path / "strict.log", f"tiny={tiny_dir}", **strict) as (server, bot):
        cold = message_data(await (await server.slash("tokenize", text="cold")).answer())
        assert cold["content"].startswith("⚠️ This took longer than 0.05 s and was stopped.")
        assert await bot.terminate() == 0
        # The bot again, with the default limit, on the same cluster: the replicas carry on.
        again = BotProcess(server, tmp_path / "bot.log", f"tiny={tiny_dir}", **env)
        try:
            await again.start()
            warm = message_data(await (await server.slash("tokenize", text="warm")).answer())
            assert warm["content"].startswith("**tiny** · 4 characters")
            _, message = await explore(server, text="through the replicas")
            assert message["content"].startswith("**tiny · layer 2/2")
            _, edited = await press(server, message, "layer-")
            assert edited["content"].startswith("**tiny · layer 1/2")
            report = await (await server.slash("admin", subcommand="internals")).answer()
            shown = message_data(report)["content"]
            app = re.search(r"Ray Serve application (model-explorer-\w+): 1 replica", shown)
            assert app is not None, shown
        finally:
            assert await again.terminate() == 0
    assert app.group(1) in serve.status().applications  # left running for the bot's other shards
    serve.delete(app.group(1))


async def test_the_console_on_ray_starts_and_stops_a_local_ray_of_its_own(tmp_path, tiny_dir):
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "HF_HUB_OFFLINE": "1",
        "MODELS": f"tiny={tiny_dir}",
        "COMPUTE_BACKEND": "ray",
        "RAY_REPLICA_CPUS": "0.5",
        "CONSOLE_OUTPUT_DIR": str(tmp_path),
        **PATIENT_RAY,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "console", "/tokenize text:hello", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 600)  # a hang guard only
    assert process.returncode == 0, err.decode()[-2000:]
    assert "**tiny** · 5 characters → " in out.decode()
    assert "Traceback" not in err.decode()
