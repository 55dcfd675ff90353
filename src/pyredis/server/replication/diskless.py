"""Diskless full sync (``repl-diskless-sync``, rdbSaveToSlavesSockets): a fork child writes the RDB
to a pipe, the parent relays it to the replicas' sockets between an ``$EOF:<mark>`` header and the
mark. The child is the persistence subsystem's RDB child meanwhile (``rdb_bgsave_in_progress:1``,
no other BGSAVE). A replica that does not take the data stalls the relay (the child blocks on the
pipe) until it drains or times out, as in redis-server."""

from __future__ import annotations

import logging
import os
import signal
import time
from typing import TYPE_CHECKING, Any

from pyredis.persistence.jobs import CHILD_RDB, Job

if TYPE_CHECKING:
    from pyredis.server.replication.master import MasterRole, ReplicaLink

log = logging.getLogger("pyredis")

STALL = 256 * 1024  # bytes pending in a replica's transport that stop the relay until it drains


class DisklessTransfer:
    """A fork child writing the RDB to a pipe that the parent relays to replica sockets."""

    def __init__(self, master: MasterRole, job: Job, fd: int, mark: bytes, targets: list[ReplicaLink]) -> None:
        self.master = master
        self.job = job
        self.pid = job.pid
        self.fd = fd
        self.mark = mark
        self.targets = targets
        self.start = time.time()
        self.done_reading = False
        self.reading = False

    # -- starting -------------------------------------------------------------------------------------
    @classmethod
    def start(cls, master: MasterRole, targets: list[ReplicaLink], req: tuple[bool, bool]) -> DisklessTransfer | None:
        """Fork the child; None (logged) if it could not start."""
        from pyredis.persistence.rdb import write_rdb

        srv = master.server
        pers = master.repl.persistence
        functions = [] if req[1] else pers._functions()
        rfd, wfd = os.pipe()
        t0 = time.perf_counter()
        try:
            pid = os.fork()
        except OSError as e:
            os.close(rfd)
            os.close(wfd)
            log.warning("Can't save in background: fork: %s", e.strerror)
            return None
        if pid == 0:
            code = 1
            try:
                os.close(rfd)
                pers._child_setup("redis-rdb-to-slaves")
                with os.fdopen(wfd, "wb", buffering=16384) as fh:  # rio fd: 16k (a dead parent is seen soon)
                    write_rdb(srv, fh, dbs=[] if req[0] else None, functions=functions, chunk=16384)
                code = 0
            except BaseException:  # noqa: BLE001 - the child always exits
                pass
            finally:
                os._exit(code)
        os.close(wfd)
        os.set_blocking(rfd, False)
        stats = srv.stats
        stats.latest_fork_usec = int((time.perf_counter() - t0) * 1e6)
        stats.total_forks += 1
        job = Job(CHILD_RDB, time.time())
        job.pid = job.tmp_pid = pid
        job.keys_total = sum(len(db.data) for db in srv.keyspace.dbs)
        t = cls(master, job, rfd, os.urandom(20).hex().encode(), targets)
        job.owner = t
        pers.child = job
        master.diskless = t
        log.info("Background RDB transfer started by pid %d", pid)
        now = time.time()
        for r in targets:
            r.conn.transport.write(b"$EOF:%s\r\n" % t.mark)
            r.last_partial_write = now
        t.resume()
        return t

    # -- relaying -------------------------------------------------------------------------------------
    def live(self) -> list[ReplicaLink]:
        m = self.master
        return [r for r in self.targets if r in m.replicas and not r.conn.closed]

    def resume(self) -> None:
        """Read the pipe again (every target drained below the stall mark)."""
        if self.reading or self.done_reading or self.master.diskless is not self:
            return
        self.reading = True
        self.master.server.loop.add_reader(self.fd, self.read)

    def pause(self) -> None:
        if self.reading:
            self.reading = False
            self.master.server.loop.remove_reader(self.fd)

    def drained(self, r: ReplicaLink) -> None:
        """A target's transport drained: it made progress; continue if nobody else is stalled."""
        r.last_partial_write = time.time()
        if all(x.conn.transport is None or x.conn.transport.get_write_buffer_size() < STALL for x in self.live()):
            self.resume()

    def read(self) -> None:
        m = self.master
        if m.diskless is not self:
            return
        try:
            data = os.read(self.fd, 65536)
        except BlockingIOError:
            return
        except OSError as e:
            log.warning("Diskless rdb transfer, read error sending DB to replicas: %s", e.strerror)
            data = b""
        live = self.live()
        self.targets = live
        if data:
            now = time.time()
            stalled = False
            for r in live:
                t = r.conn.transport
                before = t.get_write_buffer_size()
                t.write(data)
                if before < STALL:
                    r.last_partial_write = now
                if t.get_write_buffer_size() >= STALL:
                    stalled = True
            if not live:
                log.warning("Diskless rdb transfer, last replica dropped, killing fork child.")
                self.end(kill=True)
            elif stalled:
                self.pause()
            return
        self.done_reading = True
        self.pause()
        log.warning("Diskless rdb transfer, done reading from pipe, %d replicas still up.", len(live))
        for r in live:
            r.conn.transport.write(self.mark)
        self.end(kill=False, live=live)

    def dropped(self, r: ReplicaLink) -> None:
        """A target disconnected."""
        if r in self.targets:
            self.targets.remove(r)
            if not self.targets and not self.done_reading:
                log.warning("Diskless rdb transfer, last replica dropped, killing fork child.")
                self.end(kill=True)
            elif not self.done_reading:
                self.drained(self.targets[0])

    # -- the end --------------------------------------------------------------------------------------
    def end(self, kill: bool, live: list[ReplicaLink] | None = None) -> None:
        m = self.master
        if m.diskless is not self:
            return
        m.diskless = None
        self.pause()
        try:
            os.close(self.fd)
        except OSError:
            pass
        job = self.job
        pers = m.repl.persistence
        if pers.child is job:
            pers.child = None
        if kill:
            job.kill()
        res = job.result
        if res is None:
            try:
                _, status = os.waitpid(self.pid, 0)
                res = (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0,
                       os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0)
            except ChildProcessError:
                res = (False, 0)
            job.result = res
        ok, sig = res
        pers.last_bgsave_time = int(time.time() - job.start)
        if kill or sig:
            log.warning("Background transfer terminated by signal %d", sig or signal.SIGUSR1)
        elif ok:
            log.info("Background RDB transfer terminated with success")
        else:
            log.warning("Background transfer error")
        for r in live or ():
            if ok and not sig:
                m._rdb_delivered(r, socket=True)
            else:
                log.warning("SYNC failed. BGSAVE child returned an error")
                m._free(r)
        m._start_pending()

    def child_died(self) -> None:
        """The child exited with an error or a signal (the OOM killer, kill -9) while the relay may be
        stalled on a replica: end the transfer now (checkChildrenDone), the replicas fail their sync."""
        self.end(kill=False, live=self.live())

    def killed(self) -> None:
        """The persistence subsystem killed the child (SHUTDOWN, FLUSHALL, a full sync as replica): its
        replicas are dropped (updateSlavesWaitingBgsave with an error) and will sync again."""
        self.end(kill=True, live=self.live())


def inline_transfer(master: MasterRole, targets: list[ReplicaLink], req: tuple[bool, bool]) -> bool:
    """Without fork: build the RDB in memory and send it at once."""
    from pyredis.persistence.rdb import rdb_bytes

    data = rdb_bytes(master.server, dbs=[] if req[0] else None, functions=[] if req[1] else None)
    mark = os.urandom(20).hex().encode()
    for r in targets:
        r.conn.transport.write(b"$EOF:%s\r\n%s%s" % (mark, data, mark))
        r.socket_target = True

    def finished(targets: list[Any] = targets) -> None:
        for r in targets:
            if r in master.replicas:
                master._rdb_delivered(r, socket=True)

    master.server.loop.call_soon(finished)
    return True
