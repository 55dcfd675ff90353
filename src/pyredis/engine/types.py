"""What every stored value provides, and the string encoding rules.

Strings are stored as plain ``bytes``. Every other type is a class with:

* ``TYPE_NAME``: the bytes TYPE reports (``b"list"``, ``b"hash"``, ...);
* ``encoding(config) -> bytes``: what OBJECT ENCODING reports, following Redis's thresholds
  (sticky: once converted to the big encoding it stays, like Redis);
* ``copy()``: a deep copy (COPY command, snapshots).
"""

from __future__ import annotations

from typing import Any

from pyredis.protocol.numbers import parse_ll

OBJ_SHARED_INTEGERS = 10000
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
