"""MIGRATE's connection cache (cluster.c's migrate_cached_sockets): one socket per target host:port,
reused by later MIGRATEs, closed after 10 idle seconds (at most 64 cached)."""

from __future__ import annotations

import select
import socket
import time
from typing import Any

TTL = 10
MAX_ITEMS = 64


class CachedSocket:
    __slots__ = ("sock", "last_dbid", "last_use")

    def __init__(self, sock: Any) -> None:
        self.sock = sock
        self.last_dbid = -1
        self.last_use = time.time()


class MigrateSockets:
    """``server.migrate_sockets``."""

    def __init__(self) -> None:
        self.items: dict[str, CachedSocket] = {}

    def __len__(self) -> int:
        return len(self.items)

    def get(self, host: str, port: int, timeout: float, wrap: Any = None) -> CachedSocket:
        """The cached connection to host:port, or a new one (raises OSError / TimeoutError)."""
        name = f"{host}:{port}"
        cs = self.items.get(name)
        if cs is not None:
            try:  # a cached connection the target closed (or wrote to) meanwhile is replaced
                stale = bool(select.select([cs.sock], [], [], 0)[0])
            except (OSError, ValueError):
                stale = True
            if not stale:
                cs.last_use = time.time()
                return cs
            del self.items[name]
            cs.sock.close()
        if len(self.items) >= MAX_ITEMS:  # too many items: drop one at random, like Redis
            old = self.items.pop(next(iter(self.items)))
            old.sock.close()
        sock = socket.create_connection((host, port), timeout=timeout)
        if wrap is not None:
            try:
                sock = wrap(sock)
            except OSError:
                sock.close()
                raise
        cs = self.items[name] = CachedSocket(sock)
        return cs

    def close(self, host: str, port: int) -> None:
        cs = self.items.pop(f"{host}:{port}", None)
        if cs is not None:
            cs.sock.close()

    def cron(self, server: Any = None) -> None:
        """Close the sockets idle for more than TTL seconds (migrateCloseTimedoutSockets)."""
        now = time.time()
        for name, cs in list(self.items.items()):
            if now - cs.last_use > TTL:
                cs.sock.close()
                del self.items[name]
