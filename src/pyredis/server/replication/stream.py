"""Sans-IO pieces of the replication protocol: the command stream parser (each command with its
exact size on the wire, for offset counting and verbatim proxying) and the RDB payload reader
(``$<len>`` and ``$EOF:<mark>`` forms, with the bare-newline keepalives masters send first)."""

from __future__ import annotations


class StreamError(Exception):
    """The master sent something that is not a RESP command stream."""


class CommandStream:
    """Split a replication stream into commands: :meth:`feed` returns ``[(argv, raw), ...]``."""

    def __init__(self) -> None:
        self.buf = b""

    @property
    def buffered(self) -> int:
        return len(self.buf)

    def feed(self, data: bytes) -> list[tuple[list[bytes], bytes]]:
        buf = self.buf + data if self.buf else data
        out: list[tuple[list[bytes], bytes]] = []
        pos = 0
        n = len(buf)
        find = buf.find
        while pos < n:
            start = pos
            if buf[pos] != 42:  # '*'
                if buf[pos] in (10, 13):  # stray newline (keepalive)
                    pos += 1
                    out.append(([], buf[start:pos]))
                    continue
                eol = find(b"\n", pos)
                if eol < 0:
                    break
                line = buf[pos:eol].rstrip(b"\r")
                pos = eol + 1
                out.append((line.split(), buf[start:pos]))  # inline command
                continue
            eol = find(b"\r\n", pos)
            if eol < 0:
                break
            try:
                count = int(buf[pos + 1:eol])
            except ValueError:
                raise StreamError("invalid multibulk length") from None
            p = eol + 2
            argv: list[bytes] = []
            complete = True
            for _ in range(count):
                if p >= n:
                    complete = False
                    break
                if buf[p] != 36:  # '$'
                    raise StreamError("expected '$'")
                e = find(b"\r\n", p)
                if e < 0:
                    complete = False
                    break
                ln = int(buf[p + 1:e])
                s = e + 2
                if s + ln + 2 > n:
                    complete = False
                    break
                argv.append(buf[s:s + ln])
                p = s + ln + 2
            if not complete:
                break
            pos = p
            out.append((argv, buf[start:pos]))
        self.buf = buf[pos:] if pos < n else b""
        return out


EOF_MARK_LEN = 40


class PayloadReader:
    """Receive the full-sync payload after ``+FULLRESYNC``.

    :meth:`feed` returns the bytes following the payload once it is complete (else ``None``);
    ``chunks`` collects the RDB, ``size`` is its length (-1 for the EOF form until the end).
    """

    def __init__(self) -> None:
        self.header_done = False
        self.eof_mark: bytes | None = None
        self.size = -1
        self.read = 0
        self.chunks: list[bytes] = []
        self._tail = b""  # EOF form: the last 40 bytes, held back until the mark is known not to be here
        self._pending = b""
        self.keepalives = 0

    def feed(self, data: bytes) -> bytes | None:
        if not self.header_done:
            body = self.header(data)
            if body is None:
                return None
            data = body
        return self._body(data)

    def header(self, data: bytes) -> bytes | None:
        """Parse the ``$<len>`` / ``$EOF:<mark>`` line; the bytes after it once it is complete."""
        if not self.header_done:
            data = self._pending + data
            while data[:1] == b"\n":
                self.keepalives += 1
                data = data[1:]
            eol = data.find(b"\n")
            if eol < 0:
                self._pending = data
                return None
            line = data[:eol].rstrip(b"\r")
            data = data[eol + 1:]
            self._pending = b""
            if line[:1] == b"-":
                raise StreamError(line[1:].decode("utf-8", "replace"))
            if line[:1] != b"$":
                raise StreamError("Bad protocol from MASTER, the first byte is not '$' (we received '%s'), are "
                                  "you sure the host and port are right?" % line.decode("utf-8", "replace"))
            if line.startswith(b"$EOF:") and len(line) >= 5 + EOF_MARK_LEN:
                self.eof_mark = line[5:5 + EOF_MARK_LEN]
            else:
                self.size = int(line[1:])
            self.header_done = True
        return data

    def _body(self, data: bytes) -> bytes | None:
        if self.eof_mark is None:
            need = self.size - self.read
            take = data[:need]
            if take:
                self.chunks.append(take)
                self.read += len(take)
            if self.read == self.size:
                return data[need:]
            return None
        tail = self._tail + data
        if len(tail) >= EOF_MARK_LEN:
            idx = tail.find(self.eof_mark)
            if idx >= 0 and tail[idx:idx + EOF_MARK_LEN] == self.eof_mark and idx + EOF_MARK_LEN <= len(tail):
                # The mark ends the payload only at the end of what was sent so far.
                body = tail[:idx]
                rest = tail[idx + EOF_MARK_LEN:]
                self.chunks.append(body)
                self.read += len(body)
                self.size = self.read
                return rest
            keep = tail[-EOF_MARK_LEN:]
            body = tail[:-EOF_MARK_LEN]
            if body:
                self.chunks.append(body)
                self.read += len(body)
            self._tail = keep
        else:
            self._tail = tail
        return None

    def data(self) -> bytes:
        return b"".join(self.chunks)
