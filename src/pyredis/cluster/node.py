"""A node of the cluster as this node knows it (clusterNode), and its CLUSTER NODES line."""

from __future__ import annotations

import os
import time
from typing import Any

from pyredis.cluster.slots import CLUSTER_SLOTS

MASTER, SLAVE, PFAIL, FAIL, MYSELF, HANDSHAKE, NOADDR, MEET, MIGRATE_TO, NOFAILOVER = (
    1, 2, 4, 8, 16, 32, 64, 128, 256, 512)

_FLAG_NAMES = ((MYSELF, "myself"), (MASTER, "master"), (SLAVE, "slave"), (PFAIL, "fail?"), (FAIL, "fail"),
               (HANDSHAKE, "handshake"), (NOADDR, "noaddr"), (NOFAILOVER, "nofailover"))
FLAG_BY_NAME = {n: f for f, n in _FLAG_NAMES}


def mstime() -> int:
    return int(time.time() * 1000)


def random_name() -> bytes:
    """A random 40-character hex node id."""
    return os.urandom(20).hex().encode()


def valid_name(name: bytes) -> bool:
    """verifyClusterNodeId: 40 characters of [a-z0-9]."""
    return len(name) == 40 and all(48 <= b <= 57 or 97 <= b <= 122 for b in name)


def flags_repr(flags: int) -> str:
    names = [n for f, n in _FLAG_NAMES if flags & f]
    return ",".join(names) if names else "noflags"


def bit_test(bitmap: bytes | bytearray, pos: int) -> bool:
    return bool(bitmap[pos >> 3] & (1 << (pos & 7)))


def slot_ranges(slots: list[int]) -> list[tuple[int, int]]:
    """Sorted slots grouped as (start, end) ranges."""
    out: list[tuple[int, int]] = []
    for s in slots:
        if out and out[-1][1] == s - 1:
            out[-1] = (out[-1][0], s)
        else:
            out.append((s, s))
    return out


class ClusterNode:
    """What we know about one node: address, flags, epoch, slots, replicas, timers, failure reports."""

    def __init__(self, name: bytes | None = None, flags: int = 0) -> None:
        self.name = name or random_name()
        self.ctime = mstime()
        self.flags = flags
        self.config_epoch = 0
        self.slots = bytearray(CLUSTER_SLOTS // 8)
        self.numslots = 0
        self.slaves: list[ClusterNode] = []
        self.slaveof: ClusterNode | None = None
        self.last_in_ping_gossip = 0
        self.ping_sent = self.pong_received = self.data_received = 0
        self.fail_time = self.voted_time = self.repl_offset_time = self.orphaned_time = 0
        self.repl_offset = 0
        self.ip = ""
        self.hostname = ""
        self.port = self.pport = self.cport = 0
        self.link: Any = None
        self.inbound_link: Any = None
        self.fail_reports: dict[bytes, tuple[ClusterNode, int]] = {}

    # flags
    @property
    def is_master(self) -> bool:
        return bool(self.flags & MASTER)

    @property
    def is_slave(self) -> bool:
        return bool(self.flags & SLAVE)

    @property
    def in_handshake(self) -> bool:
        return bool(self.flags & HANDSHAKE)

    @property
    def failed(self) -> bool:
        return bool(self.flags & FAIL)

    @property
    def timed_out(self) -> bool:
        return bool(self.flags & PFAIL)

    @property
    def has_addr(self) -> bool:
        return not self.flags & NOADDR

    def __repr__(self) -> str:
        return f"<ClusterNode {self.name.decode()} {self.ip}:{self.port} {flags_repr(self.flags)}>"

    # slots bitmap
    def has_slot(self, slot: int) -> bool:
        return bool(self.slots[slot >> 3] & (1 << (slot & 7)))

    def set_slot_bit(self, slot: int, masters_have_slaves: bool) -> bool:
        i, b = slot >> 3, 1 << (slot & 7)
        old = bool(self.slots[i] & b)
        self.slots[i] |= b
        if not old:
            self.numslots += 1
            if self.numslots == 1 and masters_have_slaves:
                self.flags |= MIGRATE_TO
        return old

    def clear_slot_bit(self, slot: int) -> bool:
        i, b = slot >> 3, 1 << (slot & 7)
        old = bool(self.slots[i] & b)
        self.slots[i] &= ~b & 0xFF
        if old:
            self.numslots -= 1
        return old

    def my_slots(self) -> list[int]:
        out = []
        for i, byte in enumerate(self.slots):
            if byte:
                for j in range(8):
                    if byte & (1 << j):
                        out.append(i * 8 + j)
        return out

    # replicas
    def add_slave(self, slave: ClusterNode) -> bool:
        if slave in self.slaves:
            return False
        self.slaves.append(slave)
        self.flags |= MIGRATE_TO
        return True

    def remove_slave(self, slave: ClusterNode) -> bool:
        if slave not in self.slaves:
            return False
        self.slaves.remove(slave)
        if not self.slaves:
            self.flags &= ~MIGRATE_TO
        return True

    def count_non_failing_slaves(self) -> int:
        return sum(1 for s in self.slaves if not s.failed)

    # failure reports
    def add_failure_report(self, sender: ClusterNode, now: int) -> bool:
        new = sender.name not in self.fail_reports or self.fail_reports[sender.name][0] is not sender
        self.fail_reports[sender.name] = (sender, now)
        return new

    def cleanup_failure_reports(self, node_timeout: int, now: int) -> None:
        maxtime = node_timeout * 2
        for k, (_n, t) in list(self.fail_reports.items()):
            if now - t > maxtime:
                del self.fail_reports[k]

    def del_failure_report(self, sender: ClusterNode, node_timeout: int, now: int) -> bool:
        if self.fail_reports.pop(sender.name, None) is None:
            return False
        self.cleanup_failure_reports(node_timeout, now)
        return True

    def failure_reports_count(self, node_timeout: int, now: int) -> int:
        self.cleanup_failure_reports(node_timeout, now)
        return len(self.fail_reports)

    # description
    def client_port(self, pport: bool) -> int:
        """The client port to show: the plain one (``pport``) when asked for and known, else ``port``."""
        return self.pport if pport and self.pport else self.port

    def description(self, ranges: list[tuple[int, int]] | None, open_slots: str = "", pport: bool = False) -> str:
        """This node's line of CLUSTER NODES / nodes.conf (without the newline); *pport*: show the plain
        client port of a TLS cluster (for a client that is not on TLS)."""
        addr = f"{self.ip}:{self.client_port(pport)}@{self.cport}"
        if self.hostname:
            addr += "," + self.hostname
        epoch = self.slaveof.config_epoch if self.is_slave and self.slaveof else self.config_epoch
        linked = "connected" if (self.link is not None or self.flags & MYSELF) else "disconnected"
        parts = [self.name.decode(), addr, flags_repr(self.flags),
                 self.slaveof.name.decode() if self.slaveof else "-",
                 str(self.ping_sent), str(self.pong_received), str(epoch), linked]
        line = " ".join(parts)
        if ranges is None:
            ranges = slot_ranges(self.my_slots()) if self.numslots else []
        for a, b in ranges:
            line += f" {a}" if a == b else f" {a}-{b}"
        return line + open_slots
