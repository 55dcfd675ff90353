"""The redis-server log line format (shared by the CLI's handler and the replication role switch)."""

from __future__ import annotations

import logging
import os
import time

_MARKS = {logging.DEBUG: ".", 15: "-", logging.INFO: "*", logging.WARNING: "#", logging.ERROR: "#"}


class RedisFormatter(logging.Formatter):
    """``pid:M 22 Nov 2026 05:30:00.123 * message``, as redis-server logs (S while a replica)."""

    role = "M"

    def format(self, record: logging.LogRecord) -> str:
        t = time.localtime(record.created)
        ms = int(record.msecs)
        stamp = time.strftime("%d %b %Y %H:%M:%S", t)
        return f"{os.getpid()}:{self.role} {stamp}.{ms:03d} {_MARKS.get(record.levelno, '*')} {record.getMessage()}"
