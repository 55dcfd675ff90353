"""The cluster subsystem of a server (``server.cluster``): the bus listener and links (asyncio), the
host side of :mod:`pyredis.cluster` (keyspace, replication, pub/sub, nodes.conf), and the routing check
run before every command while ``cluster-enabled`` is on."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from typing import TYPE_CHECKING, Any

from pyredis.cluster import gossip, nodesconf, routing
from pyredis.cluster import messages as msg
from pyredis.cluster.node import ClusterNode, mstime
from pyredis.cluster.slots import SlotIndexedDict, key_hash_slot
from pyredis.cluster.state import ClusterState
from pyredis.server.watch import discard

if TYPE_CHECKING:
    from pyredis.commands.registry import Command
    from pyredis.server.app import Server
    from pyredis.server.client import Client

log = logging.getLogger("pyredis")


_ALLOW_CROSS_SLOT, _EVAL_COMPAT = 16, 32  # script flags (pyredis.scripting.shebang)
_SCRIPT_CMDS = frozenset(("eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro"))


def _declared_slot(argv: list[bytes]) -> int:
    """The slot of the first key an EVAL/FCALL declares, -1 without keys."""
    try:
        if int(argv[2]) > 0:
            return key_hash_slot(argv[3])
    except (IndexError, ValueError):
        pass
    return -1


class BusLink(asyncio.Protocol):
    """One cluster bus connection (clusterLink): framing of whole messages, a send buffer."""

    def __init__(self, svc: ClusterService, node: ClusterNode | None) -> None:
        self.svc = svc
        self.node = node
        self.inbound = node is None
        self.ctime = mstime()
        self.transport: asyncio.Transport | None = None
        self.pending: list[bytes] = []
        self.buf = bytearray()
        self.closed = False
        self.task: asyncio.Task | None = None

    # -- the interface ClusterState uses ---------------------------------------------------------------
    def send(self, data: bytes) -> None:
        if self.closed:
            return
        if self.transport is None:
            self.pending.append(data)
        else:
            self.transport.write(data)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.transport is not None:
            self.transport.abort()
        elif self.task is not None:
            self.task.cancel()
        self.svc.links.discard(self)

    def local_ip(self) -> str:
        return _ip(self.transport.get_extra_info("sockname")) if self.transport else ""

    def peer_ip(self) -> str:
        return _ip(self.transport.get_extra_info("peername")) if self.transport else ""

    def events(self) -> str:
        return "r" + ("w" if self.send_buffer_used() else "")

    def send_buffer_used(self) -> int:
        if self.transport is None:
            return sum(map(len, self.pending))
        return self.transport.get_write_buffer_size()

    def send_buffer_allocated(self) -> int:
        return max(self.send_buffer_used(), 1024)

    # -- asyncio -----------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        if self.closed or self.svc.stopped:
            self.closed = True
            transport.abort()
            return
        self.svc.links.add(self)
        for d in self.pending:
            transport.write(d)  # type: ignore[attr-defined]
        self.pending.clear()

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        st = self.svc.state
        st.drop_packet_filter = self.svc.server.debug.drop_cluster_packet_filter  # DEBUG DROP-CLUSTER-PACKET-FILTER
        while not self.closed and len(buf) >= 8:
            try:
                totlen = msg.frame_length(bytes(buf[:8]))
            except msg.DecodeError as e:
                log.warning("%s", e)
                st.free_link(self)
                return
            if len(buf) < totlen:
                break
            frame = bytes(buf[:totlen])
            del buf[:totlen]
            if not gossip.process_packet(st, self, frame):
                break
        self.svc.kick()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed:
            self.svc.state.free_link(self)
            self.svc.kick()


def _ip(addr: Any) -> str:
    if not addr:
        return ""
    ip = addr[0]
    if ip.startswith("::ffff:") and "." in ip:
        ip = ip[7:]
    return ip


class ClusterService:
    """``server.cluster``: the node's :class:`ClusterState` plus its network and server glue."""

    def __init__(self, server: Server) -> None:
        self.server = server
        cfg = server.config
        self.config_file = cfg["cluster-config-file"]
        db0 = server.keyspace.dbs[0]
        data = SlotIndexedDict()
        data.update(db0.data)
        db0.data = data
        self.db0 = db0
        self.links: set[BusLink] = set()
        self.listeners: list[asyncio.AbstractServer] = []
        self.state = st = ClusterState(cfg, self)
        self._lock_fd = -1
        if not self._lock_config():
            raise SystemExit(1)
        self._kicked = False
        self.stopped = False
        self._script_run: Any = None  # the script whose first key slot is _script_slot
        self._script_slot = -1
        self._cron_handle: asyncio.TimerHandle | None = None
        if not nodesconf.load(st, self.config_file):
            st.create_myself()
            self._set_ports(cfg["port"], cfg["tls-port"])
            st.save_config_or_die(True)
        self._set_ports(cfg["port"], cfg["tls-port"])
        st.update_myself_flags()
        self._announce_ip = cfg["cluster-announce-ip"]
        if self._announce_ip:
            st.myself.ip = self._announce_ip
        st.myself.hostname = cfg["cluster-announce-hostname"] or ""
        for name in ("cluster-announce-port", "cluster-announce-bus-port", "cluster-announce-tls-port",
                     "cluster-announce-ip", "cluster-announce-hostname", "cluster-replica-no-failover"):
            cfg.on_change(name, self._refresh_myself)
        # The routing check (-MOVED, -ASK, ...) runs first among the pre-MULTI checks, before the OOM one,
        # where processCommand does it; the gate sends every command through the slow path.
        server.events.pre_checks.insert(0, self.check_command)
        server.events.ready.append(self._verify_data)
        server.hold_gate("cluster", True)

    def _verify_data(self, server: Server) -> None:
        """verifyClusterConfigWithData: a cluster node keeps keys in database 0 only."""
        if any(len(db) for db in server.keyspace.dbs[1:]):
            log.warning("You can't have keys in a DB different than DB 0 when in Cluster mode. Exiting.")
            raise SystemExit(1)

    def _refresh_myself(self, _value: object = None) -> None:
        """CONFIG SET of an announced endpoint or cluster-replica-no-failover updates myself at once."""
        st = self.state
        cfg = self.server.config
        me = st.myself
        me.port, me.pport, me.cport = gossip.announced_ports(st)
        ip = cfg["cluster-announce-ip"]
        if ip:
            st.myself.ip = ip
        elif ip != self._announce_ip:
            st.myself.ip = ""  # detect it again from the next MEET / PING
        self._announce_ip = ip
        st.myself.hostname = cfg["cluster-announce-hostname"] or ""
        st.update_myself_flags()
        self.kick()

    def _set_ports(self, port: int, tls_port: int) -> None:
        """Our listening ports and myself's announced ones (clusterInit, deriveAnnouncedPorts): under
        tls-cluster the client port is the TLS port (the plain one is ``pport``) and the bus port
        defaults to the TLS port + 10000."""
        st = self.state
        cfg = self.server.config
        st.port, st.pport = (tls_port, port) if cfg["tls-cluster"] else (port, 0)
        st.cport = cfg["cluster-port"] or st.port + 10000
        me = st.myself
        me.port, me.pport, me.cport = gossip.announced_ports(st)

    def wants_pport(self, c: Any) -> bool:
        """A client not on TLS in a TLS cluster is shown the nodes' plain ports (Redis's use_pport);
        clients without a connection (scripts) see the TLS ones."""
        if not self.server.config["tls-cluster"]:
            return False
        t = getattr(c, "transport", None)
        return t is not None and t.get_extra_info("ssl_object") is None

    def _bus_ssl(self, server_side: bool) -> Any:
        """The TLS context for the bus under tls-cluster (server side for the listener), else None."""
        tls = self.server.tls
        ctx = tls.outgoing_context("cluster")
        return tls.server_context if ctx is not None and server_side else ctx

    # -- lifecycle ---------------------------------------------------------------------------------
    async def start(self) -> None:
        srv = self.server
        loop = asyncio.get_running_loop()
        st = self.state
        self._set_ports(srv.port, srv.tls_bound_port or srv.config["tls-port"])
        ssl_ctx = self._bus_ssl(server_side=True)
        for b in srv.config["bind"]:
            optional = b.startswith("-")
            h = {"*": "0.0.0.0", "::*": "::"}.get(b.lstrip("-"), b.lstrip("-"))
            try:
                lst = await loop.create_server(lambda: BusLink(self, None), h, st.cport, reuse_address=True,
                                               ssl=ssl_ctx)
            except OSError:
                if optional:
                    continue
                log.warning("Failed listening on port %d (cluster), aborting.", st.cport)
                raise SystemExit(1) from None
            self.listeners.append(lst)
        self._cron_handle = loop.call_later(0.1, self._cron)

    def stop(self) -> None:
        if self._cron_handle is not None:
            self._cron_handle.cancel()
        self.stopped = True
        for lst in self.listeners:
            lst.close()
        for link in list(self.links):
            link.close()
        for node in list(self.state.nodes.values()):  # links still connecting too
            for link in (node.link, node.inbound_link):
                if link is not None:
                    link.close()
        try:
            if self.state.todo & 4:
                self.state.save_config(True)
        except OSError:
            pass

    def _cron(self) -> None:
        if self.stopped:
            return
        try:
            self.state.cron()
            self._enforce_sendbuf_limit()
            self.redirect_blocked_clients()
            self.before_sleep()
        except Exception:  # the cluster cron must keep running
            log.exception("cluster cron failed")
        loop = self.server.loop
        if loop is not None and not loop.is_closed():
            self._cron_handle = loop.call_later(0.1, self._cron)

    def _enforce_sendbuf_limit(self) -> None:
        """cluster-link-sendbuf-limit: free a link whose send buffer grew past the limit."""
        limit = self.server.config["cluster-link-sendbuf-limit"]
        if not limit:
            return
        st = self.state
        for link in list(self.links):
            if link.send_buffer_used() > limit:
                name = link.node.name.decode() if link.node is not None else ""
                log.warning("Freeing cluster link(%s node %s, used memory: %d) due to exceeding send buffer "
                            "memory limit.", "from" if link.inbound else "to", name, link.send_buffer_used())
                st.free_link(link)
                st.links_limit_exceeded += 1

    def redirect_blocked_clients(self) -> None:
        """clusterRedirectBlockedClientIfNeeded: unblock clients waiting on keys no longer served here."""
        st = self.state
        me = st.myself
        for c in list(self.server.clients.values()):
            b = c.blocked
            keys = getattr(b, "keys", None)
            if not keys or getattr(b, "client", None) is not c:
                continue
            err = None
            if st.state != 0:
                err = routing.redirect_error(st, None, 0, routing.DOWN_STATE)
            else:
                slot = key_hash_slot(keys[0])
                node = st.slots[slot]
                cmd = getattr(b, "cmd", None)
                if (c.cluster_readonly and not (cmd is not None and cmd.write) and me.is_slave
                        and me.slaveof is node):
                    node = me
                if node is not me and slot not in st.importing:
                    err = routing.redirect_error(st, node, slot, routing.MOVED if node else routing.DOWN_UNBOUND,
                                                 self.wants_pport(c))
            if err is not None:
                from pyredis.server.blocking import unblock_client

                unblock_client(c, error=err)

    def kick(self) -> None:
        """Run clusterBeforeSleep work soon (after the current batch of events)."""
        if self.state.todo and not self._kicked and self.server.loop is not None:
            self._kicked = True
            self.server.loop.call_soon(self.before_sleep)

    def before_sleep(self) -> None:
        self._kicked = False
        if self.state.todo:
            self.state.before_sleep()

    # -- Host interface ----------------------------------------------------------------------------
    def connect(self, node: ClusterNode) -> BusLink | None:
        loop = self.server.loop
        if loop is None or self.stopped:
            return None
        link = BusLink(self, node)

        async def go() -> None:
            try:
                await asyncio.wait_for(loop.create_connection(lambda: link, node.ip, node.cport,
                                                              ssl=self._bus_ssl(server_side=False)),
                                       max(self.state.node_timeout / 1000, 1.0))
            except (OSError, asyncio.TimeoutError) as e:
                log.log(15, "Connection with Node %s at %s:%d failed: %s", node.name.decode(), node.ip,
                        node.cport, e)
                if not link.closed:
                    self.state.free_link(link)
                return
            except asyncio.CancelledError:
                return
            if not link.closed:
                gossip.on_link_connected(self.state, link)
            self.kick()

        link.task = loop.create_task(go())
        return link

    def count_keys_in_slot(self, slot: int) -> int:
        data = self.db0.data
        return data.count_in_slot(slot) if isinstance(data, SlotIndexedDict) else 0

    def keys_in_slot(self, slot: int, count: int) -> list[bytes]:
        data = self.db0.data
        return data.keys_in_slot(slot, count) if isinstance(data, SlotIndexedDict) else []

    def delete_keys_in_slot(self, slot: int) -> int:
        keys = self.keys_in_slot(slot, 1 << 62)
        srv = self.server
        for k in keys:
            self.db0.delete(k)
            self.db0.signal_modified(k)
            for fn in srv.propagators:
                fn(0, [b"DEL", k])
        return len(keys)

    def remove_channels_in_slot(self, slot: int) -> None:
        ps = self.server.pubsub
        if ps is None or not ps.shard_channels:
            return
        from pyredis.cluster.slots import key_hash_slot

        for ch in [ch for ch in ps.shard_channels if key_hash_slot(ch) == slot]:
            for c in list(ps.shard_channels.get(ch, ())):
                ps.sunsubscribe(c, ch)
                c.shard_channels.discard(ch)
                from pyredis.server.pubsub import subscription_reply

                c.out.append(subscription_reply(b"sunsubscribe", ch, len(c.shard_channels), c.resp))
                c.schedule_flush()

    def _repl(self) -> Any:
        return getattr(self.server, "replication", None)

    def repl_offset(self) -> int:
        """master_repl_offset for a master, the processed offset (replicationGetSlaveOffset) for a replica."""
        repl = self._repl()
        if repl is None:
            return 0
        if getattr(repl, "masterhost", None) is not None:
            replica = getattr(repl, "replica", None)
            if replica is None:
                return 0
            if getattr(replica, "master", None) is not None:
                return int(replica.reploff)
            cached = getattr(replica, "cached", None)
            return int(cached[1]) if cached else 0
        return int(getattr(repl, "offset", 0))

    def set_master(self, ip: str, port: int) -> None:
        repl = self._repl()
        if repl is None:
            log.warning("Replication is not available: cannot replicate %s:%d", ip, port)
            return
        repl.set_master(ip, port)
        self.server.config.values["replicaof"] = ""  # not a directive in cluster mode: CONFIG REWRITE omits it

    def ensure_master(self, ip: str, port: int) -> None:
        """clusterCron: a replica without a replication master (after a restart) connects to its master."""
        repl = self._repl()
        if repl is not None and getattr(repl, "masterhost", None) is None:
            self.set_master(ip, port)

    def unset_master(self) -> None:
        repl = self._repl()
        if repl is not None:
            repl.unset_master()

    def master_link(self) -> tuple[bool, float, float]:
        """(link up, last interaction with the master, down since) for the data age of elections."""
        replica = getattr(self._repl(), "replica", None)
        if replica is None:
            return False, 0.0, time.time()
        connected = bool(replica.connected())
        m = getattr(replica, "master", None)
        last = getattr(m, "last_interaction", 0.0) if m is not None else 0.0
        return connected, last, getattr(replica, "down_since", 0.0) or time.time()

    def publish(self, channel: bytes, message: bytes, shard: bool) -> None:
        ps = self.server.pubsub
        if ps is not None:
            (ps.spublish if shard else ps.publish)(channel, message)

    def has_subscribers(self, shard: bool) -> bool:
        ps = self.server.pubsub
        if ps is None:
            return False
        return bool(ps.shard_channels) if shard else bool(ps.channels or ps.patterns)

    def pause_writes(self, until_ms: int) -> None:
        """A master in a manual failover pauses writes (like CLIENT PAUSE WRITE) until *until_ms*."""
        srv = self.server
        until = until_ms / 1000
        if until > srv.paused_until or srv.pause_all:
            srv.pause_all = srv.pause_all and srv.paused_until > time.time()
            srv.paused_until = max(until, srv.paused_until)
        srv.hold_gate("pause", True)
        for hook in srv.events.paused:
            hook(srv)

    def unpause_writes(self) -> None:
        srv = self.server
        srv.paused_until = 0.0
        for hook in srv.events.unpaused:
            hook(srv)

    def write_config(self, text: str, fsync: bool) -> None:
        nodesconf.write(self.config_file, text, fsync)
        self._lock_config()  # the lock follows the new file (written aside, then renamed over the old one)

    def _lock_config(self) -> bool:
        """clusterLockConfig: one node per nodes.conf, held with flock() while the process lives."""
        import fcntl
        import os

        path = self.config_file
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as e:
            log.warning("Can't open %s in order to acquire a lock: %s", path, e.strerror)
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(fd)
            if e.errno in (11, 35):  # EWOULDBLOCK
                if self._lock_fd != -1:
                    return True  # our own (older) descriptor still holds it
                log.warning("Sorry, the cluster configuration file %s is already used by a different Redis "
                            "Cluster node. Please make sure that different nodes use different cluster "
                            "configuration files.", path)
            else:
                log.warning("Impossible to lock %s: %s", path, e.strerror)
            return False
        if self._lock_fd != -1:
            os.close(self._lock_fd)
        self._lock_fd = fd
        return True

    def flush_data(self) -> None:
        self.server.keyspace.flushall()

    # -- client side -------------------------------------------------------------------------------
    def propagate_publish(self, channel: bytes, message: bytes, sharded: bool) -> None:
        gossip.propagate_publish(self.state, channel, message, sharded)

    def _exists(self, key: bytes) -> bool:
        db = self.db0
        if key not in db.data:
            return False
        w = db.expires.get(key)
        return w is None or w > db.keyspace.clock()

    def check_command(self, c: Client, cmd: Command, argv: list[bytes]) -> bool:
        """The routing check of processCommand; False when the client got a redirection."""
        asking = c.cluster_asking
        name = cmd.parent.name if cmd.parent is not None else cmd.name
        if asking and name not in ("asking", "multi") and (c.multi is None or name == "exec"):
            c.cluster_asking = False
        if c.fake or getattr(c, "is_master", False):
            return True
        first = cmd.first
        if cmd.getkeys is None:
            if first == 0:
                if name != "exec":
                    return True
            elif first == cmd.last and first < len(argv):  # one key: served here in the common case
                st = self.state
                slot = key_hash_slot(argv[first])
                if (st.slots[slot] is st.myself and st.state == 0 and slot not in st.migrating
                        and slot not in st.importing):
                    return True
        if name == "exec":
            if c.multi is None:
                return True
            cmds: list = c.multi
            exec_write = any(m.write for m, _ in cmds)
        else:
            cmds = [(cmd, argv)]
            exec_write = name in _SCRIPT_CMDS and self._script_writes(name, argv)
        st = self.state
        n, code, slot = routing.get_node_by_query(st, cmd, cmds, asking, c.cluster_readonly, self._exists,
                                                  exec_write)
        if n is st.myself:
            return True
        err = routing.redirect_error(st, n, slot, code, self.wants_pport(c))
        cmd.rejected += 1
        if name == "exec":
            discard(c)
        elif c.multi is not None:
            c.exec_abort = True
        c.write_error(err)
        return False

    def _script_writes(self, name: str, argv: list[bytes]) -> bool:
        """getCommandFlags for scripts: a script with a shebang (or a function) writes unless no-writes."""
        from pyredis.scripting import shebang

        sc = self.server.scripting
        try:
            if name.startswith("evalsha"):
                entry = sc.scripts.get(argv[1].lower())
                if entry is None:
                    return False
                flags = entry[1]
            elif name.startswith("eval"):
                flags = shebang.parse_eval(argv[1])[0]
            else:
                fi = sc.functions.get(argv[1].lower())
                if fi is None:
                    return False
                flags = fi.flags
        except Exception:  # a malformed shebang fails when run
            return False
        return not flags & (shebang.EVAL_COMPAT | shebang.NO_WRITES)

    def script_check(self, run: Any, cmd: Command, argv: list[bytes]) -> str | None:
        """scriptVerifyClusterState: the error for a script command touching a key that is not local, or
        (without allow-cross-slot-keys) keys of another slot than the script's."""
        caller = run.caller
        if caller.fake or getattr(caller, "is_master", False):
            return None
        st = self.state
        n, code, slot = routing.get_node_by_query(st, cmd, [(cmd, argv)], caller.cluster_asking,
                                                  caller.cluster_readonly, self._exists)
        if n is not st.myself:
            return routing.script_error(code)
        if slot != -1 and not run.flags & (_ALLOW_CROSS_SLOT | _EVAL_COMPAT):
            if self._script_run is not run:
                self._script_run = run
                self._script_slot = _declared_slot(run.argv)
            if self._script_slot == -1:
                self._script_slot = slot
            elif self._script_slot != slot:
                return "ERR Script attempted to access keys that do not hash to the same slot"
        return None

    def connections(self) -> int:
        """INFO cluster_connections: bus links plus listeners (getClusterConnectionsCount)."""
        return len(self.links) + len(self.listeners)
