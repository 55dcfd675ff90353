"""Server-wide switches set by DEBUG subcommands (redis-server keeps them as globals)."""

from __future__ import annotations

from dataclasses import dataclass, field

#: Default QUICKLIST-PACKED-THRESHOLD: elements of 1 GB or more get a node of their own.
DEFAULT_PACKED_THRESHOLD = 1 << 30
#: Default REPLYBUFFER PEAK-RESET-TIME (ms).
DEFAULT_PEAK_RESET_TIME = 5000


@dataclass
class DebugState:
    """What DEBUG PAUSE-CRON, QUICKLIST-PACKED-THRESHOLD, REPLYBUFFER, LEAK... changed."""

    pause_cron: bool = False
    packed_threshold: int = DEFAULT_PACKED_THRESHOLD
    reply_peak_reset_time: int = DEFAULT_PEAK_RESET_TIME  # -1: never
    reply_buffer_resizing: bool = True
    drop_cluster_packet_filter: int = -1
    leaked: list[bytes] = field(default_factory=list)
