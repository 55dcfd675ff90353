"""Lua 5.1 bytecode rewriting: turn tail calls of the sandbox's helpers into plain calls.

``return f(x)`` compiles to TAILCALL+RETURN; a tail call replaces the caller's frame, so an error
raised by a ``redis.*`` helper written in Lua would lose the script line it was called from (Redis's
helpers are C functions, which never replace frames). Compiled scripts are dumped, the TAILCALLs that
may reach such a helper are rewritten to CALL (the RETURN that follows returns all results, so
behaviour is unchanged) and the chunk is loaded again.

Tail calls of the script's own functions stay proper tail calls, as in Redis (deep or endless tail
recursion must not overflow the stack): a callee read from an upvalue, a local holding a closure or
a parameter, or a global other than the sandbox's stand-ins. Field accesses (``redis.call``,
``cjson.encode``, ``M.f``) and the stand-ins' globals (``pcall``, ``unpack``...) are rewritten.
"""

from __future__ import annotations

OP_MOVE = 0
OP_GETUPVAL = 4
OP_GETGLOBAL = 5
OP_CALL = 28
OP_TAILCALL = 29
OP_CLOSURE = 36
# globals that are Lua functions of the sandbox (prelude.py) rather than C builtins
_STAND_INS = frozenset((b"pcall", b"xpcall", b"unpack", b"setmetatable", b"getmetatable", b"rawset", b"rawget",
                        b"next", b"pairs", b"ipairs", b"load", b"loadstring", b"getfenv", b"setfenv"))
# opcodes that write only R(A) (others write ranges or nothing)
_WRITES_A = frozenset((0, 1, 2, 4, 5, 6, 10, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 27, 36))


def _writer(code: list[int], before: int, reg: int) -> int | None:
    """The nearest instruction before *before* that may write *reg* (None: none, a parameter)."""
    for j in range(before - 1, -1, -1):
        ins = code[j]
        op, a = ins & 0x3F, (ins >> 6) & 0xFF
        if op in _WRITES_A:
            if a == reg:
                return j
        elif op == 3:  # LOADNIL A..B
            if a <= reg <= ins >> 23:
                return j
        elif op == 11:  # SELF: A and A+1
            if reg in (a, a + 1):
                return j
        elif op in (28, 37):  # CALL / VARARG: from A upwards
            if reg >= a:
                return j
        elif op in (31, 32, 33):  # FORLOOP/FORPREP/TFORLOOP: the loop registers
            if reg >= a:
                return j
    return None


def _keep_tail(code: list[int], i: int, consts: list[bytes | None]) -> bool:
    """Whether the TAILCALL at *i* calls the script's own function (keep it a tail call)."""
    reg = (code[i] >> 6) & 0xFF
    j = _writer(code, i, reg)
    for _ in range(2):  # follow one MOVE from a local
        if j is None:
            return True  # a parameter
        ins = code[j]
        op = ins & 0x3F
        if op in (OP_GETUPVAL, OP_CLOSURE):
            return True
        if op == OP_GETGLOBAL:
            bx = ins >> 14
            name = consts[bx] if bx < len(consts) else None
            return name is not None and name not in _STAND_INS
        if op != OP_MOVE:
            return False
        j = _writer(code, j, (ins >> 23) & 0x1FF)
    return False


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
        start = self.pos
        code = [int.from_bytes(buf[start + k * size : start + (k + 1) * size], self.order) for k in range(n)]
        self.pos += n * size
        consts: list[bytes | None] = []
        for _ in range(self.integer(self.int_size)):  # constants
            t = buf[self.pos]
            self.pos += 1
            consts.append(None)
            if t == 1:
                self.pos += 1
            elif t == 3:
                self.pos += self.num_size
            elif t == 4:
                ln = self.integer(self.size_t)
                consts[-1] = bytes(buf[self.pos : self.pos + ln - 1])  # without the trailing NUL
                self.pos += ln
        for k, ins in enumerate(code):
            if ins & 0x3F == OP_TAILCALL and not _keep_tail(code, k, consts):
                ins = (ins & ~0x3F) | OP_CALL
                buf[start + k * size : start + (k + 1) * size] = ins.to_bytes(size, self.order)
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
    """The same chunk with the tail calls that may reach a sandbox helper turned into plain calls."""
    c = _Chunk(chunk)
    c.function()
    return bytes(c.buf)
