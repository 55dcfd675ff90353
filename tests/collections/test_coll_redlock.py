import threading
import time

import pytest

from pyredis.collections import (
    ExtendUnlockedLock,
    NextId,
    QuorumNotAchieved,
    Redlock,
    ReleaseUnlockedLock,
    TooManyExtensions,
    synchronize,
)


def test_lock_api(masters):
    lock = Redlock(key="printer", masters=masters, auto_release_time=5)
    other = Redlock(key="printer", masters=masters)
    assert not lock.locked()
    assert lock.acquire() is True
    assert lock.locked() and other.locked()
    assert 4 < lock.ttl() <= 5 and other.ttl() == 0
    assert other.acquire(blocking=False) is False
    t0 = time.monotonic()
    assert other.acquire(timeout=0.2) is False
    assert 0.15 < time.monotonic() - t0 < 1.5
    with pytest.raises(ValueError):
        other.acquire(blocking=False, timeout=1)
    with pytest.raises(ReleaseUnlockedLock):
        other.release()
    with pytest.raises(RuntimeError):  # threading.Lock raises RuntimeError too
        other.release()
    lock.release()
    assert not lock.locked()
    with pytest.raises(ReleaseUnlockedLock):
        lock.release()
    assert all(m.exists("redlock:printer") == 0 for m in masters)


def test_auto_release_and_extend(masters):
    lock = Redlock(key="job", masters=masters, auto_release_time=0.8)
    assert lock.acquire()
    for _ in range(5):  # unlimited extensions by default; 1 s in all, past auto_release_time
        time.sleep(0.2)
        lock.extend()
    assert lock.locked()
    time.sleep(1.0)
    assert not lock.locked()  # released automatically
    with pytest.raises(ExtendUnlockedLock):
        lock.extend()
    with pytest.raises(ReleaseUnlockedLock):
        lock.release()
    with pytest.raises(ExtendUnlockedLock):
        Redlock(key="job", masters=masters).extend()
    limited = Redlock(key="lim", masters=masters, num_extensions=1)
    limited.acquire()
    limited.extend()
    with pytest.raises(TooManyExtensions):
        limited.extend()
    limited.release()


def test_auto_renew(masters):
    lock = Redlock(key="renew", masters=masters, auto_release_time=0.6, auto_renew=True)
    with lock:
        time.sleep(1.5)  # well past auto_release_time
        assert lock.locked() and not lock.lost
        assert Redlock(key="renew", masters=masters).acquire(blocking=False) is False
    assert not lock.locked()


def test_quorum(masters, dead_master):
    two_of_three = Redlock(key="q", masters=[masters[0], masters[1], dead_master])
    assert two_of_three.acquire(blocking=False)
    two_of_three.release()
    one_of_three = Redlock(key="q", masters=[masters[0], dead_master, dead_master])
    assert one_of_three.acquire(blocking=False) is False
    assert masters[0].exists("redlock:q") == 0  # the partial acquisition was undone
    # a majority held elsewhere blocks us even if we win one master
    masters[1].set("redlock:q", "someone", px=5000)
    masters[2].set("redlock:q", "someone", px=5000)
    assert Redlock(key="q", masters=masters).acquire(blocking=False) is False
    assert masters[0].exists("redlock:q") == 0


def test_context_manager_timeout(masters):
    holder = Redlock(key="cm", masters=masters)
    holder.acquire()
    waiting = Redlock(key="cm", masters=masters, context_manager_timeout=0.1)
    with pytest.raises(TimeoutError):
        with waiting:
            pass
    holder.release()
    with waiting:
        assert waiting.locked()


def test_contending_threads_are_mutually_exclusive(masters, backend):
    inside, overlaps, done = [0], [0], []

    def worker():
        own = [backend.client(db=m.connection_pool.connection_kwargs["db"]) for m in masters]
        for _ in range(5):
            with Redlock(key="mutex", masters=own, auto_release_time=5):
                inside[0] += 1
                if inside[0] > 1:
                    overlaps[0] += 1
                time.sleep(0.005)
                inside[0] -= 1
                done.append(1)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(done) == 20 and overlaps[0] == 0


def test_synchronize(masters):
    calls = []

    @synchronize(key="sync", masters=masters, auto_release_time=5)
    def critical(x):
        calls.append(Redlock(key="sync", masters=masters).locked())
        return x * 2

    assert critical(21) == 42 and calls == [True]
    assert not Redlock(key="sync", masters=masters).locked()
    assert critical.__name__ == "critical"


def test_nextid(masters, dead_master):
    ids = NextId(key="orders", masters=masters)
    assert [next(ids) for _ in range(5)] == [1, 2, 3, 4, 5]
    assert ids.current == 5
    other = NextId(key="orders", masters=masters)
    assert next(other) == 6
    degraded = NextId(key="orders", masters=[masters[0], masters[1], dead_master])
    assert next(degraded) == 7
    broken = NextId(key="orders", masters=[masters[0], dead_master, dead_master])
    with pytest.raises(QuorumNotAchieved):
        next(broken)
    ids.reset()
    assert next(ids) == 1
    single = NextId(key="one", redis=masters[0])
    assert [next(single) for _ in range(3)] == [1, 2, 3]
