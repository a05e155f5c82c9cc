"""requirements.lock, which ./dev and CI install, pins every dependency pyproject.toml asks
for (the `test` and `ray` extras included, torch apart: it comes as the CPU build), at a
version pyproject allows, each with its hashes."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).parents[1]


def locked() -> dict[str, tuple[str, str]]:
    """Each pinned package: its version and the whole entry (with its hashes)."""
    text = (ROOT / "requirements.lock").read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
    pins = {}
    for entry in entries:
        requirement = Requirement(entry.split(" \\")[0].strip())
        (specifier,) = requirement.specifier
        assert specifier.operator == "==", entry
        pins[canonicalize_name(requirement.name)] = (specifier.version, entry)
    return pins


def test_every_dependency_is_pinned_with_hashes_at_a_version_pyproject_allows():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + [
        dependency
        for extra in ("test", "ray")
        for dependency in project["optional-dependencies"][extra]
    ]
    pins = locked()
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
