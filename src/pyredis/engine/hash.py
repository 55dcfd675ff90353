"""The hash type: a dict of field -> value with Redis 7.0's listpack/hashtable encoding rule."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyredis import _speedups

if TYPE_CHECKING or _speedups.hotpath is None:
    _FieldDict = dict
else:  # the accelerator's compact dict (same API and order; 16 bytes per field instead of 24-42)
    _FieldDict = _speedups.hotpath.KeyTable


class HashValue(_FieldDict):
    """A Redis hash (insertion ordered, like a listpack): a dict of field -> value, or under the
    accelerator its compact ``KeyTable`` with the same API and order.

    ``big`` is True once the hash was converted to the ``hashtable`` encoding (sticky, like Redis):
    writers call :meth:`check_size` / :meth:`check_lengths` with the thresholds at write time.
    """

    __slots__ = ("big",)
    TYPE_NAME = b"hash"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.big = False

    def encoding(self, config: Any = None) -> bytes:
        return b"hashtable" if self.big else b"listpack"

    def copy(self) -> HashValue:
        h = HashValue(self)
        h.big = self.big
        return h

    def check_lengths(self, config: Any, items: list[bytes]) -> None:
        """Convert when one of *items* (fields or values about to be written) is too long."""
        if not self.big:
            lim = config.values["hash-max-listpack-value"]
            for x in items:
                if len(x) > lim:
                    self.big = True
                    return

    def check_size(self, config: Any) -> None:
        """Convert when the number of fields exceeds ``hash-max-listpack-entries``."""
        if not self.big and len(self) > config.values["hash-max-listpack-entries"]:
            self.big = True

    def update_encoding(self, config: Any) -> None:
        """Compute the encoding from scratch (for values built in one go: RESTORE, copies)."""
        if not self.big:
            self.check_size(config)
            if not self.big:
                lim = config.values["hash-max-listpack-value"]
                self.big = any(len(k) > lim or len(v) > lim for k, v in self.items())
