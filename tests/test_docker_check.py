import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_docker_check_without_a_daemon_says_so_and_fails(tmp_path):
    env = {**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/no-daemon.sock"}
    check = subprocess.run(
        [sys.executable, "bench/docker_bench.py"], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert check.returncode == 1
    lines = check.stdout.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("docker-check: no Docker daemon reachable (")
    assert lines[0].endswith("nothing was checked.")
    assert "passed" not in check.stdout + check.stderr
