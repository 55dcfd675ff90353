"""Shared fixtures: a real redis-server and a pyredis server (subprocesses) for differential tests."""

from __future__ import annotations

import pytest

from support import Differ, ServerProcess


@pytest.fixture(scope="session")
def redis_proc():
    p = ServerProcess("redis")
    yield p
    p.stop()


@pytest.fixture(scope="session")
def pyredis_proc():
    p = ServerProcess("pyredis")
    yield p
    p.stop()


@pytest.fixture
def diff(redis_proc, pyredis_proc):
    """A :class:`Differ` on flushed servers; asserts pyredis is still alive afterwards."""
    d = Differ(redis_proc, pyredis_proc)
    d.check("FLUSHALL")
    d.check("SELECT", "9")
    d.check("FLUSHALL")
    yield d
    d.close()
    assert pyredis_proc.alive(), "pyredis crashed"


@pytest.fixture
def pyr(pyredis_proc):
    """A raw client to the shared pyredis server, flushed."""
    c = pyredis_proc.client()
    c.call("FLUSHALL")
    yield c
    c.close()


def pytest_sessionfinish(session, exitstatus):
    """Stop any server a failing test left running, so CI never keeps orphans alive."""
    import os
    import signal

    me = str(os.getpid())
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:  # not Linux: nothing to sweep
        return
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == me:  # a direct child of this pytest process
            try:
                os.kill(int(pid), signal.SIGKILL)
            except OSError:
                pass

