"""The RDB file format (version 10, what redis-server 7.0 writes): the public entry points.

The implementation is layered (each module imports only the ones before it):

* :mod:`rdb_format` - constants, length/string encodings, the primitive :class:`Reader`;
* :mod:`stream_codec` - streams (types 15 and 19);
* :mod:`rdb_types` - per-type codecs: :class:`Encoder` and :func:`load_value`;
* :mod:`rdb_writer` - whole files and DUMP payloads out;
* :mod:`rdb_reader` - whole files and DUMP payloads in.
"""

from __future__ import annotations

from pyredis.persistence.rdb_format import RDB_VERSION, RDBError, Reader, enc_len, enc_str, score_bytes
from pyredis.persistence.rdb_reader import (
    LoadResult,
    iter_load_rdb,
    load_payload,
    load_rdb_bytes,
    set_idle_freq,
    verify_payload,
)
from pyredis.persistence.rdb_types import Encoder, load_value, zset_is_big, zset_items
from pyredis.persistence.rdb_writer import (
    RDBSink,
    aux_fields,
    dump_payload,
    rdb_bytes,
    save_rdb_file,
    write_all,
    write_rdb,
)

__all__ = [
    "RDB_VERSION", "RDBError", "Reader", "enc_len", "enc_str", "score_bytes", "LoadResult", "iter_load_rdb",
    "load_payload", "load_rdb_bytes", "set_idle_freq", "verify_payload", "Encoder", "load_value", "zset_is_big",
    "zset_items", "RDBSink", "aux_fields", "dump_payload", "rdb_bytes", "save_rdb_file", "write_all",
    "write_rdb",
]
