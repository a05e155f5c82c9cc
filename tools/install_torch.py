"""The torch step of `./dev setup`: install the torch that pyproject.toml pins, as the CPU build.

On Linux, PyPI's torch is the CUDA build (several GB with its nvidia-* packages), so torch comes
from the PyTorch CPU wheel index; when that index cannot be reached within a few seconds, from
the default package index instead, and one line says so. On macOS and Windows PyPI's torch is
already the CPU build, so the default index serves. `TORCH_INDEX_URL` names another index (a
CUDA build's, or a mirror); it is used as given, and an unreachable one stops the setup.

Run with the virtual environment's Python: `python tools/install_torch.py`. Standard library
only, as it runs before anything else is installed.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
import sys
import threading
import tomllib
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

CPU_INDEX = "https://download.pytorch.org/whl/cpu"
PROBE_SECONDS = 3.0
PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


class Unreachable(Exception):
    """The index TORCH_INDEX_URL names does not answer."""


def torch_pin(pyproject: Path = PYPROJECT) -> str:
    """The torch requirement among the project's dependencies, e.g. `torch==2.13.0`."""
    dependencies = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    return next(dep for dep in dependencies if dep.replace(" ", "").startswith("torch=="))


def installed(pin: str) -> bool:
    """Whether this Python already has the pinned torch (any build of that version)."""
    try:
        version = importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        return False
    return version.split("+")[0] == pin.split("==")[1].strip()


def reachable(index: str, timeout: float = PROBE_SECONDS) -> bool:
    """Whether the index's torch page answers within `timeout` seconds, name lookup included
    (which urllib's own timeout does not bound, hence the thread)."""
    answered: list[bool] = []

    def probe() -> None:
        # The index is the operator's own (TORCH_INDEX_URL) or PyTorch's: no untrusted URL.
        request = urllib.request.Request(index.rstrip("/") + "/torch/", method="HEAD")  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=timeout):  # noqa: S310
                answered.append(True)
        except urllib.error.HTTPError as error:  # the server answered
            answered.append(error.code < 500)
        except (OSError, ValueError):
            answered.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    return answered == [True]


def choose_index(
    system: str,
    override: str | None,
    cpu_index: str = CPU_INDEX,
    answers: Callable[[str], bool] = reachable,
) -> tuple[list[str], str | None]:
    """pip's index arguments for torch on `system` (platform.system()), and the one line to
    tell the user, if any. Raises Unreachable when the chosen `override` does not answer."""
    if override:
        if not answers(override):
            raise Unreachable(
                f"TORCH_INDEX_URL={override} cannot be reached: fix or unset it "
                f"(unset, torch comes from {cpu_index} on Linux)."
            )
        return ["--index-url", override], f"Installing torch from TORCH_INDEX_URL={override}."
    if system != "Linux":
        return [], None  # PyPI's torch for macOS and Windows is the CPU build
    if answers(cpu_index):
        return ["--index-url", cpu_index], None
    return [], (
        f"The PyTorch CPU wheel index ({cpu_index}) cannot be reached: torch comes from the "
        "default package index instead (on Linux perhaps the large CUDA build; "
        "TORCH_INDEX_URL can name a mirror)."
    )


def main() -> int:
    """Install the pinned torch unless it is there; 1 if TORCH_INDEX_URL cannot be reached."""
    pin = torch_pin()
    if installed(pin):
        return 0
    try:
        index, note = choose_index(platform.system(), os.environ.get("TORCH_INDEX_URL"))
    except Unreachable as error:
        print(error, file=sys.stderr)
        return 1
    if note:
        print(note, file=sys.stderr)
    command = [sys.executable, "-m", "pip", "install", "--quiet", *index, pin]
    return subprocess.run(command, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
