"""Operations: `/healthz` and `/metrics` of the real bot process, and a calm start when
Discord refuses the token or cannot be reached."""

from __future__ import annotations

import re
import socket

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.metrics import batch_histogram
from tests.bot_process import TOKEN, fresh_bot
from tests.fake_discord import Fault, message_data

DEADLINE_S = 90.0


def free_port() -> int:
    """A loopback port nothing listens on (bound, then let go)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def get(url: str) -> tuple[int, str]:
    """GET `url`: its status and body."""
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.text()


def samples(exposition: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape by name and labels, parsed by prometheus_client."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }


def requests(scrape: dict, command: str, outcome: str) -> float:
    labels = (("command", command), ("kind", "command"), ("outcome", outcome))
    return scrape.get(("model_explorer_requests_total", labels), 0.0)


async def test_health_is_503_while_connecting_then_200_and_metrics_count_commands(
    tmp_path, tiny_dir
):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"HTTP_PORT": str(port), "USER_COOLDOWN_SECONDS": "0"}
    async with fresh_bot(tmp_path / "bot.log", f"tiny={tiny_dir}", start=False, **env) as (
        server,
        process,
    ):
        server.gateway_open.clear()  # the gateway holds its hello: the bot cannot connect yet
        await process.launch()
        await process.logged("serving /healthz and /metrics")
        status, body = await get(f"{base}/healthz")
        assert status == 503
        assert '"ready": false' in body and '"gateway": false' in body
        server.gateway_open.set()
        await process.logged("connected as ")
        await process.logged("ready for model work")
        status, body = await get(f"{base}/healthz")
        assert status == 200
        assert '"ready": true' in body and '"gateway": true' in body
        assert '"models": ["tiny"]' in body and '"default_model": "tiny"' in body

        before = samples((await get(f"{base}/metrics"))[1])
        assert before[("model_explorer_ready", ())] == 1.0
        for i in range(3):
            answer = await (await server.slash("tokenize", text=f"hello {i}")).answer()
            assert "**tiny**" in message_data(answer)["content"]
        refused = await (await server.slash("attention", text="hi", layer=9)).answer()
        assert "choose a layer from 1 to 2" in message_data(refused)["content"]
        explored = await (await server.slash("attention", text="hello world")).answer()
        assert explored.files
        await process.quiet()  # each command counted
        after = samples((await get(f"{base}/metrics"))[1])

    def grew(name: str, labels: tuple = ()) -> float:
        return after[(name, labels)] - before.get((name, labels), 0.0)

    def ran(command: str, outcome: str) -> float:
        return requests(after, command, outcome) - requests(before, command, outcome)

    assert ran("tokenize", "ok") == 3
    assert ran("attention", "UserError") == 1 and ran("attention", "ok") == 1
    tokenize = (("command", "tokenize"), ("kind", "command"))
    assert grew("model_explorer_request_duration_seconds_count", tokenize) == 3
    assert grew("model_explorer_batch_size_count") >= 1  # the /attention's forward pass
    assert grew("model_explorer_store_writes_total") >= 1  # its exploration, kept
    assert after[("model_explorer_store_write_failures_total", ())] == 0
    assert after[("model_explorer_queue_waiting", ())] == 0
    assert after[("model_explorer_model_memory_bytes", (("model", "tiny"),))] > 0
    assert after[("process_resident_memory_bytes", ())] > 0


async def test_a_rejected_token_stops_the_start_with_one_line_and_exit_2(tmp_path, tiny_dir):
    wrong = "wrong-token-OTg3NjU0MzIx.another-secret"
    env = {"DISCORD_TOKEN": wrong, "LOG_LEVEL": "WARNING"}
    async with fresh_bot(tmp_path / "bot.log", f"tiny={tiny_dir}", start=False, **env) as (
        server,
        process,
    ):
        assert await process.exit_status(timeout=DEADLINE_S) == 2
        assert process.log().splitlines() == [
            "Discord error: DISCORD_TOKEN was rejected (401 Unauthorized): check it "
            "(see .env.example)"
        ]
        assert [(r.path, r.status) for r in server.requests] == [("/users/@me", 401)]
        assert server.identifies == 0
    assert wrong not in process.log() and TOKEN not in process.log()


@pytest.mark.parametrize("closed", ["DISCORD_API_BASE", "DISCORD_GATEWAY_URL"])
async def test_discord_unreachable_is_one_line_per_attempt_then_one_more(
    tmp_path, tiny_dir, closed
):
    port = free_port()  # nothing listens there: every connection is refused
    url = {
        "DISCORD_API_BASE": f"http://127.0.0.1:{port}/api/v10",
        "DISCORD_GATEWAY_URL": f"ws://127.0.0.1:{port}/gateway",
    }[closed]
    env = {"LOG_LEVEL": "WARNING", "DISCORD_CONNECT_ATTEMPTS": "3",
           "DISCORD_RETRY_SECONDS": "0.05", closed: url}  # fmt: skip
    async with fresh_bot(tmp_path / "bot.log", f"tiny={tiny_dir}", start=False, **env) as (
        server,
        process,
    ):
        assert await process.exit_status(timeout=DEADLINE_S) == 1
        assert server.identifies == 0
    lines = process.log().splitlines()
    assert len(lines) == 4, lines
    for attempt, line in enumerate(lines[:3], start=1):
        assert re.search(
            rf"WARNING bot.connection: Discord cannot be reached \(attempt {attempt} of 3\): "
            rf"Cannot connect to host 127.0.0.1:{port} ",
            line,
        ), line
    assert lines[0].endswith("; trying again in 0.05 s")
    assert lines[1].endswith("; trying again in 0.1 s")
    assert lines[3].startswith("Discord error: unreachable after 3 attempts (DISCORD_API_BASE ")
    assert lines[3].endswith("; giving up") and url in lines[3]
    assert "Traceback" not in process.log() and TOKEN not in process.log()


def test_batch_sizes_fall_into_power_of_two_buckets():
    family = batch_histogram({1: 3, 3: 2, 16: 1}, max_batch=16)
    buckets = {s.labels["le"]: s.value for s in family.samples if s.name.endswith("_bucket")}
    assert buckets == {"1.0": 3, "2.0": 3, "4.0": 5, "8.0": 5, "16.0": 6, "+Inf": 6}
    totals = {s.name: s.value for s in family.samples if not s.name.endswith("_bucket")}
    assert totals == {"model_explorer_batch_size_count": 6, "model_explorer_batch_size_sum": 25}


async def test_a_lost_gateway_is_logged_in_one_line_per_retry_and_health_says_so(
    tmp_path, tiny_dir
):
    port = free_port()
    async with fresh_bot(tmp_path / "bot.log", f"tiny={tiny_dir}", HTTP_PORT=str(port)) as (
        server,
        process,
    ):
        status, _ = await get(f"http://127.0.0.1:{port}/healthz")
        assert status == 200
        await server.stop()  # Discord is gone: the gateway closes, reconnecting is refused
        await process.logged("Attempting a reconnect for shard ID 0", DEADLINE_S)
        status, body = await get(f"http://127.0.0.1:{port}/healthz")
        assert status == 503 and '"gateway": false' in body
        assert await process.terminate() == 0
    retries = [line for line in process.log().splitlines() if "Attempting a reconnect" in line]
    assert retries and all("Cannot connect to host 127.0.0.1" in line for line in retries)
    assert "Traceback" not in process.log()


async def test_a_refused_command_sync_stops_the_start_with_one_line_and_exit_2(tmp_path, tiny_dir):
    env = {"LOG_LEVEL": "WARNING"}
    async with fresh_bot(tmp_path / "bot.log", f"tiny={tiny_dir}", start=False, **env) as (
        server,
        process,
    ):
        server.faults.append(Fault("PUT", r"/guilds/\d+/commands$", 403))
        assert await process.exit_status(timeout=DEADLINE_S) == 2
    (line,) = process.log().splitlines()
    assert line.startswith("Discord error: a request was refused: 403 Forbidden")


async def test_a_final_gateway_close_stops_the_bot_with_one_line_and_exit_2(tmp_path, tiny_dir):
    async with fresh_bot(tmp_path / "bot.log", f"tiny={tiny_dir}") as (server, process):
        await server.drop_gateway(code=4010)  # "invalid shard": discord.py does not reconnect
        assert await process.exited(DEADLINE_S) == 2
    assert process.log().splitlines()[-1] == (
        "Discord error: the connection ended: the gateway closed the connection "
        "(4010: invalid shard: check SHARD_COUNT and SHARD_IDS)"
    )
    assert "Traceback" not in process.log()


async def test_a_port_in_use_stops_the_start_with_one_line_and_exit_2(tmp_path, tiny_dir):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {"LOG_LEVEL": "WARNING", "HTTP_PORT": str(port)}
        async with fresh_bot(tmp_path / "bot.log", f"tiny={tiny_dir}", start=False, **env) as (
            server,
            process,
        ):
            assert await process.exit_status(timeout=DEADLINE_S) == 2
            assert server.identifies == 0
    assert process.log().splitlines() == [
        f"Configuration error: HTTP_HOST:HTTP_PORT 127.0.0.1:{port} cannot be listened on: "
        "Address already in use"
    ]
