"""Exceptions of the blob codecs, shared by the pure-Python and the compiled implementations."""

from __future__ import annotations


class BlobError(ValueError):
    """A malformed listpack/ziplist/intset/zipmap."""


class LZFError(ValueError):
    """Corrupt compressed data."""


class RDBError(Exception):
    """A malformed or unsupported RDB file / DUMP payload (re-exported by :mod:`rdb_format`; defined
    here so that :mod:`unverified`, which the server loads at start-up, does not load the RDB codec)."""
