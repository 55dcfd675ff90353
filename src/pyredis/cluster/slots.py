"""Hash slots: CRC16 (XMODEM) of the key or of its ``{hash tag}``, modulo 16384."""

from __future__ import annotations

from binascii import crc_hqx

CLUSTER_SLOTS = 16384


def crc16(data: bytes) -> int:
    """CRC16-CCITT (XMODEM: polynomial 0x1021, initial value 0), as Redis's crc16()."""
    return crc_hqx(data, 0)


def key_hash_slot(key: bytes) -> int:
    """The hash slot of *key*: only the part between the first ``{`` and the next ``}`` counts, if non-empty."""
    s = key.find(b"{")
    if s >= 0:
        e = key.find(b"}", s + 1)
        if e > s + 1:
            return crc_hqx(key[s + 1:e], 0) & 0x3FFF
    return crc_hqx(key, 0) & 0x3FFF


class SlotIndexedDict(dict):
    """The key dict of database 0 on a cluster node: keeps, per slot, the keys it holds (insertion order).

    Used only when ``cluster-enabled`` is on, so standalone servers keep a plain dict.
    """

    __slots__ = ("by_slot", "indexed")

    def __init__(self) -> None:
        super().__init__()
        self.by_slot: dict[int, dict[bytes, None]] = {}
        self.indexed = 0  # keys in by_slot: differs from len(self) if C code bypassed these methods

    def _index(self, key: bytes) -> None:
        slot = key_hash_slot(key)
        keys = self.by_slot.get(slot)
        if keys is None:
            self.by_slot[slot] = {key: None}
        else:
            keys[key] = None
        self.indexed += 1

    def _unindex(self, key: bytes) -> None:
        slot = key_hash_slot(key)
        keys = self.by_slot.get(slot)
        if keys is not None and key in keys:
            del keys[key]
            self.indexed -= 1
            if not keys:
                del self.by_slot[slot]

    def _check(self) -> None:
        """Rebuild the index if keys were added or removed behind its back (a compiled loader)."""
        if self.indexed != len(self):
            self.by_slot.clear()
            self.indexed = 0
            for k in dict.keys(self):
                self._index(k)

    def __setitem__(self, key, value) -> None:
        if key not in self:
            self._index(key)
        dict.__setitem__(self, key, value)

    def __delitem__(self, key) -> None:
        dict.__delitem__(self, key)
        self._unindex(key)

    def pop(self, key, *default):
        if key in self:
            self._unindex(key)
        return dict.pop(self, key, *default)

    def popitem(self):
        k, v = dict.popitem(self)
        self._unindex(k)
        return k, v

    def setdefault(self, key, default=None):
        if key not in self:
            self._index(key)
        return dict.setdefault(self, key, default)

    def update(self, *args, **kw) -> None:
        for k, v in dict(*args, **kw).items():
            self[k] = v

    def clear(self) -> None:
        dict.clear(self)
        self.by_slot.clear()
        self.indexed = 0

    def count_in_slot(self, slot: int) -> int:
        self._check()
        keys = self.by_slot.get(slot)
        return len(keys) if keys else 0

    def keys_in_slot(self, slot: int, count: int) -> list[bytes]:
        """Up to *count* keys of *slot*, the most recently added first (as Redis lists them)."""
        self._check()
        keys = self.by_slot.get(slot)
        if not keys or count <= 0:
            return []
        out = []
        for k in reversed(keys):
            out.append(k)
            if len(out) >= count:
                break
        return out
