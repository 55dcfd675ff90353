"""COMMAND introspection: COUNT, INFO, DOCS, LIST, GETKEYS, GETKEYSANDFLAGS, HELP."""

from __future__ import annotations

from typing import Any

from pyredis.commands.errors import CommandError, syntax_error
from pyredis.commands.registry import (
    COMMANDS,
    TABLE,
    Command,
    all_commands,
    command,
    help_lines,
    metadata,
    subcommand,
)
from pyredis.engine.glob import compile_glob
from pyredis.protocol.numbers import parse_ll
from pyredis.protocol.types import MapReply, SetReply, Status
from pyredis.server.commandtable import entries as table_entries
from pyredis.server.commandtable import listed_commands
from pyredis.server.commandtable import lookup as table_lookup
from pyredis.server.commandtable import lookup_path as table_lookup_path

_cache: dict[str, Any] = {}


def _to_reply(x: Any) -> Any:
    """Convert captured RESP3 JSON (see scripts/gen_command_meta.py) into reply values."""
    if isinstance(x, str):
        return x.encode("utf-8", "surrogateescape")
    if isinstance(x, list):
        return [_to_reply(i) for i in x]
    if isinstance(x, dict):
        if "+" in x:
            return Status(x["+"].encode())
        if "~" in x:
            return SetReply([_to_reply(i) for i in x["~"]])
        if "%" in x:
            return MapReply([_to_reply(i) for i in x["%"]])
    return x


def _flags_of(cmd: Command) -> list:
    return [Status(f.encode()) for f in sorted(cmd.flags) if f != "protected"]  # hidden, as in Redis


def command_info(cmd: Command) -> list:
    """The COMMAND INFO entry of *cmd* (redis-server's own when known, else from the declaration)."""
    module_info = getattr(cmd.handler, "info_entry", None)  # a module command (pyredis.modules)
    if module_info is not None:
        return module_info(cmd)
    key = "info:" + cmd.fullname
    if key not in _cache:
        meta = metadata()["info"].get(cmd.fullname)
        if meta is not None:
            entry = _to_reply(meta)
            subs = dict(cmd.subcommands or {})
            ordered = []
            for sub_meta in entry[9]:
                name = sub_meta[0].split(b"|", 1)[1]
                if name in subs:
                    ordered.append(command_info(subs.pop(name)))
            ordered += [command_info(s) for s in subs.values()]
            entry[9] = type(entry[9])(ordered)
        else:
            entry = [cmd.fullname.encode(), cmd.arity, SetReply(_flags_of(cmd)), cmd.first, cmd.last, cmd.step,
                     SetReply([]), SetReply([]), [],
                     [command_info(s) for s in (cmd.subcommands or {}).values()]]
        _cache[key] = entry
    return _cache[key]


def command_docs(cmd: Command) -> Any:
    module_docs = getattr(cmd.handler, "docs_entry", None)  # a module command (pyredis.modules)
    if module_docs is not None:
        return module_docs(cmd)
    key = "docs:" + cmd.fullname
    if key not in _cache:
        meta = metadata()["docs"].get(cmd.name)
        if cmd.parent is not None:  # a subcommand's docs are in its container's "subcommands" map
            parent = metadata()["docs"].get(cmd.parent.name)
            pairs = parent["%"] if isinstance(parent, dict) else []
            subs = next((pairs[i + 1]["%"] for i in range(0, len(pairs) - 1, 2) if pairs[i] == "subcommands"), [])
            meta = next((subs[i + 1] for i in range(0, len(subs) - 1, 2) if subs[i] == cmd.fullname), None)
        if meta is None:
            _cache[key] = MapReply([b"summary", b"", b"since", b"7.0.0", b"group", b"server"])
        else:
            doc = _to_reply(meta)
            # Only list the subcommands we implement.
            for i in range(0, len(doc), 2):
                if doc[i] == b"subcommands" and cmd.subcommands:
                    subs = doc[i + 1]
                    keep = MapReply()
                    for j in range(0, len(subs), 2):
                        if subs[j].split(b"|")[-1] in cmd.subcommands:
                            keep += [subs[j], subs[j + 1]]
                    doc[i + 1] = keep
            _cache[key] = doc
    return _cache[key]


def _key_specs(cmd: Command) -> list[dict]:
    meta = metadata()["info"].get(cmd.fullname)
    if not meta:
        return []
    specs = []
    raw = meta[8]["~"] if isinstance(meta[8], dict) else meta[8]
    for spec in raw:
        d = dict(zip(spec["%"][::2], spec["%"][1::2], strict=False))
        specs.append({
            "flags": [f["+"] for f in d.get("flags", {}).get("~", [])],
            "bs": dict(zip(d["begin_search"]["%"][::2], d["begin_search"]["%"][1::2], strict=False)),
            "fk": dict(zip(d["find_keys"]["%"][::2], d["find_keys"]["%"][1::2], strict=False)),
        })
    return specs


def _spec(d: dict) -> dict:
    s = d.get("spec")
    if isinstance(s, dict) and "%" in s:
        return dict(zip(s["%"][::2], s["%"][1::2], strict=False))
    return {}


def keys_from_specs(cmd: Command, argv: list[bytes], partial: bool = False) -> list[tuple[int, list[str]]] | None:
    """Key positions (with key-spec flags) from redis-server's key specs for *cmd*, as
    getKeysUsingKeySpecs: a spec that cannot be resolved (an unknown or incomplete spec, a bad or
    huge numkeys) makes it answer None, or with *partial* skips that spec."""
    out: list[tuple[int, list[str]]] = []
    n = len(argv)
    for spec in _key_specs(cmd):
        if "not_key" in spec["flags"]:
            continue
        bs, fk = spec["bs"], spec["fk"]
        start = None
        if bs.get("type") == "index":
            start = _spec(bs)["index"]
        elif bs.get("type") == "keyword":
            sp = _spec(bs)
            kw = sp["keyword"].encode().lower()
            frm = sp["startfrom"]
            rng = range(frm, n - 1) if frm > 0 else range(n + frm, 1, -1)
            for i in rng:
                if i >= n or i < 1:
                    break
                if argv[i].lower() == kw:
                    start = i + 1
                    break
            if start is None:
                continue
        elif partial:
            continue
        else:
            return None
        sp = _spec(fk)
        last = -1
        if fk.get("type") == "range":
            step = sp["keystep"]
            lastkey = sp["lastkey"]
            limit = sp.get("limit", 0)
            if lastkey >= 0:
                last = start + lastkey
            elif not limit:
                last = n + lastkey
            else:
                last = start + ((n - start) // limit + lastkey)
        elif fk.get("type") == "keynum":
            step = sp["keystep"]
            numidx = start + sp["keynumidx"]
            num = parse_ll(argv[numidx]) if numidx < n else None
            if num is not None and num >= 0:
                num = ((num + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)  # Redis casts numkeys to an int
                start += sp["firstkey"]
                last = start + num - 1
        if last >= n or last < start or start >= n:
            if partial:
                continue
            return None
        out.extend((i, spec["flags"]) for i in range(start, last + 1, step))
        if "incomplete" in spec["flags"] and not partial:
            return None
    return out


def _prefer_specs(cmd: Command) -> bool:
    """Redis resolves keys from the key specs first unless one has variable flags."""
    specs = _key_specs(cmd)
    return bool(specs) and not any("variable_flags" in s["flags"] for s in specs)


def get_keys(cmd: Command, argv: list[bytes]) -> list[int]:
    """Key argument positions of *argv* for *cmd* (getKeysFromCommandWithSpecs: key specs, then
    the command's own key finder, else first/last/step)."""
    if _prefer_specs(cmd):
        found = keys_from_specs(cmd, argv)
        if found is not None:
            return [i for i, _ in found]
    if cmd.getkeys is not None:
        return cmd.getkeys(argv)
    if _key_specs(cmd):  # variable flags (SET, BITFIELD): setGetKeys/bitfieldGetKeys find the same keys
        return [i for i, _ in keys_from_specs(cmd, argv, partial=True) or []]
    return cmd.key_indexes(argv)


def has_keys(cmd: Command) -> bool:
    """Whether *cmd* takes key arguments at all (COMMAND GETKEYS refuses commands that do not)."""
    return cmd.getkeys is not None or bool(_key_specs(cmd)) or cmd.first != 0


# The COMMAND family looks names up in the server's table (rename-command edits it, as in Redis) and
# shows commands under their original names.
@command("command", -1, "loading stale")
def cmd_command(c, argv):
    return [command_info(cmd) for _name, cmd in table_entries(c.server.commands)
            if cmd.handler is not None or cmd.subcommands]


@subcommand("command", "count", 2, "loading stale")
def cmd_command_count(c, argv):
    table = c.server.commands
    return len(COMMANDS) if table is TABLE else len(table_entries(table))


@subcommand("command", "info", -2, "loading stale")
def cmd_command_info(c, argv):
    if len(argv) == 2:
        return cmd_command(c, argv)
    out = []
    for name in argv[2:]:
        cmd = table_lookup_path(c.server.commands, name)
        out.append(command_info(cmd) if cmd is not None else None)
    return out


@subcommand("command", "docs", -2, "loading stale")
def cmd_command_docs(c, argv):
    out = MapReply()
    table = c.server.commands
    names = [name for name, _cmd in table_entries(table)] if len(argv) == 2 else argv[2:]
    for name in names:
        cmd = table_lookup_path(table, name)
        if cmd is None:
            continue
        out += [cmd.fullname.encode(), command_docs(cmd)]
    return out


@subcommand("command", "list", -2, "loading stale")
def cmd_command_list(c, argv):
    table = c.server.commands
    cmds = all_commands() if table is TABLE else listed_commands(table)
    if len(argv) > 2:
        if len(argv) != 5 or argv[2].lower() != b"filterby":
            raise syntax_error()
        kind, val = argv[3].lower(), argv[4]
        if kind == b"module":
            name = val.decode("utf-8", "surrogateescape")
            cmds = [x for x in cmds if getattr(x.handler, "module_name", None) == name]
        elif kind == b"aclcat":
            cat = b"@" + val.lower()
            cmds = [x for x in cmds if cat in command_info(x)[6]]
        elif kind == b"pattern":
            m = compile_glob(val, nocase=True)
            cmds = [x for x in cmds if m(x.fullname.encode())]
        else:
            raise syntax_error()
    return [x.fullname.encode() for x in cmds]


def _resolve(c: Any, argv: list[bytes]) -> tuple[Command, list[bytes]]:
    args = argv[2:]
    cmd = table_lookup(c.server.commands, args[0])
    if cmd is None:
        raise CommandError("ERR Invalid command specified")
    if cmd.subcommands and len(args) > 1:
        cmd = cmd.subcommands.get(args[1].lower(), cmd)
    ar = cmd.arity
    if (ar > 0 and len(args) != ar) or len(args) < -ar:
        raise CommandError("ERR Invalid number of arguments specified for command")
    return cmd, args


_SPEC_ONLY = ("incomplete", "variable_flags")  # key-spec flags a command's own key finder resolves


def _bitfield_ro(args: list[bytes]) -> bool:
    """bitfieldGetKeys: the key is read-only when every operation is a GET (or OVERFLOW)."""
    i, n = 2, len(args)
    while i < n:
        op, rem = args[i].lower(), n - i - 1
        if op == b"get" and rem >= 2:
            i += 3
        elif op == b"overflow" and rem >= 1:
            i += 2
        else:
            return False
    return True


def _no_keys(cmd: Command) -> list[Any]:
    """No key found: an empty list for no_mandatory_keys commands, else Redis's error (a bad numkeys)."""
    if "no_mandatory_keys" in cmd.flags:
        return []
    raise CommandError("ERR Invalid arguments specified for command")


@subcommand("command", "getkeys", -4, "loading stale")
def cmd_command_getkeys(c, argv):
    cmd, args = _resolve(c, argv)
    if not has_keys(cmd):
        raise CommandError("ERR The command has no key arguments")
    return [args[i] for i in get_keys(cmd, args)] or _no_keys(cmd)


@subcommand("command", "getkeysandflags", -4, "loading stale")
def cmd_command_getkeysandflags(c, argv):
    cmd, args = _resolve(c, argv)
    if not has_keys(cmd):
        raise CommandError("ERR The command has no key arguments")
    found = keys_from_specs(cmd, args) if _prefer_specs(cmd) else None
    if found is not None:
        pairs = found
    elif cmd.getkeys is not None:
        # The command's own key finder gives the positions; flags come from the matching key
        # spec, or from the last spec Redis leaves open (SORT ... STORE's destination).
        known = dict(keys_from_specs(cmd, args, partial=True) or [])
        specs = _key_specs(cmd)
        unknown = [s["flags"] for s in specs if s["bs"].get("type") == "unknown"]
        fallback = unknown[-1] if unknown else (specs[-1]["flags"] if specs else [])
        pairs = [(i, [f for f in known.get(i, fallback) if f not in _SPEC_ONLY]) for i in cmd.getkeys(args)]
    elif _key_specs(cmd):
        pairs = [(i, [f for f in fl if f not in _SPEC_ONLY]) for i, fl in keys_from_specs(cmd, args, partial=True) or []]
    else:
        pairs = [(i, []) for i in get_keys(cmd, args)]
    if cmd.fullname == "bitfield" and pairs:
        pairs = [(pairs[0][0], ["RO", "access"] if _bitfield_ro(args) else ["RW", "access", "update"])]
    if cmd.fullname == "set" and pairs and not any(a.lower() == b"get" for a in args[3:]):
        pairs = [(pairs[0][0], ["OW", "update"])]  # SET's variable flags, resolved like Redis
    return [[args[i], SetReply([Status(f.encode()) for f in flags])] for i, flags in pairs] or _no_keys(cmd)


@subcommand("command", "help", 2, "loading stale")
def cmd_command_help(c, argv):
    return help_lines("command")
