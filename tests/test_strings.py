"""Differential tests: string commands against redis-server, byte for byte."""

import pytest


def test_get_set_options(diff):
    diff.lines("""
        SET foo bar
        GET foo
        GET nosuch
        SET foo bar NX
        SET foo baz XX
        SET foo qux XX GET
        SET newkey v NX GET
        SET foo v KEEPTTL
        SET foo v EX 100 KEEPTTL
        SET foo v NX XX
        SET foo v EX 10 PX 100
        SET foo v EX
        SET foo v EX 0
        SET foo v EX -5
        SET foo v PX abc
        SET foo v EX 9223372036854775807
        SET foo v PXAT 9223372036854775807
        SET foo v BADOPT
        SET foo v EX 100
        TTL foo
        SET foo v KEEPTTL
        TTL foo
        SET foo v
        TTL foo
        SET
        SET onlykey
        GET a b
    """)


def test_set_get_on_wrong_type(diff):
    diff.lines("""
        HSET h f v
        SET h x GET
        GET h
        GETSET h x
        GETDEL h
        APPEND h x
        STRLEN h
        INCR h
        GETRANGE h 0 1
        SETRANGE h 0 x
        MGET h nosuch
        SET h x
        GET h
    """)


def test_counters(diff):
    diff.lines("""
        INCR c
        INCRBY c 10
        DECR c
        DECRBY c 5
        INCRBY c abc
        INCRBY c 1.5
        SET c 9223372036854775807
        INCR c
        SET c -9223372036854775808
        DECR c
        DECRBY c -9223372036854775808
        SET c " 1"
        INCR c
        SET c 01
        INCR c
        SET c +1
        INCR c
        SET c 12345678901234567890
        INCR c
        SET f 10.5
        INCRBYFLOAT f 0.1
        INCRBYFLOAT f -5
        INCRBYFLOAT f 1e3
        INCRBYFLOAT f abc
        INCRBYFLOAT f inf
        SET f 1.5e10
        INCRBYFLOAT f 1
        SET f abc
        INCRBYFLOAT f 1
        INCRBYFLOAT newf 3.0e-5
        INCRBYFLOAT newf2 5
    """)


def test_ranges_and_append(diff):
    diff.lines("""
        SET s "Hello World"
        GETRANGE s 0 4
        GETRANGE s -5 -1
        GETRANGE s 5 2
        GETRANGE s -1 -5
        GETRANGE s 0 1000
        GETRANGE s a b
        GETRANGE nosuch 0 -1
        SUBSTR s 0 2
        SETRANGE s 6 Redis
        GET s
        SETRANGE s 20 xyz
        GET s
        SETRANGE s -1 x
        SETRANGE empty 0 ""
        EXISTS empty
        SETRANGE empty2 3 abc
        GET empty2
        SETRANGE s 0 ""
        SETRANGE s 536870912 x
        APPEND s tail
        APPEND newapp start
        STRLEN s
        STRLEN nosuch
    """)


def test_multi_key_and_expiring_variants(diff):
    diff.lines("""
        MSET a 1 b 2 c 3
        MGET a b c nosuch
        MSET a 1 b
        MSETNX a 1 d 4
        MSETNX d 4 e 5
        MGET d e
        SETNX a 5
        SETNX z 5
        SETEX k 100 v
        TTL k
        SETEX k 0 v
        SETEX k abc v
        PSETEX k 100000 v
        SETEX k -1 v
        GETEX k PERSIST
        TTL k
        GETEX k EX 100
        TTL k
        GETEX k EX 100 PX 100
        GETEX k PERSIST EX 10
        GETEX k BADOPT
        GETEX nosuch EX 10
        GETDEL k
        GETDEL k
        GETSET a new
        GETSET nosuch2 new
    """)


def test_lcs(diff):
    diff.lines("""
        MSET k1 ohmytext k2 mynewtext
        LCS k1 k2
        LCS k1 k2 LEN
        LCS k1 k2 IDX
        LCS k1 k2 IDX MINMATCHLEN 4
        LCS k1 k2 IDX MINMATCHLEN 4 WITHMATCHLEN
        LCS k1 k2 IDX WITHMATCHLEN
        LCS k1 k2 LEN IDX
        LCS k1 nosuch
        LCS k1 k2 BADOPT
        RPUSH l a
        LCS k1 l
        HELLO 3
        LCS k1 k2 IDX WITHMATCHLEN
    """)


@pytest.mark.parametrize("resp", ["2", "3"])
def test_resp3_string_replies(diff, resp):
    diff.hello(resp)
    diff.lines("""
        SET a 1
        GET a
        GET nosuch
        MGET a nosuch
        INCRBYFLOAT a 1.5
        SET b x GET
    """)


def test_incrbyfloat_hex_and_long_double(diff):
    diff.lines("""
        SET f 1
        INCRBYFLOAT f 0x10
        INCRBYFLOAT f 0x1p-3
        INCRBYFLOAT f 0.1
        INCRBYFLOAT f 1e300
        INCRBYFLOAT f -1e300
        HSET h x 1
        HINCRBYFLOAT h x 0x10
    """)
