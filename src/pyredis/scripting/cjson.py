"""The ``cjson`` library (lua-cjson 2.1 semantics and error messages)."""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pyredis.scripting.luaargs import LuaArgError, lua_type, type_name

_ESC = {i: b"\\u%04x" % i for i in range(32)}
_ESC.update({ord('"'): b'\\"', ord("\\"): b"\\\\", ord("/"): b"\\/", 8: b"\\b", 12: b"\\f", 10: b"\\n",
             13: b"\\r", 9: b"\\t", 0x7F: b"\\u007f"})
_ESC_RE = re.compile(rb'[\x00-\x1f"\\/\x7f]')

_NUMBER_RE = re.compile(rb"[-+]?(0[xX][0-9a-fA-F]+|(inf(inity)?|nan)|(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?)", re.I)

T_OBJ_BEGIN, T_OBJ_END, T_ARR_BEGIN, T_ARR_END, T_STRING, T_NUMBER, T_BOOLEAN, T_NULL, T_COLON, T_COMMA, \
    T_END, T_WHITESPACE, T_ERROR, T_UNKNOWN = range(14)
_TOKEN_NAMES = ["T_OBJ_BEGIN", "T_OBJ_END", "T_ARR_BEGIN", "T_ARR_END", "T_STRING", "T_NUMBER", "T_BOOLEAN",
                "T_NULL", "T_COLON", "T_COMMA", "T_END", "T_WHITESPACE", "T_ERROR", "T_UNKNOWN"]
_CH2TOKEN = [T_ERROR] * 256
for _c, _t in ((b"{", T_OBJ_BEGIN), (b"}", T_OBJ_END), (b"[", T_ARR_BEGIN), (b"]", T_ARR_END), (b":", T_COLON),
               (b",", T_COMMA), (b"\0", T_END), (b" ", T_WHITESPACE), (b"\t", T_WHITESPACE),
               (b"\r", T_WHITESPACE), (b"\n", T_WHITESPACE)):
    _CH2TOKEN[_c[0]] = _t
for _c in b'"-0123456789tfniIN':
    _CH2TOKEN[_c] = T_UNKNOWN
_ESCAPES = {ord('"'): b'"', ord("\\"): b"\\", ord("/"): b"/", ord("b"): b"\b", ord("f"): b"\f",
            ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t"}


def _escape(s: bytes) -> bytes:
    return b'"' + _ESC_RE.sub(lambda m: _ESC[m.group()[0]], s) + b'"'


LUA_MAX_CSTACK = 8000
"""LUAI_MAXCSTACK: the Lua stack slots a C function may use; lua_checkstack fails past it."""


@contextmanager
def deep_recursion() -> Iterator[None]:
    """Room for the recursive encoders/decoders to reach the Lua stack limit (~8000 levels).

    The nesting is bounded by :data:`LUA_MAX_CSTACK` accounting, so the recursion stays finite;
    pure-Python calls do not use the C stack on 3.11+.
    """
    old = sys.getrecursionlimit()
    if old < 40000:
        sys.setrecursionlimit(40000)
    try:
        yield
    finally:
        if old < 40000:
            sys.setrecursionlimit(old)


class _Token:
    __slots__ = ("type", "value", "index")

    def __init__(self, type_: int, index: int, value: Any = None) -> None:
        self.type = type_
        self.index = index
        self.value = value


class CJson:
    """One cjson module instance: configuration plus encode/decode bound to a Lua runtime."""

    def __init__(self, table_from: Any, is_null: Any) -> None:
        self.table_from = table_from
        self.is_null = is_null
        self.null: Any = None  # the cjson.null userdata, set by the Lua side
        self.encode_max_depth = 1000
        self.decode_max_depth = 1000
        self.encode_invalid_numbers: int = 0
        self.decode_invalid_numbers = True
        self.encode_keep_buffer = True
        self.encode_number_precision = 14
        self.sparse_convert = False
        self.sparse_ratio = 2
        self.sparse_safe = 10

    # -- encode ----------------------------------------------------------------------------------
    def encode(self, *args: Any) -> Any:
        if len(args) != 1:
            raise LuaArgError("bad argument #1 to 'encode' (expected 1 argument)")
        out: list[bytes] = []
        with deep_recursion():
            self._enc(args[0], out, 0, 1)
        return b"".join(out)

    def _num(self, v: float) -> bytes:
        if v != v or v in (math.inf, -math.inf):
            if self.encode_invalid_numbers == 0:
                raise LuaArgError("Cannot serialise number: must not be NaN or Inf")
            if self.encode_invalid_numbers == 2:
                return b"null"
            if v != v:
                return b"nan"
        return b"%.*g" % (self.encode_number_precision, v)

    def _enc(self, v: Any, out: list[bytes], depth: int, used: int) -> None:
        t = type(v)
        if t is bytes:
            out.append(_escape(v))
        elif t is bool:
            out.append(b"true" if v else b"false")
        elif t is int or t is float:
            out.append(self._num(v))
        elif v is None:
            out.append(b"null")
        else:
            lt = lua_type(v)
            if lt == "table":
                self._enc_table(v, out, depth + 1, used)
            elif lt == "userdata" and self.is_null(v):
                out.append(b"null")
            else:
                raise LuaArgError(f"Cannot serialise {type_name(v)}: type not supported")

    def _enc_table(self, v: Any, out: list[bytes], depth: int, used: int) -> None:
        # *used*: Lua stack slots taken by the enclosing levels (lua-cjson checks for 3 more)
        if depth > self.encode_max_depth or used + 3 > LUA_MAX_CSTACK:
            raise LuaArgError("Cannot serialise, excessive nesting (%d)" % depth)
        items = list(v.items())
        maxk = 0
        is_array = True
        for k, _ in items:
            tk = type(k)
            if (tk is int or tk is float) and k >= 1 and k == math.floor(k):
                if k > maxk:
                    maxk = int(k)
            else:
                is_array = False
                break
        if is_array and self.sparse_safe > 0 and maxk > self.sparse_safe and maxk > len(items) * self.sparse_ratio:
            if not self.sparse_convert:
                raise LuaArgError("Cannot serialise table: excessively sparse array")
            is_array = False
        if is_array and maxk > 0:
            d = dict(items)
            out.append(b"[")
            for i in range(1, maxk + 1):
                if i > 1:
                    out.append(b",")
                self._enc(d.get(i), out, depth, used + 1)
            out.append(b"]")
            return
        out.append(b"{")
        first = True
        for k, x in items:
            if not first:
                out.append(b",")
            first = False
            tk = type(k)
            if tk is bytes:
                out.append(_escape(k))
            elif tk is int or tk is float:
                out.append(b'"' + self._num(k) + b'"')
            else:
                raise LuaArgError(f"Cannot serialise {type_name(k)}: table key must be a number or string")
            out.append(b":")
            self._enc(x, out, depth, used + 2)
        out.append(b"}")

    # -- decode ----------------------------------------------------------------------------------
    def decode(self, *args: Any) -> Any:
        if len(args) != 1:
            raise LuaArgError("bad argument #1 to 'decode' (expected 1 argument)")
        s = args[0]
        if type(s) is not bytes:
            if type(s) in (int, float):
                s = b"%.14g" % s
            else:
                raise LuaArgError(f"bad argument #1 to 'decode' (string expected, got {type_name(s)})")
        if len(s) >= 2 and (not s[0] or not s[1]):
            raise LuaArgError("JSON parser does not support UTF-16 or UTF-32")
        p = _Parser(self, s)
        tok = p.next_token()
        with deep_recursion():
            v = p.value(tok)
        tok = p.next_token()
        if tok.type != T_END:
            p.error("the end", tok)
        return v

    # -- configuration -----------------------------------------------------------------------------
    def _int_opt(self, attr: str, name: str, lo: int, hi: int, args: tuple) -> Any:
        if args and args[0] is not None:
            v = args[0]
            if type(v) not in (int, float) or v != int(v) or not lo <= v <= hi:
                raise LuaArgError(f"bad argument #1 to '{name}' (expected integer between {lo} and {hi})")
            setattr(self, attr, int(v))
        return getattr(self, attr)

    def _bool_opt(self, attr: str, name: str, args: tuple, allow_null: bool = False) -> Any:
        if args and args[0] is not None:
            v = args[0]
            if v is True or v == b"on" or v == 1:
                setattr(self, attr, 1)
            elif v is False or v == b"off" or v == 0:
                setattr(self, attr, 0)
            elif allow_null and v == b"null":
                setattr(self, attr, 2)
            else:
                opts = "'on', 'off', 'null'" if allow_null else "'on', 'off'"
                raise LuaArgError(f"bad argument #1 to '{name}' (invalid option, expected one of {opts})")
        v = getattr(self, attr)
        return b"null" if v == 2 else bool(v)

    def spec(self) -> dict[str, Any]:
        return {
                "encode": self.encode,
                "decode": self.decode,
                "encode_max_depth": lambda *a: self._int_opt("encode_max_depth", "encode_max_depth", 1, 2**31 - 1, a),
                "decode_max_depth": lambda *a: self._int_opt("decode_max_depth", "decode_max_depth", 1, 2**31 - 1, a),
                "encode_number_precision": lambda *a: self._int_opt(
                    "encode_number_precision", "encode_number_precision", 1, 14, a),
                "encode_invalid_numbers": lambda *a: self._bool_opt(
                    "encode_invalid_numbers", "encode_invalid_numbers", a, True),
                "decode_invalid_numbers": lambda *a: self._bool_opt(
                    "decode_invalid_numbers", "decode_invalid_numbers", a),
                "encode_keep_buffer": lambda *a: self._bool_opt("encode_keep_buffer", "encode_keep_buffer", a),
                "encode_sparse_array": self.encode_sparse_array,
                "_NAME": b"cjson", "_VERSION": b"2.1.0",
        }

    def encode_sparse_array(self, *args: Any) -> Any:
        if len(args) > 0 and args[0] is not None:
            self.sparse_convert = bool(args[0]) and args[0] != b"off"
        if len(args) > 1 and args[1] is not None:
            self.sparse_ratio = int(args[1])
        if len(args) > 2 and args[2] is not None:
            self.sparse_safe = int(args[2])
        return (self.sparse_convert, self.sparse_ratio, self.sparse_safe)


class _Parser:
    __slots__ = ("cj", "s", "pos", "depth", "n", "used")

    def __init__(self, cj: CJson, s: bytes) -> None:
        self.cj = cj
        self.s = s
        self.n = len(s)
        self.pos = 0
        self.depth = 0
        self.used = 1  # Lua stack slots in use (the argument string)

    def error(self, expected: str, tok: _Token) -> None:
        found = tok.value if tok.type == T_ERROR else _TOKEN_NAMES[tok.type]
        raise LuaArgError("Expected %s but found %s at character %d" % (expected, found, tok.index + 1))

    def next_token(self) -> _Token:
        s, n = self.s, self.n
        pos = self.pos
        while True:
            ch = s[pos] if pos < n else 0
            tt = _CH2TOKEN[ch]
            if tt != T_WHITESPACE:
                break
            pos += 1
        self.pos = pos
        if tt == T_ERROR:
            return _Token(T_ERROR, pos, "invalid token")
        if tt == T_END:
            return _Token(T_END, pos)
        if tt != T_UNKNOWN:
            self.pos = pos + 1
            return _Token(tt, pos)
        if ch == 0x22:
            return self._string(pos)
        if ch == 0x2D or 0x30 <= ch <= 0x39:
            if not self.cj.decode_invalid_numbers and self._invalid_number(pos):
                return _Token(T_ERROR, pos, "invalid number")
            return self._number(pos)
        if s.startswith(b"true", pos):
            self.pos = pos + 4
            return _Token(T_BOOLEAN, pos, True)
        if s.startswith(b"false", pos):
            self.pos = pos + 5
            return _Token(T_BOOLEAN, pos, False)
        if s.startswith(b"null", pos):
            self.pos = pos + 4
            return _Token(T_NULL, pos)
        if self.cj.decode_invalid_numbers and self._invalid_number(pos):
            return self._number(pos)
        return _Token(T_ERROR, pos, "invalid token")

    def _invalid_number(self, pos: int) -> bool:
        s = self.s
        if s[pos : pos + 1] == b"+":
            return True
        if s[pos : pos + 1] == b"-":
            pos += 1
        c = s[pos : pos + 1]
        if c == b"0":
            c2 = s[pos + 1 : pos + 2]
            return c2 in (b"x", b"X") or (c2 != b"" and c2.isdigit())
        if c != b"" and c <= b"9":
            return False
        low = s[pos : pos + 3].lower()
        return low in (b"inf", b"nan")

    def _number(self, pos: int) -> _Token:
        m = _NUMBER_RE.match(self.s, pos)
        if not m:
            return _Token(T_ERROR, pos, "invalid number")
        txt = m.group()
        try:
            body = txt.lstrip(b"+-")
            if body[:2].lower() == b"0x":
                v = float(int(body[2:], 16))
                if txt.startswith(b"-"):
                    v = -v
            else:
                v = float(txt)
        except (ValueError, OverflowError):
            return _Token(T_ERROR, pos, "invalid number")
        self.pos = m.end()
        if math.isfinite(v) and v == int(v) and abs(v) < 2**63 and not (v == 0 and math.copysign(1, v) < 0):
            return _Token(T_NUMBER, pos, int(v))
        return _Token(T_NUMBER, pos, v)

    def _string(self, start: int) -> _Token:
        s, n = self.s, self.n
        pos = start + 1
        out = bytearray()
        while True:
            if pos >= n or s[pos] == 0:
                self.pos = pos
                return _Token(T_ERROR, pos, "unexpected end of string")
            ch = s[pos]
            if ch == 0x22:
                break
            if ch == 0x5C:
                pos += 1
                e = s[pos] if pos < n else 0
                if e == 0x75:
                    r = self._unicode(pos - 1)
                    if r is None:
                        self.pos = pos - 1
                        return _Token(T_ERROR, pos - 1, "invalid unicode escape code")
                    out += r[0]
                    pos = r[1]
                    continue
                rep = _ESCAPES.get(e)
                if rep is None:
                    self.pos = pos - 1
                    return _Token(T_ERROR, pos - 1, "invalid escape code")
                out += rep
                pos += 1
                continue
            out.append(ch)
            pos += 1
        self.pos = pos + 1
        return _Token(T_STRING, start, bytes(out))

    def _unicode(self, pos: int) -> tuple[bytes, int] | None:
        s = self.s

        def hex4(p: int) -> int | None:
            h = s[p : p + 4]
            if len(h) != 4 or not all(c in b"0123456789abcdefABCDEF" for c in h):
                return None
            return int(h, 16)

        cp = hex4(pos + 2)
        if cp is None:
            return None
        end = pos + 6
        if 0xDC00 <= cp <= 0xDFFF:
            return None
        if 0xD800 <= cp <= 0xDBFF:
            if s[end : end + 2] != b"\\u":
                return None
            low = hex4(end + 2)
            if low is None or not 0xDC00 <= low <= 0xDFFF:
                return None
            cp = (((cp & 0x3FF) << 10) | (low & 0x3FF)) + 0x10000
            end += 6
        return chr(cp).encode("utf-8", "surrogatepass"), end

    def value(self, tok: _Token) -> Any:
        t = tok.type
        if t == T_STRING or t == T_NUMBER or t == T_BOOLEAN:
            return tok.value
        if t == T_NULL:
            return self.cj.null
        if t == T_OBJ_BEGIN:
            return self._object()
        if t == T_ARR_BEGIN:
            return self._array()
        self.error("value", tok)
        return None

    def _descend(self, slots: int) -> None:
        self.depth += 1
        if self.depth > self.cj.decode_max_depth or self.used + slots > LUA_MAX_CSTACK:
            raise LuaArgError("Found too many nested data structures (%d) at character %d" % (self.depth, self.pos))

    def _object(self) -> Any:
        self._descend(3)
        self.used += 2  # the table and the key
        d: dict[Any, Any] = {}
        tok = self.next_token()
        if tok.type != T_OBJ_END:
            while True:
                if tok.type != T_STRING:
                    self.error("object key string", tok)
                key = tok.value
                tok = self.next_token()
                if tok.type != T_COLON:
                    self.error("colon", tok)
                d[key] = self.value(self.next_token())
                tok = self.next_token()
                if tok.type == T_OBJ_END:
                    break
                if tok.type != T_COMMA:
                    self.error("comma or object end", tok)
                tok = self.next_token()
        self.depth -= 1
        self.used -= 2
        return self.cj.table_from(d)

    def _array(self) -> Any:
        self._descend(2)
        self.used += 1  # the table
        items: list[Any] = []
        tok = self.next_token()
        if tok.type != T_ARR_END:
            while True:
                items.append(self.value(tok))
                tok = self.next_token()
                if tok.type == T_ARR_END:
                    break
                if tok.type != T_COMMA:
                    self.error("comma or array end", tok)
                tok = self.next_token()
        self.depth -= 1
        self.used -= 1
        return self.cj.table_from(items)
