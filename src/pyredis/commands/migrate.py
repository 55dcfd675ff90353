"""MIGRATE: move keys to another Redis-compatible server with DUMP payloads and RESTORE.

Like redis-server, the transfer is synchronous (bounded by the timeout argument).
"""

from __future__ import annotations

from pyredis.commands.args import get_int
from pyredis.commands.errors import CommandError, syntax_error
from pyredis.commands.registry import command
from pyredis.engine import notify
from pyredis.protocol.types import OK, Status


def _keys_of(argv: list[bytes]) -> list[int]:
    if argv[3]:
        return [3]
    i = 6
    while i < len(argv):
        opt = argv[i].lower()
        if opt == b"auth":  # skip the password (it may read "KEYS")
            i += 1
        elif opt == b"auth2":
            i += 2
        elif opt == b"keys":
            return list(range(i + 1, len(argv)))
        i += 1
    return []


def _encode(args: list[bytes]) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


def _read_reply(f) -> bytes:
    line = f.readline()
    if not line:
        raise OSError("connection closed")
    return line.rstrip(b"\r\n")


@command("migrate", -6, "write", 3, 3, 1, getkeys=_keys_of)
def cmd_migrate(c, argv):
    host, port_b, key, dbid_b, timeout_b = argv[1:6]
    copy = replace = False
    auth: list[bytes] | None = None
    keys = [key] if key else []
    i = 6
    while i < len(argv):
        opt = argv[i].lower()
        if opt == b"copy":
            copy = True
        elif opt == b"replace":
            replace = True
        elif opt == b"auth" and i + 1 < len(argv):
            auth = [argv[i + 1]]
            i += 1
        elif opt == b"auth2" and i + 2 < len(argv):
            auth = [argv[i + 1], argv[i + 2]]
            i += 2
        elif opt == b"keys":
            if key:
                raise CommandError("ERR When using MIGRATE KEYS option, the key argument must be set to the "
                                   "empty string")
            keys = argv[i + 1 :]
            break
        else:
            raise syntax_error()
        i += 1
    timeout = get_int(timeout_b)
    dbid = get_int(dbid_b)
    port = get_int(port_b)
    if timeout <= 0:
        timeout = 1000
    db = c.db
    present = [(k, db.get(k)) for k in keys]
    present = [(k, v) for k, v in present if v is not None]
    if not present:
        return Status(b"NOKEY")
    from pyredis.persistence.rdb import dump_payload

    now = c.server.keyspace.clock()
    cache = c.server.migrate_sockets
    hoststr = host.decode("utf-8", "replace")
    ssl_ctx = c.server.tls.outgoing_context("cluster")  # tls-cluster: MIGRATE speaks TLS, as in Redis
    try:
        cs = cache.get(hoststr, port, timeout / 1000, ssl_ctx.wrap_socket if ssl_ctx is not None else None)
    except TimeoutError:
        raise CommandError("IOERR error or timeout connecting to the client") from None
    except (OSError, UnicodeDecodeError, ValueError):  # refused: Redis notices on its first write
        raise CommandError("IOERR error or timeout writing to target instance") from None
    sock = cs.sock
    select_db = cs.last_dbid != dbid  # the cached connection remembers its database
    out = []
    if auth is not None:
        out.append(_encode([b"AUTH", *auth]))
    if select_db:
        out.append(_encode([b"SELECT", b"%d" % dbid]))
    restore = b"RESTORE-ASKING" if c.server.cluster is not None else b"RESTORE"
    for k, v in present:
        when = db.ttl_ms(k)
        ttl = max(when - now, 1) if when is not None else 0
        args = [restore, k, b"%d" % ttl, dump_payload(v, c.server.config)]
        if replace:
            args.append(b"REPLACE")
        out.append(_encode(args))
    try:
        sock.settimeout(timeout / 1000)
        sock.sendall(b"".join(out))
        f = sock.makefile("rb")
        errors = []
        if auth is not None:
            r = _read_reply(f)
            if r.startswith(b"-"):
                errors.append(r[1:])
        if select_db:
            r = _read_reply(f)  # SELECT
            if r.startswith(b"-"):
                errors.append(r[1:])
                select_db = False
            else:
                cs.last_dbid = dbid
        moved = []
        for k, _ in present:
            r = _read_reply(f)
            if r.startswith(b"-"):
                errors.append(r[1:])
            else:
                moved.append(k)
        f.close()
    except OSError:
        cache.close(hoststr, port)
        raise CommandError("IOERR error or timeout reading to target instance") from None
    if not copy:
        for k in moved:
            db.delete(k)
            c.changed(k, notify.GENERIC, b"del")
        if moved:
            c.repl = [[b"DEL", *moved]]
    if errors:
        raise CommandError("ERR Target instance replied with error: " + errors[0].decode("utf-8", "replace"))
    return OK


@command("restore-asking", -4, "write denyoom asking", 1, 1, 1)
def cmd_restore_asking(c, argv):
    """RESTORE sent by MIGRATE in cluster mode; on a standalone server it is plain RESTORE."""
    from pyredis.commands.registry import TABLE

    return TABLE[b"restore"].handler(c, argv)
