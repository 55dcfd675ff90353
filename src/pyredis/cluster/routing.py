"""Which node serves a command (getNodeByQuery) and the redirection errors, in Redis's wording."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from pyredis.cluster.replies import preferred_endpoint
from pyredis.cluster.slots import key_hash_slot

if TYPE_CHECKING:
    from pyredis.cluster.node import ClusterNode
    from pyredis.cluster.state import ClusterState

NONE, CROSS_SLOT, UNSTABLE, ASK, MOVED, DOWN_STATE, DOWN_UNBOUND, DOWN_RO_STATE = range(8)
_PUBSUB_SHARD = {"ssubscribe", "sunsubscribe", "spublish"}


def get_node_by_query(st: ClusterState, cmd: Any, cmds: Sequence[tuple[Any, list[bytes]]], asking: bool,
                      readonly: bool, exists: Callable[[bytes], bool],
                      exec_write: bool = False) -> tuple[ClusterNode | None, int, int]:
    """(node, error code, slot) for *cmds* (one command, or the queue of an EXEC)."""
    n = None
    firstkey = None
    multiple_keys = False
    slot = 0
    migrating = importing = False
    missing = existing = 0
    is_shard = cmd.name in _PUBSUB_SHARD
    me = st.myself
    for mcmd, margv in cmds:
        for pos in mcmd.key_indexes(margv):
            key = margv[pos]
            thisslot = key_hash_slot(key)
            if firstkey is None:
                firstkey = key
                slot = thisslot
                n = st.slots[slot]
                if n is None:
                    return None, DOWN_UNBOUND, slot
                if n is me and slot in st.migrating:
                    migrating = True
                elif slot in st.importing:
                    importing = True
            elif key != firstkey:
                if slot != thisslot:
                    return None, CROSS_SLOT, slot
                multiple_keys = True
            if (migrating or importing) and not is_shard:
                if exists(key):
                    existing += 1
                else:
                    missing += 1
    if n is None:
        return me, NONE, -1
    write = cmd.write or exec_write
    if st.state != 0:
        if is_shard:
            if not st.cfg["cluster-allow-pubsubshard-when-down"]:
                return None, DOWN_STATE, slot
        elif not st.cfg["cluster-allow-reads-when-down"]:
            return None, DOWN_STATE, slot
        elif write:
            return None, DOWN_RO_STATE, slot
    if (migrating or importing) and cmd.name == "migrate":
        return me, NONE, slot
    if migrating and missing:
        if existing:
            return None, UNSTABLE, slot
        return st.migrating[slot], ASK, slot
    if importing and (asking or "asking" in cmd.flags):
        if multiple_keys and missing:
            return None, UNSTABLE, slot
        return me, NONE, slot
    if (readonly or is_shard) and not write and me.is_slave and me.slaveof is n:
        return me, NONE, slot
    return n, (MOVED if n is not me else NONE), slot


def redirect_error(st: ClusterState, n: ClusterNode | None, slot: int, code: int, pport: bool = False) -> str:
    """The error line clusterRedirectClient sends (*pport*: a non-TLS client of a TLS cluster)."""
    if code == CROSS_SLOT:
        return "CROSSSLOT Keys in request don't hash to the same slot"
    if code == UNSTABLE:
        return "TRYAGAIN Multiple keys request during rehashing of slot"
    if code == DOWN_STATE:
        return "CLUSTERDOWN The cluster is down"
    if code == DOWN_RO_STATE:
        return "CLUSTERDOWN The cluster is down and only accepts read commands"
    if code == DOWN_UNBOUND:
        return "CLUSTERDOWN Hash slot not served"
    assert n is not None
    return f"{'ASK' if code == ASK else 'MOVED'} {slot} {preferred_endpoint(st, n)}:{n.client_port(pport)}"


def script_error(code: int) -> str:
    if code == DOWN_RO_STATE:
        return "ERR Script attempted to execute a write command while the cluster is down and readonly"
    if code == DOWN_STATE:
        return "ERR Script attempted to execute a command while the cluster is down"
    return "ERR Script attempted to access a non local key in a cluster node"
