"""Start-up fidelity against real redis-server: log levels of the start-up lines, not listening anywhere."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

from tests.support import ROOT, ServerProcess, scratch_dir

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server not installed")

_LINE = re.compile(r"^\d+:[A-Z] \d+ \w+ \d+ [\d:.]+ (.) (.*)$")


def _cmd(kind: str) -> list[str]:
    if kind == "redis":
        return [shutil.which("redis-server") or "redis-server"]
    return [sys.executable, "-m", "pyredis"]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.join(ROOT, "src") + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _levels(text: str) -> dict[str, str]:
    """The level mark of each log line, keyed by the line's first two words."""
    marks: dict[str, str] = {}
    for line in text.splitlines():
        m = _LINE.match(line)
        if m:
            marks[" ".join(m.group(2).replace(",", " ").split()[:2])] = m.group(1)
    return marks


@pytest.mark.parametrize("kind", ["redis", "pyredis"])
def test_port_zero_without_other_listener_exits(kind: str) -> None:
    out = subprocess.run([*_cmd(kind), "--port", "0", "--save", ""], cwd=scratch_dir("nolisten-"), env=_env(),
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    marks = _levels(out.stdout)
    assert marks.get("Configured to") == "#", out.stdout
    assert marks.get("oO0OoO0OoO0Oo Redis") == "#"
    assert marks.get("Redis version=7.0.15") == "#"
    assert marks.get("Configuration loaded") == "#"  # any argument counts, as in Redis


def test_startup_line_levels_match_redis() -> None:
    marks: dict[str, dict[str, str]] = {}
    for kind in ("redis", "pyredis"):
        srv = ServerProcess(kind, ["--logfile", "server.log"])
        srv.stop()
        with open(os.path.join(srv.cwd, "server.log")) as f:
            marks[kind] = _levels(f.read())
    keys = ["oO0OoO0OoO0Oo Redis", "Redis version=7.0.15", "Configuration loaded", "Server initialized", "Ready to",
            "Running mode=standalone", "Redis is"]
    for key in keys:
        found = {k: m.get(key) for k, m in marks.items()}
        assert found["redis"] is not None, key
        assert found["pyredis"] == found["redis"], (key, found)
