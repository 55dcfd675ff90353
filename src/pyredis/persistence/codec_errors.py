"""Exceptions of the blob codecs, shared by the pure-Python and the compiled implementations."""

from __future__ import annotations


class BlobError(ValueError):
    """A malformed listpack/ziplist/intset/zipmap."""


class LZFError(ValueError):
    """Corrupt compressed data."""
