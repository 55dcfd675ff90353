"""FAILOVER [TO host port [FORCE]] [ABORT] [TIMEOUT ms] (replication.c's failover state machine)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyredis.server.replication.core import Replication

NO_FAILOVER, WAIT_FOR_SYNC, FAILOVER_IN_PROGRESS = range(3)
_NAMES = {NO_FAILOVER: "no-failover", WAIT_FOR_SYNC: "waiting-for-sync", FAILOVER_IN_PROGRESS: "failover-in-progress"}


class Failover:
    """A coordinated failover from this master to one of its replicas."""

    def __init__(self, repl: Replication) -> None:
        self.repl = repl
        self.state = NO_FAILOVER

    def state_name(self) -> str:
        return _NAMES[self.state]

    def in_progress(self) -> bool:
        return self.state != NO_FAILOVER

    def pausing(self) -> bool:
        return self.state != NO_FAILOVER

    def cron(self) -> None:
        """Advance a running failover."""

    def command(self, c: Any, argv: list[bytes]) -> Any:
        """FAILOVER [TO host port [FORCE]] [ABORT] [TIMEOUT ms]."""
        from pyredis.commands.args import get_int
        from pyredis.commands.errors import CommandError, syntax_error

        i = 1
        while i < len(argv):
            opt = argv[i].lower()
            if opt == b"to" and i + 2 < len(argv):
                i += 3
            elif opt == b"timeout" and i + 1 < len(argv):
                get_int(argv[i + 1])
                i += 2
            elif opt in (b"force", b"abort"):
                i += 1
            else:
                raise syntax_error()
        if len(argv) == 2 and argv[1].lower() == b"abort":
            raise CommandError("ERR No failover in progress.")
        raise CommandError("ERR FAILOVER requires connected replicas.")
