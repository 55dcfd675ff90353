import time

import pytest

from pyredis.collections import BloomFilter, ContextTimer, HyperLogLog


def test_bloom_filter(r):
    bf = BloomFilter(["a", "b"], num_elements=1000, false_positives=0.01, redis=r, key="bf")
    assert "a" in bf and "b" in bf and "c" not in bf
    assert bf.size > 9000 and bf.num_hashes == 7
    added = [f"item{i}" for i in range(1000)]
    bf.update(added)
    assert all(bf.contains_many(added))  # never a false negative
    false = sum(bf.contains_many(f"other{i}" for i in range(2000)))
    assert false < 2000 * 0.03  # about 1% expected
    assert 950 <= len(bf) <= 1060
    bf.clear()
    assert "a" not in bf and len(bf) == 0
    with pytest.raises(ValueError):
        BloomFilter(num_elements=0, redis=r)
    assert "num_elements=1000" in repr(bf)


def test_hyperloglog(r):
    h = HyperLogLog(["a", "b", "a"], redis=r, key="h")
    assert len(h) == 2
    assert h.add("c") is True and h.add("c") is False
    other = HyperLogLog((f"x{i}" for i in range(500)), redis=r)
    union = h | other
    assert 480 <= len(union) <= 520 and len(h) == 3 and union.key not in (h.key, other.key)
    h.update(other, ["y", "z"])
    assert 480 <= len(h) <= 525
    h |= HyperLogLog(["w"], redis=r)
    h.clear()
    assert len(h) == 0


def test_context_timer():
    with ContextTimer() as t:
        time.sleep(0.05)
        running = t.elapsed()
    assert 40 <= running and 45 <= t.elapsed() < 1000
    timer = ContextTimer()
    with pytest.raises(RuntimeError):
        timer.elapsed()
    timer.start()
    with pytest.raises(RuntimeError):
        timer.start()
    timer.stop()
    with pytest.raises(RuntimeError):
        timer.stop()
