"""Several processes share one container: atomic increments, mutual exclusion, unique IDs."""

import multiprocessing
import sys

import pytest
import redis

from pyredis.collections import NextId, RedisCounter, Redlock

CTX = multiprocessing.get_context("fork" if sys.platform != "win32" else "spawn")
PROCS = 4


def run_all(target, args_list):
    queue = CTX.Queue()
    procs = [CTX.Process(target=target, args=(queue, *args)) for args in args_list]
    for p in procs:
        p.start()
    results = [queue.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    errors = [r for r in results if isinstance(r, str) and r.startswith("ERROR")]
    assert not errors, errors
    return results


def count_worker(queue, host, port, n):
    try:
        c = RedisCounter(redis=redis.Redis(host=host, port=port), key="hits")
        for i in range(n):
            c.update(["page", f"p{i % 3}"])
        c.subtract({"page": 1})
        queue.put("ok")
    except Exception as exc:  # reported to the parent
        queue.put(f"ERROR {exc!r}")


def test_processes_increment_one_counter(backend, r):
    run_all(count_worker, [(backend.host, backend.port, 150)] * PROCS)
    c = RedisCounter(redis=r, key="hits")
    assert c["page"] == PROCS * 150 - PROCS
    assert c["p0"] + c["p1"] + c["p2"] == PROCS * 150


def lock_worker(queue, host, port, n):
    try:
        masters = [redis.Redis(host=host, port=port, db=db) for db in (1, 2, 3)]
        plain = redis.Redis(host=host, port=port)
        for _ in range(n):
            with Redlock(key="shared", masters=masters, auto_release_time=10):
                value = int(plain.get("unsafe") or 0)  # read-modify-write, safe only under the lock
                plain.set("unsafe", value + 1)
        queue.put("ok")
    except Exception as exc:
        queue.put(f"ERROR {exc!r}")


def test_contending_redlocks_across_processes(backend, masters, r):
    run_all(lock_worker, [(backend.host, backend.port, 8)] * PROCS)
    assert int(r.get("unsafe")) == PROCS * 8
    assert not Redlock(key="shared", masters=masters).locked()


def id_worker(queue, host, port, n, nmasters):
    try:
        masters = [redis.Redis(host=host, port=port, db=db) for db in (1, 2, 3)[:nmasters]]
        ids = NextId(key="ids", masters=masters)
        queue.put([next(ids) for _ in range(n)])
    except Exception as exc:
        queue.put(f"ERROR {exc!r}")


@pytest.mark.parametrize("nmasters", [1, 3])
def test_nextid_unique_under_concurrency(backend, masters, nmasters):
    results = run_all(id_worker, [(backend.host, backend.port, 40, nmasters)] * PROCS)
    every = [i for ids in results for i in ids]
    assert len(set(every)) == len(every) == PROCS * 40
    assert all(ids == sorted(ids) for ids in results)  # increasing within each process
    if nmasters == 1:
        assert max(every) == PROCS * 40  # INCR leaves no gaps (a failed multi-master claim may)
