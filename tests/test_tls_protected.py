"""Protected actions, differential against redis-server: ``enable-debug-command``,
``enable-module-command`` and ``enable-protected-configs`` set to ``no`` and ``local``.

"local" means a unix socket client or a TCP client from 127.0.0.1 / ::1; a client connecting from
127.0.0.2 (still loopback for the kernel) is not local for Redis. The check comes right after the arity
check, before authentication and MULTI queueing, as in Redis's processCommand.
"""

from __future__ import annotations

import socket

from support import RawClient, ServerProcess

KINDS = ("redis", "pyredis")


class _From(RawClient):
    """A RawClient whose connection comes from *source* (an address of the loopback interface)."""

    def __init__(self, port: int, source: str) -> None:
        self.sock = socket.socket()
        self.sock.settimeout(10)
        self.sock.bind((source, 0))
        self.sock.connect(("127.0.0.1", port))
        self.buf = b""


class _Unix(RawClient):
    def __init__(self, path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(10)
        self.sock.connect(path)
        self.buf = b""


NOT_LOCAL = [("DEBUG", "SLEEP", "0"), ("DEBUG",), ("MODULE", "LOAD", "/nonexistent.so"), ("MODULE", "LIST"),
             ("MODULE", "UNLOAD", "x"), ("CONFIG", "SET", "dbfilename", "other.rdb"),
             ("CONFIG", "SET", "maxmemory", "0", "dir", "/"), ("CONFIG", "SET", "maxmemory", "0"),
             ("MULTI",), ("DEBUG", "SLEEP", "0"), ("PING",), ("EXEC",)]


def test_protected_actions_no():
    out = {}
    for kind in KINDS:
        s = ServerProcess(kind, ["--enable-debug-command", "no", "--enable-module-command", "no",
                                 "--enable-protected-configs", "no"])
        try:
            c = s.client()
            out[kind] = [c.call(*cmd) for cmd in NOT_LOCAL]
        finally:
            s.stop()
    assert out["pyredis"] == out["redis"]
    assert out["redis"][0].startswith(b"-ERR DEBUG command not allowed.")
    assert out["redis"][-1].startswith(b"-EXECABORT")


def test_protected_actions_local(tmp_path):
    out = {}
    for kind in KINDS:
        sock = str(tmp_path / f"{kind}.sock")
        s = ServerProcess(kind, ["--enable-debug-command", "local", "--enable-module-command", "local",
                                 "--enable-protected-configs", "local", "--requirepass", "pw",
                                 "--unixsocket", sock, "--bind", "127.0.0.1"])
        try:
            replies = []
            # Not local: refused before the password is even asked for, and after AUTH too.
            far = _From(s.port, "127.0.0.2")
            replies.append(far.call("DEBUG", "SLEEP", "0"))
            replies.append(far.call("AUTH", "pw"))
            replies += [far.call(*cmd) for cmd in NOT_LOCAL]
            # Local over TCP and over the unix socket: allowed (after AUTH).
            for near in (RawClient(s.port), _Unix(sock)):
                replies.append(near.call("DEBUG", "SLEEP", "0"))
                replies.append(near.call("AUTH", "pw"))
                replies.append(near.call("DEBUG", "SLEEP", "0"))
                replies.append(near.call("CONFIG", "SET", "dbfilename", "local.rdb"))
                replies.append(near.call("MODULE", "UNLOAD", "nosuch"))
                replies.append(near.call("CONFIG", "GET", "dbfilename"))
            out[kind] = replies
        finally:
            s.stop()
    assert out["pyredis"] == out["redis"]
    assert out["redis"][0].startswith(b"-ERR DEBUG command not allowed.")
    assert out["redis"][-4] == b"+OK\r\n"
