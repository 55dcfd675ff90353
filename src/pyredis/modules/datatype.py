"""Custom data types for modules: :class:`DataType` (name, 9-character type id, encoding version,
callbacks) and :class:`ModuleValue`, the stored value (what TYPE / OBJECT / DUMP / RDB / AOF see).

RDB layout as redis-server writes it (``RDB_TYPE_MODULE_2``): the type byte 7, the key, the
64-bit module id as an RDB length (9 characters of 6 bits each, then the 10-bit encoding
version), then each value the ``rdb_save`` callback saved preceded by its opcode (uint, float,
double, string), then the EOF opcode 0.
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Callable
from typing import Any

from pyredis.engine.types import module_types_of_config

__all__ = ["AOFWriter", "DataType", "Digest", "ModuleValue", "RDBLoadIO", "RDBSaveIO", "decode_type_id",
           "encode_type_id", "type_by_id", "type_by_name"]

TYPE_CHARSET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
OPCODE_EOF, OPCODE_SINT, OPCODE_UINT, OPCODE_FLOAT, OPCODE_DOUBLE, OPCODE_STRING = 0, 1, 2, 3, 4, 5
T_MODULE_2 = 7


def encode_type_id(name: str, encver: int) -> int:
    """The 64-bit module type id (``moduleTypeEncodeId``); ValueError for a bad name or version."""
    if len(name) != 9:
        raise ValueError(f"a module type name has exactly 9 characters, not {len(name)} ({name!r})")
    if not 0 <= encver <= 1023:
        raise ValueError("the encoding version is 0..1023")
    tid = 0
    for ch in name:
        pos = TYPE_CHARSET.find(ch)
        if pos < 0:
            raise ValueError(f"character {ch!r} is not allowed in a module type name (A-Z a-z 0-9 - _)")
        tid = (tid << 6) | pos
    return (tid << 10) | encver


def decode_type_id(tid: int) -> tuple[str, int]:
    """(type name, encoding version) of a module id (``moduleTypeNameByID``)."""
    encver = tid & 1023
    tid >>= 10
    chars = []
    for _ in range(9):
        chars.append(TYPE_CHARSET[tid & 63])
        tid >>= 6
    return "".join(reversed(chars)), encver


class DataType:
    """A module data type. Declare it at module level of a module file::

        TOPK = DataType("topk-type", 0, rdb_save=save, rdb_load=load, aof_rewrite=rewrite)

    Callbacks (all optional except the RDB pair for types that must persist):

    * ``rdb_save(io: RDBSaveIO, value)`` and ``rdb_load(io: RDBLoadIO, encver) -> value``
    * ``aof_rewrite(aof: AOFWriter, key: bytes, value)``: emit the commands recreating the key
    * ``mem_usage(value) -> int`` (MEMORY USAGE), ``digest(md: Digest, value)`` (DEBUG DIGEST)
    * ``free(value)``: the value is gone (deleted, overwritten, flushed)
    * ``copy(value) -> value`` (COPY; without it COPY replies an error, as Redis does)
    """

    def __init__(self, name: str, encver: int = 0, *, rdb_load: Callable[..., Any] | None = None,
                 rdb_save: Callable[..., Any] | None = None, aof_rewrite: Callable[..., Any] | None = None,
                 mem_usage: Callable[[Any], int] | None = None, digest: Callable[..., Any] | None = None,
                 free: Callable[[Any], Any] | None = None, copy: Callable[[Any], Any] | None = None) -> None:
        self.id = encode_type_id(name, encver)
        self.name = name
        self.type_name = name.encode()
        self.encver = encver
        self.rdb_load = rdb_load
        self.rdb_save = rdb_save
        self.aof_rewrite = aof_rewrite
        self.mem_usage = mem_usage
        self.digest = digest
        self.free = free
        self.copy = copy
        self.module: Any = None  # the loaded Module owning the type

    def __repr__(self) -> str:
        return f"<DataType {self.name} v{self.encver}>"


# -- the types of loaded modules, process-wide (like the command table) ------------------------------
_lock = threading.Lock()
_by_name: dict[str, tuple[DataType, int]] = {}  # name -> (type, servers that loaded it)


def register_type(dt: DataType) -> None:
    with _lock:
        cur = _by_name.get(dt.name)
        if cur is not None and cur[0] is not dt:
            raise ValueError(f"a data type named {dt.name!r} is already registered")
        _by_name[dt.name] = (dt, cur[1] + 1 if cur else 1)


def unregister_type(dt: DataType) -> None:
    with _lock:
        cur = _by_name.get(dt.name)
        if cur is not None and cur[0] is dt:
            if cur[1] <= 1:
                del _by_name[dt.name]
            else:
                _by_name[dt.name] = (dt, cur[1] - 1)


def types_loaded_for(config: Any) -> set[str] | None:
    """Names of the module types loaded by the server owning *config* (None: unknown config)."""
    try:
        return module_types_of_config.get(config)
    except TypeError:  # not a server's Config (a plain mapping)
        return None


def type_by_name(name: str) -> DataType | None:
    cur = _by_name.get(name)
    return cur[0] if cur else None


def type_by_id(tid: int) -> DataType | None:
    """The loaded type a module id names (same 9 characters; any encoding version)."""
    name, _ = decode_type_id(tid)
    return type_by_name(name)


class ModuleValue:
    """A key's value of a module type (``robj`` of type ``OBJ_MODULE``)."""

    __slots__ = ("dtype", "value", "TYPE_NAME", "__weakref__")

    def __init__(self, dtype: DataType, value: Any) -> None:
        self.dtype = dtype
        self.value = value
        self.TYPE_NAME = dtype.type_name

    def encoding(self, config: Any) -> bytes:
        return b"raw"

    def copy(self) -> ModuleValue:
        """A deep copy: the type's ``copy`` callback, else a save/load round trip (snapshots)."""
        dt = self.dtype
        if dt.copy is not None:
            return ModuleValue(dt, dt.copy(self.value))
        body = RDBSaveIO()
        if dt.rdb_save is not None:
            dt.rdb_save(body, self.value)
        io = RDBLoadIO(_BytesSource(body.getvalue()))
        return ModuleValue(dt, dt.rdb_load(io, dt.encver) if dt.rdb_load is not None else self.value)

    # -- persistence hooks (called by persistence/rdb.py and rewrite.py) ------------------------------
    def rdb_encode(self, compress: bool = True) -> bytes:
        """Type byte + module id + the saved values + EOF, as ``rdbSaveObject`` writes them."""
        from pyredis.persistence.rdb_format import enc_len

        dt = self.dtype
        if dt.rdb_save is None:
            raise ValueError(f"module type {dt.name} cannot be saved (no rdb_save callback)")
        io = RDBSaveIO(compress)
        dt.rdb_save(io, self.value)
        return bytes((T_MODULE_2,)) + enc_len(dt.id) + io.getvalue() + enc_len(OPCODE_EOF)

    def aof_rewrite(self, key: bytes, emit: Callable[[list[bytes]], None]) -> None:
        dt = self.dtype
        if dt.aof_rewrite is None:
            raise ValueError(f"module type {dt.name} has no aof_rewrite callback")
        dt.aof_rewrite(AOFWriter(emit), key, self.value)

    def memory_usage(self) -> int:
        dt = self.dtype
        return int(dt.mem_usage(self.value)) if dt.mem_usage is not None else 0

    def module_digest(self) -> bytes | None:
        """What the type's digest callback accumulated (``md.x``), None without a callback."""
        if self.dtype.digest is None:
            return None
        md = Digest()
        self.dtype.digest(md, self.value)
        return md.x

    def __del__(self) -> None:
        free = self.dtype.free
        if free is not None:
            try:
                free(self.value)
            except Exception:  # noqa: BLE001 - a failing free callback must not break deletion
                pass


# -- RDB I/O for the callbacks ------------------------------------------------------------------------
class RDBSaveIO:
    """What ``rdb_save`` writes to (``RedisModule_Save*``)."""

    def __init__(self, compress: bool = True) -> None:
        self._parts: list[bytes] = []
        self._compress = compress

    def save_unsigned(self, v: int) -> None:
        from pyredis.persistence.rdb_format import enc_len

        self._parts.append(enc_len(OPCODE_UINT) + enc_len(v & 0xFFFFFFFFFFFFFFFF))

    def save_signed(self, v: int) -> None:
        self.save_unsigned(v & 0xFFFFFFFFFFFFFFFF)

    def save_string(self, s: bytes | str) -> None:
        from pyredis.persistence.rdb_format import enc_len, enc_str

        if isinstance(s, str):
            s = s.encode()
        self._parts.append(enc_len(OPCODE_STRING) + enc_str(bytes(s), self._compress))

    def save_double(self, v: float) -> None:
        from pyredis.persistence.rdb_format import enc_len

        self._parts.append(enc_len(OPCODE_DOUBLE) + struct.pack("<d", v))

    def save_float(self, v: float) -> None:
        from pyredis.persistence.rdb_format import enc_len

        self._parts.append(enc_len(OPCODE_FLOAT) + struct.pack("<f", v))

    def save_long_double(self, v: float) -> None:
        """As ``RedisModule_SaveLongDouble``: a hex float string."""
        self.save_string(float(v).hex())

    def getvalue(self) -> bytes:
        return b"".join(self._parts)


class _BytesSource:
    """A minimal reader over bytes with the interface :class:`RDBLoadIO` needs."""

    def __init__(self, data: bytes) -> None:
        from pyredis.persistence.rdb_format import Reader

        self.r = Reader(data, {})


class RDBLoadIO:
    """What ``rdb_load`` reads from (``RedisModule_Load*``); a wrong opcode is a load error."""

    def __init__(self, src: Any) -> None:
        self.r = src.r if isinstance(src, _BytesSource) else src

    def _expect(self, opcode: int) -> None:
        got = self.r.length()
        if got != opcode:
            raise self.r.fail("Error loading data from RDB (short read or EOF). Read performed by module "
                              "failed: opcode %d where %d was expected" % (got, opcode))

    def load_unsigned(self) -> int:
        self._expect(OPCODE_UINT)
        return self.r.length()

    def load_signed(self) -> int:
        v = self.load_unsigned()
        return v - (1 << 64) if v >= 1 << 63 else v

    def load_string(self) -> bytes:
        self._expect(OPCODE_STRING)
        return self.r.string()

    def load_double(self) -> float:
        self._expect(OPCODE_DOUBLE)
        self.r.need(8)
        v = struct.unpack_from("<d", self.r.data, self.r.pos)[0]
        self.r.pos += 8
        return v

    def load_float(self) -> float:
        self._expect(OPCODE_FLOAT)
        self.r.need(4)
        v = struct.unpack_from("<f", self.r.data, self.r.pos)[0]
        self.r.pos += 4
        return v

    def load_long_double(self) -> float:
        return float.fromhex(self.load_string().decode())


def load_module_value(reader: Any) -> ModuleValue:
    """Read a ``RDB_TYPE_MODULE_2`` value after its type byte (called by the RDB reader)."""
    tid = reader.length()
    dt = type_by_id(tid)
    name, encver = decode_type_id(tid)
    if dt is not None:
        loaded = types_loaded_for(reader.config)
        if loaded is not None and name not in loaded:  # another server of this process has it, not this one
            dt = None
    if dt is None:
        raise reader.fail(f"The RDB file contains module data I can't load: no matching module type '{name}'")
    if dt.rdb_load is None:
        raise reader.fail(f"The RDB file contains module data for the module type '{name}', that the "
                          "responsible module is not able to load. Check for modules log above for "
                          "additional clues.")
    value = dt.rdb_load(RDBLoadIO(reader), encver)
    if reader.length() != OPCODE_EOF:
        raise reader.fail(f"The RDB file contains module data for the module '{dt.module.name if dt.module else name}'"
                          " that is not terminated by the proper module value EOF marker")
    if value is None:
        raise reader.fail(f"The RDB file contains module data for the module type '{name}', that the "
                          "responsible module is not able to load. Check for modules log above for "
                          "additional clues.")
    return ModuleValue(dt, value)


class AOFWriter:
    """What ``aof_rewrite`` emits commands to (``RedisModule_EmitAOF``)."""

    def __init__(self, emit: Callable[[list[bytes]], None]) -> None:
        self._emit = emit

    def emit(self, *args: bytes | str | int | float) -> None:
        self._emit([_arg(a) for a in args])


def _arg(a: Any) -> bytes:
    if isinstance(a, bytes):
        return a
    if isinstance(a, str):
        return a.encode()
    if isinstance(a, bool):
        raise TypeError("bool is not a command argument")
    if isinstance(a, int):
        return b"%d" % a
    if isinstance(a, float):
        from pyredis.protocol.encoder import format_double

        return format_double(a)
    raise TypeError(f"cannot send a {type(a).__name__} as a command argument")


class Digest:
    """DEBUG DIGEST's accumulator (``RedisModule_DigestAdd*`` / ``DigestEndSequence``), computed as
    Redis does: an element mixes into ``o`` (``o = SHA1(o ^ SHA1(element))``), the end of a
    sequence xors ``SHA1(o)`` into ``x`` and clears ``o``."""

    def __init__(self) -> None:
        import hashlib  # only DEBUG DIGEST makes one: hashlib (OpenSSL's digests) is ~0.5 MB of RSS

        self._sha1 = hashlib.sha1
        self._o = 0
        self._x = 0

    def add_string_buffer(self, s: bytes | str) -> None:
        if isinstance(s, str):
            s = s.encode()
        h = int.from_bytes(self._sha1(s).digest(), "big")
        self._o = int.from_bytes(self._sha1((self._o ^ h).to_bytes(20, "big")).digest(), "big")

    def add_long_long(self, v: int) -> None:
        self.add_string_buffer(b"%d" % v)

    def end_sequence(self) -> None:
        self._x ^= int.from_bytes(self._sha1(self._o.to_bytes(20, "big")).digest(), "big")
        self._o = 0

    @property
    def x(self) -> bytes:
        return self._x.to_bytes(20, "big")
