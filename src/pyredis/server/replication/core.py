"""The replication subsystem (``server.replication``): replication ids and offset, the backlog, the
master side (:class:`MasterRole`) and the replica side (:class:`ReplicaRole`), INFO and ROLE."""

from __future__ import annotations

import logging
import os
import time
from typing import TYPE_CHECKING, Any

from pyredis.server.replication.backlog import Backlog
from pyredis.server.replication.failover import Failover
from pyredis.server.replication.master import ONLINE, STATE_NAMES, MasterRole

if TYPE_CHECKING:
    from pyredis.server.app import Server
    from pyredis.server.replication.replica import ReplicaRole

log = logging.getLogger("pyredis")

READONLY = "READONLY You can't write against a read only replica."
MASTERDOWN = "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."
NOREPLICAS = "NOREPLICAS Not enough good replicas to write."


class Replication:
    """Replication state of one server."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.replid = os.urandom(20).hex()
        self.replid2 = "0" * 40
        self.second_replid_offset = -1
        self.backlog: Backlog | None = None
        self._offset = 0
        self.masterhost: str | None = None
        self.masterport = 0
        self.stat_sync_full = 0
        self.stat_sync_partial_ok = 0
        self.stat_sync_partial_err = 0
        self.stat_unexpected_error_replies = 0
        self.good_replicas_count = 0
        self.master = MasterRole(self)
        # The replica side (replica.py, imported then) is created on first use: REPLICAOF, a replicaof
        # directive, a cluster replica; a server that never replicates from a master does not load it.
        self._replica: ReplicaRole | None = None
        server.events.unpaused.append(self._resume_held)
        self.failover = Failover(self)
        self._last_second = 0
        self.replica_keys: set[tuple[int, bytes]] = set()  # written by clients of a writable replica

    @property
    def replica(self) -> ReplicaRole:
        """The link with our master (:class:`~pyredis.server.replication.replica.ReplicaRole`)."""
        r = self._replica
        if r is None:
            from pyredis.server.replication.replica import ReplicaRole

            r = self._replica = ReplicaRole(self)
        return r

    def _resume_held(self, server: Any = None) -> None:
        """``events.unpaused``: the replica applies what its master sent while clients were paused."""
        if self._replica is not None:
            self._replica.resume_held(server)

    @property
    def persistence(self) -> Any:
        """The persistence subsystem (BGSAVE, loading, the RDB path)."""
        return self.server.persistence

    def install(self) -> None:
        """Plug into the one propagation path (with the AOF), the server's events and configuration."""
        srv = self.server
        ev = srv.events
        srv.propagators.append(self.master.feed)
        ev.cron.append(self.cron)
        ev.client_disconnected.append(self.on_disconnect)
        ev.ready.append(self.on_ready)
        ev.shutdown.append(self.on_shutdown)
        ev.stats_reset.append(self.reset_stats)
        cfg = srv.config

        def min_replicas_changed(*_: object) -> None:
            self.refresh_good_replicas()
            self.refresh_gate()

        cfg.on_change("min-replicas-to-write", min_replicas_changed)
        cfg.on_change("min-replicas-max-lag", min_replicas_changed)
        cfg.on_change("repl-backlog-size", lambda v: self.backlog.resize(v) if self.backlog else None)
        self.persistence.rdb_done_hooks.append(self.master.bgsave_done)

    # -- ids and offset ---------------------------------------------------------------------------------
    @property
    def offset(self) -> int:
        """master_repl_offset."""
        return self.backlog.offset if self.backlog is not None else self._offset

    def change_replid(self) -> None:
        self.replid = os.urandom(20).hex()

    def clear_replid2(self) -> None:
        self.replid2 = "0" * 40
        self.second_replid_offset = -1

    def shift_replid(self) -> None:
        self.replid2 = self.replid
        self.second_replid_offset = self.offset + 1
        self.change_replid()
        log.warning("Setting secondary replication ID to %s, valid up to offset: %d. New replication ID is %s",
                    self.replid2, self.second_replid_offset, self.replid)

    def create_backlog(self, offset: int | None = None) -> None:
        off = self.offset if offset is None else offset
        self._offset = off
        self.backlog = Backlog(self.server.config["repl-backlog-size"], off)

    def rdb_aux(self) -> list[tuple[bytes, bytes]]:
        """repl-stream-db / repl-id / repl-offset for RDB files (rdbPopulateSaveInfo)."""
        if self.masterhost is None:
            if self.backlog is None:
                return []
            db = max(self.master.seldb, 0)
        elif self.replica.master is not None:
            db = self.replica.master.db.id
        elif self.replica.cached is not None:
            db = self.replica.cached[2]
        else:
            return []
        return [(b"repl-stream-db", b"%d" % db), (b"repl-id", self.replid.encode()),
                (b"repl-offset", b"%d" % self.offset)]

    # -- role changes -----------------------------------------------------------------------------------
    def set_master(self, host: str, port: int) -> None:
        """replicationSetMaster."""
        was_master = self.masterhost is None
        self.replica.cancel()
        self.masterhost = None
        self._unblock_all()
        self.masterhost = host
        self.masterport = port
        self.server.config.values["replicaof"] = f"{host} {port}"  # CONFIG REWRITE keeps it
        self.server.keyspace.is_replica = True
        if was_master:
            self.replica.cached = None
            self.replica.cache_myself()
        self.refresh_gate()
        self.server.events.emit_server(self.server.events.role_changed, self.server)
        self.replica.start()

    def unset_master(self) -> None:
        """replicationUnsetMaster (REPLICAOF NO ONE, failover)."""
        if self.masterhost is None:
            return
        self.masterhost = None
        self.server.config.values["replicaof"] = ""
        self.replica.stop()
        self.shift_replid()
        self.master.disconnect_all()
        self.master.seldb = -1
        self.master.no_replicas_since = time.time()
        self.server.keyspace.is_replica = False
        self.refresh_gate()
        self.server.events.emit_server(self.server.events.role_changed, self.server)
        self.replica.restart_aof()  # turned off by a sync that did not finish

    def _unblock_all(self) -> None:
        """disconnectAllBlockedClients: blocked clients get -UNBLOCKED when the role changes."""
        try:
            from pyredis.server.blocking import unblock_client
        except ImportError:
            return
        for c in list(self.server.clients.values()):
            if c.blocked is not None and type(c.blocked).__name__ == "Blocked":
                unblock_client(c, "UNBLOCKED force unblock from blocking operation, instance state changed "
                                  "(master -> replica?)")

    def psync_failover_request(self, c: Any, replid: bytes) -> str | None:
        log.warning("Failover request received for replid %s.", replid.decode("utf-8", "replace"))
        if self.masterhost is None:
            return "ERR PSYNC FAILOVER can't be sent to a master."
        if replid.decode("utf-8", "replace") != self.replid:
            return "ERR PSYNC FAILOVER replid must match my replid."
        self.unset_master()
        from pyredis.server.client import client_info_line

        log.info("MASTER MODE enabled (failover request from '%s')", client_info_line(c))
        return None

    def reset_stats(self, server: Any) -> None:
        """CONFIG RESETSTAT: sync_full / sync_partial_ok / sync_partial_err / unexpected_error_replies."""
        self.stat_sync_full = self.stat_sync_partial_ok = self.stat_sync_partial_err = 0
        self.stat_unexpected_error_replies = 0

    def on_ready(self, server: Any) -> None:
        """Start-up, after the dataset loaded: the replicaof directive, ids restored from the RDB."""
        cfg = self.server.config
        target = (cfg["replicaof"] or "").split()
        aux = getattr(self.persistence, "last_aux", {}) or {}
        rid, roff, rdb = aux.get(b"repl-id"), aux.get(b"repl-offset"), aux.get(b"repl-stream-db")
        valid = rid is not None and roff is not None and rdb is not None and \
            not (self.persistence.aof.state if hasattr(self.persistence, "aof") else 0)
        if len(target) == 2:
            self.masterhost = target[0]
            self.masterport = int(target[1])
            self.server.keyspace.is_replica = True
            self.replica.state = 1  # CONNECT: the cron connects
            if valid:
                self.replid = rid.decode()
                self._offset = int(roff)
                self.replica.cached = (self.replid, int(roff), int(rdb))
            self.refresh_gate()
        elif valid and self._cluster_replica():
            # A cluster replica (nodes.conf): the cluster cron makes it replicate its master, which caches
            # this history (replicationCacheMasterUsingMyself) for a partial resync.
            self.replid = rid.decode()
            self._offset = int(roff)
        elif valid:
            self.replid2 = rid.decode()
            self.second_replid_offset = int(roff) + 1
            self.create_backlog(int(roff))
            self.master.no_replicas_since = time.time()
            # Keys that expired while we were down: their deletions follow the old history.
            verb = b"UNLINK" if cfg["lazyfree-lazy-expire"] else b"DEL"
            for dbid, key in getattr(self.persistence, "expired_at_load", ()):
                self.master.feed(dbid, [verb, key])
        self.persistence.expired_at_load = []

    def _cluster_replica(self) -> bool:
        state = getattr(getattr(self.server, "cluster", None), "state", None)
        return bool(getattr(getattr(state, "myself", None), "is_slave", False))

    def on_shutdown(self, server: Any) -> None:
        """Shutting down: close the master link for good (no reconnect)."""
        host = self.masterhost
        self.masterhost = None
        if self._replica is not None:
            self._replica.cancel()
        self.masterhost = host

    # -- checks -----------------------------------------------------------------------------------------
    def refresh_gate(self) -> None:
        from pyredis.server.logfmt import RedisFormatter

        RedisFormatter.role = "S" if self.masterhost is not None else "M"
        srv = self.server
        cfg = srv.config
        gate = self.masterhost is not None or bool(cfg["min-replicas-to-write"] and cfg["min-replicas-max-lag"])
        need = gate or bool(self.master.replicas)  # replicas' own commands are checked (acl_restricted path)
        checks = srv.events.checks  # listening only while a replica, replicas or min-replicas are active
        if need and self.check not in checks:
            checks.append(self.check)
        elif not need and self.check in checks:
            checks.remove(self.check)
        srv.hold_gate("replication", gate)

    def refresh_good_replicas(self) -> None:
        lag = self.server.config["min-replicas-max-lag"]
        now = time.time()
        self.good_replicas_count = sum(1 for r in self.master.replicas
                                       if r.state == ONLINE and now - r.ack_time <= lag)

    def good_replicas(self) -> int:
        return self.good_replicas_count

    def check(self, c: Any, cmd: Any, argv: list[bytes]) -> bool:
        """READONLY / MASTERDOWN / NOREPLICAS refusals (processCommand)."""
        if getattr(c, "is_master", False):
            return True
        if getattr(c, "is_replica", False):
            return self.master.replica_command(c, cmd)
        srv = self.server
        cfg = srv.config
        write, stale = srv.scripting.queued_flags(cmd, argv)  # a script's flags stand in for EVAL's
        if c.multi and cmd.name == "exec":  # EXEC is judged by the commands it queued
            flags = [srv.scripting.queued_flags(q, a) for q, a in c.multi]
            write = any(w for w, _ in flags)
            stale = all(s for _, s in flags)
        if self.masterhost is not None:
            srv.keyspace.replica_write = bool(cmd.write)
            if write and len(self.replica_keys) < 100000:  # keys written here may need expiring here
                keys = cmd.key_indexes(argv)
                for i in keys:
                    self.replica_keys.add((c.db.id, argv[i]))
            if not self.replica.connected() and not cfg["replica-serve-stale-data"] and not stale:
                srv.reject(c, cmd, MASTERDOWN)
                return False
            if cfg["replica-read-only"] and write and not c.in_exec:
                srv.reject(c, cmd, READONLY)
                return False
        elif cfg["min-replicas-to-write"] and cfg["min-replicas-max-lag"] and write and not c.in_exec:
            if self.good_replicas_count < cfg["min-replicas-to-write"]:
                srv.reject(c, cmd, NOREPLICAS)
                return False
        return True

    # -- cron -------------------------------------------------------------------------------------------
    def cron(self, server: Any) -> None:
        now = int(time.time())
        self.master.fast_cron()
        self.failover.cron()
        if self.replica_keys:  # every cron tick, like databasesCron's expireSlaveKeys
            self._expire_replica_keys()
        if now == self._last_second:
            return
        self._last_second = now
        if self.masterhost is not None:  # ReplicaRole.cron has nothing to do without a master
            self.replica.cron()
        self.master.cron()

    def _expire_replica_keys(self) -> None:
        """expireSlaveKeys: keys with a TTL created by a writable replica's clients expire here."""
        ks = self.server.keyspace
        now = ks.clock()
        for dbid, key in list(self.replica_keys):
            db = ks.dbs[dbid]
            when = db.expires.get(key)
            if when is None:
                if key not in db.data or self.masterhost is None:
                    self.replica_keys.discard((dbid, key))
                continue
            if when <= now:  # deleted like active expiry does it: expired_keys, the event, the DEL
                db.expire_now(key)
                self.replica_keys.discard((dbid, key))

    def on_disconnect(self, c: Any) -> None:
        if getattr(c, "is_replica", False):
            self.master.detach(c)
        if self.master.waiting:
            for entry in list(self.master.waiting):
                if entry[0] is c:
                    self.master.waiting.remove(entry)
                    if entry[3] is not None:
                        entry[3].cancel()

    # -- INFO / ROLE ------------------------------------------------------------------------------------
    def memory_info(self) -> list[tuple[str, int]]:
        """INFO memory: mem_replication_backlog, mem_total_replication_buffers, mem_clients_slaves."""
        b = self.backlog
        if b is None:
            return [("mem_replication_backlog", 0), ("mem_total_replication_buffers", 0), ("mem_clients_slaves", 0)]
        backlog, replicas = b.memory(len(self.master.replicas))
        return [("mem_replication_backlog", backlog), ("mem_total_replication_buffers", b.mem),
                ("mem_clients_slaves", replicas)]

    def info(self) -> list[tuple[str, object]]:
        srv = self.server
        cfg = srv.config
        out: list[tuple[str, object]] = [("role", "master" if self.masterhost is None else "slave")]
        now = time.time()
        if self.masterhost is not None:
            from pyredis.server.replication.replica import CONNECTED, TRANSFER

            rep = self.replica
            if rep.master is not None:
                off, roff = rep.reploff, rep.read_reploff
            elif rep.cached is not None:
                off = roff = rep.cached[1]
            else:
                off = roff = 1
            out += [
                ("master_host", self.masterhost), ("master_port", self.masterport),
                ("master_link_status", "up" if rep.state == CONNECTED else "down"),
                ("master_last_io_seconds_ago", int(now - rep.last_io) if rep.master is not None else -1),
                ("master_sync_in_progress", 1 if rep.state == TRANSFER else 0),
                ("slave_read_repl_offset", roff), ("slave_repl_offset", off),
            ]
            if rep.state == TRANSFER:
                size = max(rep.transfer_size, 0)
                perc = rep.transfer_read / size * 100 if size else 0.0
                out += [("master_sync_total_bytes", rep.transfer_size), ("master_sync_read_bytes", rep.transfer_read),
                        ("master_sync_left_bytes", rep.transfer_size - rep.transfer_read),
                        ("master_sync_perc", "%.2f" % perc),
                        ("master_sync_last_io_seconds_ago", int(now - rep.transfer_lastio))]
            if rep.state != CONNECTED:
                out.append(("master_link_down_since_seconds",
                            int(now - rep.down_since) if rep.down_since else -1))
            out += [("slave_priority", cfg["replica-priority"]), ("slave_read_only", int(cfg["replica-read-only"])),
                    ("replica_announced", int(cfg["replica-announced"]))]
        out.append(("connected_slaves", len(self.master.replicas)))
        if cfg["min-replicas-to-write"] and cfg["min-replicas-max-lag"]:
            out.append(("min_slaves_good_slaves", self.good_replicas_count))
        for i, r in enumerate(self.master.replicas):
            ip = r.announced_ip or r.conn.addr.rsplit(":", 1)[0]
            lag = int(now - r.ack_time) if r.state == ONLINE else 0
            out.append((f"slave{i}", f"ip={ip},port={r.listening_port},state={STATE_NAMES[r.state]},"
                                     f"offset={r.ack_off},lag={lag}"))
        b = self.backlog
        out += [
            ("master_failover_state", self.failover.state_name()), ("master_replid", self.replid),
            ("master_replid2", self.replid2), ("master_repl_offset", self.offset),
            ("second_repl_offset", self.second_replid_offset), ("repl_backlog_active", int(b is not None)),
            ("repl_backlog_size", cfg["repl-backlog-size"]),
            ("repl_backlog_first_byte_offset", b.first if b is not None else 0),
            ("repl_backlog_histlen", b.histlen if b is not None else 0),
        ]
        return out

    def role(self) -> list:
        if self.masterhost is None:
            reps = []
            for r in self.master.replicas:
                if r.state != ONLINE:
                    continue
                ip = r.announced_ip or r.conn.addr.rsplit(":", 1)[0]
                reps.append([ip.encode(), b"%d" % r.listening_port, b"%d" % r.ack_off])
            return [b"master", self.offset, reps]
        from pyredis.server.replication.replica import HANDSHAKE, NONE
        from pyredis.server.replication.replica import STATE_NAMES as LINK_STATES

        rep = self.replica
        state = "handshake" if rep.state == HANDSHAKE else LINK_STATES.get(rep.state, "unknown")
        if rep.state == NONE:
            state = "none"
        return [b"slave", self.masterhost.encode(), self.masterport, state.encode(),
                rep.reploff if rep.master is not None else -1]
