"""What every stored value provides, and the string encoding rules.

Strings are stored as plain ``bytes``. Every other type is a class with:

* ``TYPE_NAME``: the bytes TYPE reports (``b"list"``, ``b"hash"``, ...);
* ``encoding(config) -> bytes``: what OBJECT ENCODING reports, following Redis's thresholds
  (sticky: once converted to the big encoding it stays, like Redis);
* ``copy()``: a deep copy (COPY command, snapshots).
"""

from __future__ import annotations

import weakref
from typing import Any

from pyredis.protocol.numbers import parse_ll

OBJ_SHARED_INTEGERS = 10000

#: Each server's config -> names of the module types its server loaded (RDB/RESTORE of other types
#: fail there: pyredis.modules.datatype.types_loaded_for). Kept here, not in pyredis.modules, so that a
#: server registers its config (an empty set) without loading the modules package, which it imports
#: with its ``server.modules`` manager on first use.
module_types_of_config: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()
EMBSTR_LIMIT = 44


def string_encoding(v: bytes) -> bytes:
    """OBJECT ENCODING of a string value: int, embstr or raw."""
    if len(v) <= 20 and parse_ll(v) is not None:
        return b"int"
    if len(v) <= EMBSTR_LIMIT:
        return b"embstr"
    return b"raw"


def encoding_of(v: Any, config: Any) -> bytes:
    if type(v) is bytes:
        return string_encoding(v)
    return v.encoding(config)


def copy_value(v: Any) -> Any:
    if type(v) is bytes:
        return v
    return v.copy()


def object_refcount(v: Any, config: Any) -> int:
    """OBJECT REFCOUNT: 2147483647 for a value Redis keeps as one of its shared integers (0..9999 as a
    string), else 1.  Redis stops sharing them under an LRU/LFU maxmemory policy (each value then has
    its own access clock); pyredis judges by the current setting, not the one at the time of the write."""
    if type(v) is bytes and len(v) <= 5:
        n = parse_ll(v)
        if n is not None and 0 <= n < OBJ_SHARED_INTEGERS:
            vals = config.values
            if not vals["maxmemory"] or not vals["maxmemory-policy"].endswith(("-lru", "-lfu")):
                return 2147483647
    return 1
