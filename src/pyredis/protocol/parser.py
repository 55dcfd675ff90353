"""Sans-IO request parser: feed bytes, get commands (lists of byte strings).

Implements Redis's request grammar: multibulk (``*N\\r\\n$L\\r\\n...``) and inline commands
(space separated, with redis-cli style quoting), with Redis's limits and error messages.
"""

from __future__ import annotations

INLINE_MAX = 64 * 1024


class ProtocolError(Exception):
    """A malformed request. ``commands`` holds the commands parsed before the error."""

    def __init__(self, message: str, commands: list[list[bytes]]) -> None:
        super().__init__(message)
        self.message = message
        self.commands = commands


def _strict_int(b: bytes) -> int | None:
    if b.isdigit():
        if b[0] == 48 and len(b) > 1:
            return None
        return int(b)
    if b[:1] == b"-" and b[1:].isdigit() and b[1:2] != b"0":
        return int(b)
    return None


_ESCAPES = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("a"): 7}
_HEX = b"0123456789abcdefABCDEF"


def split_args(line: bytes) -> list[bytes] | None:
    """Split an inline command like ``sdssplitargs``; ``None`` on unbalanced quotes."""
    if 34 not in line and 39 not in line:
        return line.split()
    args: list[bytes] = []
    i, n = 0, len(line)
    while True:
        while i < n and line[i] in b" \n\r\t\v\f":
            i += 1
        if i >= n:
            return args
        cur = bytearray()
        inq = insq = False
        while True:
            if inq:
                if i >= n:
                    return None
                ch = line[i]
                if ch == 92 and i + 3 < n and line[i + 1] == 120 and line[i + 2] in _HEX and line[i + 3] in _HEX:
                    cur.append(int(line[i + 2 : i + 4], 16))
                    i += 3
                elif ch == 92 and i + 1 < n:
                    i += 1
                    cur.append(_ESCAPES.get(line[i], line[i]))
                elif ch == 34:
                    if i + 1 < n and line[i + 1] not in b" \n\r\t\v\f":
                        return None
                    i += 1
                    break
                else:
                    cur.append(ch)
            elif insq:
                if i >= n:
                    return None
                ch = line[i]
                if ch == 92 and i + 1 < n and line[i + 1] == 39:
                    i += 1
                    cur.append(39)
                elif ch == 39:
                    if i + 1 < n and line[i + 1] not in b" \n\r\t\v\f":
                        return None
                    i += 1
                    break
                else:
                    cur.append(ch)
            else:
                if i >= n:
                    break
                ch = line[i]
                if ch in b" \n\r\t\0":
                    i += 1
                    break
                if ch == 34:
                    inq = True
                elif ch == 39:
                    insq = True
                else:
                    cur.append(ch)
            i += 1
        args.append(bytes(cur))


class RequestParser:
    """Incremental parser of client requests.

    ``feed(data)`` returns the list of complete commands now available. On malformed input it
    raises :class:`ProtocolError` carrying the commands parsed before the bad one; the caller
    replies ``-ERR <message>`` and closes the connection, as Redis does.
    """

    __slots__ = ("_chunks", "_have", "_need", "max_bulk_len", "auth_required", "inline_seen")

    def __init__(self, max_bulk_len: int = 512 * 1024 * 1024) -> None:
        self._chunks: list[bytes] = []
        self._have = 0
        self._need = 0
        self.max_bulk_len = max_bulk_len
        self.auth_required = False
        self.inline_seen = False

    @property
    def buffered(self) -> int:
        """Bytes received but not yet parsed into a command (the query buffer)."""
        return self._have

    def feed(self, data: bytes) -> list[list[bytes]]:
        if self._chunks:
            self._chunks.append(data)
            self._have += len(data)
            if self._have < self._need:
                return []
            data = b"".join(self._chunks)
            self._chunks = []
            self._have = 0
        cmds: list[list[bytes]] = []
        pos = 0
        n = len(data)
        find = data.find
        while pos < n:
            if data[pos] == 42:  # '*'
                nl = find(b"\r", pos)
                if nl < 0 or nl + 1 >= n:
                    if n - pos > INLINE_MAX:
                        raise ProtocolError("Protocol error: too big mbulk count string", cmds)
                    break
                count = _strict_int(data[pos + 1 : nl])
                if count is None or count > 2147483647:
                    raise ProtocolError("Protocol error: invalid multibulk length", cmds)
                if count > 10 and self.auth_required:
                    raise ProtocolError("Protocol error: unauthenticated multibulk length", cmds)
                p = nl + 2
                if count <= 0:
                    pos = p
                    continue
                args = []
                append = args.append
                complete = True
                for _ in range(count):
                    nl = find(b"\r", p)
                    if nl < 0 or nl + 1 >= n:
                        if n - p > INLINE_MAX:
                            raise ProtocolError("Protocol error: too big bulk count string", cmds)
                        complete = False
                        p = n + 1
                        break
                    if data[p] != 36:  # '$'
                        got = chr(data[p])
                        raise ProtocolError(f"Protocol error: expected '$', got '{got}'", cmds)
                    blen = _strict_int(data[p + 1 : nl])
                    if blen is None or blen < 0 or blen > self.max_bulk_len:
                        raise ProtocolError("Protocol error: invalid bulk length", cmds)
                    if blen > 16384 and self.auth_required:
                        raise ProtocolError("Protocol error: unauthenticated bulk length", cmds)
                    start = nl + 2
                    end = start + blen
                    if end + 2 > n:
                        complete = False
                        p = end + 2
                        break
                    append(data[start:end])
                    p = end + 2
                if not complete:
                    self._need = p - pos
                    break
                cmds.append(args)
                pos = p
            else:
                nl = find(b"\n", pos)
                if nl < 0:
                    if n - pos > INLINE_MAX:
                        raise ProtocolError("Protocol error: too big inline request", cmds)
                    self._need = n - pos + 1
                    break
                end = nl - 1 if nl > pos and data[nl - 1] == 13 else nl
                args = split_args(data[pos:end])
                if args is None:
                    raise ProtocolError("Protocol error: unbalanced quotes in request", cmds)
                pos = nl + 1
                self.inline_seen = True
                if args:
                    cmds.append(args)
        if pos < n:
            rest = data[pos:] if pos else data
            self._chunks = [rest]
            self._have = len(rest)
            if self._need <= self._have:
                self._need = self._have + 1
        else:
            self._need = 0
        return cmds
