"""Server-wide switches set by DEBUG subcommands (redis-server keeps them as globals)."""

from __future__ import annotations

#: Default QUICKLIST-PACKED-THRESHOLD: elements of 1 GB or more get a node of their own.
DEFAULT_PACKED_THRESHOLD = 1 << 30
#: Default REPLYBUFFER PEAK-RESET-TIME (ms).
DEFAULT_PEAK_RESET_TIME = 5000


class DebugState:
    """What DEBUG PAUSE-CRON, QUICKLIST-PACKED-THRESHOLD, REPLYBUFFER, LEAK... changed."""

    def __init__(self) -> None:
        self.pause_cron = False
        self.packed_threshold = DEFAULT_PACKED_THRESHOLD
        self.reply_peak_reset_time = DEFAULT_PEAK_RESET_TIME  # -1: never
        self.reply_buffer_resizing = True
        self.drop_cluster_packet_filter = -1
        self.leaked: list[bytes] = []
