"""The AOF manifest: the list of base, history and incremental files of a multi-part AOF
(``<appendfilename>.manifest``), its parser (Redis's quoting and error wording) and writer."""

from __future__ import annotations

from pyredis.protocol.parser import split_args
from pyredis.protocol.quoting import repr_arg

BASE, HIST, INCR = "b", "h", "i"


class AOFError(Exception):
    """An AOF that cannot be loaded; the message is what the server logs before exiting."""


# ==================================================================================================
# Manifest
# ==================================================================================================
class AOFInfo:
    __slots__ = ("name", "seq", "type")

    def __init__(self, name: str, seq: int, ftype: str) -> None:
        self.name = name
        self.seq = seq
        self.type = ftype

    def line(self) -> str:
        return f"file {_quote(self.name)} seq {self.seq} type {self.type}\n"


def _quote(name: str) -> str:
    """A file name as the manifest holds it: bare, or quoted like ``sdscatrepr`` when it needs it
    (a quote character too: Redis writes it bare, and then cannot split the line it wrote)."""
    if name and all(33 <= ord(ch) < 127 and ch not in "\"'\\" for ch in name):
        return name
    return repr_arg(name.encode("utf-8", "surrogateescape")).decode("ascii")


def _split_args(line: str) -> list[str] | None:
    """Split a manifest line like ``sdssplitargs`` (quotes, ``\\xHH`` byte escapes); None when unbalanced.

    The line is text read with ``surrogateescape``: it is split as the bytes it was read from."""
    args = split_args(line.encode("utf-8", "surrogateescape"))
    return None if args is None else [a.decode("utf-8", "surrogateescape") for a in args]


class Manifest:
    """The list of files making up the AOF."""

    def __init__(self) -> None:
        self.base: AOFInfo | None = None
        self.incr: list[AOFInfo] = []
        self.history: list[AOFInfo] = []
        self.curr_base_seq = 0
        self.curr_incr_seq = 0
        self.dirty = False

    def copy(self) -> Manifest:
        m = Manifest()
        m.base = AOFInfo(self.base.name, self.base.seq, self.base.type) if self.base else None
        m.incr = [AOFInfo(i.name, i.seq, i.type) for i in self.incr]
        m.history = [AOFInfo(i.name, i.seq, i.type) for i in self.history]
        m.curr_base_seq = self.curr_base_seq
        m.curr_incr_seq = self.curr_incr_seq
        return m

    def text(self) -> str:
        parts = []
        if self.base is not None:
            parts.append(self.base.line())
        parts.extend(h.line() for h in self.history)
        parts.extend(i.line() for i in self.incr)
        return "".join(parts)

    @classmethod
    def parse(cls, text: str) -> Manifest:
        """Parse a manifest; raises AOFError with Redis's wording (``line`` set when one is at fault)."""
        m = cls()
        maxseq = 0
        if not text:
            raise AOFError("Found an empty AOF manifest")
        n = pos = 0
        while pos < len(text):
            # fgets() into a 1025-byte buffer: a line, or its first 1024 characters
            nl = text.find("\n", pos, pos + 1024)
            end = nl + 1 if nl >= 0 else min(pos + 1024, len(text))
            raw = text[pos:end]
            pos = end
            n += 1
            if raw.startswith("#"):
                continue
            if nl < 0:
                raise AOFError("The AOF manifest file contains too long line")
            line = raw.strip(" \t\r\n")
            err = None
            args = _split_args(line) if line else None
            if args is None or len(args) < 6 or len(args) % 2:
                err = "Invalid AOF manifest file format"
            else:
                name, seq, ftype = None, 0, ""
                for k, v in zip(args[0::2], args[1::2], strict=True):
                    k = k.lower()
                    if k == "file":
                        name = v
                        if "/" in v:
                            err = "File can't be a path, just a filename"
                    elif k == "seq":
                        seq = _atoll(v)
                    elif k == "type":
                        ftype = v[:1]
                if err is None and (not name or not seq or not ftype):
                    err = "Invalid AOF manifest file format"
            if err is not None:
                e = AOFError(err)
                e.line = (n, line)  # type: ignore[attr-defined]
                raise e
            info = AOFInfo(name, seq, ftype)  # type: ignore[arg-type]
            if ftype == BASE:
                if m.base is not None:
                    raise AOFError("Found duplicate base file information")
                m.base = info
                m.curr_base_seq = info.seq
            elif ftype == HIST:
                m.history.append(info)
            elif ftype == INCR:
                if info.seq <= maxseq:
                    raise AOFError("Found a non-monotonic sequence number")
                m.incr.append(info)
                m.curr_incr_seq = info.seq
                maxseq = info.seq
            else:
                raise AOFError("Unknown AOF file type")
        return m


def _atoll(v: str) -> int:
    """C ``atoll``: leading spaces, sign and digits; 0 when there are none."""
    v = v.lstrip(" \t\n\v\f\r")
    i = 1 if v[:1] in ("-", "+") else 0
    j = i
    while j < len(v) and v[j] in "0123456789":
        j += 1
    return int(v[:j]) if j > i else 0
