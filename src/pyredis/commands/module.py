"""MODULE LOAD / LOADEX / LIST / UNLOAD / HELP.

The modules subsystem itself is :mod:`pyredis.modules` (``server.modules``, created with the package's
import on first use: by these commands, or when the server is composed with ``loadmodule`` directives).
"""

from __future__ import annotations

import logging

from pyredis.commands.errors import CommandError
from pyredis.commands.registry import help_lines, subcommand
from pyredis.protocol.types import OK
from pyredis.server import protected

log = logging.getLogger("pyredis")

_DENIED = ("ERR MODULE command not allowed. If the enable-module-command option is set to \"local\", "
           "you can run it from a local connection, otherwise you need to set this option in the "
           "configuration file, and then restart the server.")
_LOAD_FAILED = "ERR Error loading the extension. Please check the server logs."


def _allowed(c) -> None:
    """LOAD, LOADEX and UNLOAD are protected (``enable-module-command``); LIST and HELP are not."""
    if protected.allowed(c.server.config["enable-module-command"], c) or getattr(c, "fake", False):
        return
    raise CommandError(_DENIED)


def _load(c, path: bytes, args: list[bytes]) -> object:
    modules = c.server.modules
    from pyredis.modules.manager import ModuleLoadError  # loaded with server.modules

    try:
        modules.load(path.decode("utf-8", "surrogateescape"), args)
    except ModuleLoadError as e:
        log.warning("%s", e)
        raise CommandError(_LOAD_FAILED) from None
    return OK


@subcommand("module", "list", 2, "admin noscript")
def cmd_module_list(c, argv):
    return c.server.modules.list_reply()


@subcommand("module", "load", -3, "admin noscript no_async_loading protected")
def cmd_module_load(c, argv):
    _allowed(c)
    return _load(c, argv[2], argv[3:])


@subcommand("module", "loadex", -3, "admin noscript no_async_loading protected")
def cmd_module_loadex(c, argv):
    _allowed(c)
    args: list[bytes] = []
    i = 3
    while i < len(argv):
        word = argv[i].lower()
        if word == b"config":
            if i + 2 >= len(argv):
                log.info("CONFIG specified without name value pair")
                raise CommandError(_LOAD_FAILED)
            # Python modules declare no module configs: any given one is left unapplied.
            log.warning("Loadex configurations were not applied, likely due to invalid arguments. "
                        "Unloading the module.")
            raise CommandError(_LOAD_FAILED)
        if word == b"args":
            args = argv[i + 1:]
            break
        log.info("Syntax Error from arguments to loadex around %s.", argv[i].decode("utf-8", "replace"))
        raise CommandError(_LOAD_FAILED)
    return _load(c, argv[2], args)


@subcommand("module", "unload", 3, "admin noscript no_async_loading protected")
def cmd_module_unload(c, argv):
    _allowed(c)
    c.server.modules.unload(argv[2].decode("utf-8", "surrogateescape"))
    return OK


@subcommand("module", "help", 2, "loading stale")
def cmd_module_help(c, argv):
    return help_lines("module")
