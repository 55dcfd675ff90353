"""Server commands and data types written in Python (pyredis's modules).

A module file is any ``.py`` file (or importable Python module) holding decorated handlers::

    from pyredis.modules import command, ModuleError

    @command("hello.echo", arity=2, flags="readonly fast")
    def echo(ctx, argv):
        return argv[1]

loaded with ``loadmodule /path/hello.py`` in redis.conf, ``--loadmodule``, or ``MODULE LOAD``.
The module's name is the file's stem unless it sets ``MODULE_NAME``. See docs/modules.md.
"""

from __future__ import annotations

from pyredis.modules.api import CommandSpec, ModuleError, command
from pyredis.modules.blocking import BlockedClient
from pyredis.modules.context import Context
from pyredis.modules.datatype import AOFWriter, DataType, Digest, RDBLoadIO, RDBSaveIO
from pyredis.protocol.types import Double, ErrorReply, MapReply, Push, SetReply, Status, Verbatim

__all__ = [
    "AOFWriter", "BlockedClient", "CommandSpec", "Context", "DataType", "Digest", "Double", "ErrorReply",
    "MapReply", "ModuleError", "Push", "RDBLoadIO", "RDBSaveIO", "SetReply", "Status", "Verbatim", "command",
]
