"""Lua 5.1 bytecode rewriting: turn tail calls into plain calls.

``return f(x)`` compiles to TAILCALL+RETURN; a tail call replaces the caller's frame, so an error
raised by a ``redis.*`` helper written in Lua would lose the script line it was called from (Redis's
helpers are C functions, which never replace frames). Compiled scripts are dumped, every TAILCALL is
rewritten to CALL (the RETURN that follows returns all results, so behaviour is unchanged) and the
chunk is loaded again.
"""

from __future__ import annotations

OP_CALL = 28
OP_TAILCALL = 29


class _Chunk:
    def __init__(self, data: bytes) -> None:
        if data[:5] != b"\x1bLua\x51" or len(data) < 12:
            raise ValueError("not a Lua 5.1 chunk")
        self.buf = bytearray(data)
        self.order = "little" if data[6] == 1 else "big"
        self.int_size = data[7]
        self.size_t = data[8]
        self.ins_size = data[9]
        self.num_size = data[10]
        self.pos = 12

    def integer(self, size: int) -> int:
        v = int.from_bytes(self.buf[self.pos : self.pos + size], self.order)
        self.pos += size
        return v

    def skip_string(self) -> None:
        n = self.integer(self.size_t)
        self.pos += n

    def function(self) -> None:
        self.skip_string()  # source
        self.pos += 2 * self.int_size + 4  # line defined, last line, nups, params, vararg, max stack
        n = self.integer(self.int_size)
        size = self.ins_size
        buf = self.buf
        for _ in range(n):
            ins = int.from_bytes(buf[self.pos : self.pos + size], self.order)
            if ins & 0x3F == OP_TAILCALL:
                ins = (ins & ~0x3F) | OP_CALL
                buf[self.pos : self.pos + size] = ins.to_bytes(size, self.order)
            self.pos += size
        for _ in range(self.integer(self.int_size)):  # constants
            t = buf[self.pos]
            self.pos += 1
            if t == 1:
                self.pos += 1
            elif t == 3:
                self.pos += self.num_size
            elif t == 4:
                self.skip_string()
        for _ in range(self.integer(self.int_size)):  # nested functions
            self.function()
        n = self.integer(self.int_size)  # line info
        self.pos += n * self.int_size
        for _ in range(self.integer(self.int_size)):  # local variables
            self.skip_string()
            self.pos += 2 * self.int_size
        for _ in range(self.integer(self.int_size)):  # upvalue names
            self.skip_string()


def untail(chunk: bytes) -> bytes:
    """The same chunk with every TAILCALL instruction turned into CALL."""
    c = _Chunk(chunk)
    c.function()
    return bytes(c.buf)
