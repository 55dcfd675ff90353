"""The shared replication buffer: replicas and the backlog refer to one copy of the stream, a replica
waiting for its RDB keeps the backlog from trimming (and that history serves partial resyncs), and
the memory is reported and released as redis-server 7.0 does."""

from __future__ import annotations

import os
import signal

import pytest
from repl_support import link, start, wait_for, wait_synced

from pyredis.engine.lowlevel import je_usable
from pyredis.server.replication.backlog import BLOCK_HEADER, LIST_NODE, Backlog


def test_blocks_are_capped_and_trimmed_only_when_unreferenced():
    b = Backlog(16384, 0)
    first, pos, added = b.append(b"x" * 100)
    assert (pos, added) == (0, True) and first.refcount == 1  # the backlog's own reference
    assert first.size == je_usable(16384 + BLOCK_HEADER) - BLOCK_HEADER  # 20440: jemalloc's 20 KB class
    blk, pos, added = b.append(b"y" * 300_000)  # blocks hold at most max(16 KB, backlog/16)
    assert blk is first and pos == 100 and added
    assert b.nblocks == 15 and b.tail.size == first.size
    blk.refcount += 1  # a replica still needs the first block: nothing is trimmed
    b.trim(64)
    assert b.histlen == 300_100 and b.first == 1
    blk.refcount -= 1
    b.trim(64)
    assert b.histlen - b.head.size <= 16384 < b.histlen and b.nblocks == 2
    assert b.first == b.offset - b.histlen + 1 and b.read_from(b.first) == (b"x" * 100 + b"y" * 300_000)[-b.histlen:]
    assert b.mem == 2 * (je_usable(16384 + BLOCK_HEADER) + LIST_NODE)


def _histlen(n) -> int:
    return n.info()["repl_backlog_histlen"]


@pytest.mark.parametrize("master_kind,fast_kind", [("pyredis", "redis"), ("pyredis", "pyredis")])
def test_waiting_replica_pins_history_for_partial_resync(master_kind, fast_kind):
    m = start(master_kind, "--repl-backlog-size", "16384", "--client-output-buffer-limit", "replica 0 0 0")
    fast = start(fast_kind)
    slow = start("pyredis")
    try:
        link(fast, m)
        for i in range(10):
            m.r.set(f"seed{i}", i)
        wait_synced(m, fast)
        # The slow replica's RDB takes seconds (diskless, a delay per key): it waits in WAIT_BGSAVE_END.
        m.r.config_set("rdb-key-save-delay", 1_000_000)
        slow.r.execute_command("REPLICAOF", "127.0.0.1", m.port)
        wait_for(lambda: m.info("persistence")["rdb_bgsave_in_progress"] == 1
                 and slow.r.execute_command("ROLE")[3] == b"sync", 20, "the slow replica's full sync")
        payload = "v" * 10_000
        for i in range(200):  # 2 MB, far beyond the 16 KB backlog
            m.r.set(f"big{i}", payload)
        assert _histlen(m) > 2_000_000
        mem = m.info("memory")
        assert mem["mem_total_replication_buffers"] > 2_000_000
        assert mem["mem_clients_slaves"] == mem["mem_total_replication_buffers"] - 16384
        # The fast replica drops its link and misses 2 MB more: the pinned history serves its PSYNC.
        wait_synced(m, fast)
        fast.r.execute_command("REPLICAOF", "127.0.0.1", slow.port)  # can't sync from a syncing replica
        for i in range(200):
            m.r.set(f"more{i}", payload)
        fast.r.execute_command("REPLICAOF", "127.0.0.1", m.port)
        wait_for(lambda: m.info("stats")["sync_partial_ok"] == 1, 20, "partial resync of the fast replica")
        wait_for(lambda: fast.info()["master_repl_offset"] == m.info()["master_repl_offset"], 20, "caught up")
        assert m.info("stats")["sync_full"] == 2
        assert fast.r.dbsize() == m.r.dbsize() == 410
        assert fast.r.get("more199") == payload.encode()
        # Once the slow replica is gone the backlog shrinks back to about its configured size.
        slow.stop()
        wait_for(lambda: m.info()["connected_slaves"] == 1, 20, "slow replica disconnected")
        wait_for(lambda: _histlen(m) < 100_000, 20, "backlog trimmed")
        assert m.info("memory")["mem_total_replication_buffers"] < 100_000
    finally:
        for n in (m, fast, slow):
            n.stop()


def test_replica_obuf_hard_limit_is_never_below_backlog_size():
    """A replica's client-output-buffer-limit below repl-backlog-size counts as the backlog size
    (checkClientOutputBufferLimits): a burst inside the backlog does not drop the replica."""
    m = start("pyredis", "--repl-backlog-size", "4mb", "--client-output-buffer-limit", "replica 64kb 0 0")
    s = start("redis")
    try:
        link(s, m)
        s.r.config_set("repl-timeout", 60)
        m.r.set("k", "x")
        wait_synced(m, s)
        pid = s.info("server")["process_id"]
        os.kill(pid, signal.SIGSTOP)
        try:
            for i in range(8):  # ~2.4 MB pending for a replica that reads nothing
                m.r.set(f"k{i}", "y" * 300_000)
            assert m.info()["connected_slaves"] == 1
            for i in range(8):  # far beyond 4 MB (more than the kernel's socket buffers take)
                m.r.set(f"big{i}", "z" * 3_000_000)
            wait_for(lambda: m.info()["connected_slaves"] == 0, 10, "replica dropped")
        finally:
            os.kill(pid, signal.SIGCONT)
        assert "for overcoming of output buffer limits" in m.log()
        wait_synced(m, s)
    finally:
        m.stop()
        s.stop()


def test_rdb_child_killed_when_no_replica_waits_for_it():
    """A disk BGSAVE started for replicas is killed once the last replica waiting for it leaves
    (without save points); with save points it goes on."""
    m = start("pyredis", "--repl-diskless-sync", "no")
    s = start("pyredis")
    try:
        for i in range(10):
            m.r.set(f"k{i}", i)
        m.r.config_set("rdb-key-save-delay", 1_000_000)
        s.r.execute_command("REPLICAOF", "127.0.0.1", m.port)
        wait_for(lambda: m.info("persistence")["rdb_bgsave_in_progress"] == 1
                 and "wait_bgsave" in str(m.info().get("slave0")), 10, "BGSAVE for the replica")
        s.r.execute_command("REPLICAOF", "NO", "ONE")
        wait_for(lambda: m.info("persistence")["rdb_bgsave_in_progress"] == 0, 5, "child killed")
        m.r.config_set("save", "900 1")
        s.r.execute_command("REPLICAOF", "127.0.0.1", m.port)
        wait_for(lambda: m.info("persistence")["rdb_bgsave_in_progress"] == 1
                 and "wait_bgsave" in str(m.info().get("slave0")), 10, "BGSAVE for the replica")
        s.r.execute_command("REPLICAOF", "NO", "ONE")
        wait_for(lambda: m.info()["connected_slaves"] == 0, 5, "replica gone")
        assert m.info("persistence")["rdb_bgsave_in_progress"] == 1
    finally:
        m.stop()
        s.stop()


@pytest.mark.parametrize("master_kind", ["redis", "pyredis"])
def test_killed_replica_buffer_is_released_at_once(master_kind):
    """CLIENT KILL TYPE replica frees the replica at once (freeClient): the very next INFO shows no
    replica and mem_clients_slaves 0, even while the replica (stopped) still has megabytes pending."""
    m = start(master_kind, "--repl-backlog-size", "16384", "--client-output-buffer-limit", "replica 0 0 0")
    s = start("redis")
    try:
        link(s, m)
        s.r.config_set("repl-timeout", 60)
        m.r.set("k", "x")
        wait_synced(m, s)
        pid = s.info("server")["process_id"]
        os.kill(pid, signal.SIGSTOP)
        try:
            for i in range(20):
                m.r.set(f"k{i}", "y" * 500_000)
            assert m.info("memory")["mem_clients_slaves"] > 1_000_000
            assert m.r.client_kill_filter(_type="replica") == 1
            assert m.info("memory")["mem_clients_slaves"] == 0
            assert m.info("replication")["connected_slaves"] == 0
        finally:
            os.kill(pid, signal.SIGCONT)
    finally:
        m.stop()
        s.stop()


@pytest.mark.parametrize("master_kind", ["redis", "pyredis"])
def test_killed_replica_releases_the_backlog_at_once(master_kind):
    """CLIENT KILL TYPE replica frees the replica at once (as freeClient does): writes in the same
    MULTI/EXEC trim a shrunk backlog past the replica's offset, so it must resync fully."""
    m = start(master_kind)
    s = start("pyredis")
    try:
        link(s, m)
        m.r.set("a", "b")
        wait_synced(m, s)
        p = m.r.pipeline(transaction=True)
        p.client_kill_filter(_type="replica")
        p.config_set("repl-backlog-size", 16384)
        for i in range(10):
            p.set(f"k{i}", "A" * 16384)
        p.execute()
        assert m.info()["repl_backlog_first_byte_offset"] > m.info()["master_repl_offset"] - 3 * 16384
        wait_for(lambda: s.info()["master_link_status"] == "up" and m.info("stats")["sync_full"] == 2, 20,
                 "a full resync")
        assert m.info("stats")["sync_partial_ok"] == 0
    finally:
        m.stop()
        s.stop()
