"""This server's replicas (replication.c, master side): SYNC/PSYNC serving, full sync through a
disk BGSAVE or diskless to the sockets, the live stream, REPLCONF ACK bookkeeping, keepalives,
replica timeouts, WAIT and min-replicas-to-write."""

from __future__ import annotations

import logging
import os
import time
from typing import TYPE_CHECKING, Any

from pyredis.persistence.aof import encode_command
from pyredis.server.propagate import PROPAGATE_REPL
from pyredis.server.replication.backlog import BLOCK_HEADER, LIST_NODE, TRIM_PER_CALL, Block

if TYPE_CHECKING:
    from pyredis.server.replication.core import Replication
    from pyredis.server.replication.diskless import DisklessTransfer

log = logging.getLogger("pyredis")

WAIT_BGSAVE_START, WAIT_BGSAVE_END, SEND_BULK, ONLINE = range(4)
STATE_NAMES = {WAIT_BGSAVE_START: "wait_bgsave", WAIT_BGSAVE_END: "wait_bgsave", SEND_BULK: "send_bulk",
               ONLINE: "online"}
PING = encode_command([b"PING"])
HIGH_WATER = 256 * 1024  # bytes handed to a replica's transport before waiting for it to drain


class ReplicaLink:
    """What the master knows about one replica connection."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.state = WAIT_BGSAVE_START
        self.listening_port = 0
        self.announced_ip: str | None = None
        self.capa_eof = False
        self.capa_psync2 = False
        self.pre_psync = False  # came with SYNC: no ACKs expected
        self.rdb_only = False
        self.exclude_data = False
        self.exclude_functions = False
        self.ack_off = 0
        self.ack_time = time.time()
        self.ref: Block | None = None  # the shared replication buffer block of the next byte to send
        self.pos = 0
        self.psync_initial_offset = 0
        self.start_on_ack = False  # diskless: stream only once the replica ACKs (it loaded)
        self.last_partial_write = 0.0
        self.socket_target = False

    def name(self) -> str:
        """replicationGetSlaveName: ip:listening-port, else the peer address."""
        addr = self.conn.addr
        ip = self.announced_ip or addr.rsplit(":", 1)[0]
        if self.listening_port:
            return f"{ip}:{self.listening_port}"
        return addr

    def streaming(self) -> bool:
        """Whether the stream is being sent (online, and not waiting for the first ACK)."""
        return self.state == ONLINE and not self.start_on_ack

    def release(self) -> None:
        """freeReplicaReferencedReplBuffer."""
        if self.ref is not None:
            self.ref.refcount -= 1
        self.ref = None
        self.pos = 0


class MasterRole:
    """Replicas attached to this server and the stream sent to them."""

    def __init__(self, repl: Replication) -> None:
        self.repl = repl
        self.server = repl.server
        self.replicas: list[ReplicaLink] = []
        self.seldb = -1  # the db the stream last selected (slaveseldb)
        self.disk_sync_pending = False  # a BGSAVE for replication (disk target) runs
        self.diskless: DisklessTransfer | None = None
        self.no_replicas_since = time.time()
        self.cron_loops = 0
        self.waiting: list[tuple[Any, int, int, Any]] = []  # WAIT clients: (client, numreplicas, offset, timer)
        self.get_ack_pending = False
        self._pump_queue: set[ReplicaLink] = set()
        self.pump_scheduled = False
        self.net_repl_out = 0  # total_net_repl_output_bytes

    # -- the stream -----------------------------------------------------------------------------------
    def feed(self, dbid: int, argv: list[bytes]) -> None:
        """``server.propagators`` entry: the commands this master executed."""
        repl = self.repl
        if repl.backlog is None or repl.masterhost is not None:
            return  # no replicas ever / a replica proxies its master's stream instead
        if dbid != self.seldb:
            s = b"%d" % dbid
            self.feed_raw(b"*2\r\n$6\r\nSELECT\r\n$%d\r\n%s\r\n" % (len(s), s) + encode_command(argv))
            self.seldb = dbid
        else:
            self.feed_raw(encode_command(argv))

    feed.propagate_target = PROPAGATE_REPL  # type: ignore[attr-defined]

    def feed_raw(self, data: bytes) -> None:
        """Append stream bytes to the shared replication buffer (verbatim; proxies use this too);
        replicas past WAIT_BGSAVE_START refer to them from where they start."""
        backlog = self.repl.backlog
        if backlog is None:
            return
        blk, pos, added = backlog.append(data)
        for r in self.replicas:
            if r.state == WAIT_BGSAVE_START or r.rdb_only or r.conn.closed:
                continue
            if r.ref is None:
                r.ref, r.pos = blk, pos
                blk.refcount += 1
            if added and self._over_limit(r):
                continue
            if r.state == ONLINE and not r.start_on_ack:
                self._want_pump(r)
        if added:
            backlog.trim(TRIM_PER_CALL)

    # -- sending the shared buffer ----------------------------------------------------------------------
    def _want_pump(self, r: ReplicaLink) -> None:
        self._pump_queue.add(r)
        if not self.pump_scheduled and self.server.loop is not None:
            self.pump_scheduled = True
            self.server.loop.call_soon(self.pump_all)

    def pump_all(self) -> None:
        """Write what every queued replica is owed (also called before client replies are written:
        Redis writes the replicas' stream first, so a client told +OK finds the write on a replica)."""
        self.pump_scheduled = False
        queue, self._pump_queue = self._pump_queue, set()
        for r in queue:
            self.pump(r)

    def pump(self, r: ReplicaLink) -> None:
        """writeToClient for a replica: hand the transport the buffer from the replica's position,
        up to the high-water mark (the transport's drain callback continues)."""
        c = r.conn
        t = c.transport
        b = r.ref
        if b is None or t is None or c.closed or t.is_closing() or not r.streaming():
            return
        backlog = self.repl.backlog
        while True:
            used = len(b.buf)
            if r.pos < used:
                room = HIGH_WATER - t.get_write_buffer_size()
                if room <= 0:
                    return
                end = min(used, r.pos + max(room, 65536))
                data = b.buf[r.pos:end]
                t.write(data)
                self.net_repl_out += len(data)
                r.pos = end
                continue
            nxt = b.next
            if nxt is None:
                return
            b.refcount -= 1
            nxt.refcount += 1
            r.ref = b = nxt
            r.pos = 0
            if backlog is not None:
                backlog.trim(TRIM_PER_CALL)

    def output_memory(self, r: ReplicaLink) -> int:
        """getClientOutputBufferMemoryUsage of a replica: the shared buffer from its block on."""
        backlog = self.repl.backlog
        if r.ref is None or backlog is None or backlog.tail is None:
            return 0
        size, blocks = backlog.pending_from(r.ref)
        return size + blocks * (LIST_NODE + BLOCK_HEADER)

    def _over_limit(self, r: ReplicaLink) -> bool:
        from pyredis.server.clientmem import close_on_obuf_limit

        if close_on_obuf_limit(r.conn):
            self.detach(r.conn)
            return True
        return False

    # -- SYNC / PSYNC ---------------------------------------------------------------------------------
    def link_of(self, c: Any) -> ReplicaLink:
        link = getattr(c, "repl_link", None)
        if link is None:
            link = ReplicaLink(c)
            c.repl_link = link
        return link

    def sync(self, c: Any, argv: list[bytes]) -> str | None:
        """SYNC/PSYNC; returns an error message, or None when the replica was taken over."""
        repl = self.repl
        srv = self.server
        if getattr(c, "is_replica", False):
            return ""
        psync = argv[0].lower() == b"psync"
        if psync and len(argv) > 3 and argv[3].lower() == b"failover":
            err = repl.psync_failover_request(c, argv[1])
            if err is not None:
                return err
        if repl.failover.in_progress():
            return "NOMASTERLINK Can't SYNC while failing over"
        if repl.masterhost is not None and not repl.replica.connected():
            return "NOMASTERLINK Can't SYNC while not connected with my master"
        if c.out:
            return "ERR SYNC and PSYNC are invalid with pending output"
        link = self.link_of(c)
        if (link.exclude_data or link.exclude_functions) and not link.capa_eof:
            return "ERR Filtered replica requires EOF capability"
        log.info("Replica %s asks for synchronization", link.name())
        if psync:
            try:
                offset = int(argv[2])
            except ValueError:
                log.warning("Replica %s asks for synchronization but with a wrong offset", link.name())
                return "ERR value is not an integer or out of range"
            if self.try_partial(c, link, argv[1].decode("utf-8", "replace"), offset):
                repl.stat_sync_partial_ok += 1
                return None
            if argv[1] != b"?":
                repl.stat_sync_partial_err += 1
        else:
            link.pre_psync = True
        repl.stat_sync_full += 1
        link.state = WAIT_BGSAVE_START
        self._become_replica(c, link)
        if len(self.replicas) == 1 and repl.backlog is None:
            repl.change_replid()
            repl.clear_replid2()
            repl.create_backlog()
            log.info("Replication backlog created, my new replication IDs are '%s' and '%s'",
                     repl.replid, repl.replid2)
        pers = self.repl.persistence
        if self.disk_sync_pending and pers.child is not None:
            other = next((r for r in self.replicas if r.state == WAIT_BGSAVE_END and not r.socket_target
                          and (not r.rdb_only or link.rdb_only)), None)
            if other is not None and (not other.capa_eof or link.capa_eof) and \
                    (other.exclude_data, other.exclude_functions) == (link.exclude_data, link.exclude_functions):
                if not link.rdb_only and other.ref is not None:  # copyReplicaOutputBuffer
                    link.ref, link.pos = other.ref, other.pos
                    other.ref.refcount += 1
                self.setup_full_resync(link, other.psync_initial_offset)
                log.info("Waiting for end of BGSAVE for SYNC")
            else:
                log.info("Can't attach the replica to the current BGSAVE. Waiting for next BGSAVE for SYNC")
        elif self.diskless is not None:
            log.info("Current BGSAVE has socket target. Waiting for next BGSAVE for SYNC")
        elif srv.config["repl-diskless-sync"] and link.capa_eof and srv.config["repl-diskless-sync-delay"]:
            log.info("Delay next BGSAVE for diskless SYNC")
        elif pers.child is None:
            self.start_bgsave(link.capa_eof, (link.exclude_data, link.exclude_functions))
        else:
            log.info("No BGSAVE in progress, but another BG operation is active. BGSAVE for replication delayed")
        return None

    def _become_replica(self, c: Any, link: ReplicaLink) -> None:
        c.is_replica = True
        c.flags_extra = c.flags_extra.replace("S", "") + "S"
        c.acl_restricted = True  # its commands take the checked path: a replica only sends REPLCONF
        c.on_drain = lambda: self._on_drain(link)
        t = getattr(c, "transport", None)
        if t is not None:
            try:
                t.set_write_buffer_limits(high=HIGH_WATER - 1, low=HIGH_WATER // 4)
            except (AttributeError, NotImplementedError):
                pass
        if link not in self.replicas:
            self.replicas.append(link)
        self.repl.refresh_gate()

    def replica_command(self, c: Any, cmd: Any) -> bool:
        """A command from an attached replica: only REPLCONF is valid; anything that would get a reply
        disconnects it (a reply would corrupt the replica's stream)."""
        from pyredis.commands.connection import client_info_line

        name = cmd.parent.name if cmd.parent is not None else cmd.name
        if name == "replconf":
            return True
        if cmd.write or cmd.readonly or cmd.may_replicate:
            log.warning("== CRITICAL == This master is sending an error to its replica: 'Replica can't interact "
                        "with the keyspace' after processing the command '%s'", cmd.fullname)
        log.warning("Replica generated a reply to command '%s', disconnecting it: %s", cmd.fullname,
                    client_info_line(c))
        self._free(c.repl_link)
        return False

    def try_partial(self, c: Any, link: ReplicaLink, replid: str, offset: int) -> bool:
        repl = self.repl
        if replid != repl.replid and (replid != repl.replid2 or offset > repl.second_replid_offset):
            if replid != "?":
                if replid != repl.replid and replid != repl.replid2:
                    log.info("Partial resynchronization not accepted: Replication ID mismatch (Replica asked for "
                             "'%s', my replication IDs are '%s' and '%s')", replid, repl.replid, repl.replid2)
                else:
                    log.info("Partial resynchronization not accepted: Requested offset for second ID was %d, but "
                             "I can reply up to %d", offset, repl.second_replid_offset)
            else:
                log.info("Full resync requested by replica %s", link.name())
            return False
        backlog = repl.backlog
        if backlog is None or not backlog.covers(offset):
            log.info("Unable to partial resync with replica %s for lack of backlog (Replica request was: %d).",
                     link.name(), offset)
            if offset > repl.offset:
                log.warning("Warning: replica %s tried to PSYNC with an offset that is greater than the master "
                            "replication offset.", link.name())
            return False
        link.state = ONLINE
        link.ack_time = time.time()
        link.start_on_ack = False
        link.release()
        self._become_replica(c, link)
        if c.transport is not None and not c.closed:
            c.transport.write(b"+CONTINUE %s\r\n" % repl.replid.encode() if link.capa_psync2 else b"+CONTINUE\r\n")
        at = backlog.locate(offset) if backlog.histlen else None
        if at is not None:  # addReplyReplicationBacklog
            link.ref, link.pos = at
            at[0].refcount += 1
        size = backlog.offset + 1 - offset if at is not None else 0
        self.pump(link)
        log.info("Partial resynchronization request from %s accepted. Sending %d bytes of backlog starting from "
                 "offset %d.", link.name(), size, offset)
        self.repl.refresh_good_replicas()
        return True

    def setup_full_resync(self, link: ReplicaLink, offset: int) -> None:
        link.psync_initial_offset = offset
        link.state = WAIT_BGSAVE_END
        self.seldb = -1
        if not link.pre_psync:
            c = link.conn
            if c.transport is not None and not c.closed:
                c.transport.write(b"+FULLRESYNC %s %d\r\n" % (self.repl.replid.encode(), offset))

    def start_bgsave(self, eof_capa: bool, req: tuple[bool, bool]) -> bool:
        """startBgsaveForReplication: diskless to every waiting replica, or a disk BGSAVE."""
        srv = self.server
        socket_target = (srv.config["repl-diskless-sync"] or any(req)) and eof_capa
        log.info("Starting BGSAVE for SYNC with target: %s", "replicas sockets" if socket_target else "disk")
        waiting = [r for r in self.replicas if r.state == WAIT_BGSAVE_START
                   and (r.exclude_data, r.exclude_functions) == req]
        offset = self.repl.offset
        if socket_target:
            for r in waiting:
                r.socket_target = True
                self.setup_full_resync(r, offset)
            ok = self._start_diskless(waiting, req)
        else:
            ok = self.repl.persistence.bgsave()
            if ok:
                self.disk_sync_pending = True
        if not ok:
            log.warning("BGSAVE for replication failed")
            for r in waiting:
                r.conn.write_error("ERR BGSAVE failed, replication can't continue")
                r.conn.close()
                r.conn.flush()
            return False
        if not socket_target:
            for r in waiting:
                self.setup_full_resync(r, offset)
        return True

    # -- diskless ---------------------------------------------------------------------------------------
    def _start_diskless(self, targets: list[ReplicaLink], req: tuple[bool, bool]) -> bool:
        from pyredis.server.replication.diskless import DisklessTransfer, inline_transfer  # on first use

        if not hasattr(os, "fork") or os.environ.get("PYREDIS_NO_FORK") == "1":
            return inline_transfer(self, targets, req)
        self.diskless = DisklessTransfer.start(self, targets, req)
        return self.diskless is not None

    def _on_drain(self, r: ReplicaLink) -> None:
        """A replica's transport drained: the diskless relay or the stream continues."""
        t = self.diskless
        if t is not None and r in t.targets:
            t.drained(r)
        else:
            self.pump(r)

    # -- disk BGSAVE done ------------------------------------------------------------------------------
    def bgsave_done(self, ok: bool) -> None:
        """The persistence BGSAVE ended: send the file to replicas waiting for it."""
        if not self.disk_sync_pending:
            return
        self.disk_sync_pending = False
        waiting = [r for r in self.replicas if r.state == WAIT_BGSAVE_END and not r.socket_target]
        if not ok:
            log.warning("SYNC failed. BGSAVE child returned an error")
            for r in waiting:
                self._free(r)
            self._start_pending()
            return
        try:
            with open(self.repl.persistence.rdb_path(), "rb") as fh:
                data = fh.read()
        except OSError as e:
            log.warning("SYNC failed. Can't open/stat DB after BGSAVE: %s", e.strerror)
            for r in waiting:
                self._free(r)
            return
        for r in waiting:
            r.state = SEND_BULK
            t = r.conn.transport
            if t is None or r.conn.closed:
                continue
            t.write(b"$%d\r\n" % len(data))
            t.write(data)
            self._rdb_delivered(r, socket=False)
        self._start_pending()

    def _rdb_delivered(self, r: ReplicaLink, socket: bool) -> None:
        if r.rdb_only:
            log.info("Synchronization with replica %s succeeded", r.name())
            r.conn.close()
            r.conn.schedule_flush()
            return
        r.state = ONLINE
        r.ack_time = time.time()
        if socket and not r.pre_psync:
            r.start_on_ack = True  # the RDB was sent with an EOF mark: wait for the replica's ACK
        else:
            self.start_stream(r)
        log.info("Synchronization with replica %s succeeded", r.name())
        self.repl.refresh_good_replicas()

    def start_stream(self, r: ReplicaLink) -> None:
        r.start_on_ack = False
        self.pump(r)

    def _start_pending(self) -> None:
        """Replicas still in WAIT_BGSAVE_START get the next BGSAVE (replicationStartPendingFork)."""
        if self.repl.persistence.child is not None or self.diskless is not None or self.disk_sync_pending:
            return
        waiting = [r for r in self.replicas if r.state == WAIT_BGSAVE_START]
        if not waiting:
            return
        cfg = self.server.config
        if cfg["repl-diskless-sync"] and cfg["repl-diskless-sync-delay"] and all(r.capa_eof for r in waiting):
            return  # the cron starts it after the delay
        first = waiting[0]
        eof = all(r.capa_eof for r in waiting if (r.exclude_data, r.exclude_functions) ==
                  (first.exclude_data, first.exclude_functions))
        self.start_bgsave(eof, (first.exclude_data, first.exclude_functions))

    # -- ACKs -------------------------------------------------------------------------------------------
    def ack(self, c: Any, offset: int) -> None:
        link = getattr(c, "repl_link", None)
        if link is None or not getattr(c, "is_replica", False):
            return
        if offset > link.ack_off:
            link.ack_off = offset
        link.ack_time = time.time()
        if link.start_on_ack and link.state == ONLINE:
            self.start_stream(link)
        self.repl.refresh_good_replicas()
        if self.waiting:
            self.check_waiting()

    # -- disconnects ------------------------------------------------------------------------------------
    def _free(self, r: ReplicaLink) -> None:
        c = r.conn
        c.close()
        c.flush()
        if getattr(c, "transport", None) is not None:
            c.transport.abort()
        self.detach(c)

    def detach(self, c: Any) -> None:
        """A replica connection closed."""
        link = getattr(c, "repl_link", None)
        if link is None or link not in self.replicas:
            return
        self.replicas.remove(link)
        link.release()
        self._pump_queue.discard(link)
        if self.repl.backlog is not None:
            self.repl.backlog.trim(TRIM_PER_CALL)
        if link.state == ONLINE:
            log.info("Connection with replica %s lost.", link.name())
        if not self.replicas:
            self.no_replicas_since = time.time()
            self.repl.refresh_gate()
        t = self.diskless
        if t is not None:
            t.dropped(link)
        pers = self.repl.persistence
        if (link.state == WAIT_BGSAVE_END and not link.socket_target and self.disk_sync_pending
                and pers.child is not None and pers.child.kind == "rdb" and not self.server.config["save"]
                and not any(r.state == WAIT_BGSAVE_END for r in self.replicas)):
            pers.kill_child()  # nobody needs this RDB any more (and no save points want it)
        self.repl.refresh_good_replicas()

    def disconnect_all(self) -> None:
        for r in list(self.replicas):
            self._free(r)

    # -- cron (once a second) ---------------------------------------------------------------------------
    @staticmethod
    def _write_pending(r: ReplicaLink) -> bool:
        """Part of the diskless RDB waits to be written to *r* (Redis times out only such a replica: one that
        the pipe relay merely starves, waiting on another, has repl_last_partial_write 0)."""
        t = r.conn.transport
        return t is not None and t.get_write_buffer_size() > 0

    def cron(self) -> None:
        srv = self.server
        cfg = srv.config
        now = time.time()
        self.cron_loops += 1
        repl = self.repl
        period = max(cfg["repl-ping-replica-period"], 1)
        # (not after the final save of a SHUTDOWN: Redis exits right there, the RDB's offset is the last one)
        if self.cron_loops % period == 0 and self.replicas and repl.masterhost is None \
                and not repl.failover.pausing() and not repl.persistence.shutdown_saved:
            self.feed_raw(PING)
        for r in self.replicas:
            if r.state == WAIT_BGSAVE_START or (r.state == WAIT_BGSAVE_END and not r.socket_target):
                t = r.conn.transport
                if t is not None and not r.conn.closed:
                    t.write(b"\n")
        timeout = cfg["repl-timeout"]
        for r in list(self.replicas):
            if r.state == ONLINE and not r.pre_psync and now - r.ack_time > timeout:
                log.warning("Disconnecting timedout replica (streaming sync): %s", r.name())
                self._free(r)
            elif r.state == WAIT_BGSAVE_END and r.socket_target and r.last_partial_write and \
                    now - r.last_partial_write > timeout and self._write_pending(r):
                log.warning("Disconnecting timedout replica (full sync): %s", r.name())
                self._free(r)
        ttl = cfg["repl-backlog-ttl"]
        if not self.replicas and ttl and repl.backlog is not None and repl.masterhost is None \
                and now - self.no_replicas_since > ttl:
            repl.change_replid()
            repl.clear_replid2()
            repl.backlog = None
            log.info("Replication backlog freed after %d seconds without connected replicas.", ttl)
        # Diskless syncs start after repl-diskless-sync-delay (or once enough replicas wait).
        waiting = [r for r in self.replicas if r.state == WAIT_BGSAVE_START]
        if waiting and self.repl.persistence.child is None and self.diskless is None and not self.disk_sync_pending:
            delay = cfg["repl-diskless-sync-delay"]
            maxr = cfg["repl-diskless-sync-max-replicas"]
            oldest = min(r.conn.created for r in waiting)
            if not cfg["repl-diskless-sync"] or now - oldest >= delay or (maxr and len(waiting) >= maxr):
                first = waiting[0]
                req = (first.exclude_data, first.exclude_functions)
                eof = all(r.capa_eof for r in waiting if (r.exclude_data, r.exclude_functions) == req)
                self.start_bgsave(eof, req)
        self.repl.refresh_good_replicas()

    def fast_cron(self) -> None:
        """Every cron tick: diskless syncs waiting for enough replicas, WAIT bookkeeping."""
        cfg = self.server.config
        if self.repl.backlog is not None:
            self.repl.backlog.trim(10 * TRIM_PER_CALL)
        maxr = cfg["repl-diskless-sync-max-replicas"]
        if maxr and self.diskless is None and self.repl.persistence.child is None:
            waiting = [r for r in self.replicas if r.state == WAIT_BGSAVE_START]
            if len(waiting) >= maxr:
                first = waiting[0]
                req = (first.exclude_data, first.exclude_functions)
                self.start_bgsave(all(r.capa_eof for r in waiting), req)

    # -- WAIT -------------------------------------------------------------------------------------------
    def acked(self, offset: int) -> int:
        return sum(1 for r in self.replicas if r.state == ONLINE and r.ack_off >= offset)

    def request_acks(self) -> None:
        """Ask every replica for an ACK (REPLCONF GETACK *), once per event-loop iteration."""
        if self.get_ack_pending:
            return
        self.get_ack_pending = True
        self.server.loop.call_soon(self._send_getack)

    def _send_getack(self) -> None:
        self.get_ack_pending = False
        if self.repl.masterhost is None:
            self.feed_raw(encode_command([b"REPLCONF", b"GETACK", b"*"]))

    def check_waiting(self) -> None:
        for entry in list(self.waiting):
            c, num, off, timer = entry
            n = self.acked(off)
            if n >= num:
                self.finish_wait(entry, n)

    def finish_wait(self, entry: tuple, n: int | None = None) -> None:
        if entry not in self.waiting:
            return
        self.waiting.remove(entry)
        c, num, off, timer = entry
        if timer is not None:
            timer.cancel()
        if n is None:
            n = self.acked(off)
        c.blocked = None
        if not c.closed:
            c.write(n)
            c.unblock()
