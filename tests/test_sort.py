"""Differential tests: SORT and SORT_RO against redis-server."""

from __future__ import annotations

import random

import pytest
from events_support import check_events

BOTH = pytest.mark.parametrize("resp", ["2", "3"])


@BOTH
def test_sort_basics(diff, resp):
    diff.hello(resp)
    diff.lines("""
        RPUSH l 3 1 2 10 -5 1.5 inf -inf
        SORT l
        SORT l DESC
        SORT l ALPHA
        SORT l ALPHA DESC
        SORT l LIMIT 0 3
        SORT l LIMIT 2 3 DESC
        SORT l LIMIT -5 2
        SORT l LIMIT 5 -1
        SORT l LIMIT 100 10
        SORT l LIMIT 2 9223372036854775807
        SORT l LIMIT 9223372036854775807 9223372036854775807
        SORT l LIMIT 0 0
        SORT l LIMIT a b
        SORT l LIMIT 1
        SORT l FOO
        SORT l BY
        SORT l GET
        SORT l STORE
        SORT_RO l STORE x
        SORT_RO l
        SORT_RO l DESC LIMIT 1 2
        SORT nokey
        SORT nokey LIMIT 0 5 DESC ALPHA
        SET s x
        SORT s
        SORT s LIMIT a b
        SORT s FOO
        HSET h a 1
        SORT h
        SORT
    """)


def test_sort_numbers(diff):
    diff.lines("""
        RPUSH l " 5" 2 "" 0x10 1e3 -0 0 +7
        SORT l
        SORT l DESC
        DEL l
        RPUSH l nan
        SORT l
        DEL l
        RPUSH l 5 "5 " 3
        SORT l
        DEL l
        RPUSH mylist 2 1 3 10
        SORT mylist ALPHA
        RPUSH floats 1.1 5.10 3.10 7.44 2.1 5.75 6.12 0.25 1.15
        SORT floats
        RPUSH ties 1.0 1 01 1.00 b a
        SORT ties BY nosort
        SORT ties BY x_*
        SORT ties BY x_* DESC
    """)


# Redis's SORT reads a stale errno after strtod: once a conversion hit ERANGE, later numeric sorts on
# the same connection fail until something resets errno. Each range error case runs last, alone.
@pytest.mark.parametrize("value", ["1e-310", "1e400", "1e-400"])
def test_sort_range_errors(diff, value):
    diff.check("RPUSH", "l", value, "2")
    diff.check("SORT", "l", "ALPHA")
    diff.check("SORT", "l")


@BOTH
def test_sort_by_get(diff, resp):
    diff.hello(resp)
    diff.lines("""
        RPUSH l a b c d e
        MSET w_a 5 w_b 3 w_c 4 w_d 1 w_e 2
        HSET o_a f 50 HSET o_b f 30
        HSET o_a f 50
        HSET o_b f 30
        HSET o_c f 40
        HSET o_d f 10
        HSET o_e f 20
        SORT l BY w_*
        SORT l BY w_* DESC
        SORT l BY w_* LIMIT 1 2
        SORT l BY o_*->f
        SORT l BY o_*->f DESC GET # GET w_* GET o_*->f
        SORT l BY w_* GET nokey
        SORT l BY w_* GET #
        SORT l GET # GET w_* ALPHA
        SORT l BY w_* GET o_*->nofield
        SORT l BY w_* GET o_*->
        SORT l BY o_*->nofield
        SORT l BY nosuch_*
        SORT l BY nosuch_* ALPHA
        SORT l BY w_* ALPHA
        SORT l BY w_* ALPHA DESC
        SORT l BY o_*
        SORT l BY l
        SORT l BY nosort DESC
        SORT l BY nosort LIMIT 1 2
        SORT l BY nosort DESC LIMIT 1 2
        SORT l BY nosort GET w_*
        SORT l BY w_*x
        SET w_a not-a-double
        SORT l BY w_*
        SORT l BY w_* ALPHA
        SET x:a-> 100
        SORT l BY num GET x:*->
        SORT l BY w_* BY nosort
        SORT l BY nosort BY w_*
    """)


def test_sort_sets_and_zsets(diff):
    diff.lines("""
        SADD myset 1 2 3 4 not-a-double
        SORT myset
        DEL myset
        SADD myset 5 3 1 4 2 10
        SORT myset
        SORT myset DESC LIMIT 1 3
        SORT myset ALPHA
        SADD aset a b c d e f g h i l m n o p q r s t u v z aa aaa azz
        SORT aset ALPHA
        SORT aset ALPHA BY _ STORE out
        LRANGE out 0 -1
        SORT aset BY nosort STORE out
        LRANGE out 0 -1
        SORT aset BY score:*
        SADD iset 5 3 -1 100 7
        SORT iset BY nosort
        SORT iset BY nosort DESC LIMIT 1 2
        SORT iset BY nosort GET #
        ZADD zset 1 a 5 b 2 c 10 d 3 e
        SORT zset ALPHA DESC
        SORT zset BY nosort ASC
        SORT zset BY nosort DESC
        SORT zset BY nosort ASC LIMIT 0 1
        SORT zset BY nosort DESC LIMIT 0 1
        SORT zset BY nosort ASC LIMIT 0 2
        SORT zset BY nosort DESC LIMIT 0 2
        SORT zset BY nosort LIMIT 5 10
        SORT zset BY nosort LIMIT -10 100
        SORT zset BY nosort DESC LIMIT 1 3
        SORT zset
        ZADD nzset 3 10 1 20 2 5
        SORT nzset
        SORT nzset BY nosort
        EVAL "return {redis.call('sort',KEYS[1],'by','nosort','asc'), redis.call('sort',KEYS[1],'by','nosort','desc')}" 1 zset
        EVAL "return redis.call('sort',KEYS[1],'by','nosort')" 1 myset
    """)


def test_sort_store(diff):
    diff.lines("""
        RPUSH l 3 1 2
        SORT l STORE dst
        LRANGE dst 0 -1
        TYPE dst
        OBJECT ENCODING dst
        SORT l STORE dst GET nokey_*
        LRANGE dst 0 -1
        SORT nokey STORE dst
        EXISTS dst
        RPUSH foo bar
        SORT foo ALPHA LIMIT 10 10 STORE zap
        EXISTS zap
        SET dst x
        EXPIRE dst 100
        SORT l STORE dst
        TTL dst
        SORT l STORE a STORE b
        EXISTS a
        LRANGE b 0 -1
        SORT l BY nosort STORE dst
        LRANGE dst 0 -1
        SORT l BY nosort LIMIT 0 2 STORE dst
        LRANGE dst 0 -1
        SET w_1 bad
        SORT l BY w_* STORE dst
        LRANGE dst 0 -1
        SORT l STORE l
        LRANGE l 0 -1
        COMMAND GETKEYS SORT abc STORE def
        COMMAND GETKEYS SORT abc STORE invalid STORE stillbad STORE def
        COMMAND GETKEYS SORT abc LIMIT 0 1 GET store BY store STORE x
        COMMAND GETKEYS SORT_RO abc
        COMMAND GETKEYS SORT abc
    """)


def test_sort_random_datasets(diff):
    rnd = random.Random(7)
    for kind in ("RPUSH", "SADD"):
        diff.check("DEL", "tosort")
        seen = set()
        for i in range(300):
            while True:
                w = rnd.choice([str(rnd.randrange(1000000)), repr(rnd.random())])
                if w not in seen:
                    break
            seen.add(w)
            diff.check(kind, "tosort", str(i))
            diff.check("SET", f"weight_{i}", w)
            diff.check("HSET", f"wobj_{i}", "weight", w)
        diff.check("SORT", "tosort", "BY", "weight_*")
        diff.check("SORT", "tosort", "BY", "weight_*", "LIMIT", "5", "5")
        diff.check("SORT", "tosort", "BY", "wobj_*->weight", "DESC")
        diff.check("SORT", "tosort", "GET", "#", "GET", "weight_*", "LIMIT", "10", "20")
        diff.check("SORT", "tosort", "ALPHA", "LIMIT", "0", "50")
        diff.check("SORT", "tosort")


def test_notifications(redis_proc, pyredis_proc):
    check_events(redis_proc, pyredis_proc, """
        RPUSH l 3 1 2
        SORT l STORE dst
        SORT nokey STORE dst
        SORT l LIMIT 5 5 STORE dst
        SORT l STORE dst
        SORT l
    """)
