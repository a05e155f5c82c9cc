"""The lock files pin every dependency pyproject.toml asks for (torch apart: it comes as the
CPU build), at a version pyproject allows, each with its hashes: requirements-dev.lock, which
./dev and CI install, with the `test` and `ray` extras; requirements.lock, the Docker image's,
without them and at the same versions."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).parents[1]


def locked(name: str) -> dict[str, tuple[str, str]]:
    """Each package a lock file pins: its version and the whole entry (with its hashes)."""
    text = (ROOT / name).read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
    pins = {}
    for entry in entries:
        requirement = Requirement(entry.split(" \\")[0].strip())
        (specifier,) = requirement.specifier
        assert specifier.operator == "==", entry
        pins[canonicalize_name(requirement.name)] = (specifier.version, entry)
    return pins


@pytest.mark.parametrize(
    ("lock", "extras"), [("requirements-dev.lock", ("test", "ray")), ("requirements.lock", ())]
)
def test_every_dependency_is_pinned_with_hashes_at_a_version_pyproject_allows(lock, extras):
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + [
        dependency for extra in extras for dependency in project["optional-dependencies"][extra]
    ]
    pins = locked(lock)
    for line in wanted:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        if name == "torch":
            assert name not in pins  # installed on its own, as the CPU build
            continue
        version, entry = pins[name]
        assert requirement.specifier.contains(version, prereleases=True), (line, version)
        assert "--hash=sha256:" in entry
    assert not [name for name in pins if name.startswith(("nvidia-", "triton"))]  # no CUDA


def test_the_runtime_lock_is_the_dev_lock_without_the_extras_only_packages():
    runtime, dev = locked("requirements.lock"), locked("requirements-dev.lock")
    assert {name: version for name, (version, _) in runtime.items()} == {
        name: dev[name][0] for name in runtime
    }
    assert "pytest" not in runtime and "ray" not in runtime
