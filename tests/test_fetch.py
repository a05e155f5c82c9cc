"""`python -m bot fetch`: a Hub model into the Hugging Face cache, only the files loading needs,
then the MODELS line to use; one clear line and a non-zero status when the Hub cannot be
reached. The Hub is a fake on loopback serving a tiny model saved with `save_pretrained`."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bot.fetch import model_files

ROOT = Path(__file__).resolve().parents[1]
REPO = "hfl/rbt3"
SHA = "a" * 40
REVISIONS = ("main", SHA)
# sentence-transformers/all-MiniLM-L6-v2's files on the Hub (the bundled model's repository).
MINILM_REPO_FILES = [
    ".gitattributes", "1_Pooling/config.json", "README.md", "config.json",
    "config_sentence_transformers.json", "data_config.json", "model.safetensors", "modules.json",
    "onnx/model.onnx", "openvino/openvino_model.xml", "pytorch_model.bin", "rust_model.ot",
    "sentence_bert_config.json", "special_tokens_map.json", "tf_model.h5", "tokenizer.json",
    "tokenizer_config.json", "train_script.py", "vocab.txt",
]  # fmt: skip


def test_only_the_config_the_tokenizer_and_one_copy_of_the_weights_are_fetched():
    assert model_files(MINILM_REPO_FILES) == [
        "config.json",
        "special_tokens_map.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "vocab.txt",
        "model.safetensors",
    ]
    older = ["config.json", "pytorch_model.bin", "tf_model.h5", "flax_model.msgpack", "vocab.txt"]
    assert model_files(older) == ["config.json", "vocab.txt", "pytorch_model.bin"]
    sharded = ["config.json", "model-00001-of-00002.safetensors",
               "model-00002-of-00002.safetensors", "model.safetensors.index.json",
               "pytorch_model-00001-of-00002.bin", "tokenizer.model"]  # fmt: skip
    assert model_files(sharded) == ["config.json", "tokenizer.model", *sharded[1:4]]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fetch(*args: str, **env: str) -> tuple[subprocess.CompletedProcess[str], float]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "bot", "fetch", *args], cwd=env.pop("cwd"),
                          env={**environment, **env}, capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    return done, time.monotonic() - started


def test_an_unreachable_hub_is_said_in_one_line_at_once(tmp_path):
    endpoint = f"http://127.0.0.1:{closed_port()}"
    done, elapsed = fetch(REPO, cwd=str(tmp_path), HF_ENDPOINT=endpoint, HF_HOME=str(tmp_path))
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == (
        f"The Hugging Face Hub ({endpoint}) cannot be reached: {REPO} was not fetched. "
        "Check the network, or set HF_ENDPOINT to a mirror.\n"
    )
    assert elapsed < 30  # about 0.5 s here: no half minute of retries


@pytest.mark.parametrize(
    ("argument", "env", "line"),
    [
        (REPO, {"HF_HUB_OFFLINE": "1"}, "HF_HUB_OFFLINE is set: unset it to fetch hfl/rbt3.\n"),
        ("no such/model!", {}, "'no such/model!' is not a Hub model id (like hfl/rbt3).\n"),
        ("./models/rbt3", {}, "./models/rbt3 is a local directory: name it in MODELS as it is.\n"),
    ],
)
def test_what_cannot_be_fetched_is_said_in_one_line(tmp_path, argument, env, line):
    done, _ = fetch(argument, cwd=str(tmp_path), HF_HOME=str(tmp_path), **env)
    assert done.returncode != 0 and done.stderr == line and "Traceback" not in done.stderr


class FakeHub(ThreadingHTTPServer):
    """The Hub's model info and file endpoints for one repository, recording what is asked."""

    def __init__(self, files: dict[str, bytes]) -> None:
        super().__init__(("127.0.0.1", 0), _HubHandler)
        self.files = files
        self.downloaded: list[str] = []


class _HubHandler(BaseHTTPRequestHandler):
    server: FakeHub

    def _answer(self, body: bytes, headers: dict[str, str], send_body: bool) -> None:
        self.send_response(200)
        for key, value in {**headers, "Content-Length": str(len(body))}.items():
            self.send_header(key, value)
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def _json(self, payload: object, send_body: bool) -> None:
        self._answer(json.dumps(payload).encode(), {"Content-Type": "application/json"}, send_body)

    def _serve(self, send_body: bool) -> None:
        path = self.path.split("?")[0]
        if path in (
            f"/api/models/{REPO}",
            *(f"/api/models/{REPO}/revision/{r}" for r in REVISIONS),
        ):
            siblings = [{"rfilename": name} for name in self.server.files]
            info = {"id": REPO, "modelId": REPO, "sha": SHA, "siblings": siblings}
            self._json(info, send_body)
            return
        if path in (f"/api/models/{REPO}/tree/{r}" for r in REVISIONS):
            files = self.server.files.items()
            oid = {name: hashlib.sha1(data).hexdigest() for name, data in files}
            tree = [{"type": "file", "oid": oid[n], "size": len(d), "path": n} for n, d in files]
            self._json(tree, send_body)
            return
        prefix, _, name = path.partition("/resolve/")
        revision, _, name = name.partition("/")
        if prefix != f"/{REPO}" or revision not in REVISIONS or name not in self.server.files:
            self.send_error(404)
            return
        body = self.server.files[name]
        etag = hashlib.sha256(body).hexdigest()
        if send_body:
            self.server.downloaded.append(name)
        self._answer(body, {"ETag": f'"{etag}"', "X-Repo-Commit": SHA}, send_body)

    def do_GET(self) -> None:
        self._serve(send_body=True)

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def fake_hub(tiny_dir: Path) -> Iterator[FakeHub]:
    files = {path.name: path.read_bytes() for path in tiny_dir.iterdir() if path.is_file()}
    files |= {"tf_model.h5": b"not for torch", "onnx/model.onnx": b"not for torch"}
    hub = FakeHub(files)
    thread = threading.Thread(target=hub.serve_forever, daemon=True)
    thread.start()
    yield hub
    hub.shutdown()
    hub.server_close()


def test_a_fetched_model_is_cached_and_then_loads_without_the_hub(tmp_path, fake_hub):
    endpoint = f"http://127.0.0.1:{fake_hub.server_address[1]}"
    done, _ = fetch(REPO, cwd=str(tmp_path), HF_ENDPOINT=endpoint, HF_HOME=str(tmp_path / "hf"))
    assert done.returncode == 0, done.stderr
    assert "Use it with MODELS=rbt3=hfl/rbt3" in done.stdout
    assert "tf_model.h5" not in fake_hub.downloaded and "onnx/model.onnx" not in fake_hub.downloaded
    assert "config.json" in fake_hub.downloaded and "model.safetensors" in fake_hub.downloaded
    # The bot, with no Hub at all, now answers from the cache.
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env |= {"HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1", "MODELS": "rbt3=hfl/rbt3",
            "CONSOLE_OUTPUT_DIR": str(tmp_path / "out")}  # fmt: skip
    console = subprocess.run([sys.executable, "-m", "bot", "console", "/tokenize text:我在学习"],
                             cwd=tmp_path, env=env, capture_output=True, text=True,
                             timeout=300)  # fmt: skip
    assert console.returncode == 0, console.stdout + console.stderr
    assert "我" in console.stdout and "[CLS]" in console.stdout
