"""FAILOVER [TO host port [FORCE]] [ABORT] [TIMEOUT ms] (replication.c's coordinated failover): pause
writes, wait until the target replica acknowledged the whole stream, then become its replica with
``PSYNC <replid> <offset> FAILOVER`` so that it promotes itself."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from pyredis.protocol.types import OK

if TYPE_CHECKING:
    from pyredis.server.replication.core import Replication

log = logging.getLogger("pyredis")

NO_FAILOVER, WAIT_FOR_SYNC, FAILOVER_IN_PROGRESS = range(3)
_NAMES = {NO_FAILOVER: "no-failover", WAIT_FOR_SYNC: "waiting-for-sync", FAILOVER_IN_PROGRESS: "failover-in-progress"}
_FAR = 1e12  # pause "forever" (until the failover ends)


class Failover:
    """A coordinated failover from this master to one of its replicas."""

    def __init__(self, repl: Replication) -> None:
        self.repl = repl
        self.state = NO_FAILOVER
        self.end_time = 0.0
        self.force = False
        self.host: str | None = None
        self.port = 0
        self.paused = False

    def state_name(self) -> str:
        return _NAMES[self.state]

    def in_progress(self) -> bool:
        return self.state != NO_FAILOVER

    def pausing(self) -> bool:
        """Writes are paused for the failover (no PINGs are fed meanwhile)."""
        return self.paused

    # -- pause ------------------------------------------------------------------------------------------
    def _pause(self) -> None:
        srv = self.repl.server
        if not srv.paused_until or srv.paused_until < _FAR:
            srv.paused_until = _FAR
            if not srv.pause_all:
                srv.pause_all = False
        srv.hold_gate("pause", True)
        for fn in srv.events.paused:
            fn(srv)
        self.paused = True

    def _unpause(self) -> None:
        if not self.paused:
            return
        self.paused = False
        srv = self.repl.server
        srv.paused_until = 0.0
        for fn in srv.events.unpaused:
            fn(srv)

    # -- state changes ----------------------------------------------------------------------------------
    def clear(self) -> None:
        self.end_time = 0.0
        self.force = False
        self.host = None
        self.port = 0
        self.state = NO_FAILOVER
        self._unpause()

    def abort(self, err: str) -> None:
        if self.state == NO_FAILOVER:
            return
        if self.host:
            log.info("FAILOVER to %s:%d aborted: %s", self.host, self.port, err)
        else:
            log.info("FAILOVER to any replica aborted: %s", err)
        if self.state == FAILOVER_IN_PROGRESS:
            self.repl.unset_master()
        self.clear()

    def psync_result(self, ok: bool) -> None:
        """The PSYNC ... FAILOVER we sent to the target got its reply."""
        if self.state != FAILOVER_IN_PROGRESS:
            return
        if ok:
            self.clear()
        else:
            self.abort("Failover target rejected psync request")

    def _find(self, host: str, port: int) -> Any:
        for r in self.repl.master.replicas:
            ip = r.announced_ip or r.conn.addr.rsplit(":", 1)[0]
            if ip.lower() == host.lower() and r.listening_port == port:
                return r
        return None

    def cron(self) -> None:
        """updateFailoverStatus: fail over once the target caught up (or the timeout passed)."""
        if self.state != WAIT_FOR_SYNC:
            return
        repl = self.repl
        if self.end_time and self.end_time <= time.time():
            if self.force:
                log.info("FAILOVER to %s:%d time out exceeded, failing over.", self.host, self.port)
                self._go()
            else:
                self.abort("Replica never caught up before timeout")
            return
        target = None
        if self.host is not None:
            target = self._find(self.host, self.port)
        else:
            for r in repl.master.replicas:
                if r.ack_off == repl.offset:
                    target = r
                    self.host = r.announced_ip or r.conn.addr.rsplit(":", 1)[0]
                    self.port = r.listening_port
                    break
        if target is not None and target.ack_off == repl.offset:
            log.info("Failover target %s:%d is synced, failing over.", self.host, self.port)
            self._go()

    def _go(self) -> None:
        self.state = FAILOVER_IN_PROGRESS
        assert self.host is not None
        self.repl.set_master(self.host, self.port)

    # -- the command ------------------------------------------------------------------------------------
    def command(self, c: Any, argv: list[bytes]) -> Any:
        """FAILOVER [TO host port [FORCE]] [ABORT] [TIMEOUT ms]."""
        from pyredis.commands.args import get_int
        from pyredis.commands.errors import CommandError, syntax_error

        if len(argv) == 2 and argv[1].lower() == b"abort":
            if self.state == NO_FAILOVER:
                raise CommandError("ERR No failover in progress.")
            self.abort("Failover manually aborted")
            return OK
        timeout = 0
        force = False
        host: str | None = None
        port = 0
        j = 1
        while j < len(argv):
            opt = argv[j].lower()
            if opt == b"timeout" and j + 1 < len(argv) and timeout == 0:
                timeout = get_int(argv[j + 1])
                if timeout <= 0:
                    raise CommandError("ERR FAILOVER timeout must be greater than 0")
                j += 2
            elif opt == b"to" and j + 2 < len(argv) and host is None:
                port = get_int(argv[j + 2])
                host = argv[j + 1].decode("utf-8", "replace")
                j += 3
            elif opt == b"force" and not force:
                force = True
                j += 1
            else:
                raise syntax_error()
        repl = self.repl
        if self.state != NO_FAILOVER:
            raise CommandError("ERR FAILOVER already in progress.")
        if repl.masterhost is not None:
            raise CommandError("ERR FAILOVER is not valid when server is a replica.")
        if not repl.master.replicas:
            raise CommandError("ERR FAILOVER requires connected replicas.")
        if force and (not timeout or host is None):
            raise CommandError("ERR FAILOVER with force option requires both a timeout and target HOST and IP.")
        if host is not None:
            r = self._find(host, port)
            if r is None:
                raise CommandError("ERR FAILOVER target HOST and PORT is not a replica.")
            from pyredis.server.replication.master import ONLINE

            if r.state != ONLINE:
                raise CommandError("ERR FAILOVER target replica is not online.")
            self.host, self.port = host, port
            log.info("FAILOVER requested to %s:%d.", host, port)
        else:
            log.info("FAILOVER requested to any replica.")
        if timeout:
            self.end_time = time.time() + timeout / 1000.0
        self.force = force
        self.state = WAIT_FOR_SYNC
        self._pause()
        return OK
