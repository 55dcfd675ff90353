"""Redis's ``sdscatrepr``: bytes quoted and escaped as MONITOR, the logs and the AOF manifest show them."""

from __future__ import annotations

_ESCAPES = {0x5C: b"\\\\", 0x22: b'\\"', 0x0A: b"\\n", 0x0D: b"\\r", 0x09: b"\\t", 0x07: b"\\a", 0x08: b"\\b"}
_REPR = [(_ESCAPES.get(i) or (bytes([i]) if 32 <= i < 127 else b"\\x%02x" % i)) for i in range(256)]
_SAFE = frozenset(i for i in range(32, 127) if i not in (0x5C, 0x22))


def repr_arg(a: bytes) -> bytes:
    """Quote *a* like Redis's ``sdscatrepr``."""
    if all(ch in _SAFE for ch in a):
        return b'"' + a + b'"'
    return b'"' + b"".join(_REPR[ch] for ch in a) + b'"'
