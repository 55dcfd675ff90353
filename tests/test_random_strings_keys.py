"""Property-based differential test: random command sequences over strings and keys, compared
reply by reply against redis-server."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

KEYS = st.sampled_from([b"a", b"b", b"c", b"n"])
VALUES = st.one_of(
    st.sampled_from([b"", b"0", b"1", b"-1", b"10", b"3.5", b"9223372036854775807", b"abc", b" 1", b"1e3"]),
    st.binary(max_size=8),
)
INTS = st.one_of(st.integers(-5, 20), st.sampled_from([9223372036854775807, -9223372036854775808]))
INTB = INTS.map(lambda i: b"%d" % i)
FLOATS = st.sampled_from([b"0.1", b"-1.5", b"1e2", b"abc", b"inf", b"3"])

COMMANDS = st.one_of(
    st.tuples(st.just(b"SET"), KEYS, VALUES),
    st.tuples(st.just(b"SET"), KEYS, VALUES, st.sampled_from([b"NX", b"XX", b"GET", b"KEEPTTL"])),
    st.tuples(st.just(b"SET"), KEYS, VALUES, st.sampled_from([b"EX", b"PX"]), st.sampled_from([b"1000", b"0", b"x"])),
    st.tuples(st.just(b"GET"), KEYS),
    st.tuples(st.just(b"GETSET"), KEYS, VALUES),
    st.tuples(st.just(b"GETDEL"), KEYS),
    st.tuples(st.just(b"APPEND"), KEYS, VALUES),
    st.tuples(st.just(b"STRLEN"), KEYS),
    st.tuples(st.just(b"INCR"), KEYS),
    st.tuples(st.just(b"DECR"), KEYS),
    st.tuples(st.just(b"INCRBY"), KEYS, INTB),
    st.tuples(st.just(b"DECRBY"), KEYS, INTB),
    st.tuples(st.just(b"INCRBYFLOAT"), KEYS, FLOATS),
    st.tuples(st.just(b"GETRANGE"), KEYS, INTB, INTB),
    st.tuples(st.just(b"SETRANGE"), KEYS, st.integers(0, 12).map(lambda i: b"%d" % i), VALUES),
    st.tuples(st.just(b"MSET"), KEYS, VALUES, KEYS, VALUES),
    st.tuples(st.just(b"MSETNX"), KEYS, VALUES, KEYS, VALUES),
    st.tuples(st.just(b"MGET"), KEYS, KEYS, KEYS),
    st.tuples(st.just(b"SETNX"), KEYS, VALUES),
    st.tuples(st.just(b"DEL"), KEYS, KEYS),
    st.tuples(st.just(b"EXISTS"), KEYS, KEYS),
    st.tuples(st.just(b"TYPE"), KEYS),
    st.tuples(st.just(b"RENAME"), KEYS, KEYS),
    st.tuples(st.just(b"RENAMENX"), KEYS, KEYS),
    st.tuples(st.just(b"COPY"), KEYS, KEYS),
    st.tuples(st.just(b"EXPIRE"), KEYS, st.sampled_from([b"100", b"200", b"-1"]),
              st.sampled_from([b"NX", b"XX", b"GT", b"LT"])),
    st.tuples(st.just(b"PERSIST"), KEYS),
    st.tuples(st.just(b"LCS"), KEYS, KEYS),
    st.tuples(st.just(b"DBSIZE")),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(COMMANDS, min_size=1, max_size=25))
def test_random_sequences_match_redis(diff, commands):
    diff.check("FLUSHDB")
    for cmd in commands:
        diff.check(*cmd)
