"""CLUSTER, READONLY, READWRITE, ASKING (cluster.c's clusterCommand); "cluster support disabled" unless
``cluster-enabled yes``, where they act on ``server.cluster`` (pyredis.server.cluster)."""

from __future__ import annotations

import logging
import os

from pyredis.cluster.slots import CLUSTER_SLOTS, key_hash_slot
from pyredis.commands.debug import debug_subcommand
from pyredis.commands.errors import CommandError, syntax_error
from pyredis.commands.registry import command, help_lines, subcommand
from pyredis.protocol.numbers import parse_ll
from pyredis.protocol.types import OK, Status, Verbatim

log = logging.getLogger("pyredis")
# The handlers below import pyredis.cluster's bus, state and replies where they use them: they run only
# with cluster-enabled yes, when server/cluster.py has loaded those modules; other servers never load them.
DISABLED = "ERR This instance has cluster support disabled"
_NOT_INT = "ERR value is not an integer or out of range"


def _svc(c):
    svc = c.server.cluster
    if svc is None:
        raise CommandError(DISABLED)
    return svc


def _ll(b: bytes, err: str = _NOT_INT) -> int:
    v = parse_ll(b)
    if v is None:
        raise CommandError(err)
    return v


def _sub_syntax(argv) -> CommandError:
    return CommandError("ERR unknown subcommand or wrong number of arguments for '%s'. Try CLUSTER HELP."
                        % argv[1][:128].decode("utf-8", "surrogateescape"))


def _slot(b: bytes) -> int:
    v = parse_ll(b)
    if v is None or not 0 <= v < CLUSTER_SLOTS:
        raise CommandError("ERR Invalid or out of range slot")
    return v


def _node_arg(st, b: bytes, fmt: str = "ERR Unknown node %s"):
    n = st.lookup(b)
    if n is None:
        raise CommandError(fmt % b.decode("utf-8", "surrogateescape"))
    return n


# -- handlers (svc = server.cluster, st = its ClusterState) ------------------------------------------
def _info(c, argv, svc, st):
    from pyredis.cluster import replies

    return Verbatim(replies.cluster_info(st))


def _myid(c, argv, svc, st):
    return st.myself.name


def _nodes(c, argv, svc, st):
    from pyredis.cluster import replies

    return Verbatim(replies.nodes_description(st, 0, svc.wants_pport(c)).encode("latin-1"))


def _slots(c, argv, svc, st):
    from pyredis.cluster import replies

    return replies.cluster_slots(st, svc.wants_pport(c))


def _shards(c, argv, svc, st):
    from pyredis.cluster import replies

    return replies.cluster_shards(st)


def _links(c, argv, svc, st):
    from pyredis.cluster import replies

    return replies.cluster_links(st)


def _keyslot(c, argv, svc, st):
    if len(argv) != 3:
        raise _sub_syntax(argv)
    return key_hash_slot(argv[2])


def _countkeysinslot(c, argv, svc, st):
    if len(argv) != 3:
        raise _sub_syntax(argv)
    slot = _ll(argv[2])
    if not 0 <= slot < CLUSTER_SLOTS:
        raise CommandError("ERR Invalid slot")
    return svc.count_keys_in_slot(slot)


def _getkeysinslot(c, argv, svc, st):
    if len(argv) != 4:
        raise _sub_syntax(argv)
    slot = _ll(argv[2])
    maxkeys = _ll(argv[3])
    if not 0 <= slot < CLUSTER_SLOTS or maxkeys < 0:
        raise CommandError("ERR Invalid slot or number of keys")
    return svc.keys_in_slot(slot, maxkeys)


def _check_assign(st, slots: bytearray, delete: bool, a: int, b: int) -> None:
    for slot in range(a, b + 1):
        if delete and st.slots[slot] is None:
            raise CommandError(f"ERR Slot {slot} is already unassigned")
        if not delete and st.slots[slot] is not None:
            raise CommandError(f"ERR Slot {slot} is already busy")
        slots[slot] += 1
        if slots[slot] == 2:
            raise CommandError(f"ERR Slot {slot} specified multiple times")


def _apply_slots(st, slots: bytearray, delete: bool) -> None:
    from pyredis.cluster.state import TODO_SAVE_CONFIG, TODO_UPDATE_STATE

    for j in range(CLUSTER_SLOTS):
        if slots[j]:
            st.importing.pop(j, None)
            if delete:
                st.del_slot(j)
            else:
                st.add_slot(st.myself, j)
    st.do_before_sleep(TODO_SAVE_CONFIG | TODO_UPDATE_STATE)


def _addslots(c, argv, svc, st):
    delete = argv[1].lower() == b"delslots"
    nums = [_slot(a) for a in argv[2:]]
    slots = bytearray(CLUSTER_SLOTS)
    for s in nums:
        _check_assign(st, slots, delete, s, s)
    _apply_slots(st, slots, delete)
    return OK


def _addslotsrange(c, argv, svc, st):
    if len(argv) % 2 == 1:
        raise CommandError(f"ERR wrong number of arguments for 'cluster|{argv[1].lower().decode()}' command")
    delete = argv[1].lower() == b"delslotsrange"
    slots = bytearray(CLUSTER_SLOTS)
    for j in range(2, len(argv), 2):
        a, b = _slot(argv[j]), _slot(argv[j + 1])
        if a > b:
            raise CommandError(f"ERR start slot number {a} is greater than end slot number {b}")
        _check_assign(st, slots, delete, a, b)
    _apply_slots(st, slots, delete)
    return OK


def _flushslots(c, argv, svc, st):
    from pyredis.cluster.state import TODO_SAVE_CONFIG, TODO_UPDATE_STATE

    if len(svc.db0.data):
        raise CommandError("ERR DB must be empty to perform CLUSTER FLUSHSLOTS.")
    st.del_node_slots(st.myself)
    st.do_before_sleep(TODO_SAVE_CONFIG | TODO_UPDATE_STATE)
    return OK


def _setslot(c, argv, svc, st):
    from pyredis.cluster import gossip
    from pyredis.cluster.state import TODO_FSYNC_CONFIG, TODO_SAVE_CONFIG, TODO_UPDATE_STATE

    me = st.myself
    if me.is_slave:
        raise CommandError("ERR Please use SETSLOT only with masters.")
    slot = _slot(argv[2])
    action = argv[3].lower()
    n_args = len(argv)
    if action == b"migrating" and n_args == 5:
        if st.slots[slot] is not me:
            raise CommandError(f"ERR I'm not the owner of hash slot {slot}")
        n = _node_arg(st, argv[4], "ERR I don't know about node %s")
        if n.is_slave:
            raise CommandError("ERR Target node is not a master")
        st.migrating[slot] = n
    elif action == b"importing" and n_args == 5:
        if st.slots[slot] is me:
            raise CommandError(f"ERR I'm already the owner of hash slot {slot}")
        n = _node_arg(st, argv[4], "ERR I don't know about node %s")
        if n.is_slave:
            raise CommandError("ERR Target node is not a master")
        st.importing[slot] = n
    elif action == b"stable" and n_args == 4:
        st.importing.pop(slot, None)
        st.migrating.pop(slot, None)
    elif action == b"node" and n_args == 5:
        n = _node_arg(st, argv[4])
        if n.is_slave:
            raise CommandError("ERR Target node is not a master")
        keys = svc.count_keys_in_slot(slot)
        if st.slots[slot] is me and n is not me and keys:
            raise CommandError(f"ERR Can't assign hashslot {slot} to a different node while I still hold keys "
                               "for this hash slot.")
        if keys == 0 and slot in st.migrating:
            del st.migrating[slot]
        was_mine = st.slots[slot] is me
        st.del_slot(slot)
        st.add_slot(n, slot)
        if was_mine and n is not me and me.numslots == 0 and c.server.config["cluster-allow-replica-migration"]:
            log.warning("Configuration change detected. Reconfiguring myself as a replica of %s", n.name.decode())
            st.set_master(n)
            st.do_before_sleep(TODO_SAVE_CONFIG | TODO_UPDATE_STATE | TODO_FSYNC_CONFIG)
        if n is me and slot in st.importing:
            if st.bump_epoch_without_consensus():
                log.warning("configEpoch updated after importing slot %d", slot)
            del st.importing[slot]
            gossip.broadcast_pong(st)
    else:
        raise CommandError("ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP")
    st.do_before_sleep(TODO_SAVE_CONFIG | TODO_UPDATE_STATE)
    return OK


def _bumpepoch(c, argv, svc, st):
    bumped = st.bump_epoch_without_consensus()
    return Status(b"%s %d" % (b"BUMPED" if bumped else b"STILL", st.myself.config_epoch))


def _saveconfig(c, argv, svc, st):
    try:
        st.save_config(True)
    except OSError as e:
        raise CommandError(f"ERR error saving the cluster node config: {os.strerror(e.errno or 0)}") from None
    return OK


def _meet(c, argv, svc, st):
    if len(argv) not in (4, 5):
        raise _sub_syntax(argv)
    port = parse_ll(argv[3])
    if port is None:
        raise CommandError("ERR Invalid TCP base port specified: %s" % argv[3].decode("utf-8", "replace"))
    if len(argv) == 5:
        cport = parse_ll(argv[4])
        if cport is None:
            raise CommandError("ERR Invalid TCP bus port specified: %s" % argv[4].decode("utf-8", "replace"))
    else:
        cport = port + 10000
    if st.start_handshake(argv[2].decode("latin-1"), port, cport) == "EINVAL":
        raise CommandError("ERR Invalid node address specified: %s:%s" % (
            argv[2].decode("utf-8", "replace"), argv[3].decode("utf-8", "replace")))
    return OK


def _forget(c, argv, svc, st):
    from pyredis.cluster.state import TODO_SAVE_CONFIG, TODO_UPDATE_STATE

    if len(argv) != 3:
        raise _sub_syntax(argv)
    n = _node_arg(st, argv[2])
    if n is st.myself:
        raise CommandError("ERR I tried hard but I can't forget myself...")
    if st.myself.is_slave and st.myself.slaveof is n:
        raise CommandError("ERR Can't forget my master!")
    st.blacklist_add(n)
    st.del_node(n)
    st.do_before_sleep(TODO_SAVE_CONFIG | TODO_UPDATE_STATE)
    return OK


def _replicate(c, argv, svc, st):
    from pyredis.cluster.state import TODO_SAVE_CONFIG, TODO_UPDATE_STATE

    if len(argv) != 3:
        raise _sub_syntax(argv)
    n = _node_arg(st, argv[2])
    me = st.myself
    if n is me:
        raise CommandError("ERR Can't replicate myself")
    if n.is_slave:
        raise CommandError("ERR I can only replicate a master, not a replica.")
    if me.is_master and (me.numslots != 0 or len(svc.db0.data) != 0):
        raise CommandError("ERR To set a master the node must be empty and without assigned slots.")
    st.set_master(n)
    st.do_before_sleep(TODO_SAVE_CONFIG | TODO_UPDATE_STATE)
    return OK


def _replicas(c, argv, svc, st):
    from pyredis.cluster import replies

    if len(argv) != 3:
        raise _sub_syntax(argv)
    n = _node_arg(st, argv[2])
    if n.is_slave:
        raise CommandError("ERR The specified node is not a master")
    return [replies.node_line(st, s, None, svc.wants_pport(c)).encode("latin-1") for s in n.slaves]


def _count_failure_reports(c, argv, svc, st):
    if len(argv) != 3:
        raise _sub_syntax(argv)
    from pyredis.cluster.node import mstime

    return _node_arg(st, argv[2]).failure_reports_count(st.node_timeout, mstime())


def _failover(c, argv, svc, st):
    from pyredis.cluster import gossip
    from pyredis.cluster import messages as msg

    if len(argv) not in (2, 3):
        raise _sub_syntax(argv)
    force = takeover = False
    if len(argv) == 3:
        opt = argv[2].lower()
        if opt == b"force":
            force = True
        elif opt == b"takeover":
            force = takeover = True
        else:
            raise syntax_error()
    me = st.myself
    if me.is_master:
        raise CommandError("ERR You should send CLUSTER FAILOVER to a replica")
    if me.slaveof is None:
        raise CommandError("ERR I'm a replica but my master is unknown to me")
    if not force and (me.slaveof.failed or me.slaveof.link is None):
        raise CommandError("ERR Master is down or failed, please use CLUSTER FAILOVER FORCE")
    from pyredis.cluster import failover
    from pyredis.cluster.node import mstime

    st.reset_manual_failover()
    st.mf_end = mstime() + 5000
    if takeover:
        log.warning("Taking over the master (user request).")
        st.bump_epoch_without_consensus()
        failover.replace_my_master(st)
    elif force:
        log.warning("Forced failover user request accepted.")
        st.mf_can_start = True
    else:
        log.warning("Manual failover user request accepted.")
        gossip.send_simple(st, me.slaveof.link, msg.MFSTART)
    return OK


def _set_config_epoch(c, argv, svc, st):
    from pyredis.cluster.state import TODO_SAVE_CONFIG, TODO_UPDATE_STATE

    if len(argv) != 3:
        raise _sub_syntax(argv)
    epoch = _ll(argv[2])
    if epoch < 0:
        raise CommandError(f"ERR Invalid config epoch specified: {epoch}")
    if len(st.nodes) > 1:
        raise CommandError("ERR The user can assign a config epoch only when the node does not know any other node.")
    if st.myself.config_epoch != 0:
        raise CommandError("ERR Node config epoch is already non-zero")
    st.myself.config_epoch = epoch
    log.warning("configEpoch set to %d via CLUSTER SET-CONFIG-EPOCH", epoch)
    if st.current_epoch < epoch:
        st.current_epoch = epoch
    st.do_before_sleep(TODO_SAVE_CONFIG | TODO_UPDATE_STATE)
    return OK


def _reset(c, argv, svc, st):
    if len(argv) not in (2, 3):
        raise _sub_syntax(argv)
    hard = False
    if len(argv) == 3:
        opt = argv[2].lower()
        if opt == b"hard":
            hard = True
        elif opt != b"soft":
            raise syntax_error()
    if st.myself.is_master and len(c.db.data) != 0:
        raise CommandError("ERR CLUSTER RESET can't be called with master nodes containing keys")
    st.reset(hard)
    return OK


_HANDLERS = {
    "info": _info, "myid": _myid, "nodes": _nodes, "slots": _slots, "shards": _shards, "links": _links,
    "keyslot": _keyslot, "countkeysinslot": _countkeysinslot, "getkeysinslot": _getkeysinslot,
    "addslots": _addslots, "delslots": _addslots, "addslotsrange": _addslotsrange,
    "delslotsrange": _addslotsrange, "flushslots": _flushslots, "setslot": _setslot, "bumpepoch": _bumpepoch,
    "saveconfig": _saveconfig, "meet": _meet, "forget": _forget, "replicate": _replicate, "replicas": _replicas,
    "slaves": _replicas, "count-failure-reports": _count_failure_reports, "failover": _failover,
    "set-config-epoch": _set_config_epoch, "reset": _reset,
}


def _make(fn):
    def handler(c, argv):
        svc = _svc(c)
        try:
            return fn(c, argv, svc, svc.state)
        finally:
            svc.kick()

    return handler


# CLUSTER's subcommands as redis-server 7.0's COMMAND INFO has them (name, arity, flags; no keys), in
# name order (HELP is declared below). Literal, like every other family's declarations: reading them from
# the command metadata would load its whole ``info`` section and json at start-up.
_SUBCOMMANDS = (
    ("addslots", -3, "admin stale no_async_loading"), ("addslotsrange", -4, "admin stale no_async_loading"),
    ("bumpepoch", 2, "admin stale no_async_loading"), ("count-failure-reports", 3, "admin stale"),
    ("countkeysinslot", 3, "stale"), ("delslots", -3, "admin stale no_async_loading"),
    ("delslotsrange", -4, "admin stale no_async_loading"), ("failover", -2, "admin stale no_async_loading"),
    ("flushslots", 2, "admin stale no_async_loading"), ("forget", 3, "admin stale no_async_loading"),
    ("getkeysinslot", 4, "stale"), ("info", 2, "stale"), ("keyslot", 3, "stale"), ("links", 2, "stale"),
    ("meet", -4, "admin stale no_async_loading"), ("myid", 2, "stale"), ("nodes", 2, "stale"),
    ("replicas", 3, "admin stale"), ("replicate", 3, "admin stale no_async_loading"),
    ("reset", -2, "admin noscript stale"), ("saveconfig", 2, "admin stale no_async_loading"),
    ("set-config-epoch", 3, "admin stale no_async_loading"), ("setslot", -4, "admin stale no_async_loading"),
    ("shards", 2, "stale"), ("slaves", 3, "admin stale"), ("slots", 2, "stale"),
)


def _register() -> None:
    for sub, arity, flags in _SUBCOMMANDS:
        fn = _HANDLERS.get(sub)
        subcommand("cluster", sub, arity, flags)(_make(fn) if fn else _disabled)


def _disabled(c, argv):
    raise CommandError(DISABLED)


_register()


@subcommand("cluster", "help", 2, "loading stale")
def cmd_cluster_help(c, argv):
    _svc(c)
    return help_lines("cluster")


@command("readonly", 1, "loading stale fast")
def cmd_readonly(c, argv):
    _svc(c)
    c.cluster_readonly = True
    return OK


@command("readwrite", 1, "loading stale fast")
def cmd_readwrite(c, argv):
    _svc(c)
    c.cluster_readonly = False
    return OK


@command("asking", 1, "fast")
def cmd_asking(c, argv):
    _svc(c)
    c.cluster_asking = True
    return OK


@debug_subcommand("clusterlink")
def _debug_clusterlink(c, argv):
    """DEBUG CLUSTERLINK KILL <to|from|all> <node-id>."""
    if len(argv) != 5 or argv[2].lower() != b"kill":
        raise CommandError("ERR unknown subcommand or wrong number of arguments for '%s'. Try DEBUG HELP."
                           % argv[1].decode("utf-8", "replace"))
    svc = c.server.cluster
    if svc is None:
        raise CommandError("ERR Debug option only available for cluster mode enabled setup!")
    st = svc.state
    n = _node_arg(st, argv[4])
    direction = argv[3].lower()
    links = {b"from": [n.inbound_link], b"to": [n.link], b"all": [n.link, n.inbound_link]}.get(direction)
    if links is None:
        c.write_error("ERR Unknown direction %s" % argv[3].decode("utf-8", "replace"))
    else:
        for link in links:
            if link is not None:
                st.free_link(link)
    return OK

