"""redis.conf parsing and the ``redis-server``-style command line."""

from __future__ import annotations

from pyredis import REDIS_VERSION
from pyredis.protocol.parser import split_args
from pyredis.server.config import DIRECTIVES, Config, ConfigError, canonical

# Directives accepted (and remembered) although they are not plain CONFIG values.
_IGNORED = {"include", "rename-command", "user", "loadmodule", "sentinel", "lazyfree-lazy-user-del"}


class ConfigFileError(Exception):
    """A fatal error in the configuration; ``str()`` is the full Redis-style report."""


def _fatal(lineno: int, line: str, msg: str) -> ConfigFileError:
    return ConfigFileError(
        f"\n*** FATAL CONFIG FILE ERROR (Redis {REDIS_VERSION}) ***\n"
        f"Reading the configuration file, at line {lineno}\n>>> '{line.strip()}'\n{msg}"
    )


def apply_config_text(cfg: Config, text: str, source: str = "") -> None:
    """Apply every directive of a config text to *cfg*."""

    seen_multi: set[str] = cfg.seen_multi  # across the file and the command line: a later save appends
    for lineno, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        args = split_args(stripped.encode())
        if args is None:
            raise _fatal(lineno, line, "Unbalanced quotes in configuration line")
        if not args:
            continue
        name = args[0].decode().lower()
        values = [a.decode("utf-8", "surrogateescape") for a in args[1:]]
        if name in _IGNORED:
            if name == "user":
                if not values:
                    raise _fatal(lineno, line, "Bad directive or wrong number of arguments")
                if any(u[0] == args[1] for u in cfg.user_directives):
                    raise _fatal(lineno, line, f"Error in user declaration '{values[0]}': Duplicate user found. "
                                 "A user can only be defined once in config files")
                cfg.user_directives.append(list(args[1:]))
            if name == "rename-command":
                if len(values) != 2:
                    raise _fatal(lineno, line, "Bad directive or wrong number of arguments")
                _rename(cfg, lineno, line, values[0], values[1])
            if name == "loadmodule":
                if not values:
                    raise _fatal(lineno, line, "Bad directive or wrong number of arguments")
                cfg.module_directives.append(list(args[1:]))
            if name == "include" and values:
                try:
                    with open(values[0]) as fh:
                        apply_config_text(cfg, fh.read(), values[0])
                except OSError as e:
                    raise _fatal(lineno, line, f"Can't open included file: {e}") from None
            continue
        cname = canonical(name)
        if cname is None:
            raise _fatal(lineno, line, "Bad directive or wrong number of arguments")
        d = DIRECTIVES[cname]
        if not d.multi_arg and len(values) != (2 if cname == "replicaof" else 1):  # replicaof <host> <port>
            raise _fatal(lineno, line, "wrong number of arguments")
        if cname == "replicaof" and values[0].lower() != "no" and not (
                values[1].isdigit() and 0 <= int(values[1]) <= 65535):
            raise _fatal(lineno, line, "Invalid master port")
        raw = " ".join(values)
        if cname == "save":
            # Several "save" lines accumulate; an empty one resets.
            if raw == "":
                cfg.set("save", "")
                seen_multi.add(cname)
                continue
            if cname in seen_multi:
                raw = cfg.format("save") + " " + raw
            seen_multi.add(cname)
        try:
            cfg.set(cname, raw)
        except ConfigError as e:
            raise _fatal(lineno, line, str(e)) from None


def _rename(cfg: Config, lineno: int, line: str, old: str, new: str) -> None:
    """``rename-command old new``: edit the server's command table (Redis checks it while parsing)."""
    from pyredis.commands import load_all
    from pyredis.server.commandtable import CommandTable, RenameError

    load_all()
    if cfg.command_table is None:
        cfg.command_table = CommandTable()
    try:
        cfg.command_table.rename(old, new)
    except RenameError as e:
        raise _fatal(lineno, line, str(e)) from None


def argv_to_config_text(args: list[str]) -> tuple[str | None, str]:
    """Split ``[config-file] [--name value ...]`` into the file name and config text."""
    conf_file = None
    if args and not args[0].startswith("--") and args[0] != "-":
        conf_file = args[0]
        args = args[1:]
    elif args and args[0] == "-":
        conf_file = "-"
        args = args[1:]
    lines: list[str] = []
    # Redis 7.0's rule: "--name" starts an option unless the previous option still waits for its
    # value (then "--my--value" is that value); "--name value" in one argument is complete.
    handled_last = True
    for i, a in enumerate(args):
        if handled_last and a.startswith("--") and len(a) > 2:
            lines.append(a[2:])
            if len(a[2:].split()) == 1:
                handled_last = False
                if a.lower() == "--save" and (i == len(args) - 1 or args[i + 1].startswith("--")):
                    lines[-1] += ' ""'  # --save without arguments: no snapshots
                    handled_last = True
            else:
                handled_last = True
        elif lines:
            lines[-1] += " " + _repr(a)
            handled_last = True
        else:
            lines.append(_repr(a))
            handled_last = True
    return conf_file, "\n".join(lines)


def _repr(s: str) -> str:
    """A command-line value as Redis appends it to the config text (``sdscatrepr``: always quoted)."""
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch in '\\"':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif o < 32 or o == 127:
            out.append("\\x%02x" % o)
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _quote(s: str) -> str:
    if s and all(c.isalnum() or c in "-_.:/*@,+=%$#!?{}" for c in s):
        return s
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r") + '"'


def rewrite_config_file(cfg: Config, force_all: bool = False) -> None:
    """CONFIG REWRITE: update changed directives in place, append new ones, keep comments.

    *force_all* (DEBUG CONFIG-REWRITE-FORCE-ALL): write every directive, defaults included."""

    path = cfg.config_file
    assert path is not None
    try:
        with open(path) as fh:
            lines = fh.read().splitlines()
    except FileNotFoundError:
        lines = []
    handled: set[str] = set()
    out: list[str] = []
    # multi-line directives rewritten by their owners (the ACL module's "user" lines)
    extra = {name: list(fn()) for name, fn in cfg.rewrite_providers.items()}
    for line in lines:
        s = line.strip()
        if s and not s.startswith("#"):
            first = s.split()[0].lower()
            if first in extra:
                if extra[first]:
                    out.append(extra[first].pop(0))
                continue
            name = canonical(s.split()[0])
            if name is not None:
                if name in handled:
                    continue
                handled.add(name)
                out.append(_directive_line(cfg, name))
                continue
        out.append(line)
    changed = [n for n, d in DIRECTIVES.items()
               if n not in handled and (cfg.format(n) != _default_fmt(cfg, d)
                                        or force_all and not (n == "replicaof" and not cfg.format(n)))]
    remaining = [x for lines_ in extra.values() for x in lines_]
    if changed or remaining:
        out.append("# Generated by CONFIG REWRITE")
        out.extend(_directive_line(cfg, n) for n in changed)
        out.extend(remaining)
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        fh.write("\n".join(out) + "\n")
    import os

    os.replace(tmp, path)


def _directive_line(cfg: Config, name: str) -> str:
    value = cfg.format(name)
    if name == "save":
        return "save " + (value if value else '""')
    if name == "replicaof" and value:  # host and port are two arguments
        return "replicaof " + value
    return f"{name} {_quote(value) if value else chr(34) * 2}"


def _default_fmt(cfg: Config, d) -> str:
    tmp = Config.__new__(Config)
    tmp.values = {d.name: cfg._parse(d, d.default) if d.name != "dir" else cfg.values["dir"]}
    tmp.listeners = {}
    return tmp.format(d.name)
