"""watchdog-period (Redis's software watchdog): a stall of the event loop longer than the period logs
``--- WATCHDOG TIMER EXPIRED ---`` with the stack of what blocked it, once per stall; compared with
redis-server (the period raised to two cron ticks, the hidden config, off at 0)."""

from __future__ import annotations

import time

import pytest
import redis

from support import ServerProcess

KINDS = ("redis", "pyredis")


@pytest.fixture(scope="module")
def servers():
    procs = {k: ServerProcess(k, ["--logfile", "server.log"]) for k in KINDS}
    yield procs
    for p in procs.values():
        p.stop()


def _log(p: ServerProcess) -> str:
    with open(p.cwd + "/server.log", errors="replace") as fh:
        return fh.read()


def _stall(p: ServerProcess, seconds: float, wait: float = 5.0) -> int:
    c = redis.Redis(port=p.port)
    before = _log(p).count("WATCHDOG TIMER EXPIRED")
    c.execute_command("DEBUG", "SLEEP", str(seconds))
    deadline = time.time() + wait
    while _log(p).count("WATCHDOG TIMER EXPIRED") == before and time.time() < deadline:
        time.sleep(0.05)
    return _log(p).count("WATCHDOG TIMER EXPIRED") - before


def test_config_is_hidden_and_raised_to_two_cron_ticks(servers):
    for p in servers.values():
        c = redis.Redis(port=p.port)
        assert c.config_get("*watchdog*") == {}  # hidden from patterns
        assert c.config_get("watchdog-period") == {"watchdog-period": "0"}
        c.config_set("watchdog-period", 50)
        assert c.config_get("watchdog-period") == {"watchdog-period": "200"}, p.kind  # hz 10: 2 x 100 ms
        c.config_set("watchdog-period", 0)


def test_a_stalled_loop_logs_the_blocking_stack(servers):
    for p in servers.values():
        c = redis.Redis(port=p.port)
        c.config_set("watchdog-period", 200)
        try:
            assert _stall(p, 0.8) == 1, p.kind  # once per stall
            c.ping()
            time.sleep(0.5)
            assert _log(p).count("WATCHDOG TIMER EXPIRED") == 1, p.kind  # an idle, healthy loop: nothing
        finally:
            c.config_set("watchdog-period", 0)
    log = _log(servers["pyredis"])
    assert "debug" in log[log.index("WATCHDOG TIMER EXPIRED"):].lower()  # the DEBUG SLEEP handler's frame
    assert _stall(servers["pyredis"], 0.5, 0.5) == 0 and _stall(servers["redis"], 0.5, 0.5) == 0  # off again
