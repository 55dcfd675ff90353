"""Server-wide counters reported by INFO that no other subsystem owns."""

from __future__ import annotations


class Stats:
    """Loose INFO counters (``server.stats``); CONFIG RESETSTAT zeroes the resettable ones."""

    def __init__(self) -> None:
        self.evicted_keys = 0  # keys evicted by maxmemory (INFO stats)
        self.lazyfreed_objects = 0  # values Redis would free in a background thread (INFO memory)
        self.peak_memory = 0  # the highest used_memory seen (INFO memory used_memory_peak)
        self.total_forks = 0  # forked children (INFO stats)
        self.latest_fork_usec = 0  # how long the latest fork took
        self.evicted_clients = 0  # clients evicted by maxmemory-clients (INFO stats)
        self.reply_buffer_shrinks = 0  # reply buffers shrunk / grown by the clients cron (INFO stats)
        self.reply_buffer_expands = 0

    def reset(self) -> None:
        """CONFIG RESETSTAT."""
        self.evicted_keys = 0
        self.lazyfreed_objects = 0
        self.evicted_clients = 0
        self.reply_buffer_shrinks = 0
        self.reply_buffer_expands = 0
