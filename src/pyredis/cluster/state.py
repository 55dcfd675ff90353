"""The cluster state of one node (clusterState): node table, slot table, epochs, failure state.

No I/O: the server layer supplies a :class:`Host` (keyspace, replication, pub/sub, config file) and link
objects (``node``, ``inbound``, ``ctime``, ``send(bytes)``, ``close()``, ``local_ip()``, ``peer_ip()``).
"""

from __future__ import annotations

import ipaddress
import logging
import random
import time
from collections.abc import Mapping
from typing import Any, Protocol

from pyredis.cluster import failover, gossip
from pyredis.cluster import messages as msg
from pyredis.cluster.node import (
    FAIL,
    HANDSHAKE,
    MASTER,
    MEET,
    MIGRATE_TO,
    MYSELF,
    NOADDR,
    NOFAILOVER,
    PFAIL,
    SLAVE,
    ClusterNode,
    mstime,
    random_name,
    valid_name,
)
from pyredis.cluster.replies import nodes_description
from pyredis.cluster.slots import CLUSTER_SLOTS

log = logging.getLogger("pyredis")
VERBOSE = 15

TODO_HANDLE_FAILOVER, TODO_UPDATE_STATE, TODO_SAVE_CONFIG, TODO_FSYNC_CONFIG, TODO_HANDLE_MANUALFAILOVER = (
    1, 2, 4, 8, 16)
OK, FAIL_STATE = 0, 1
BLACKLIST_TTL = 60
MF_TIMEOUT = 5000
WRITABLE_DELAY = 2000
MAX_REJOIN_DELAY = 5000
MIN_REJOIN_DELAY = 500


class Host(Protocol):
    """What the cluster needs from the server around it."""

    def connect(self, node: ClusterNode) -> Any: ...
    def count_keys_in_slot(self, slot: int) -> int: ...
    def delete_keys_in_slot(self, slot: int) -> int: ...
    def repl_offset(self) -> int: ...
    def set_master(self, ip: str, port: int) -> None: ...
    def unset_master(self) -> None: ...
    def master_link(self) -> tuple[bool, float, float]: ...
    def publish(self, channel: bytes, message: bytes, shard: bool) -> None: ...
    def has_subscribers(self, shard: bool) -> bool: ...
    def pause_writes(self, until_ms: int) -> None: ...
    def unpause_writes(self) -> None: ...
    def write_config(self, text: str, fsync: bool) -> None: ...
    def flush_data(self) -> None: ...


class ClusterState:
    """The cluster as seen by this node."""

    def __init__(self, cfg: Mapping[str, Any], host: Host) -> None:
        self.cfg = cfg
        self.host = host
        self.myself: ClusterNode = None  # type: ignore[assignment]  # set by load or create_myself
        self.port = 0  # client port (tls-port under tls-cluster) and cluster bus port we listen on
        self.pport = 0  # the plain client port under tls-cluster, else 0
        self.cport = 0
        self.current_epoch = 0
        self.last_vote_epoch = 0
        self.state = FAIL_STATE
        self.size = 1
        self.nodes: dict[bytes, ClusterNode] = {}
        self.blacklist: dict[bytes, float] = {}
        self.slots: list[ClusterNode | None] = [None] * CLUSTER_SLOTS
        self.migrating: dict[int, ClusterNode] = {}
        self.importing: dict[int, ClusterNode] = {}
        self.owner_not_claiming = bytearray(CLUSTER_SLOTS // 8)
        self.todo = 0
        self.stats_sent = [0] * msg.TYPE_COUNT
        self.stats_received = [0] * msg.TYPE_COUNT
        self.stats_pfail_nodes = 0
        self.links_limit_exceeded = 0
        self.pings_sent = 0
        self.drop_packet_filter = -1  # DEBUG DROP-CLUSTER-PACKET-FILTER <type>
        self.iteration = 0
        # elections (replica side)
        self.failover_auth_time = 0
        self.failover_auth_count = 0
        self.failover_auth_sent = False
        self.failover_auth_rank = 0
        self.failover_auth_epoch = 0
        self.cant_failover_reason = 0
        self.cant_failover_logged = 0.0
        # manual failover
        self.mf_end = 0
        self.mf_slave: ClusterNode | None = None
        self.mf_master_offset = -1
        self.mf_can_start = False
        # clusterUpdateState timers
        self.first_update_call = 0
        self.among_minority_time = 0

    # -- configuration ------------------------------------------------------------------------------
    @property
    def node_timeout(self) -> int:
        return self.cfg["cluster-node-timeout"]

    def create_myself(self) -> None:
        self.myself = ClusterNode(None, MYSELF | MASTER)
        self.add_node(self.myself)
        log.info("No cluster configuration found, I'm %s", self.myself.name.decode())

    def update_myself_flags(self) -> None:
        me = self.myself
        old = me.flags
        me.flags &= ~NOFAILOVER
        if self.cfg["cluster-replica-no-failover"]:
            me.flags |= NOFAILOVER
        if me.flags != old:
            self.do_before_sleep(TODO_SAVE_CONFIG | TODO_UPDATE_STATE)

    def do_before_sleep(self, flags: int) -> None:
        self.todo |= flags

    # -- node table ---------------------------------------------------------------------------------
    def lookup(self, name: bytes) -> ClusterNode | None:
        if not valid_name(name):
            return None
        return self.nodes.get(name)

    def add_node(self, node: ClusterNode) -> None:
        self.nodes[node.name] = node

    def free_link(self, link: Any) -> None:
        """freeClusterLink: close *link* and detach it from its node."""
        link.close()
        n = link.node
        if n is not None:
            if n.link is link:
                n.link = None
            elif n.inbound_link is link:
                n.inbound_link = None

    def set_inbound_link(self, node: ClusterNode, link: Any) -> None:
        if node.inbound_link is not None and node.inbound_link is not link:
            self.free_link(node.inbound_link)
        node.inbound_link = link
        link.node = node

    def free_node(self, n: ClusterNode) -> None:
        for s in n.slaves:
            s.slaveof = None
        if n.is_slave and n.slaveof:
            n.slaveof.remove_slave(n)
        self.nodes.pop(n.name, None)
        if n.link is not None:
            self.free_link(n.link)
        if n.inbound_link is not None:
            self.free_link(n.inbound_link)

    def del_node(self, delnode: ClusterNode) -> None:
        for j in [s for s, n in self.importing.items() if n is delnode]:
            del self.importing[j]
        for j in [s for s, n in self.migrating.items() if n is delnode]:
            del self.migrating[j]
        for j in range(CLUSTER_SLOTS):
            if self.slots[j] is delnode:
                self.del_slot(j)
        now = mstime()
        for node in list(self.nodes.values()):
            if node is not delnode:
                node.del_failure_report(delnode, self.node_timeout, now)
        self.free_node(delnode)

    def rename_node(self, node: ClusterNode, newname: bytes) -> None:
        log.debug("Renaming node %s into %s", node.name.decode(), newname.decode("latin-1"))
        self.nodes.pop(node.name, None)
        node.name = newname
        self.add_node(node)

    def blacklist_add(self, node: ClusterNode) -> None:
        self.blacklist_cleanup()
        self.blacklist[node.name] = time.time() + BLACKLIST_TTL

    def blacklist_cleanup(self) -> None:
        now = time.time()
        for k in [k for k, t in self.blacklist.items() if t < now]:
            del self.blacklist[k]

    def blacklisted(self, name: bytes) -> bool:
        self.blacklist_cleanup()
        return name in self.blacklist

    def handshake_in_progress(self, ip: str, port: int, cport: int) -> bool:
        return any(n.in_handshake and n.ip.lower() == ip.lower() and n.port == port and n.cport == cport
                   for n in self.nodes.values())

    def start_handshake(self, ip: str, port: int, cport: int) -> str | None:
        """CLUSTER MEET: None when started (or already in progress), "EINVAL" for a bad address."""
        try:
            norm = str(ipaddress.ip_address(ip))
        except ValueError:
            return "EINVAL"
        if not (0 < port <= 65535 and 0 < cport <= 65535):
            return "EINVAL"
        if self.handshake_in_progress(norm, port, cport):
            return "EAGAIN"
        n = ClusterNode(None, HANDSHAKE | MEET)
        n.ip, n.port, n.cport = norm, port, cport
        self.add_node(n)
        return None

    def nodes_serving_my_slots(self, node: ClusterNode) -> list[ClusterNode]:
        primary = node if node.is_master else node.slaveof
        if primary is None:
            return []
        return [primary, *primary.slaves]

    # -- slots --------------------------------------------------------------------------------------
    def masters_have_slaves(self) -> bool:
        return any(n.slaves for n in self.nodes.values() if not n.is_slave)

    def add_slot(self, n: ClusterNode, slot: int) -> bool:
        if self.slots[slot] is not None:
            return False
        n.set_slot_bit(slot, self.masters_have_slaves())
        self.slots[slot] = n
        i, b = slot >> 3, 1 << (slot & 7)
        self.owner_not_claiming[i] &= ~b & 0xFF
        return True

    def del_slot(self, slot: int) -> bool:
        n = self.slots[slot]
        if n is None:
            return False
        if n is self.myself:
            self.host_remove_channels(slot)
        n.clear_slot_bit(slot)
        self.slots[slot] = None
        i, b = slot >> 3, 1 << (slot & 7)
        self.owner_not_claiming[i] &= ~b & 0xFF
        return True

    def host_remove_channels(self, slot: int) -> None:
        fn = getattr(self.host, "remove_channels_in_slot", None)
        if fn is not None:
            fn(slot)

    def del_node_slots(self, node: ClusterNode) -> int:
        deleted = 0
        for j in range(CLUSTER_SLOTS):
            if node.has_slot(j):
                self.del_slot(j)
                deleted += 1
        return deleted

    def close_all_slots(self) -> None:
        self.migrating.clear()
        self.importing.clear()

    def slot_unclaimed(self, slot: int) -> bool:
        return self.slots[slot] is None or bool(self.owner_not_claiming[slot >> 3] & (1 << (slot & 7)))

    # -- epochs ------------------------------------------------------------------------------------
    def max_epoch(self) -> int:
        m = max((n.config_epoch for n in self.nodes.values()), default=0)
        return max(m, self.current_epoch)

    def bump_epoch_without_consensus(self) -> bool:
        me = self.myself
        if me.config_epoch == 0 or me.config_epoch != self.max_epoch():
            self.current_epoch += 1
            me.config_epoch = self.current_epoch
            self.do_before_sleep(TODO_SAVE_CONFIG | TODO_FSYNC_CONFIG)
            log.warning("New configEpoch set to %d", me.config_epoch)
            return True
        return False

    def handle_epoch_collision(self, sender: ClusterNode) -> None:
        me = self.myself
        if sender.config_epoch != me.config_epoch or not sender.is_master or not me.is_master:
            return
        if sender.name <= me.name:
            return
        self.current_epoch += 1
        me.config_epoch = self.current_epoch
        self.save_config_or_die(True)
        log.log(VERBOSE, "WARNING: configEpoch collision with node %s. configEpoch set to %d",
                sender.name.decode(), me.config_epoch)

    # -- failure detection -------------------------------------------------------------------------
    def mark_failing_if_needed(self, node: ClusterNode) -> None:
        quorum = self.size // 2 + 1
        if not node.timed_out or node.failed:
            return
        failures = node.failure_reports_count(self.node_timeout, mstime())
        if self.myself.is_master:
            failures += 1
        if failures < quorum:
            return
        log.info("Marking node %s as failing (quorum reached).", node.name.decode())
        node.flags = (node.flags & ~PFAIL) | FAIL
        node.fail_time = mstime()
        gossip.send_fail(self, node.name)
        self.do_before_sleep(TODO_UPDATE_STATE | TODO_SAVE_CONFIG)

    def clear_failure_if_needed(self, node: ClusterNode) -> None:
        now = mstime()
        if node.is_slave or node.numslots == 0:
            log.info("Clear FAIL state for node %s: %s is reachable again.", node.name.decode(),
                     "replica" if node.is_slave else "master without slots")
            node.flags &= ~FAIL
            self.do_before_sleep(TODO_UPDATE_STATE | TODO_SAVE_CONFIG)
        if node.is_master and node.numslots > 0 and now - node.fail_time > self.node_timeout * 2:
            log.info("Clear FAIL state for node %s: is reachable again and nobody is serving its slots after "
                     "some time.", node.name.decode())
            node.flags &= ~FAIL
            self.do_before_sleep(TODO_UPDATE_STATE | TODO_SAVE_CONFIG)

    # -- roles -------------------------------------------------------------------------------------
    def set_node_as_master(self, n: ClusterNode) -> None:
        if n.is_master:
            return
        if n.slaveof is not None:
            n.slaveof.remove_slave(n)
            if n is not self.myself:
                n.flags |= MIGRATE_TO
        n.flags = (n.flags & ~SLAVE) | MASTER
        n.slaveof = None
        self.do_before_sleep(TODO_SAVE_CONFIG | TODO_UPDATE_STATE)

    def set_master(self, n: ClusterNode) -> None:
        """clusterSetMaster: make myself a replica of *n*."""
        me = self.myself
        if me.is_master:
            me.flags = (me.flags & ~(MASTER | MIGRATE_TO)) | SLAVE
            self.close_all_slots()
        elif me.slaveof is not None:
            me.slaveof.remove_slave(me)
        me.slaveof = n
        n.add_slave(me)
        self.host.set_master(n.ip, n.port)
        self.reset_manual_failover()

    def reset(self, hard: bool) -> None:
        me = self.myself
        if me.is_slave:
            self.set_node_as_master(me)
            self.host.unset_master()
            self.host.flush_data()
        self.close_all_slots()
        self.reset_manual_failover()
        for j in range(CLUSTER_SLOTS):
            self.del_slot(j)
        for node in list(self.nodes.values()):
            if node is not me:
                self.del_node(node)
        if hard:
            self.current_epoch = self.last_vote_epoch = 0
            me.config_epoch = 0
            log.warning("configEpoch set to 0 via CLUSTER RESET HARD")
            self.nodes.pop(me.name, None)
            me.name = random_name()
            self.add_node(me)
            log.info("Node hard reset, now I'm %s", me.name.decode())
        self.do_before_sleep(TODO_SAVE_CONFIG | TODO_UPDATE_STATE | TODO_FSYNC_CONFIG)

    def reset_manual_failover(self) -> None:
        if self.mf_slave is not None:
            self.host.unpause_writes()
        self.mf_end = 0
        self.mf_can_start = False
        self.mf_slave = None
        self.mf_master_offset = -1

    # -- state -------------------------------------------------------------------------------------
    def update_state(self) -> None:
        self.todo &= ~TODO_UPDATE_STATE
        now = mstime()
        if self.first_update_call == 0:
            self.first_update_call = now
        me = self.myself
        if me.is_master and self.state == FAIL_STATE and now - self.first_update_call < WRITABLE_DELAY:
            return
        new_state = OK
        if self.cfg["cluster-require-full-coverage"]:
            for n in self.slots:
                if n is None or n.flags & FAIL:
                    new_state = FAIL_STATE
                    break
        self.size = 0
        reachable = 0
        for node in self.nodes.values():
            if node.is_master and node.numslots:
                self.size += 1
                if not node.flags & (FAIL | PFAIL):
                    reachable += 1
        if reachable < self.size // 2 + 1:
            new_state = FAIL_STATE
            self.among_minority_time = now
        if new_state != self.state:
            rejoin = min(max(self.node_timeout, MIN_REJOIN_DELAY), MAX_REJOIN_DELAY)
            if new_state == OK and me.is_master and now - self.among_minority_time < rejoin:
                return
            log.warning("Cluster state changed: %s", "ok" if new_state == OK else "fail")
            self.state = new_state

    # -- nodes.conf --------------------------------------------------------------------------------
    def handle_auth_request(self, sender: ClusterNode, m: msg.Message) -> None:
        """FAILOVER_AUTH_REQUEST from a replica: maybe vote for it."""
        failover.send_failover_auth_if_needed(self, sender, m)

    def save_config(self, fsync: bool) -> None:
        self.todo &= ~TODO_SAVE_CONFIG
        if fsync:
            self.todo &= ~TODO_FSYNC_CONFIG
        text = nodes_description(self, HANDSHAKE)
        text += f"vars currentEpoch {self.current_epoch} lastVoteEpoch {self.last_vote_epoch}\n"
        self.host.write_config(text, fsync)

    def save_config_or_die(self, fsync: bool) -> None:
        try:
            self.save_config(fsync)
        except OSError:
            log.warning("Fatal: can't update cluster config file.")
            raise SystemExit(1) from None

    def before_sleep(self) -> None:
        flags = self.todo
        self.todo = 0
        if flags & TODO_HANDLE_MANUALFAILOVER:
            if self.myself.is_slave:
                failover.handle_manual_failover(self)
                failover.handle_slave_failover(self)
        elif flags & TODO_HANDLE_FAILOVER:
            failover.handle_slave_failover(self)
        if flags & TODO_UPDATE_STATE:
            self.update_state()
        if flags & TODO_SAVE_CONFIG:
            self.save_config_or_die(bool(flags & TODO_FSYNC_CONFIG))

    # -- cron (10 times a second) ------------------------------------------------------------------
    def cron(self) -> None:
        self.iteration += 1
        hostname = self.cfg["cluster-announce-hostname"]
        self.myself.hostname = hostname or ""
        handshake_timeout = max(self.node_timeout, 1000)
        now = mstime()
        self.stats_pfail_nodes = 0
        for node in list(self.nodes.values()):
            if node.flags & (MYSELF | NOADDR):
                continue
            if node.flags & PFAIL:
                self.stats_pfail_nodes += 1
            if node.in_handshake and now - node.ctime > handshake_timeout:
                self.del_node(node)
                continue
            if node.link is None:
                link = self.host.connect(node)
                if link is None:
                    if node.ping_sent == 0:
                        node.ping_sent = mstime()
                else:
                    node.link = link
        if self.iteration % 10 == 0:
            candidates = list(self.nodes.values())
            best = None
            for _ in range(5):
                this = random.choice(candidates)
                if this.link is None or this.ping_sent != 0 or this.flags & (MYSELF | HANDSHAKE):
                    continue
                if best is None or best.pong_received > this.pong_received:
                    best = this
            if best is not None:
                gossip.send_ping(self, best.link, msg.PING)
        orphaned = max_slaves = this_slaves = 0
        update = False
        me = self.myself
        timeout = self.node_timeout
        for node in list(self.nodes.values()):
            now = mstime()
            if node.flags & (MYSELF | NOADDR | HANDSHAKE):
                continue
            if me.is_slave and node.is_master and not node.failed:
                ok = node.count_non_failing_slaves()
                if ok == 0 and node.numslots > 0 and node.flags & MIGRATE_TO:
                    orphaned += 1
                max_slaves = max(max_slaves, ok)
                if me.slaveof is node:
                    this_slaves = ok
            ping_delay = now - node.ping_sent
            data_delay = now - node.data_received
            if (node.link is not None and now - node.link.ctime > timeout and node.ping_sent
                    and ping_delay > timeout / 2 and data_delay > timeout / 2):
                self.free_link(node.link)
            if node.link is not None and node.ping_sent == 0 and now - node.pong_received > timeout / 2:
                gossip.send_ping(self, node.link, msg.PING)
                continue
            if self.mf_end and me.is_master and self.mf_slave is node and node.link is not None:
                gossip.send_ping(self, node.link, msg.PING)
                continue
            if node.ping_sent == 0:
                continue
            if min(ping_delay, data_delay) > timeout and not node.flags & (PFAIL | FAIL):
                log.debug("*** NODE %s possibly failing", node.name.decode())
                node.flags |= PFAIL
                update = True
        if me.is_slave and me.slaveof is not None and me.slaveof.has_addr:
            ensure = getattr(self.host, "ensure_master", None)
            if ensure is not None:
                ensure(me.slaveof.ip, me.slaveof.port)
        failover.manual_failover_check_timeout(self)
        if me.is_slave:
            failover.handle_manual_failover(self)
            failover.handle_slave_failover(self)
            if (orphaned and max_slaves >= 2 and this_slaves == max_slaves
                    and self.cfg["cluster-allow-replica-migration"]):
                failover.handle_slave_migration(self, max_slaves)
        if update or self.state == FAIL_STATE:
            self.update_state()
