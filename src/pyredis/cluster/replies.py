"""CLUSTER NODES / SLOTS / SHARDS / INFO / LINKS replies, built as redis-server 7.0 builds them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyredis.cluster import messages as msg
from pyredis.cluster.node import MYSELF, ClusterNode
from pyredis.cluster.slots import CLUSTER_SLOTS
from pyredis.protocol.types import MapReply

if TYPE_CHECKING:
    from pyredis.cluster.state import ClusterState


def slot_info_pairs(st: ClusterState) -> dict[bytes, list[tuple[int, int]]]:
    """clusterGenNodesSlotsInfo: each owner's slot ranges, from the slot table."""
    out: dict[bytes, list[tuple[int, int]]] = {}
    n = None
    start = 0
    slots = st.slots
    for i in range(CLUSTER_SLOTS + 1):
        cur = slots[i] if i < CLUSTER_SLOTS else None
        if cur is n:
            continue
        if n is not None:
            out.setdefault(n.name, []).append((start, i - 1))
        n, start = cur, i
    return out


def node_line(st: ClusterState, node: ClusterNode, pairs: dict[bytes, list[tuple[int, int]]] | None,
              pport: bool = False) -> str:
    extra = ""
    if node.flags & MYSELF:
        for j in sorted(set(st.migrating) | set(st.importing)):
            if j in st.migrating:
                extra += f" [{j}->-{st.migrating[j].name.decode()}]"
            else:
                extra += f" [{j}-<-{st.importing[j].name.decode()}]"
    ranges = pairs.get(node.name, []) if pairs is not None else None
    return node.description(ranges, extra, pport)


def nodes_description(st: ClusterState, filter_flags: int = 0, pport: bool = False) -> str:
    """CLUSTER NODES (and nodes.conf); *pport*: plain client ports, for a non-TLS client of a TLS cluster."""
    pairs = slot_info_pairs(st)
    return "".join(node_line(st, n, pairs, pport) + "\n" for n in list(st.nodes.values())
                   if not n.flags & filter_flags)


def preferred_endpoint(st: ClusterState, n: ClusterNode) -> str:
    t = st.cfg["cluster-preferred-endpoint-type"]
    if t == "ip":
        return n.ip
    if t == "hostname":
        return n.hostname or "?"
    return ""


def _node_entry(st: ClusterState, n: ClusterNode, pport: bool) -> list:
    t = st.cfg["cluster-preferred-endpoint-type"]
    if t == "ip":
        first: Any = n.ip.encode()
    elif t == "hostname":
        first = (n.hostname or "?").encode()
    else:
        first = None
    meta: list = []
    if t != "ip":
        meta += [b"ip", n.ip.encode()]
    if t != "hostname" and n.hostname:
        meta += [b"hostname", n.hostname.encode()]
    return [first, n.client_port(pport), n.name, MapReply(meta)]


def _replica_available(st: ClusterState, n: ClusterNode) -> bool:
    if n.failed:
        return False
    off = st.host.repl_offset() if n.flags & MYSELF else n.repl_offset
    return off != 0


def cluster_slots(st: ClusterState, pport: bool = False) -> list:
    out = []
    n = None
    start = 0
    for i in range(CLUSTER_SLOTS + 1):
        cur = st.slots[i] if i < CLUSTER_SLOTS else None
        if cur is n:
            continue
        if n is not None:
            entry: list = [start, i - 1, _node_entry(st, n, pport)]
            entry += [_node_entry(st, s, pport) for s in n.slaves if _replica_available(st, s)]
            out.append(entry)
        n, start = cur, i
    return out


def _shard_node(st: ClusterState, n: ClusterNode) -> MapReply:
    r: list = [b"id", n.name]
    # tls-cluster tells whether a node's port is its TLS one (then pport is the plain one), as in Redis.
    plain, tls = (n.pport, n.port) if st.cfg["tls-cluster"] else (n.port, 0)
    if plain:
        r += [b"port", plain]
    if tls:
        r += [b"tls-port", tls]
    r += [b"ip", n.ip.encode(), b"endpoint", preferred_endpoint(st, n).encode()]
    if n.hostname:
        r += [b"hostname", n.hostname.encode()]
    if n.flags & MYSELF:
        off = st.host.repl_offset()
    else:
        off = n.repl_offset
    r += [b"role", b"replica" if n.is_slave else b"master", b"replication-offset", off]
    health = b"fail" if n.failed else (b"loading" if n.is_slave and off == 0 else b"online")
    r += [b"health", health]
    return MapReply(r)


def cluster_shards(st: ClusterState) -> list:
    pairs = slot_info_pairs(st)
    out = []
    for n in list(st.nodes.values()):
        if not n.is_master:
            continue
        flat: list = []
        for a, b in pairs.get(n.name, []):
            flat += [a, b]
        nodes = [_shard_node(st, x) for x in st.nodes_serving_my_slots(n)]
        out.append(MapReply([b"slots", flat, b"nodes", nodes]))
    return out


def cluster_info(st: ClusterState) -> bytes:
    assigned = ok = pfail = fail = 0
    for n in st.slots:
        if n is None:
            continue
        assigned += 1
        if n.failed:
            fail += 1
        elif n.timed_out:
            pfail += 1
        else:
            ok += 1
    me = st.myself
    myepoch = me.slaveof.config_epoch if me.is_slave and me.slaveof else me.config_epoch
    lines = [f"cluster_state:{'ok' if st.state == 0 else 'fail'}", f"cluster_slots_assigned:{assigned}",
             f"cluster_slots_ok:{ok}", f"cluster_slots_pfail:{pfail}", f"cluster_slots_fail:{fail}",
             f"cluster_known_nodes:{len(st.nodes)}", f"cluster_size:{st.size}",
             f"cluster_current_epoch:{st.current_epoch}", f"cluster_my_epoch:{myepoch}"]
    for i, v in enumerate(st.stats_sent):
        if v:
            lines.append(f"cluster_stats_messages_{msg.type_name(i)}_sent:{v}")
    lines.append(f"cluster_stats_messages_sent:{sum(st.stats_sent)}")
    for i, v in enumerate(st.stats_received):
        if v:
            lines.append(f"cluster_stats_messages_{msg.type_name(i)}_received:{v}")
    lines.append(f"cluster_stats_messages_received:{sum(st.stats_received)}")
    lines.append(f"total_cluster_links_buffer_limit_exceeded:{st.links_limit_exceeded}")
    return ("\r\n".join(lines) + "\r\n").encode()


def _link_entry(link: Any) -> MapReply:
    return MapReply([b"direction", b"from" if link.inbound else b"to", b"node", link.node.name,
                     b"create-time", link.ctime, b"events", link.events().encode(),
                     b"send-buffer-allocated", link.send_buffer_allocated(),
                     b"send-buffer-used", link.send_buffer_used()])


def cluster_links(st: ClusterState) -> list:
    out = []
    for n in list(st.nodes.values()):
        if n.link is not None:
            out.append(_link_entry(n.link))
        if n.inbound_link is not None:
            out.append(_link_entry(n.inbound_link))
    return out
