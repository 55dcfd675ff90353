"""nodes.conf: read at start-up (clusterLoadConfig); written as CLUSTER NODES plus a ``vars`` line."""

from __future__ import annotations

import logging
import os
import shlex
from typing import TYPE_CHECKING

from pyredis.cluster.node import FLAG_BY_NAME, MYSELF, ClusterNode, mstime, valid_name

if TYPE_CHECKING:
    from pyredis.cluster.state import ClusterState

log = logging.getLogger("pyredis")


class ConfigFormatError(Exception):
    """Unrecoverable error: corrupted cluster config file."""


def _node(st: ClusterState, name: str) -> ClusterNode:
    b = name.encode()
    if not valid_name(b):
        raise ConfigFormatError(name)
    n = st.lookup(b)
    if n is None:
        n = ClusterNode(b, 0)
        st.add_node(n)
    return n


def load(st: ClusterState, path: str) -> bool:
    """Load *path* into *st*; False if it does not exist or is empty (a new node)."""
    try:
        with open(path, encoding="latin-1") as fh:
            text = fh.read()
    except FileNotFoundError:
        return False
    if not text:
        return False
    try:
        _parse(st, text)
    except (ConfigFormatError, ValueError, IndexError):
        log.warning("Unrecoverable error: corrupted cluster config file.")
        raise SystemExit(1) from None
    log.info("Node configuration loaded, I'm %s", st.myself.name.decode())
    if st.max_epoch() > st.current_epoch:
        st.current_epoch = st.max_epoch()
    return True


def _parse(st: ClusterState, text: str) -> None:
    for line in text.split("\n"):
        if not line.strip():
            continue
        argv = shlex.split(line)
        if argv[0].lower() == "vars":
            if len(argv) % 2 == 0:
                raise ConfigFormatError(line)
            for k, v in zip(argv[1::2], argv[2::2], strict=True):
                if k.lower() == "currentepoch":
                    st.current_epoch = int(v)
                elif k.lower() == "lastvoteepoch":
                    st.last_vote_epoch = int(v)
                else:
                    log.warning("Skipping unknown cluster config variable '%s'", k)
            continue
        if len(argv) < 8:
            raise ConfigFormatError(line)
        n = _node(st, argv[0])
        addr, _, hostname = argv[1].partition(",")
        n.hostname = hostname
        ip, _, ports = addr.rpartition(":")
        if not _:
            raise ConfigFormatError(line)
        n.ip = ip
        port, _, bus = ports.partition("@")
        n.port = int(port or 0)
        n.cport = int(bus) if bus else n.port + 10000
        for f in argv[2].split(","):
            f = f.lower()
            if f == "myself":
                st.myself = n
                n.flags |= MYSELF
            elif f == "noflags":
                pass
            elif f in FLAG_BY_NAME:
                n.flags |= FLAG_BY_NAME[f]
                if f == "fail":
                    n.fail_time = mstime()
            else:
                raise ConfigFormatError(f"Unknown flag in redis cluster config file: {f}")
        if argv[3] != "-" and not argv[3].startswith("-"):
            master = _node(st, argv[3])
            n.slaveof = master
            master.add_slave(n)
        if int(argv[4]):
            n.ping_sent = mstime()
        if int(argv[5]):
            n.pong_received = mstime()
        n.config_epoch = 0 if (n.is_slave and n.slaveof) else int(argv[6])
        for spec in argv[8:]:
            if spec.startswith("["):
                slot_s, rest = spec[1:].split("-", 1)
                direction = rest[0]
                other = rest[2:].rstrip("]")
                slot = int(slot_s)
                if not 0 <= slot < 16384:
                    raise ConfigFormatError(spec)
                cn = _node(st, other)
                (st.migrating if direction == ">" else st.importing)[slot] = cn
                continue
            a, _, b = spec.partition("-")
            start, stop = int(a), int(b) if b else int(a)
            if not (0 <= start < 16384 and 0 <= stop < 16384):
                raise ConfigFormatError(spec)
            for s in range(start, stop + 1):
                st.add_slot(n, s)
    if st.myself is None:
        raise ConfigFormatError("no myself")


def write(path: str, text: str, fsync: bool) -> None:
    """Write the config atomically: a temporary file renamed over the old one."""
    tmp = f"{path}.tmp-{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, text.encode("latin-1"))
        if fsync:
            os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
