"""The compiled RDB helpers (persistence/_rdbfast.pyx) agree with their pure-Python references.

Random inputs (hypothesis) go through both implementations: same bytes out, or both refusing the
input. The extension is imported directly, so these tests also run under PYREDIS_NO_EXTENSIONS=1
(which only changes what the server uses); they are skipped when it was not built at all.
"""

from __future__ import annotations

import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyredis.persistence import crc64 as crc_mod
from pyredis.persistence import listpack as lp
from pyredis.persistence import lzf, rdb_format, rdb_reader, rdb_writer
from pyredis.persistence.codec_errors import BlobError, LZFError
from pyredis.persistence.rdb_format import Reader
from pyredis.persistence.rdb_types import Encoder

fast = pytest.importorskip("pyredis.persistence._rdbfast", reason="the compiled extension is not built")

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Strings that exercise every path: integers (canonical or not), short, compressible, binary.
_ints = st.integers(min_value=-(1 << 64), max_value=1 << 64).map(lambda i: b"%d" % i)
_odd_ints = st.sampled_from([b"-0", b"007", b"+1", b" 1", b"1 ", b"-", b"", b"9223372036854775808",
                             b"-9223372036854775808", b"-9223372036854775809", b"2147483648", b"-2147483648"])
_repetitive = st.builds(lambda unit, n, tail: unit * n + tail, st.binary(min_size=1, max_size=6),
                        st.integers(1, 120), st.binary(max_size=8))
_text = st.text(alphabet="abcdef0123456789:-_ ", max_size=300).map(str.encode)
strings = st.one_of(_ints, _odd_ints, _repetitive, _text, st.binary(max_size=400))

CFG = {"list-max-listpack-size": -2, "zset-max-listpack-entries": 128, "zset-max-listpack-value": 64,
       "stream-node-max-bytes": 4096, "stream-node-max-entries": 100, "hash-max-listpack-entries": 128,
       "hash-max-listpack-value": 64, "set-max-intset-entries": 512, "rdbcompression": True}


class _Cfg(dict):
    values = CFG


@SETTINGS
@given(st.binary(max_size=70000), st.integers(0, (1 << 64) - 1))
def test_crc64(data, start):
    assert fast.crc64(start, data) == crc_mod.crc64_py(start, data)


def test_crc64_known_value():
    assert fast.crc64(0, b"123456789") == 0xE9C6D914C4B8D9CA
    big = bytes(range(256)) * 4096
    assert fast.crc64(0, big) == crc_mod.crc64_py(0, big)


@SETTINGS
@given(strings, st.one_of(st.none(), st.integers(-2, 600)))
def test_lzf_compress_and_decompress(s, max_out):
    got = fast.compress(s, max_out)
    assert got == lzf.compress_py(s, max_out)
    if got is not None:
        assert fast.decompress(got, len(s)) == s
        assert lzf.decompress_py(got, len(s)) == s


@SETTINGS
@given(st.binary(max_size=200), st.integers(0, 400))
def test_lzf_decompress_garbage(blob, out_len):
    def run(fn):
        try:
            return fn(blob, out_len)
        except LZFError:
            return LZFError

    assert run(fast.decompress) == run(lzf.decompress_py)


@SETTINGS
@given(strings, st.booleans())
def test_enc_str(s, comp):
    assert fast.enc_str(s, comp) == rdb_format.enc_str_py(s, comp)


@SETTINGS
@given(st.integers(0, (1 << 64) - 1))
def test_enc_len(n):
    assert fast.enc_len(n) == rdb_format.enc_len_py(n)


@SETTINGS
@given(st.one_of(strings, st.integers(-(1 << 63), (1 << 63) - 1), st.binary(min_size=4000, max_size=5000)))
def test_lp_entry(s):
    assert fast.lp_entry(s) == lp.lp_entry_py(s)


@SETTINGS
@given(st.lists(st.one_of(strings, st.integers(-(1 << 63), (1 << 63) - 1)), max_size=40), st.booleans())
def test_lp_encode_decode(items, ints):
    blob = fast.lp_encode(items)
    assert blob == lp.lp_encode_py(items)
    assert fast.lp_decode(blob, ints) == lp.lp_decode_py(blob, ints)


@SETTINGS
@given(st.dictionaries(strings, strings, max_size=20))
def test_lp_encode_pairs(d):
    assert fast.lp_encode_pairs(d) == lp.lp_encode_pairs_py(d)


@SETTINGS
@given(st.lists(strings, max_size=12), st.integers(0, 200), st.integers(0, 255))
def test_lp_decode_corrupt(items, where, byte):
    blob = bytearray(lp.lp_encode_py(items))
    blob[where % len(blob)] = byte
    blob = bytes(blob)

    def run(fn):
        try:
            return fn(blob, True)
        except (BlobError, struct.error, IndexError, ValueError):
            return "refused"

    assert run(fast.lp_decode) == run(lp.lp_decode_py)


@SETTINGS
@given(st.lists(strings, max_size=60), st.sampled_from([-2, -1, 1, 3, 128]), st.booleans(),
       st.sampled_from([1 << 30, 10]))
def test_quicklist(items, fill, comp, threshold):
    cfg = _Cfg(CFG)
    cfg.values = dict(CFG, **{"list-max-listpack-size": fill})
    enc = Encoder(cfg, comp)
    enc.packed_threshold = threshold  # DEBUG QUICKLIST-PACKED-THRESHOLD
    max_bytes, max_count = (4096 << (-fill - 1), 1 << 62) if fill < 0 else (8192, fill)
    assert fast.quicklist_nodes(items, max_bytes, max_count, comp, threshold) == \
        enc.enc_list_py(items, max_bytes, max_count)


def _dataset(draw_strings, draw_exp):
    data: dict[bytes, object] = {}
    expires: dict[bytes, int] = {}
    for i, v in enumerate(draw_strings):
        key = b"k%d" % i
        data[key] = v
        if draw_exp[i % len(draw_exp)]:
            expires[key] = draw_exp[i % len(draw_exp)]
    return data, expires


@SETTINGS
@given(st.lists(strings, max_size=40), st.lists(st.sampled_from([0, 0, 1, 2_000_000_000_000, 4_000_000_000_000]),
                                                 min_size=1, max_size=5), st.booleans())
def test_records_write_and_read(values, exps, comp):
    data, expires = _dataset(values, exps)
    from pyredis.engine.hash import HashValue

    if values:
        h = HashValue({b"f": values[0]})
        data[b"hash"] = h
    enc = Encoder(_Cfg(CFG), comp)
    out_fast: list[bytes] = []
    out_py: list[bytes] = []
    rdb_writer._fast_db_keys(fast.db_records, out_fast.append, data, expires, enc.encode, comp, None, 0)
    rdb_writer._db_keys(out_py.append, data, expires, enc.encode, comp, None, 0, None, None, None, 0)
    body = b"".join(out_fast)
    assert body == b"".join(out_py)
    # read back: the compiled run reader stops at what it does not handle, the loop does the rest
    now = 1_500_000_000_000
    loaded: dict[bytes, object] = {}
    exp_loaded: dict[bytes, int] = {}
    r = Reader(body + b"\xff", _Cfg(CFG))
    n_loaded = n_expired = 0
    while r.data[r.pos] != 0xFF:
        a, b = fast.read_strings(r, loaded, exp_loaded, len(body), now, True)
        n_loaded += a
        n_expired += b
        if not (a or b):
            break
    want = {k: v for k, v in data.items() if not (k in expires and expires[k] < now)}
    if b"hash" in want:
        assert r.data[r.pos] in (0x10, 0xFC)  # stopped before the hash record
        want = {k: v for k, v in want.items() if list(data).index(k) < list(data).index(b"hash")}
    assert loaded == {k: v for k, v in want.items()}
    assert exp_loaded == {k: expires[k] for k in loaded if k in expires}
    assert n_loaded == len(loaded)


def test_read_strings_stops_on_duplicate_and_garbage():
    rec = b"\x00" + rdb_format.enc_str_py(b"a") + rdb_format.enc_str_py(b"1")
    r = Reader(rec + rec + b"\xff", _Cfg(CFG))
    d: dict = {}
    assert fast.read_strings(r, d, {}, 1 << 30, 0, True) == (1, 0)
    assert r.pos == len(rec)  # the duplicate is left for the Python loop to report
    r = Reader(b"\x00\x05ab", _Cfg(CFG))  # truncated
    assert fast.read_strings(r, {}, {}, 1 << 30, 0, True) == (0, 0)
    assert r.pos == 0


def test_loader_uses_fast_path_and_agrees(monkeypatch):
    """A whole image loads the same through the compiled run reader and the pure loop."""
    from pyredis.server.app import Server

    srv = Server()
    db = srv.keyspace.dbs[0]
    for i in range(3000):
        db.data[b"s%d" % i] = b"v" * (i % 70) + b"%d" % i
        if i % 7 == 0:
            db.expires[b"s%d" % i] = 4_000_000_000_000 + i
    db.data[b"n"] = b"12345"
    from pyredis.engine.hash import HashValue
    from pyredis.engine.list import ListValue
    from pyredis.engine.set import SetValue
    from pyredis.engine.types import encoding_of
    from pyredis.engine.zset import ZSetValue

    for i in range(300):
        db.data[b"h%d" % i] = h = HashValue({b"f%d" % j: b"v" * (i % 90) + b"%d" % j for j in range(i % 9 + 1)})
        h.update_encoding(srv.config)
        db.data[b"si%d" % i] = SetValue.build([b"%d" % (j * 1000 - 7) for j in range(i % 7 + 1)], srv.config)
        db.data[b"ss%d" % i] = SetValue.build([b"m%d" % j for j in range(i % 7 + 1)], srv.config)
        db.data[b"z%d" % i] = ZSetValue.from_pairs([(b"m%d" % j, j * 0.25 - 1) for j in range(i % 6 + 1)], 128, 64)
        db.data[b"l%d" % i] = ListValue([b"%d" % j if j % 2 else b"item%d" % j for j in range(i % 11 + 1)])
        if i % 5 == 0:
            db.expires[b"h%d" % i] = 1000 + i  # already expired: skipped by the loader
    image = rdb_writer.rdb_bytes(srv)
    results = []
    for use_fast in (True, False):
        monkeypatch.setattr(rdb_reader, "_fast", fast if use_fast else None)
        s2 = Server()
        res = rdb_reader.load_rdb_bytes(s2, image)
        got = s2.keyspace.dbs[0]
        norm = {k: (type(v).__name__, encoding_of(v, s2.config), list(v.sl) if isinstance(v, ZSetValue) else
                    sorted(v) if isinstance(v, SetValue) else list(v.items()) if hasattr(v, "items") else
                    v if isinstance(v, bytes) else list(v)) for k, v in got.data.items()}
        results.append((res.keys_loaded, res.keys_expired, norm, dict(got.expires)))
    assert results[0] == results[1]
    assert results[0][0] == len(db.data) - 60 and results[0][1] == 60


def test_info_reports_the_rdb_accelerator(pyr):
    """INFO server names the RDB codec implementation the server runs (same rule as accel.py)."""
    import os
    import re

    from pyredis.persistence import accel

    info = pyr.call("INFO", "server")
    m = re.search(rb"pyredis_rdb_accelerator:(\w+)", info)
    assert m is not None
    disabled = os.environ.get("PYREDIS_NO_EXTENSIONS", "") not in ("", "0")
    assert m.group(1).decode() == ("python" if disabled else accel.ACTIVE)


def test_memory_sampler_keeps_a_bounded_uniform_snapshot():
    """The used_memory estimate samples from at most SNAPSHOT_LIMIT keys (no list of every key)."""
    from pyredis.engine.memory import KeySampler, _pick

    d = {b"k%d" % i: b"v" for i in range(20000)}
    assert _pick(d, [0, 7, 19999]) == [b"k0", b"k7", b"k19999"]
    s = KeySampler(100)
    picks = s.sample(d, 50)
    assert len(s.snap) == 100 and len(set(s.snap)) == 100 and all(k in d for k in picks)
    full = KeySampler()
    full.sample(d, 5)
    assert len(full.snap) == len(d)  # eviction keeps drawing from every key


_scores = st.one_of(st.sampled_from([b"0", b"-0", b"0.0", b"-0.0", b"1", b"1.5", b"-2", b"inf", b"-inf"]),
                    st.floats(allow_nan=False, width=32).map(lambda f: repr(f).encode()),
                    st.integers(-1000, 1000).map(lambda i: b"%d" % i))


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from([b"a", b"b", b"ab", b"ba", b"", b"7", b"x" * 70]), _scores),
                min_size=1, max_size=12), st.booleans())
def test_zset_listpack_records_load_alike(pairs, in_order):
    """A zset listpack record (Redis's own (score, member) order, or any order, zero and -0 scores,
    duplicate members) loads the same through the compiled reader and the Python one: the same
    sorted entries, scores (their sign too) and encoding, or both refusing it."""
    from pyredis.server.app import Server

    if in_order:
        pairs = sorted(pairs, key=lambda p: (float(p[1]), p[0]))
    blob = lp.lp_encode([x for p in pairs for x in p])
    image = b"REDIS0010" + b"\x11" + rdb_format.enc_str_py(b"z") + rdb_format.enc_str_py(blob) + b"\xff"
    image += struct.pack("<Q", 0)  # no checksum
    outcomes = []
    for use_fast in (True, False):
        orig = rdb_reader._fast
        rdb_reader._fast = fast if use_fast else None
        try:
            srv = Server()
            try:
                rdb_reader.load_rdb_bytes(srv, image, check_crc=False)
            except rdb_reader.RDBError as e:
                outcomes.append(("error", str(e).split(" at ")[0]))
                continue
        finally:
            rdb_reader._fast = orig
        z = srv.keyspace.dbs[0].data[b"z"]
        outcomes.append(([(repr(sc), m) for sc, m in z.sl], sorted((m, repr(sc)) for m, sc in z.d.items()),
                         z.encoding()))
    assert outcomes[0] == outcomes[1]
