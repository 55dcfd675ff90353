"""Lua 5.1 bytecode rewriting: turn tail calls of the sandbox's helpers into plain calls.

``return f(x)`` compiles to TAILCALL+RETURN; a tail call replaces the caller's frame, so an error
raised by a ``redis.*`` helper written in Lua would lose the script line it was called from (Redis's
helpers are C functions, which never replace frames). Compiled scripts are dumped, the TAILCALLs that
may reach such a helper are rewritten to CALL (the RETURN that follows returns all results, so
behaviour is unchanged) and the chunk is loaded again.

Tail calls of the script's own functions stay proper tail calls, as in Redis (deep or endless tail
recursion must not overflow the stack): a callee that is a closure (through locals and upvalues, so
``local function f() return f() end``) or a global other than the sandbox's stand-ins. Field accesses
(``redis.call``, ``cjson.encode``, ``M.f``), locals or upvalues holding them (``local call =
redis.call``), parameters and the stand-ins' globals (``pcall``, ``unpack``...) are rewritten.
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


class _Proto:
    """One function prototype of a chunk: its code, string constants, nested protos and parent."""

    def __init__(self, parent: _Proto | None, index: int) -> None:
        self.parent, self.index = parent, index  # index: its Bx in the parent's CLOSURE
        self.start = 0
        self.nups = 0
        self.code: list[int] = []
        self.consts: list[bytes | None] = []
        self.children: list[_Proto] = []
        self.pseudo: set[int] = set()  # the upvalue pseudo-instructions following each CLOSURE


def _writer(proto: _Proto, before: int, reg: int) -> int | None:
    """The nearest instruction before *before* that may write *reg* (None: none, a parameter)."""
    code = proto.code
    for j in range(before - 1, -1, -1):
        if j in proto.pseudo:
            continue
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
        elif op in (28, 37, 31, 32, 33):  # CALL, VARARG, the for loops: from A upwards
            if reg >= a:
                return j
    return None


def _closure_pc(parent: _Proto, index: int) -> int | None:
    for pc, ins in enumerate(parent.code):
        if ins & 0x3F == OP_CLOSURE and ins >> 14 == index and pc not in parent.pseudo:
            return pc
    return None


def _script_function(proto: _Proto, pc: int, reg: int, depth: int = 0) -> bool:
    """Whether R(reg) at *pc* holds one of the script's own functions (a closure, a global that is
    not a sandbox stand-in), following MOVEs and upvalues; False when it may be a sandbox helper."""
    if depth > 8:
        return False
    j = _writer(proto, pc, reg)
    if j is None:
        return False  # a parameter: maybe redis.call passed in
    ins = proto.code[j]
    op = ins & 0x3F
    if op == OP_CLOSURE:
        return True
    if op == OP_GETGLOBAL:
        bx = ins >> 14
        name = proto.consts[bx] if bx < len(proto.consts) else None
        return name is not None and name not in _STAND_INS
    if op == OP_MOVE:
        return _script_function(proto, j, (ins >> 23) & 0x1FF, depth + 1)
    if op == OP_GETUPVAL:
        return _upvalue_function(proto, (ins >> 23) & 0x1FF, depth + 1)
    return False


def _upvalue_function(proto: _Proto, up: int, depth: int) -> bool:
    parent = proto.parent
    if parent is None:
        return False
    cpc = _closure_pc(parent, proto.index)
    if cpc is None or cpc + 1 + up >= len(parent.code):
        return False
    bind = parent.code[cpc + 1 + up]  # MOVE 0 B (a parent register) or GETUPVAL 0 B (its upvalue)
    b = (bind >> 23) & 0x1FF
    if bind & 0x3F == OP_MOVE:
        return _script_function(parent, cpc + 1, b, depth)  # the CLOSURE itself counts (recursion)
    if bind & 0x3F == OP_GETUPVAL:
        return _upvalue_function(parent, b, depth)
    return False


def _patch(c: _Chunk, proto: _Proto) -> None:
    size = c.ins_size
    for k, ins in enumerate(proto.code):
        if ins & 0x3F == OP_TAILCALL and not _script_function(proto, k, (ins >> 6) & 0xFF):
            ins = (ins & ~0x3F) | OP_CALL
            c.buf[proto.start + k * size : proto.start + (k + 1) * size] = ins.to_bytes(size, c.order)
    for child in proto.children:
        _patch(c, child)
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

    def function(self, parent: _Proto | None = None, index: int = 0) -> _Proto:
        proto = _Proto(parent, index)
        self.skip_string()  # source
        self.pos += 2 * self.int_size  # line defined, last line
        proto.nups = self.buf[self.pos]
        self.pos += 4  # nups, params, vararg, max stack
        n = self.integer(self.int_size)
        size = self.ins_size
        buf = self.buf
        proto.start = start = self.pos
        proto.code = [int.from_bytes(buf[start + k * size : start + (k + 1) * size], self.order) for k in range(n)]
        self.pos += n * size
        consts = proto.consts
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
        for k in range(self.integer(self.int_size)):  # nested functions
            proto.children.append(self.function(proto, k))
        # the upvalue pseudo-instructions after each CLOSURE (a nested proto's nups of them)
        code = proto.code
        pc = 0
        while pc < len(code):
            ins = code[pc]
            if ins & 0x3F == OP_CLOSURE and (ins >> 14) < len(proto.children):
                nups = proto.children[ins >> 14].nups
                proto.pseudo.update(range(pc + 1, pc + 1 + nups))
                pc += 1 + nups
                continue
            pc += 1
        n = self.integer(self.int_size)  # line info
        self.pos += n * self.int_size
        for _ in range(self.integer(self.int_size)):  # local variables
            self.skip_string()
            self.pos += 2 * self.int_size
        for _ in range(self.integer(self.int_size)):  # upvalue names
            self.skip_string()
        return proto


def untail(chunk: bytes) -> bytes:
    """The same chunk with the tail calls that may reach a sandbox helper turned into plain calls."""
    c = _Chunk(chunk)
    _patch(c, c.function())
    return bytes(c.buf)
