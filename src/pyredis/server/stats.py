"""Server-wide counters reported by INFO that no other subsystem owns."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Stats:
    """Loose INFO counters (``server.stats``); CONFIG RESETSTAT zeroes the resettable ones."""

    evicted_keys: int = 0  # keys evicted by maxmemory (INFO stats)
    lazyfreed_objects: int = 0  # values Redis would free in a background thread (INFO memory)
    peak_memory: int = 0  # the highest used_memory seen (INFO memory used_memory_peak)
    total_forks: int = 0  # forked children (INFO stats)
    latest_fork_usec: int = 0  # how long the latest fork took
    evicted_clients: int = 0  # clients evicted by maxmemory-clients (INFO stats)
    reply_buffer_shrinks: int = 0  # reply buffers shrunk / grown by the clients cron (INFO stats)
    reply_buffer_expands: int = 0

    def reset(self) -> None:
        """CONFIG RESETSTAT."""
        self.evicted_keys = 0
        self.lazyfreed_objects = 0
        self.evicted_clients = 0
        self.reply_buffer_shrinks = 0
        self.reply_buffer_expands = 0
