"""Compare keyspace notifications (event names, keys, order) and propagation with redis-server.

redis-server's events are collected through a pattern subscription; pyredis's from an in-process
:class:`~pyredis.server.app.Server` whose notify hook records them (so no pub/sub is needed).
"""

from __future__ import annotations

import shlex
import time

import redis


def _commands(script: str) -> list[list[str]]:
    out = []
    for line in script.strip().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            out.append(shlex.split(line))
    return out


def redis_events(port: int, cmds: list[list[str]]) -> list[list[str]]:
    r = redis.Redis(port=port)
    r.flushall()
    r.config_set("notify-keyspace-events", "KEA")
    p = r.pubsub()
    p.psubscribe("__keyevent@*")
    deadline = time.time() + 2
    while time.time() < deadline and p.get_message(timeout=0.1) is None:
        pass
    out = []
    try:
        for argv in cmds:
            try:
                r.execute_command(*argv)
            except redis.ResponseError:
                pass
            r.execute_command("PING")
            evs = []
            while True:
                m = p.get_message(timeout=0.05)
                if m is None:
                    break
                if m["type"] == "pmessage":
                    evs.append(m["channel"].decode().split(":", 1)[1] + ":" + m["data"].decode())
            out.append(evs)
    finally:
        r.config_set("notify-keyspace-events", "")
        p.close()
        r.close()
    return out


def pyredis_events(cmds: list[list[str]]) -> tuple[list[list[str]], list[list[list[bytes]]]]:
    """Events and propagated commands per command, from an in-process pyredis server."""
    from pyredis.engine import notify
    from pyredis.server.app import Server
    from pyredis.server.client import Client

    srv = Server()
    ks = srv.keyspace
    ks.notify_flags = notify.ALL | notify.KEYEVENT
    events: list[str] = []
    ks.notify = lambda flag, event, key, dbid: events.append(event.decode() + ":" + key.decode())
    props: list[list[bytes]] = []
    srv.propagators.append(lambda dbid, argv: props.append(list(argv)))
    c = Client(srv, 1)
    out, prop_out = [], []
    for argv in cmds:
        events.clear()
        props.clear()
        srv.execute(c, [a.encode() for a in argv])
        c.out.clear()
        out.append(list(events))
        prop_out.append(list(props))
    return out, prop_out


def check_events(redis_proc, pyredis_proc, script: str) -> None:
    cmds = _commands(script)
    expected = redis_events(redis_proc.port, cmds)
    got, _ = pyredis_events(cmds)
    for argv, e, g in zip(cmds, expected, got, strict=True):
        assert g == e, f"{argv}: redis events {e} != pyredis {g}"


def check_propagation(script: str, expected: dict[int, list[list[str]]]) -> None:
    """Assert what pyredis propagates for the commands at the given line indexes."""
    cmds = _commands(script)
    _, props = pyredis_events(cmds)
    for i, want in expected.items():
        got = [[a.decode() for a in argv] for argv in props[i]]
        assert got == want, f"{cmds[i]}: propagated {got} != {want}"


def _hits_misses(raw: bytes) -> tuple[bytes, ...]:
    return tuple(line for line in raw.split(b"\r\n") if line.startswith((b"keyspace_hits", b"keyspace_misses")))


def check_keyspace_stats(diff, setup: str, script: str) -> None:
    """Each command of *script* (run after *setup*) counts keyspace hits/misses like Redis."""
    for argv in _commands(script):
        diff.check("FLUSHALL")
        for s in _commands(setup):
            diff.check(*s)
        diff.check("CONFIG", "RESETSTAT")
        diff.both(*argv)
        r, p = diff.both("INFO", "stats")
        assert _hits_misses(p) == _hits_misses(r), f"{argv}: redis {_hits_misses(r)} != pyredis {_hits_misses(p)}"
