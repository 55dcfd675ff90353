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
