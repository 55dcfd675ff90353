"""Per-channel message history for resume: one stream (the engine's stream type) per channel.

Offsets are stream IDs (``"<ms>-<seq>"``) from one server-wide monotonic generator, so a single
``since`` offset orders messages across channels too (pattern subscriptions resume with it).
"""

from __future__ import annotations

import time

from pyredis.engine.glob import compile_glob
from pyredis.engine.stream import MAX_ID, StreamValue, format_id, make_id

_FIELD = b"d"


def parse_offset(v: object) -> int | None:
    """An offset as the client sends it (``"ms-seq"``, ``"ms"`` or a number); None if invalid."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return make_id(v, 0) if v >= 0 else None
    if not isinstance(v, str):
        return None
    ms, _, seq = v.partition("-")
    if not ms.isdigit() or (seq and not seq.isdigit()):
        return None
    return make_id(int(ms), int(seq or 0))


def offset_str(i: int) -> str:
    return format_id(i).decode()


class History:
    """Streams of recent messages for the channels matching ``gateway-history-channels``."""

    def __init__(self) -> None:
        self.streams: dict[bytes, StreamValue] = {}
        self.trimmed: dict[bytes, int] = {}  # channel -> ID of the newest entry trimmed away
        self.matchers: list = []
        self.maxlen = 1000
        self._last_ms = 0
        self._seq = 0

    def configure(self, patterns: str, maxlen: int) -> None:
        self.matchers = [compile_glob(p.encode()) for p in patterns.split()]
        self.maxlen = maxlen
        for ch in list(self.streams):
            self._trim(ch, self.streams[ch])

    def kept(self, channel: bytes) -> bool:
        for m in self.matchers:
            if m(channel):
                return True
        return False

    def _next_id(self) -> int:
        ms = int(time.time() * 1000)
        if ms > self._last_ms:
            self._last_ms, self._seq = ms, 0
        else:
            self._seq += 1
        return make_id(self._last_ms, self._seq)

    def add(self, channel: bytes, message: bytes) -> int | None:
        """Record a message when its channel keeps history; its offset, or None."""
        if not self.matchers or not self.kept(channel) or self.maxlen <= 0:
            return None
        s = self.streams.get(channel)
        if s is None:
            s = self.streams[channel] = StreamValue()
        eid = self._next_id()
        s.append(eid, (_FIELD, message), 4096, 100)
        self._trim(channel, s)
        return eid

    def _trim(self, channel: bytes, s: StreamValue) -> None:
        extra = len(s) - self.maxlen
        if extra > 0:
            gone = s.range(0, MAX_ID, extra)
            self.trimmed[channel] = max(self.trimmed.get(channel, 0), gone[-1][0])
            s.trim(self.maxlen, None, False, 0)

    def since(self, channel: bytes, since: int) -> tuple[bool, int | None, list[tuple[int, bytes]]]:
        """``(gap, first_available, entries after since)`` for a resuming subscriber."""
        s = self.streams.get(channel)
        gap = self.trimmed.get(channel, 0) > since
        if s is None or not len(s):
            return gap, None, []
        first = s.first_entry()
        entries = [(eid, fv[1]) for eid, fv in s.range(since + 1, MAX_ID)] if since < MAX_ID else []
        return gap, first[0] if first else None, entries

    def channels_matching(self, match) -> list[bytes]:
        return [ch for ch in self.streams if match(ch)]
