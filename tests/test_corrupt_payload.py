"""Corrupt DUMP payloads with ``sanitize-dump-payload no``, side by side with real redis-server.

Redis then checks only the blob headers: a payload that passes them is restored, and the first
command that walks the corrupt blob ends the process with ``ASSERTION FAILED`` (or a panic).
pyredis keeps such a payload verbatim and fails the same way on first use (persistence/unverified.py).
"""

from __future__ import annotations

import os

import pytest

from support import ServerProcess

# integration/corrupt-dump.tcl "fuzzer findings - stream bad lp_count - unsanitized"
STREAM_BAD_LP_COUNT = (
    b"\x0F\x01\x10\x00\x00\x01\x73\xDE\xDF\x7D\x9B\x00\x00\x00\x00\x00\x00\x00\x00\x40\x42\x42\x00\x00\x00\x18"
    b"\x00\x03\x01\x00\x01\x02\x01\x84\x69\x74\x65\x6D\x05\x85\x76\x61\x6C\x75\x65\x06\x00\x01\x02\x01\x00\x01"
    b"\x00\x01\x01\x01\x00\x01\x56\x01\x02\x01\x22\x01\x00\x01\x01\x01\x82\x5F\x31\x03\x05\x01\x02\x01\x2C\x01"
    b"\x00\x01\x01\x01\x02\x01\x05\x01\xFF\x03\x81\x00\x00\x01\x73\xDE\xDF\x7D\xC7\x00\x01\x07\x6D\x79\x67\x72"
    b"\x6F\x75\x70\x81\x00\x00\x01\x73\xDE\xDF\x7D\x9B\x00\x01\x00\x00\x01\x73\xDE\xDF\x7D\x9B\x00\x00\x00\x00"
    b"\x00\x00\x00\x00\xF9\x7D\xDF\xDE\x73\x01\x00\x00\x01\x01\x05\x41\x6C\x69\x63\x65\xEB\x7D\xDF\xDE\x73\x01"
    b"\x00\x00\x01\x00\x00\x01\x73\xDE\xDF\x7D\x9B\x00\x00\x00\x00\x00\x00\x00\x00\x09\x00\xB2\xA8\xA7\x5F\x1B"
    b"\x61\x72\xD5"
)
# "listpack too long entry len": a version-1 stream whose first entry runs past its listpack;
# Redis walks to the first entry's ID while loading it, so RESTORE itself fails the assertion
STREAM_V1_BAD_FIRST = bytes.fromhex(
    "0f0110000000000000000200000000000000024055550000000f0001010001020188310000000000000009883200000000000000"
    "09000100010001000102028931000000000000000988610000000000000009883200000000000000098862000000000000000908"
    "01ff0a01000009004063c93703a2e568"
)
# "fuzzer findings - stream with no records": length 2, but walking back from the last entry
# reaches the master entry without a live one (XREAD asks for the last ID: a panic)
STREAM_NO_RECORDS = (
    b"\x0F\x01\x10\x00\x00\x01\x78\x4D\x55\x68\x09\x00\x00\x00\x00\x00\x00\x00\x00\x40\x42\x42\x00\x00\x00\x18"
    b"\x00\x02\x01\x01\x01\x02\x01\x84\x69\x74\x65\x6D\x05\x85\x76\x61\x6C\x75\x65\x06\x00\x01\x02\x01\x00\x01"
    b"\x00\x01\x01\x01\x00\x01\x05\x01\x03\x01\x3E\x01\x00\x01\x01\x01\x82\x5F\x31\x03\x05\x01\x02\x01\x50\x01"
    b"\x00\x01\x01\x01\x02\x01\x05\x23\xFF\x02\x81\x00\x00\x01\x78\x4D\x55\x68\x59\x00\x01\x07\x6D\x79\x67\x72"
    b"\x6F\x75\x70\x81\x00\x00\x01\x78\x4D\x55\x68\x47\x00\x01\x00\x00\x01\x78\x4D\x55\x68\x47\x00\x00\x00\x00"
    b"\x00\x00\x00\x00\x9F\x68\x55\x4D\x78\x01\x00\x00\x01\x01\x05\x41\x6C\x69\x63\x65\x85\x68\x55\x4D\x78\x01"
    b"\x00\x00\x01\x00\x00\x01\x78\x4D\x55\x68\x47\x00\x00\x00\x00\x00\x00\x00\x00\x09\x00\xF1\xC0\x72\x70\x39"
    b"\x40\x1E\xA9"
)
# "hash listpack with duplicate records - convert"
HASH_LP_DUPS = (b"\x10\x17\x17\x00\x00\x00\x04\x00\x82\x61\x00\x03\x82\x62\x00\x03\x82\x61\x00\x03\x82\x64\x00"
                b"\x03\xff\x0a\x00\xc0\xcf\xa6\x87\xe5\xa7\xc5\xbe")
# the same stream with a listpack whose header size is wrong: rejected even unsanitized
_at = STREAM_BAD_LP_COUNT.index(b"\x40\x42\x42") + 2
STREAM_BAD_HEADER = STREAM_BAD_LP_COUNT[:_at] + b"\x43" + STREAM_BAD_LP_COUNT[_at + 1 :]
# "zipmap - 5 bytes length encoding for a small value"
ZIPMAP_5B_SMALL = b"\x09\x0e\x01\x01\x6b\xfe\x04\x00\x00\x00\x00\x76\x61\x6c\x31\xff\x09\x00\xd0\xf9\xe4\x1d\xe4\xfb\x11\x4c"


def _start(kind: str, tmp: str):
    log = os.path.join(tmp, f"{kind}.log")
    return ServerProcess(kind, ["--use-exit-on-panic", "yes", "--logfile", log], cwd=tmp), log


def _log(path: str) -> str:
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def _panic_log(srv: ServerProcess, kind: str, log: str, panic: str) -> str | None:
    """Wait for the server to exit on *panic*; its log, or None when redis-server died by a signal.

    With use-exit-on-panic the process exits 1 after the report. redis-server sometimes dies by
    SIGSEGV instead (reading the corrupt listpack is undefined behaviour in C); then only pyredis's
    report is checked.
    """
    srv.proc.wait(10)
    if kind == "redis" and srv.proc.returncode < 0:
        return None
    assert srv.proc.returncode == 1
    text = _log(log)
    assert panic in text
    return text


@pytest.mark.parametrize("kind", ["redis", "pyredis"])
def test_unsanitized_stream_is_restored_then_fatal_on_read(kind, tmp_path):
    srv, log = _start(kind, str(tmp_path))
    try:
        r = srv.client()
        assert r.call("CONFIG", "SET", "sanitize-dump-payload", "no") == b"+OK\r\n"
        assert r.call("DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", "1") == b"+OK\r\n"
        assert r.call("RESTORE", "_stream", "0", STREAM_BAD_LP_COUNT) == b"+OK\r\n"
        assert r.call("TYPE", "_stream") == b"+stream\r\n"
        with pytest.raises(OSError):
            r.call("XREVRANGE", "_stream", "638932639", "738")
        text = _panic_log(srv, kind, log, "ASSERTION FAILED")
        assert text is None or (text.count("ASSERTION FAILED") == 1 and "crashed by signal" not in text)
    finally:
        srv.stop()


@pytest.mark.parametrize("kind", ["redis", "pyredis"])
def test_unsanitized_stream_without_live_entries_panics_on_xread(kind, tmp_path):
    srv, log = _start(kind, str(tmp_path))
    try:
        r = srv.client()
        r.call("CONFIG", "SET", "sanitize-dump-payload", "no")
        r.call("DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", "1")
        assert r.call("RESTORE", "_stream", "0", STREAM_NO_RECORDS, "REPLACE") == b"+OK\r\n"
        with pytest.raises(OSError):
            r.call("XREAD", "STREAMS", "_stream", "$")
        panic = "Guru Meditation: Corrupt stream, length is 2, but no max id"
        text = _panic_log(srv, kind, log, panic)
        assert text is None or (text.count(panic) == 1 and "crashed by signal" not in text
                                and "ASSERTION FAILED" not in text)
    finally:
        srv.stop()


@pytest.mark.parametrize("kind", ["redis", "pyredis"])
def test_unsanitized_v1_stream_with_unreadable_first_entry_fails_on_restore(kind, tmp_path):
    srv, log = _start(kind, str(tmp_path))
    try:
        r = srv.client()
        r.call("CONFIG", "SET", "sanitize-dump-payload", "no")
        with pytest.raises(OSError):
            r.call("RESTORE", "key", "0", STREAM_V1_BAD_FIRST)
        srv.proc.wait(10)
        text = _log(log)
        assert text.count("ASSERTION FAILED") == 1 and "crashed by signal" not in text
    finally:
        srv.stop()


@pytest.mark.parametrize("kind", ["redis", "pyredis"])
def test_unsanitized_hash_listpack_with_dups_panics_on_conversion(kind, tmp_path):
    srv, log = _start(kind, str(tmp_path))
    try:
        r = srv.client()
        r.call("CONFIG", "SET", "sanitize-dump-payload", "no")
        r.call("CONFIG", "SET", "hash-max-listpack-entries", "1")
        r.call("DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", "1")
        with pytest.raises(OSError):
            r.call("RESTORE", "_hash", "0", HASH_LP_DUPS)
        srv.proc.wait(10)
        text = _log(log)
        assert "listpack with dup elements" in text and "Guru Meditation" in text
    finally:
        srv.stop()


def test_header_checks_and_deep_checks_reject_like_redis():
    redis = ServerProcess("redis")
    py = ServerProcess("pyredis")
    try:
        for srv in (redis, py):
            r = srv.client()
            r.call("DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", "1")
            r.call("CONFIG", "SET", "sanitize-dump-payload", "no")
            assert r.call("RESTORE", "a", "0", STREAM_BAD_HEADER).startswith(b"-ERR Bad data format")
            # a hash listpack with duplicates, left as a listpack: pyredis rejects it under deep checks
            r.call("CONFIG", "SET", "sanitize-dump-payload", "yes")
            assert r.call("RESTORE", "b", "0", HASH_LP_DUPS).startswith(b"-ERR Bad data format")
            assert r.call("RESTORE", "c", "0", ZIPMAP_5B_SMALL).startswith(b"-ERR Bad data format")
            assert r.call("RESTORE", "c", "0", STREAM_BAD_LP_COUNT).startswith(b"-ERR Bad data format")
            assert r.call("PING") == b"+PONG\r\n"
    finally:
        redis.stop()
        py.stop()


def test_lcs_table_over_proto_max_bulk_len_is_refused():
    redis = ServerProcess("redis")
    py = ServerProcess("pyredis")
    try:
        replies = []
        for srv in (redis, py):
            r = srv.client()
            r.call("SETRANGE", "_int", "423324", "1450173551")
            replies.append(r.call("LCS", "_int", "_int"))
        assert replies[0] == replies[1]
        assert b"Insufficient memory" in replies[0]
    finally:
        redis.stop()
        py.stop()
