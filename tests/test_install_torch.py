"""Where `./dev setup` takes torch from: the PyTorch CPU index on Linux, the default index when
that does not answer (said in one line), TORCH_INDEX_URL when set. Indexes are loopback servers."""

from __future__ import annotations

import importlib.metadata
import os
import re
import socket
import subprocess
import threading
import time
import venv
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tools.install_torch import PROBE_SECONDS, Unreachable, choose_index, torch_pin

SCRIPT = Path(__file__).resolve().parents[1] / "tools" / "install_torch.py"


class _Index(BaseHTTPRequestHandler):
    """A package index whose only project is torch."""

    def do_HEAD(self) -> None:
        self.send_response(200 if self.path.endswith("/torch/") else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def index_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Index)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/whl/cpu"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def silent_server() -> Iterator[str]:
    """Accepts connections and never answers, like a firewall that swallows them."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/whl/cpu"
    finally:
        listener.close()


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/whl/cpu"


def test_linux_takes_torch_from_the_cpu_index_when_it_answers():
    with index_server() as url:
        assert choose_index("Linux", None, cpu_index=url) == (["--index-url", url], None)


@pytest.mark.parametrize("unreachable", ["silent", "refused"])
def test_an_unreachable_cpu_index_falls_back_quickly_with_one_line(unreachable):
    with silent_server() as silent:
        url = silent if unreachable == "silent" else closed_port_url()
        started = time.monotonic()
        index, note = choose_index("Linux", None, cpu_index=url)
        elapsed = time.monotonic() - started
    assert index == []  # pip's default index: here it resolves torch to the local CPU wheel
    assert note is not None and "\n" not in note
    assert url in note and "cannot be reached" in note and "TORCH_INDEX_URL" in note
    assert elapsed < 10 * PROBE_SECONDS  # not pip's minutes of retries


def test_macos_and_windows_take_the_default_index_without_probing():
    def no_probe(url: str) -> bool:
        raise AssertionError(f"probed {url}")

    for system in ("Darwin", "Windows"):
        assert choose_index(system, None, answers=no_probe) == ([], None)


def test_torch_index_url_is_used_as_given_and_an_unreachable_one_stops_the_setup():
    with index_server() as mirror:
        index, note = choose_index("Darwin", mirror)
        assert index == ["--index-url", mirror] and note is not None and mirror in note
    url = closed_port_url()
    with pytest.raises(Unreachable, match=re.escape(f"TORCH_INDEX_URL={url} cannot be reached")):
        choose_index("Linux", url)


def test_the_pin_is_the_one_pyproject_declares_and_the_installed_torch_is_the_cpu_build():
    import torch

    pin = torch_pin()
    assert pin == f"torch=={importlib.metadata.version('torch').split('+')[0]}"
    assert torch.version.cuda is None


def test_the_script_says_an_unreachable_torch_index_url_in_one_line_and_fails(tmp_path):
    # A fresh environment without torch, so the script has something to install.
    venv.create(tmp_path / "env", with_pip=False)
    python = tmp_path / "env" / "bin" / "python"
    env = {**os.environ, "TORCH_INDEX_URL": closed_port_url()}
    done = subprocess.run([python, SCRIPT], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "TORCH_INDEX_URL=" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
