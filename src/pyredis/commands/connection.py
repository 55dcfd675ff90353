"""Connection commands (networking.c): PING, ECHO, QUIT, RESET, HELLO, AUTH, SELECT, CLIENT."""

from __future__ import annotations

import os
import time

from pyredis import REDIS_VERSION
from pyredis.commands.args import get_int
from pyredis.commands.errors import INVALID_DB, CommandError, syntax_error
from pyredis.commands.registry import command, help_lines, subcommand
from pyredis.protocol.numbers import parse_ll
from pyredis.protocol.types import NOREPLY, OK, PONG, MapReply, Raw, Status, Verbatim
from pyredis.server.client import REPLY_OFF, REPLY_ON, REPLY_SKIP_NEXT, client_info_line

WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled."


@command("ping", -1, "fast")
def cmd_ping(c, argv):
    if len(argv) > 2:
        raise CommandError("ERR wrong number of arguments for 'ping' command")
    if c.resp == 2 and (c.channels or c.patterns or c.shard_channels):
        return [b"pong", argv[1] if len(argv) == 2 else b""]
    if len(argv) == 2:
        return argv[1]
    return PONG


@command("echo", 2, "fast loading stale")
def cmd_echo(c, argv):
    return argv[1]


@command("quit", -1, "noscript loading stale fast no_auth allow_busy")
def cmd_quit(c, argv):
    c.close()
    return OK


def check_password(c, user: bytes, password: bytes, argv0: bytes = b"AUTH") -> bool:
    """Check credentials against ACL users (if the ACL module is present) or requirepass."""
    return c.server.acl.authenticate(c, user, password, argv0)  # argv0: the command as typed, for the ACL log


def _authenticated(c, user: bytes) -> None:
    c.authenticated = True
    c.user = user
    parser = getattr(c, "parser", None)
    if parser is not None:
        parser.auth_required = False


@command("auth", -2, "noscript loading stale fast no_auth allow_busy")
def cmd_auth(c, argv):
    if len(argv) > 3:
        raise syntax_error()
    if len(argv) == 2:
        if c.server.acl.default_nopass():
            raise CommandError("ERR AUTH <password> called without any password configured for the default "
                               "user. Are you sure your configuration is correct?")
        user, password = b"default", argv[1]
    else:
        user, password = argv[1], argv[2]
    if not check_password(c, user, password, argv[0]):
        raise CommandError(WRONGPASS)
    _authenticated(c, user)
    return OK


@command("hello", -1, "noscript loading stale fast no_auth allow_busy")
def cmd_hello(c, argv):
    ver = c.resp
    i = 1
    if len(argv) >= 2:
        v = parse_ll(argv[1])
        if v is None:
            raise CommandError("ERR Protocol version is not an integer or out of range")
        if v < 2 or v > 3:
            raise CommandError("NOPROTO unsupported protocol version")
        ver = v
        i = 2
    name = None
    auth = None
    while i < len(argv):
        opt = argv[i].lower()
        if opt == b"auth" and i + 2 < len(argv):
            auth = (argv[i + 1], argv[i + 2])
            i += 3
        elif opt == b"setname" and i + 1 < len(argv):
            name = argv[i + 1]
            _validate_name(name)
            i += 2
        else:
            raise CommandError("ERR Syntax error in HELLO option '%s'" % argv[i].decode("utf-8", "replace"))
    if auth is not None:
        if not check_password(c, *auth, argv[0]):
            raise CommandError(WRONGPASS)
        _authenticated(c, auth[0])
    if not c.authenticated:
        raise CommandError("NOAUTH HELLO must be called with the client already authenticated, otherwise the "
                           "HELLO AUTH <user> <pass> option can be used to authenticate the client and "
                           "select the RESP protocol version at the same time")
    if name is not None:
        c.name = name or None
    c.resp = ver
    role = b"replica" if c.server.keyspace.is_replica else b"master"
    return MapReply([b"server", b"redis", b"version", REDIS_VERSION.encode(), b"proto", ver, b"id", c.id,
                     b"mode", b"standalone", b"role", role, b"modules", []])


@command("select", 2, "loading stale fast")
def cmd_select(c, argv):
    idx = parse_ll(argv[1])
    if idx is None or idx > 2147483647 or idx < -2147483648:
        raise CommandError("ERR value is not an integer or out of range")
    if c.server.cluster is not None and idx != 0:
        raise CommandError("ERR SELECT is not allowed in cluster mode")
    dbs = c.server.keyspace.dbs
    if idx < 0 or idx >= len(dbs):
        raise CommandError(INVALID_DB)
    c.db = dbs[idx]
    return OK


@command("reset", 1, "noscript loading stale fast no_auth allow_busy")
def cmd_reset(c, argv):
    for hook in c.server.events.client_reset:
        hook(c)
    c.multi = None
    c.exec_abort = False
    c.name = None
    c.reply_mode = REPLY_ON
    c.resp = 2
    c.db = c.server.keyspace.dbs[0]
    c.no_evict = False
    c.no_touch = False
    c.monitor = False
    c.authenticated = not c.server.requires_auth()
    c.user = b"default"
    parser = getattr(c, "parser", None)
    if parser is not None:
        parser.auth_required = not c.authenticated
    return Raw(b"+RESET\r\n")


# -- CLIENT ----------------------------------------------------------------------------------------
def _validate_name(name: bytes) -> None:
    for ch in name:
        if ch < 33 or ch > 126:
            raise CommandError("ERR Client names cannot contain spaces, newlines or special characters.")


def client_type(c) -> str:
    if getattr(c, "is_master", False):
        return "master"
    if getattr(c, "is_replica", False):
        return "replica"
    if c.channels or c.patterns or c.shard_channels:
        return "pubsub"
    return "normal"


@subcommand("client", "id", 2, "noscript loading stale")
def cmd_client_id(c, argv):
    return c.id


@subcommand("client", "setname", 3, "noscript loading stale")
def cmd_client_setname(c, argv):
    _validate_name(argv[2])
    c.name = argv[2] or None
    return OK


@subcommand("client", "getname", 2, "noscript loading stale")
def cmd_client_getname(c, argv):
    return c.name


@subcommand("client", "setinfo", 4, "noscript loading stale")
def cmd_client_setinfo(c, argv):
    attr = argv[2].lower()
    if attr not in (b"lib-name", b"lib-ver"):
        raise CommandError("ERR Unrecognized option '%s'" % argv[2].decode("utf-8", "replace"))
    val = argv[3]
    for ch in val:
        if ch < 33 or ch > 126:
            raise CommandError("ERR %s cannot contain spaces, newlines or special characters." %
                               attr.decode())
    if attr == b"lib-name":
        c.lib_name = val
    else:
        c.lib_ver = val
    return OK


def _clients(c):
    return sorted(c.server.clients.values(), key=lambda x: x.id)


@subcommand("client", "list", -2, "admin noscript loading stale")
def cmd_client_list(c, argv):
    clients = _clients(c)
    i = 2
    while i < len(argv):
        opt = argv[i].lower()
        if opt == b"type" and i + 1 < len(argv):
            t = argv[i + 1].lower().decode("utf-8", "replace")
            if t == "slave":
                t = "replica"
            if t not in ("normal", "master", "replica", "pubsub"):
                raise CommandError("ERR Unknown client type '%s'" % argv[i + 1].decode("utf-8", "replace"))
            clients = [x for x in clients if client_type(x) == t]
            i += 2
        elif opt == b"id" and i + 1 < len(argv):
            ids = set()
            for a in argv[i + 1 :]:
                v = parse_ll(a)
                if v is None or v <= 0:
                    raise CommandError("ERR Invalid client ID")
                ids.add(v)
            clients = [x for x in clients if x.id in ids]
            i = len(argv)
        else:
            raise syntax_error()
    now = time.time()
    return Verbatim("".join(client_info_line(x, now, argv if x is c else None) + "\n" for x in clients).encode())


@subcommand("client", "info", 2, "noscript loading stale")
def cmd_client_info(c, argv):
    return Verbatim((client_info_line(c, argv=argv) + "\n").encode())


@subcommand("client", "kill", -3, "admin noscript loading stale")
def cmd_client_kill(c, argv):
    if len(argv) == 3:
        addr = argv[2].decode("utf-8", "replace")
        for x in _clients(c):
            if x.addr == addr:
                _kill(c, x)
                return OK
        raise CommandError("ERR No such client")
    filters = []
    skipme = True
    i = 2
    while i < len(argv):
        if i + 1 >= len(argv):
            raise syntax_error()
        opt, val = argv[i].lower(), argv[i + 1]
        sval = val.decode("utf-8", "replace")
        if opt == b"id":
            v = parse_ll(val)
            if v is None or v <= 0:
                raise CommandError("ERR client-id should be greater than 0")
            filters.append(lambda x, v=v: x.id == v)
        elif opt == b"type":
            t = sval.lower()
            if t == "slave":
                t = "replica"
            if t not in ("normal", "master", "replica", "pubsub"):
                raise CommandError(f"ERR Unknown client type '{sval}'")
            filters.append(lambda x, t=t: client_type(x) == t)
        elif opt == b"addr":
            filters.append(lambda x, a=sval: x.addr == a)
        elif opt == b"laddr":
            filters.append(lambda x, a=sval: x.laddr == a)
        elif opt == b"user":
            users = c.server.acl.users()
            if val not in users:
                raise CommandError(f"ERR No such user '{sval}'")
            filters.append(lambda x, u=val: x.user == u)
        elif opt == b"skipme":
            low = val.lower()
            if low == b"yes":
                skipme = True
            elif low == b"no":
                skipme = False
            else:
                raise syntax_error()
        else:
            raise syntax_error()
        i += 2
    killed = 0
    for x in _clients(c):
        if all(f(x) for f in filters) and not (skipme and x is c):
            _kill(c, x)
            killed += 1
    return killed


def _kill(c, target) -> None:
    target.close()
    if target is not c:
        target.out.clear()
        c.server.clients.pop(target.id, None)  # freed at once, like Redis: gone from CLIENT LIST/KILL
        if getattr(target, "repl_link", None) is not None:
            _shutdown_now(target)
            c.server.replication.on_disconnect(target)  # gone from the replicas (and their buffer) at once
        target.schedule_flush()


def _shutdown_now(target) -> None:
    """A killed replica's peer sees the connection end before our reply to the killer goes out (Redis
    closes the socket in freeClient; an asyncio transport would close it on the next loop iteration)."""
    t = getattr(target, "transport", None)
    sock = t.get_extra_info("socket") if t is not None else None
    if sock is not None:
        import socket

        try:  # (asyncio's TransportSocket refuses shutdown(): a duplicate of the descriptor does it)
            with socket.socket(sock.family, sock.type, fileno=os.dup(sock.fileno())) as dup:
                dup.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


@subcommand("client", "reply", 3, "noscript loading stale")
def cmd_client_reply(c, argv):
    mode = argv[2].lower()
    if mode == b"on":
        c.reply_mode = REPLY_ON
        return OK
    if mode == b"off":
        c.reply_mode = REPLY_OFF
        return NOREPLY
    if mode == b"skip":
        if c.reply_mode == REPLY_ON:
            c.reply_mode = REPLY_SKIP_NEXT
        return NOREPLY
    raise syntax_error()


def _on_off(b: bytes) -> bool:
    low = b.lower()
    if low == b"on":
        return True
    if low == b"off":
        return False
    raise syntax_error()


@subcommand("client", "no-evict", 3, "admin noscript loading stale")
def cmd_client_no_evict(c, argv):
    c.no_evict = _on_off(argv[2])
    return OK


@subcommand("client", "no-touch", 3, "noscript loading stale")
def cmd_client_no_touch(c, argv):
    c.no_touch = _on_off(argv[2])
    return OK


@subcommand("client", "pause", -3, "admin noscript loading stale")
def cmd_client_pause(c, argv):
    ms = get_int(argv[2], "ERR timeout is not an integer or out of range")
    if ms < 0:
        raise CommandError("ERR timeout is negative")
    pause_all = True
    if len(argv) == 4:
        mode = argv[3].lower()
        if mode == b"write":
            pause_all = False
        elif mode != b"all":
            raise CommandError("ERR CLIENT PAUSE mode must be WRITE or ALL")
    elif len(argv) > 4:
        raise syntax_error()
    srv = c.server
    until = time.time() + ms / 1000.0
    if until > srv.paused_until or not srv.pause_all:
        srv.pause_all = pause_all or (srv.pause_all and srv.paused_until > time.time())
        srv.paused_until = max(until, srv.paused_until)
    srv.hold_gate("pause", True)
    for hook in srv.events.paused:
        hook(srv)
    return OK


@subcommand("client", "unpause", 2, "admin noscript loading stale")
def cmd_client_unpause(c, argv):
    srv = c.server
    srv.paused_until = 0.0
    for hook in srv.events.unpaused:
        hook(srv)
    return OK


@subcommand("client", "help", 2, "loading stale")
def cmd_client_help(c, argv):
    return help_lines("client")


__all__ = ["client_info_line", "Status"]
