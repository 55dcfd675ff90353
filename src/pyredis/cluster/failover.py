"""Replica elections, votes, manual failover and replica migration (no I/O)."""

from __future__ import annotations

import logging
import random
import time
from typing import TYPE_CHECKING

from pyredis.cluster import gossip
from pyredis.cluster import messages as msg
from pyredis.cluster.node import ClusterNode, bit_test, mstime
from pyredis.cluster.slots import CLUSTER_SLOTS

if TYPE_CHECKING:
    from pyredis.cluster.state import ClusterState

log = logging.getLogger("pyredis")
_FAILOVER, _UPDATE, _SAVE, _FSYNC, _MANUAL = 1, 2, 4, 8, 16
DATA_AGE, WAITING_DELAY, EXPIRED, WAITING_VOTES = 1, 2, 3, 4
_REASONS = {
    DATA_AGE: "Disconnected from master for longer than allowed. Please check the "
              "'cluster-replica-validity-factor' configuration option.",
    WAITING_DELAY: "Waiting the delay before I can start a new failover.",
    EXPIRED: "Failover attempt expired.",
    WAITING_VOTES: "Waiting for votes, but majority still not reached.",
}


def send_failover_auth_if_needed(st: ClusterState, node: ClusterNode, req: msg.Message) -> None:
    """A master's vote for a replica asking to replace its failed master."""
    me = st.myself
    master = node.slaveof
    force_ack = req.mflags0 & msg.FLAG0_FORCEACK
    if me.is_slave or me.numslots == 0:
        return
    name = node.name.decode()
    if req.current_epoch < st.current_epoch:
        log.warning("Failover auth denied to %s: reqEpoch (%d) < curEpoch(%d)", name, req.current_epoch,
                    st.current_epoch)
        return
    if st.last_vote_epoch == st.current_epoch:
        log.warning("Failover auth denied to %s: already voted for epoch %d", name, st.current_epoch)
        return
    if node.is_master or master is None or (not master.failed and not force_ack):
        if node.is_master:
            log.warning("Failover auth denied to %s: it is a master node", name)
        elif master is None:
            log.warning("Failover auth denied to %s: I don't know its master", name)
        else:
            log.warning("Failover auth denied to %s: its master is up", name)
        return
    now = mstime()
    if now - master.voted_time < st.node_timeout * 2:
        log.warning("Failover auth denied to %s: can't vote about this master before %d milliseconds", name,
                    st.node_timeout * 2 - (now - master.voted_time))
        return
    for j in range(CLUSTER_SLOTS):
        if not bit_test(req.myslots, j) or st.slot_unclaimed(j):
            continue
        owner = st.slots[j]
        if owner.config_epoch <= req.config_epoch:  # type: ignore[union-attr]
            continue
        log.warning("Failover auth denied to %s: slot %d epoch (%d) > reqEpoch (%d)", name, j,
                    owner.config_epoch, req.config_epoch)  # type: ignore[union-attr]
        return
    st.last_vote_epoch = st.current_epoch
    master.voted_time = mstime()
    st.do_before_sleep(_SAVE | _FSYNC)
    gossip.send_simple(st, node.link, msg.AUTH_ACK)
    log.warning("Failover auth granted to %s for epoch %d", name, st.current_epoch)


def slave_rank(st: ClusterState) -> int:
    me = st.myself
    master = me.slaveof
    if master is None:
        return 0
    myoffset = st.host.repl_offset()
    return sum(1 for s in master.slaves if s is not me and not s.flags & 512 and s.repl_offset > myoffset)


def log_cant_failover(st: ClusterState, reason: int) -> None:
    if reason == st.cant_failover_reason and time.time() - st.cant_failover_logged < 300:
        return
    st.cant_failover_reason = reason
    me = st.myself
    if me.slaveof is not None and me.slaveof.failed and mstime() - me.slaveof.fail_time < st.node_timeout + 5000:
        return
    st.cant_failover_logged = time.time()
    log.warning("Currently unable to failover: %s", _REASONS.get(reason, "Unknown reason code."))


def replace_my_master(st: ClusterState) -> None:
    """clusterFailoverReplaceYourMaster: take the slots of my master and tell everyone."""
    me = st.myself
    old = me.slaveof
    if me.is_master or old is None:
        return
    st.set_node_as_master(me)
    st.host.unset_master()
    for j in range(CLUSTER_SLOTS):
        if old.has_slot(j):
            st.del_slot(j)
            st.add_slot(me, j)
    st.update_state()
    st.save_config_or_die(True)
    gossip.broadcast_pong(st)
    st.reset_manual_failover()


def handle_slave_failover(st: ClusterState) -> None:
    """clusterHandleSlaveFailover: delays by rank, the election, and the promotion once a majority voted."""
    me = st.myself
    now = mstime()
    auth_age = now - st.failover_auth_time
    quorum = st.size // 2 + 1
    manual = bool(st.mf_end) and st.mf_can_start
    st.todo &= ~_FAILOVER
    timeout = st.node_timeout
    auth_timeout = max(timeout * 2, 2000)
    auth_retry = auth_timeout * 2
    master = me.slaveof
    if (me.is_master or master is None or (not master.failed and not manual)
            or (st.cfg["cluster-replica-no-failover"] and not manual) or master.numslots == 0):
        st.cant_failover_reason = 0
        return
    connected, last_interaction, down_since = st.host.master_link()
    data_age = int((time.time() - (last_interaction if connected else down_since)) * 1000)
    if data_age > timeout:
        data_age -= timeout
    factor = st.cfg["cluster-replica-validity-factor"]
    if factor and data_age > st.cfg["repl-ping-replica-period"] * 1000 + timeout * factor and not manual:
        log_cant_failover(st, DATA_AGE)
        return
    if auth_age > auth_retry:
        st.failover_auth_time = now + 500 + random.randrange(500)
        st.failover_auth_count = 0
        st.failover_auth_sent = False
        st.failover_auth_rank = slave_rank(st)
        st.failover_auth_time += st.failover_auth_rank * 1000
        if st.mf_end:
            st.failover_auth_time = now
            st.failover_auth_rank = 0
            st.do_before_sleep(_FAILOVER)
        log.warning("Start of election delayed for %d milliseconds (rank #%d, offset %d).",
                    st.failover_auth_time - now, st.failover_auth_rank, st.host.repl_offset())
        gossip.broadcast_pong(st, local_slaves_only=True)
        return
    if not st.failover_auth_sent and not st.mf_end:
        newrank = slave_rank(st)
        if newrank > st.failover_auth_rank:
            added = (newrank - st.failover_auth_rank) * 1000
            st.failover_auth_time += added
            st.failover_auth_rank = newrank
            log.warning("Replica rank updated to #%d, added %d milliseconds of delay.", newrank, added)
    if now < st.failover_auth_time:
        log_cant_failover(st, WAITING_DELAY)
        return
    if auth_age > auth_timeout:
        log_cant_failover(st, EXPIRED)
        return
    if not st.failover_auth_sent:
        st.current_epoch += 1
        st.failover_auth_epoch = st.current_epoch
        log.warning("Starting a failover election for epoch %d.", st.current_epoch)
        data = gossip.send_simple(st, None, msg.AUTH_REQUEST, msg.FLAG0_FORCEACK if st.mf_end else 0)
        gossip.broadcast(st, data, msg.AUTH_REQUEST)
        st.failover_auth_sent = True
        st.do_before_sleep(_SAVE | _UPDATE | _FSYNC)
        return
    if st.failover_auth_count >= quorum:
        log.warning("Failover election won: I'm the new master.")
        if me.config_epoch < st.failover_auth_epoch:
            me.config_epoch = st.failover_auth_epoch
            log.warning("configEpoch set to %d after successful failover", me.config_epoch)
        replace_my_master(st)
    else:
        log_cant_failover(st, WAITING_VOTES)


def handle_slave_migration(st: ClusterState, max_slaves: int) -> None:
    """Move to an orphaned master when my master has more than cluster-migration-barrier good replicas."""
    if st.state != 0:
        return
    me = st.myself
    mymaster = me.slaveof
    if mymaster is None:
        return
    okslaves = sum(1 for s in mymaster.slaves if not s.failed and not s.timed_out)
    if okslaves <= st.cfg["cluster-migration-barrier"]:
        return
    candidate = me
    target = None
    for node in st.nodes.values():
        ok = 0
        orphaned = not (node.is_slave or node.failed) and bool(node.flags & 256)
        if node.is_master:
            ok = node.count_non_failing_slaves()
        if ok > 0:
            orphaned = False
        if orphaned:
            if target is None and node.numslots > 0:
                target = node
            if not node.orphaned_time:
                node.orphaned_time = mstime()
        else:
            node.orphaned_time = 0
        if ok == max_slaves:
            for s in node.slaves:
                if s.name < candidate.name:
                    candidate = s
    if target is not None and candidate is me and mstime() - target.orphaned_time > 5000:
        log.warning("Migrating to orphaned master %s", target.name.decode())
        st.set_master(target)


def manual_failover_check_timeout(st: ClusterState) -> None:
    if st.mf_end and st.mf_end < mstime():
        log.warning("Manual failover timed out.")
        st.reset_manual_failover()


def handle_manual_failover(st: ClusterState) -> None:
    if st.mf_end == 0 or st.mf_can_start or st.mf_master_offset == -1:
        return
    if st.mf_master_offset == st.host.repl_offset():
        st.mf_can_start = True
        log.warning("All master replication stream processed, manual failover can start.")
        st.do_before_sleep(_FAILOVER)
        return
    st.do_before_sleep(_MANUAL)
