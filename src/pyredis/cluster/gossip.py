"""Cluster bus traffic: building and sending messages, and processing received ones (clusterProcessPacket)."""

from __future__ import annotations

import logging
import random
from typing import TYPE_CHECKING, Any

from pyredis.cluster import messages as msg
from pyredis.cluster.node import (
    FAIL,
    HANDSHAKE,
    MASTER,
    MIGRATE_TO,
    MYSELF,
    NOADDR,
    NOFAILOVER,
    PFAIL,
    SLAVE,
    ClusterNode,
    mstime,
)

if TYPE_CHECKING:
    from pyredis.cluster.state import ClusterState

log = logging.getLogger("pyredis")
VERBOSE = 15
# the TODO_* flags of state.py (not imported: state imports this module)
_FAILOVER, _UPDATE, _SAVE, _FSYNC, _MANUAL = 1, 2, 4, 8, 16


def announced_ports(st: ClusterState) -> tuple[int, int, int]:
    """deriveAnnouncedPorts: ``(port, pport, cport)``; under tls-cluster the client port is the TLS one."""
    cfg = st.cfg
    port, pport = st.port, st.pport
    if cfg["tls-cluster"] and cfg["cluster-announce-tls-port"]:
        port, pport = cfg["cluster-announce-tls-port"], cfg["cluster-announce-port"]
    elif cfg["cluster-announce-port"]:
        port = cfg["cluster-announce-port"]
    cport = cfg["cluster-announce-bus-port"] or st.cport
    return port, pport, cport


def build_header(st: ClusterState, t: int) -> msg.Message:
    """clusterBuildMessageHdr."""
    me = st.myself
    master = me.slaveof if me.is_slave and me.slaveof else me
    port, pport, cport = announced_ports(st)
    m = msg.Message(t, me.name, st.current_epoch, master.config_epoch, st.host.repl_offset(), port, pport,
                    cport, me.flags & 0xFFFF, st.state, 0, bytes(master.slots),
                    me.slaveof.name if me.slaveof else msg.NULL_NAME, st.cfg["cluster-announce-ip"] or "")
    if me.is_master and st.mf_end:
        m.mflags0 |= msg.FLAG0_PAUSED
    return m


def send(st: ClusterState, link: Any, data: bytes, t: int) -> None:
    if link is None:
        return
    link.send(data)
    st.stats_sent[t] += 1


def broadcast(st: ClusterState, data: bytes, t: int) -> None:
    for node in list(st.nodes.values()):
        if node.flags & (MYSELF | HANDSHAKE):
            continue
        send(st, node.link, data, t)


def gossip_entry(n: ClusterNode) -> msg.Gossip:
    return msg.Gossip(n.name, n.ping_sent // 1000, n.pong_received // 1000, n.ip, n.port, n.cport,
                      n.flags & 0xFFFF, n.pport)


def send_ping(st: ClusterState, link: Any, t: int) -> None:
    """clusterSendPing: PING, PONG or MEET with max(3, n/10) random gossip entries plus the PFAIL nodes."""
    st.pings_sent += 1
    nodes = list(st.nodes.values())
    freshnodes = len(nodes) - 2
    wanted = max(3, len(nodes) // 10)
    wanted = min(wanted, freshnodes)
    if not link.inbound and t == msg.PING:
        link.node.ping_sent = mstime()
    m = build_header(st, t)
    maxiter = wanted * 3
    while freshnodes > 0 and len(m.gossip) < wanted and maxiter > 0:
        maxiter -= 1
        this = random.choice(nodes)
        if this is st.myself or this.flags & PFAIL:
            continue
        if this.flags & (HANDSHAKE | NOADDR) or (this.link is None and this.numslots == 0):
            freshnodes -= 1
            continue
        if this.last_in_ping_gossip == st.pings_sent:
            continue
        m.gossip.append(gossip_entry(this))
        this.last_in_ping_gossip = st.pings_sent
        freshnodes -= 1
    pfail = st.stats_pfail_nodes
    if pfail:
        for node in nodes:
            if pfail <= 0:
                break
            if node.flags & (HANDSHAKE | NOADDR) or not node.flags & PFAIL:
                continue
            m.gossip.append(gossip_entry(node))
            pfail -= 1
    if st.myself.hostname:
        m.hostname = st.myself.hostname
    send(st, link, msg.encode(m), t)


def broadcast_pong(st: ClusterState, local_slaves_only: bool = False) -> None:
    me = st.myself
    for node in list(st.nodes.values()):
        if node.link is None or node is me or node.in_handshake:
            continue
        if local_slaves_only and not (node.is_slave and node.slaveof is not None
                                      and (node.slaveof is me or node.slaveof is me.slaveof)):
            continue
        send_ping(st, node.link, msg.PONG)


def send_fail(st: ClusterState, name: bytes) -> None:
    m = build_header(st, msg.FAIL)
    m.about = name
    broadcast(st, msg.encode(m), msg.FAIL)


def send_update(st: ClusterState, link: Any, node: ClusterNode) -> None:
    if link is None:
        return
    m = build_header(st, msg.UPDATE)
    m.about = node.name
    m.update_epoch = node.config_epoch
    m.update_slots = bytes(a & ~b & 0xFF for a, b in zip(node.slots, st.owner_not_claiming, strict=True))
    send(st, link, msg.encode(m), msg.UPDATE)


def send_publish(st: ClusterState, link: Any, channel: bytes, message: bytes, t: int, bcast: bool) -> None:
    m = build_header(st, t)
    m.channel, m.message = channel, message
    data = msg.encode(m)
    if bcast:
        broadcast(st, data, t)
    else:
        send(st, link, data, t)


def propagate_publish(st: ClusterState, channel: bytes, message: bytes, sharded: bool) -> None:
    """clusterPropagatePublish: PUBLISH to everyone, SPUBLISH to the nodes of my shard."""
    if not sharded:
        send_publish(st, None, channel, message, msg.PUBLISH, True)
        return
    for node in st.nodes_serving_my_slots(st.myself):
        if node.flags & (MYSELF | HANDSHAKE):
            continue
        send_publish(st, node.link, channel, message, msg.PUBLISHSHARD, False)


def send_simple(st: ClusterState, link: Any, t: int, mflags0: int = 0) -> bytes:
    m = build_header(st, t)
    m.mflags0 |= mflags0
    data = msg.encode(m)
    if link is not None:
        send(st, link, data, t)
    return data


# -- receiving ----------------------------------------------------------------------------------------
def process_gossip(st: ClusterState, m: msg.Message, link: Any) -> None:
    sender = link.node if link.node is not None else st.lookup(m.sender)
    me = st.myself
    timeout = st.node_timeout
    for g in m.gossip:
        flags = g.flags
        node = st.lookup(g.name)
        if node is not None:
            if sender is not None and sender.is_master and node is not me:
                if flags & (FAIL | PFAIL):
                    if node.add_failure_report(sender, mstime()):
                        log.log(VERBOSE, "Node %s reported node %s as not reachable.", sender.name.decode(),
                                node.name.decode())
                    st.mark_failing_if_needed(node)
                elif node.del_failure_report(sender, timeout, mstime()):
                    log.log(VERBOSE, "Node %s reported node %s is back online.", sender.name.decode(),
                            node.name.decode())
            if (not flags & (FAIL | PFAIL) and node.ping_sent == 0
                    and node.failure_reports_count(timeout, mstime()) == 0):
                pongtime = g.pong_received * 1000
                if pongtime <= mstime() + 500 and pongtime > node.pong_received:
                    node.pong_received = pongtime
            if (node.flags & (FAIL | PFAIL) and not flags & NOADDR and not flags & (FAIL | PFAIL)
                    and (node.ip.lower() != g.ip.lower() or node.port != g.port or node.cport != g.cport)):
                if node.link is not None:
                    st.free_link(node.link)
                node.ip, node.port, node.pport, node.cport = g.ip, g.port, g.pport, g.cport
                node.flags &= ~NOADDR
        elif sender is not None and not flags & NOADDR and not st.blacklisted(g.name):
            if not _valid_gossip_name(g.name):
                continue
            node = ClusterNode(g.name, flags)
            node.ip, node.port, node.pport, node.cport = g.ip, g.port, g.pport, g.cport
            st.add_node(node)


def _valid_gossip_name(name: bytes) -> bool:
    return len(name) == 40 and b"\0" not in name


def update_address_if_needed(st: ClusterState, node: ClusterNode, link: Any, m: msg.Message) -> bool:
    if link is node.link:
        return False
    ip = m.myip or link.peer_ip()
    if not ip:
        return False
    if node.port == m.port and node.cport == m.cport and node.pport == m.pport and node.ip == ip:
        return False
    node.ip, node.port, node.pport, node.cport = ip, m.port, m.pport, m.cport
    if node.link is not None:
        st.free_link(node.link)
    node.flags &= ~NOADDR
    log.warning("Address updated for node %s, now %s:%d", node.name.decode(), node.ip, node.port)
    me = st.myself
    if me.is_slave and me.slaveof is node:
        st.host.set_master(node.ip, node.port)
    return True


def update_slots_config_with(st: ClusterState, sender: ClusterNode, sender_epoch: int, slots: bytes) -> None:
    """clusterUpdateSlotsConfigWith: take the slots *sender* claims with a greater config epoch."""
    me = st.myself
    curmaster = me if me.is_master else me.slaveof
    if sender is me:
        log.warning("Discarding UPDATE message about myself.")
        return
    dirty: list[int] = []
    sender_slots = migrated_ours = 0
    newmaster = None
    owned = sender.slots
    onc = st.owner_not_claiming
    for i in range(len(slots)):
        c = slots[i]
        if c:
            sender_slots += bin(c).count("1")
        o = owned[i]
        if c == o:  # every claimed slot here is already the sender's, and it owns nothing else here
            if c and onc[i] & c:
                onc[i] &= ~c & 0xFF
            continue
        for b in range(8):
            j = i * 8 + b
            bit = 1 << b
            owner = st.slots[j]
            if c & bit:
                if owner is sender:
                    onc[i] &= ~bit & 0xFF
                    continue
                if j in st.importing:
                    continue
                if st.slot_unclaimed(j) or owner.config_epoch < sender_epoch:  # type: ignore[union-attr]
                    if owner is me and sender is not me and st.host.count_keys_in_slot(j):
                        dirty.append(j)
                    if owner is curmaster and owner is not None:
                        newmaster = sender
                        migrated_ours += 1
                    st.del_slot(j)
                    st.add_slot(sender, j)
                    st.do_before_sleep(_SAVE | _UPDATE | _FSYNC)
            elif owner is sender:
                onc[i] |= bit
    if (newmaster is not None and curmaster is not None and curmaster.numslots == 0
            and (st.cfg["cluster-allow-replica-migration"] or sender_slots == migrated_ours)):
        log.warning("Configuration change detected. Reconfiguring myself as a replica of %s", sender.name.decode())
        st.set_master(sender)
        st.do_before_sleep(_SAVE | _UPDATE | _FSYNC)
    elif me.slaveof is not None and me.slaveof.slaveof is not None and me.slaveof.slaveof is not me:
        log.warning("I'm a sub-replica! Reconfiguring myself as a replica of grandmaster %s",
                    me.slaveof.slaveof.name.decode())
        st.set_master(me.slaveof.slaveof)
        st.do_before_sleep(_SAVE | _UPDATE | _FSYNC)
    elif dirty:
        for j in dirty:
            st.host.delete_keys_in_slot(j)


def _newer_owner(st: ClusterState, sender: ClusterNode, claimed: bytes, epoch: int) -> ClusterNode | None:
    """The first owner, with a greater config epoch, of a slot *sender* claims but does not own."""
    owned = sender.slots
    for i in range(len(claimed)):
        extra = claimed[i] & ~owned[i]
        if not extra:
            continue
        for b in range(8):
            if extra & (1 << b):
                j = i * 8 + b
                owner = st.slots[j]
                if owner is None or owner is sender or st.slot_unclaimed(j):
                    continue
                if owner.config_epoch > epoch:
                    return owner
    return None


def process_packet(st: ClusterState, link: Any, buf: bytes) -> bool:
    """Handle one whole message from *link*; False when the link was freed meanwhile."""
    t = int.from_bytes(buf[12:14], "big") if len(buf) >= 14 else -1
    if 0 <= t < msg.TYPE_COUNT:
        st.stats_received[t] += 1
    if t == st.drop_packet_filter and len(buf) >= 10 and buf[8:10] == b"\0\1":
        log.warning("Dropping packet that matches debug drop filter")
        return True
    try:
        m = msg.decode(buf)
    except msg.DecodeError as e:
        log.warning("%s", e)
        return True
    if m is None:
        return True
    now = mstime()
    me = st.myself
    flags = m.flags
    # getNodeFromLinkAndMsg
    if link.node is not None and not link.node.in_handshake:
        sender = link.node
    else:
        sender = st.lookup(m.sender)
        if sender is not None and link.node is None:
            st.set_inbound_link(sender, link)
    if sender is not None:
        sender.data_received = now
    sender_config_epoch = 0
    sender_current_epoch = 0
    if sender is not None and not sender.in_handshake:
        sender_current_epoch, sender_config_epoch = m.current_epoch, m.config_epoch
        if sender_current_epoch > st.current_epoch:
            st.current_epoch = sender_current_epoch
        if sender_config_epoch > sender.config_epoch:
            sender.config_epoch = sender_config_epoch
            st.do_before_sleep(_SAVE | _FSYNC)
        sender.repl_offset = m.offset
        sender.repl_offset_time = now
        if (st.mf_end and me.is_slave and me.slaveof is sender and m.mflags0 & msg.FLAG0_PAUSED
                and st.mf_master_offset == -1):
            st.mf_master_offset = sender.repl_offset
            st.do_before_sleep(_MANUAL)
            log.warning("Received replication offset for paused master manual failover: %d", st.mf_master_offset)
    t = m.type
    if t in (msg.PING, msg.MEET):
        if (t == msg.MEET or not me.ip) and not st.cfg["cluster-announce-ip"]:
            ip = link.local_ip()
            if ip and ip != me.ip:
                me.ip = ip
                log.warning("IP address for this node updated to %s", me.ip)
                st.do_before_sleep(_SAVE)
        if sender is None and t == msg.MEET:
            node = ClusterNode(None, HANDSHAKE)
            node.ip = m.myip or link.peer_ip()
            node.port, node.pport, node.cport = m.port, m.pport, m.cport
            st.add_node(node)
            st.do_before_sleep(_SAVE)
            process_gossip(st, m, link)
        send_ping(st, link, msg.PONG)
    if t in (msg.PING, msg.PONG, msg.MEET):
        if not link.inbound:
            lnode = link.node
            if lnode.in_handshake:
                if sender is not None:
                    log.log(VERBOSE, "Handshake: we already know node %s, updating the address if needed.",
                            sender.name.decode())
                    if update_address_if_needed(st, sender, link, m):
                        st.do_before_sleep(_SAVE | _UPDATE)
                    st.del_node(lnode)
                    return False
                st.rename_node(lnode, m.sender)
                log.debug("Handshake with node %s completed.", lnode.name.decode())
                lnode.flags &= ~HANDSHAKE
                lnode.flags |= flags & (MASTER | SLAVE)
                st.do_before_sleep(_SAVE)
            elif lnode.name != m.sender:
                log.debug("PONG contains mismatching sender ID. About node %s added %d ms ago, having flags %d",
                          lnode.name.decode(), now - lnode.ctime, lnode.flags)
                lnode.flags |= NOADDR
                lnode.ip = ""
                lnode.port = lnode.pport = lnode.cport = 0
                st.free_link(link)
                st.do_before_sleep(_SAVE)
                return False
        if sender is not None:
            sender.flags = (sender.flags & ~NOFAILOVER) | (flags & NOFAILOVER)
        if (sender is not None and t == msg.PING and not sender.in_handshake
                and update_address_if_needed(st, sender, link, m)):
            st.do_before_sleep(_SAVE | _UPDATE)
        if not link.inbound and t == msg.PONG:
            lnode = link.node
            lnode.pong_received = now
            lnode.ping_sent = 0
            if lnode.timed_out:
                lnode.flags &= ~PFAIL
                st.do_before_sleep(_SAVE | _UPDATE)
            elif lnode.failed:
                st.clear_failure_if_needed(lnode)
        if sender is not None:
            if m.slaveof == msg.NULL_NAME:
                st.set_node_as_master(sender)
            else:
                master = st.lookup(m.slaveof)
                if sender.is_master:
                    st.del_node_slots(sender)
                    sender.flags = (sender.flags & ~(MASTER | MIGRATE_TO)) | SLAVE
                    st.do_before_sleep(_SAVE | _UPDATE)
                if master is not None and sender.slaveof is not master:
                    if sender.slaveof is not None:
                        sender.slaveof.remove_slave(sender)
                    master.add_slave(sender)
                    sender.slaveof = master
                    st.do_before_sleep(_SAVE)
        dirty_slots = False
        if sender is not None:
            sender_master = sender if sender.is_master else sender.slaveof
            if sender_master is not None:
                dirty_slots = bytes(sender_master.slots) != m.myslots
        if sender is not None and sender.is_master and dirty_slots:
            update_slots_config_with(st, sender, sender_config_epoch, m.myslots)
        if sender is not None and dirty_slots:
            owner = _newer_owner(st, sender, m.myslots, sender_config_epoch)
            if owner is not None:
                log.log(VERBOSE, "Node %s has old slots configuration, sending an UPDATE message about %s",
                        sender.name.decode(), owner.name.decode())
                send_update(st, sender.link, owner)
        if (sender is not None and me.is_master and sender.is_master
                and sender_config_epoch == me.config_epoch):
            st.handle_epoch_collision(sender)
        if sender is not None:
            process_gossip(st, m, link)
            sender.hostname = m.hostname or ""
    elif t == msg.FAIL:
        if sender is not None:
            failing = st.lookup(m.about)
            if failing is not None and not failing.flags & (FAIL | MYSELF):
                log.info("FAIL message received from %s about %s", m.sender.decode("latin-1"),
                         m.about.decode("latin-1"))
                failing.flags = (failing.flags | FAIL) & ~PFAIL
                failing.fail_time = now
                st.do_before_sleep(_SAVE | _UPDATE)
        else:
            log.info("Ignoring FAIL message from unknown node %s about %s", m.sender.decode("latin-1"),
                     m.about.decode("latin-1"))
    elif t in (msg.PUBLISH, msg.PUBLISHSHARD):
        if sender is None:
            return True
        shard = t == msg.PUBLISHSHARD
        if st.host.has_subscribers(shard):
            st.host.publish(m.channel, m.message, shard)
    elif t == msg.AUTH_REQUEST:
        if sender is None:
            return True
        st.handle_auth_request(sender, m)
    elif t == msg.AUTH_ACK:
        if sender is None:
            return True
        if sender.is_master and sender.numslots > 0 and sender_current_epoch >= st.failover_auth_epoch:
            st.failover_auth_count += 1
            st.do_before_sleep(_FAILOVER)
    elif t == msg.MFSTART:
        if sender is None or sender.slaveof is not me:
            return True
        st.reset_manual_failover()
        st.mf_end = now + 5000
        st.mf_slave = sender
        st.host.pause_writes(now + 5000 * 2)
        log.warning("Manual failover requested by replica %s.", sender.name.decode())
        send_ping(st, link, msg.PING)
    elif t == msg.UPDATE:
        if sender is None:
            return True
        n = st.lookup(m.about)
        if n is None or n.config_epoch >= m.update_epoch:
            return True
        if n.is_slave:
            st.set_node_as_master(n)
        n.config_epoch = m.update_epoch
        st.do_before_sleep(_SAVE | _FSYNC)
        update_slots_config_with(st, n, m.update_epoch, m.update_slots)
    elif t == msg.MODULE:
        pass
    else:
        log.warning("Received unknown packet type: %d", t)
    return True


def on_link_connected(st: ClusterState, link: Any) -> None:
    """clusterLinkConnectHandler: the first message on a new outbound link is a PING or a MEET."""
    node = link.node
    old = node.ping_sent
    send_ping(st, link, msg.MEET if node.flags & 128 else msg.PING)
    if old:
        node.ping_sent = old
    node.flags &= ~128
