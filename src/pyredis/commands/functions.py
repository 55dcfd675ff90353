"""FUNCTION and FCALL. Placeholder with FUNCTION FLUSH only (the test harness calls it);
the scripting engineer replaces this module with the full implementation."""

from __future__ import annotations

from pyredis.commands.errors import syntax_error
from pyredis.commands.registry import subcommand
from pyredis.protocol.types import OK


@subcommand("function", "flush", -2, "write noscript")
def cmd_function_flush(c, argv):
    if len(argv) > 3 or (len(argv) == 3 and argv[2].lower() not in (b"async", b"sync")):
        raise syntax_error()
    return OK
