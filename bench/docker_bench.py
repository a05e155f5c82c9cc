"""The Docker check (`./dev docker-check`): build the image, smoke-test it as a user runs it,
and measure it.

1. `docker build -t model-explorer .`, with the arguments given after `./dev docker-check`
   (e.g. `--build-arg TORCH_INDEX_URL=…`, `--network host`; README, "Docker").
2. The console demo (`/attention`) as the image's user writes a PNG to the /data volume,
   with no network.
3. Bot mode against the fake Discord (tests/fake_discord.py) on the host's network: /healthz
   answers 200 with `"ready": true`, the image's HEALTHCHECK turns the container `healthy`,
   the token stays out of the log, and `docker stop` ends it cleanly (exit 0).

Measured: the image size and build time, and cold starts, in the container and on this machine
without Docker in the same rounds (medians of 3): launch to the demo's PNG on disk, launch to
/healthz 200, and to Docker's `healthy`. Writes bench/results/docker.json.
With no Docker daemon reachable it says so and exits 1.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.bot_process import TOKEN, BotProcess
from tests.fake_discord import GUILD_ID, FakeDiscord

IMAGE = "model-explorer"
USER = "10001:10001"
DEMO = "/attention text:I am studying NLP. layer:2"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CONSOLE = "model-explorer-check-console"
BOT = "model-explorer-check-bot"
VOLUME = "model-explorer-check-data"
START_TIMEOUT_S = 300
RUNS = 3


class CheckFailed(Exception):
    """A step of the check that did not pass; the message says what was seen."""


def require(condition: bool, failure: str) -> None:
    if not condition:
        raise CheckFailed(failure)


async def docker(*args: str, check: bool = True) -> bytes:
    """Run a docker command; its output (stdout and stderr), or CheckFailed."""
    process = await asyncio.create_subprocess_exec(
        "docker", *args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    output, _ = await process.communicate()
    if check and process.returncode:
        tail = output.decode(errors="replace")[-3000:]
        raise CheckFailed(f"`docker {' '.join(args[:2])} …` failed:\n{tail}")
    return output


def daemon_problem() -> str | None:
    """Why no Docker daemon can be used, or None when one answers."""
    try:
        probe = subprocess.run(
            ["docker", "version", "--format", "{{.Server.Version}}"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    except FileNotFoundError:
        return "no `docker` command on PATH"
    except subprocess.TimeoutExpired:
        return "`docker version` did not answer within 60 s"
    if probe.returncode:
        lines = (probe.stderr or probe.stdout).strip().splitlines()
        return lines[-1] if lines else f"`docker version` exited {probe.returncode}"
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def healthz(port: int) -> tuple[int, dict | None]:
    """The status and JSON of GET /healthz, or (0, None) while nothing listens."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)
    except OSError:
        return 0, None


def pngs_in(tar_bytes: bytes) -> list[tarfile.TarInfo]:
    """The PNG files (by content, not name) in a tar stream, with their owners."""
    found = []
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
        for member in tar.getmembers():
            stream = tar.extractfile(member) if member.isfile() else None
            if stream is not None and stream.read(len(PNG_SIGNATURE)) == PNG_SIGNATURE:
                found.append(member)
    return found


async def build(build_args: list[str]) -> dict:
    print(f"docker build -t {IMAGE} {' '.join(build_args)} .", flush=True)
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        "docker", "build", "-t", IMAGE, *build_args, str(ROOT)
    )
    require(await process.wait() == 0, "docker build failed (its output is above)")
    built = time.monotonic() - started
    config = json.loads(await docker("image", "inspect", "--format", "{{json .}}", IMAGE))
    require(config["Config"]["User"] == USER, f"the image runs as {config['Config']['User']!r}")
    require(bool(config["Config"].get("Healthcheck")), "the image has no HEALTHCHECK")
    cuda = await docker(
        "run", "--rm", "--network", "none", "--entrypoint", "python", IMAGE,
        "-c", "import torch; print(torch.version.cuda)",
    )  # fmt: skip
    require(cuda.decode().strip() == "None", f"torch.version.cuda in the image: {cuda!r}")
    return {"build_s": built, "size_bytes": config["Size"], "user": USER, "torch_cuda": None}


async def console_in_container() -> float:
    """The demo as the image's user with a fresh /data volume: seconds from `docker run` to
    the container done with the PNG on the volume."""
    await docker("rm", "-f", "-v", CONSOLE, check=False)
    await docker("volume", "rm", "-f", VOLUME, check=False)
    started = time.monotonic()
    output = await docker(
        "run", "--name", CONSOLE, "--network", "none", "-v", f"{VOLUME}:/data",
        IMAGE, "console", DEMO,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    try:
        log = output.decode(errors="replace")
        # matplotlib logs this line (INFO) whenever it builds its font cache.
        rebuilt = "generated new fontManager" in log
        require(not rebuilt, f"matplotlib built its font cache at start:\n{log}")
        pngs = pngs_in(await docker("cp", f"{CONSOLE}:/data/output", "-"))
        require(bool(pngs), f"no PNG on the /data volume after the demo:\n{log}")
        owners = {f"{png.uid}:{png.gid}" for png in pngs}
        require(owners == {USER}, f"the PNG belongs to {owners}, not the image's user")
        print(f"  console: {', '.join(png.name for png in pngs)} on the volume, owner {USER}")
    finally:
        await docker("rm", "-v", CONSOLE, check=False)
        await docker("volume", "rm", VOLUME, check=False)
    return elapsed


def console_on_host() -> float:
    """The same demo on this machine's .venv, for comparison."""
    with tempfile.TemporaryDirectory(prefix="explorer-docker-bench-") as output:
        env = {**os.environ, "CONSOLE_OUTPUT_DIR": output, "DATA_DIR": output}
        started = time.monotonic()
        demo = subprocess.run(
            [sys.executable, "-m", "bot", "console", DEMO], cwd=ROOT, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        elapsed = time.monotonic() - started
        require(any(Path(output).glob("*.png")), f"the demo here wrote no PNG:\n{demo.stdout}")
    return elapsed


async def wait_until_ready(port: int, started: float, stopped: asyncio.Future) -> float:
    """Seconds from `started` until /healthz answers 200 with "ready": true."""
    while (elapsed := time.monotonic() - started) < START_TIMEOUT_S:
        require(not stopped.done(), "the bot stopped before it was ready")
        status, body = await asyncio.to_thread(healthz, port)
        if status == 200:
            require(body is not None and body.get("ready") is True, f"/healthz 200: {body}")
            return elapsed
        await asyncio.sleep(0.1)
    raise CheckFailed(f"/healthz did not answer 200 within {START_TIMEOUT_S} s")


async def container_state() -> dict:
    return json.loads(await docker("inspect", "--format", "{{json .State}}", BOT))


async def until_exited() -> None:
    while (await container_state())["Running"]:
        await asyncio.sleep(0.5)


async def until_docker_healthy() -> None:
    while (state := await container_state())["Health"]["Status"] != "healthy":
        require(state["Running"], "the bot stopped before Docker saw it healthy")
        await asyncio.sleep(0.2)


async def bot_in_container() -> dict:
    """Bot mode against the fake Discord: seconds from `docker run` to /healthz 200 and to
    Docker's health status `healthy` (health checks every second here)."""
    fake = FakeDiscord()
    await fake.start()
    port = free_port()
    settings = {
        "DISCORD_TOKEN": TOKEN,
        "DISCORD_GUILD_IDS": str(GUILD_ID),
        "DISCORD_API_BASE": fake.api_base,
        "DISCORD_GATEWAY_URL": fake.gateway_url,
        "HTTP_PORT": str(port),
        "HF_HUB_OFFLINE": "1",
    }
    environment = [
        argument for key, value in settings.items() for argument in ("-e", f"{key}={value}")
    ]
    await docker("rm", "-f", "-v", BOT, check=False)
    started = time.monotonic()
    try:
        await docker(
            "run", "-d", "--name", BOT, "--network", "host", "--health-interval", "1s",
            *environment, IMAGE, "run",
        )  # fmt: skip
        exited = asyncio.ensure_future(until_exited())
        try:
            ready = await wait_until_ready(port, started, exited)
            require(fake.ready.is_set(), "/healthz said ready before the gateway was connected")
            await asyncio.wait_for(until_docker_healthy(), START_TIMEOUT_S)
            healthy = time.monotonic() - started
        finally:
            exited.cancel()
        await docker("stop", "--time", "40", BOT)
        state = await container_state()
        log = (await docker("logs", BOT)).decode(errors="replace")
        require(TOKEN not in log, "the token is in the bot's log")
        require(
            state["ExitCode"] == 0, f"`docker stop` ended the bot with {state['ExitCode']}:\n{log}"
        )
        print(f"  bot: /healthz 200 after {ready:.1f} s, Docker healthy after {healthy:.1f} s")
        return {"healthz_200_s": ready, "docker_healthy_s": healthy}
    except CheckFailed as failure:
        log = (await docker("logs", BOT, check=False)).decode(errors="replace")
        raise CheckFailed(f"{failure}\n--- the bot's log ---\n{log[-4000:]}") from None
    finally:
        await docker("rm", "-f", "-v", BOT, check=False)
        await fake.stop()


async def bot_on_host() -> float:
    """The same start on this machine's .venv, for comparison: launch to /healthz 200."""
    fake = FakeDiscord()
    await fake.start()
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="explorer-docker-bench-") as logs:
        bot = BotProcess(fake, Path(logs) / "bot.log", "", HTTP_PORT=str(port))
        bot.env.pop("MODELS")
        started = time.monotonic()
        try:
            await bot.start(warm=False)
            assert bot.process is not None
            exited = asyncio.ensure_future(bot.process.wait())
            return await wait_until_ready(port, started, exited)
        finally:
            await bot.terminate()
            await fake.stop()


async def one_round() -> dict:
    container = {"console_png_s": await console_in_container(), **await bot_in_container()}
    host = {"console_png_s": console_on_host(), "healthz_200_s": await bot_on_host()}
    return {"container": container, "host": host}


async def main(build_args: list[str]) -> dict:
    image = await build(build_args)
    rounds = []
    for index in range(RUNS):
        print(f"round {index + 1}/{RUNS}: the container, then the same on this machine", flush=True)
        rounds.append(await one_round())
    summary = {
        place: {
            key: {
                "median": statistics.median(done[place][key] for done in rounds),
                "range": [f(done[place][key] for done in rounds) for f in (min, max)],
            }
            for key in rounds[0][place]
        }
        for place in ("container", "host")
    }
    return {"image": image, "rounds": rounds, **summary, "load_average": os.getloadavg()}


def seconds(figures: dict) -> str:
    low, high = figures["range"]
    return f"{figures['median']:.1f} s ({low:.1f}–{high:.1f})"


if __name__ == "__main__":
    problem = daemon_problem()
    if problem is not None:
        print(f"docker-check: no Docker daemon reachable ({problem}); nothing was checked.")
        sys.exit(1)
    try:
        outcome = asyncio.run(main(sys.argv[1:]))
    except CheckFailed as failure:
        print(f"docker-check FAILED: {failure}")
        sys.exit(1)
    image, container, host = outcome["image"], outcome["container"], outcome["host"]
    print(f"image {IMAGE}: {image['size_bytes'] / 1e9:.2f} GB, built in {image['build_s']:.0f} s,"
          f" runs as {USER}, torch.version.cuda None")  # fmt: skip
    print(f"medians of {RUNS} (range)  container            this machine")
    for key, label in (
        ("console_png_s", "run → demo PNG"),
        ("healthz_200_s", "run → /healthz 200"),
    ):
        print(f"{label:<22} {seconds(container[key]):<20} {seconds(host[key])}")
    print(f"{'run → Docker healthy':<22} {seconds(container['docker_healthy_s'])}")
    results = Path(__file__).parent / "results"
    results.mkdir(exist_ok=True)
    (results / "docker.json").write_text(json.dumps(outcome, indent=2) + "\n")
    print("docker-check passed")
