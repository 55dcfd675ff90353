"""Protocol handling: malformed input, partial frames, limits, inline commands, RESP3, pipelining.

Each raw exchange runs against redis-server and pyredis and the bytes must be identical.
"""

from __future__ import annotations

import socket

import pytest


def exchange(port: int, payload: bytes, chunk: int = 0, timeout: float = 3.0, first_wait: float = 5.0,
             until: bytes = b"") -> bytes:
    """Send *payload* (optionally split into *chunk*-byte writes) and read until close, idle (up to
    *first_wait* seconds for the first bytes, then 0.5 s of silence) or a reply ending with *until*."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        if chunk:
            for i in range(0, len(payload), chunk):
                s.sendall(payload[i : i + chunk])
        else:
            s.sendall(payload)
        s.settimeout(first_wait)  # the first reply may be slow on a busy machine; then read until idle
        out = b""
        while True:
            try:
                data = s.recv(65536)
            except TimeoutError:
                break
            if not data:
                break
            out += data
            if until and out.endswith(until):
                break
            s.settimeout(0.5)
        return out
    finally:
        s.close()


def same(redis_proc, pyredis_proc, payload: bytes, chunk: int = 0) -> bytes:
    expected = exchange(redis_proc.port, payload, chunk, first_wait=2.0)
    # when redis-server stays silent, a wrong pyredis reply would come at once: no need to wait 5 s for it
    got = exchange(pyredis_proc.port, payload, chunk, first_wait=5.0 if expected else 1.0)
    assert got == expected, f"{payload!r}: redis {expected!r} != pyredis {got!r}"
    assert pyredis_proc.alive()
    return got


MALFORMED = [
    b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n",  # wrong multibulk payload header
    b"*3000000000\r\n",  # out of range multibulk length
    b"*20000000\r\n",
    b"*-10\r\nPING\r\n",  # negative multibulk length is ignored
    b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$-10\r\n",  # negative bulk length
    b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$2000000000\r\n",  # bulk length over proto-max-bulk-len
    b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$blabla\r\n",  # non-number bulk length
    b"*blabla\r\n",
    b"*1\r\n:1\r\n",
    b"*1\r\n*1\r\n$4\r\nPING\r\n",
    b"set \"\"\"test-key\"\"\" test-value\r\nping\r\n",  # unbalanced quotes
    b"*1\r\n$4\r\nPING\r\n*1\r\n$04\r\nPING\r\n",
    b"\x00\x01\x02\r\n",
    # RESP3 elements hiredis would read as bulk strings, and top-level sets/attributes
    b"*1\r\n+PING\r\n",
    b"*2\r\n$4\r\nECHO\r\n(123\r\n",
    b"*2\r\n$4\r\nECHO\r\n=7\r\ntxt:abc\r\n",
    b"~1\r\n$4\r\nPING\r\n",
    b"|1\r\n$4\r\nPING\r\n",
    b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\na\n+\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",  # a '+' inside a value
]


@pytest.mark.parametrize("payload", MALFORMED)
def test_malformed_requests(redis_proc, pyredis_proc, payload):
    same(redis_proc, pyredis_proc, payload)
    # The server keeps serving other clients.
    assert exchange(pyredis_proc.port, b"PING\r\n") == b"+PONG\r\n"


def test_pipelining_and_partial_frames(redis_proc, pyredis_proc):
    batch = b"".join(
        b"*3\r\n$3\r\nSET\r\n$%d\r\nk%d\r\n$%d\r\nv%d\r\n" % (len(b"k%d" % i), i, len(b"v%d" % i), i)
        + b"*2\r\n$3\r\nGET\r\n$%d\r\nk%d\r\n" % (len(b"k%d" % i), i)
        for i in range(200)
    )
    same(redis_proc, pyredis_proc, b"*1\r\n$8\r\nFLUSHALL\r\n" + batch)
    for chunk in (1, 3, 7, 64):
        same(redis_proc, pyredis_proc, batch[:2000], chunk=chunk)


def test_inline_commands(redis_proc, pyredis_proc):
    same(redis_proc, pyredis_proc, b"FLUSHALL\r\nSET \"a b\" 'c d'\r\nGET \"a b\"\r\n")
    same(redis_proc, pyredis_proc, b"SET k \"\\x41\\n\\t\"\r\nGET k\nECHO 'it\\'s'\r\n\r\n  \r\nPING\r\n")
    same(redis_proc, pyredis_proc, b"ECHO \"unterminated\r\n")
    same(redis_proc, pyredis_proc, b"ECHO \"a\"b\r\n")
    # Inline and multibulk mixed in one read, then split.
    mixed = b"PING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\nECHO x\r\n"
    same(redis_proc, pyredis_proc, mixed)
    same(redis_proc, pyredis_proc, mixed, chunk=2)


def test_big_inline_and_bulk(redis_proc, pyredis_proc):
    same(redis_proc, pyredis_proc, b"a" * 70000)  # too big inline request
    same(redis_proc, pyredis_proc, b"*1\r\n$" + b"1" * 70000)  # too big bulk count string
    big = b"x" * 300000
    payload = b"*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$%d\r\n%s\r\n*2\r\n$6\r\nSTRLEN\r\n$3\r\nbig\r\n" % (len(big), big)
    same(redis_proc, pyredis_proc, payload, chunk=16384)


def test_resp3_types(redis_proc, pyredis_proc):
    for cmd in (b"GET nosuch", b"CONFIG GET maxmemory", b"DEBUG PROTOCOL double", b"DEBUG PROTOCOL map",
                b"DEBUG PROTOCOL set", b"DEBUG PROTOCOL null", b"DEBUG PROTOCOL true", b"DEBUG PROTOCOL bignum",
                b"DEBUG PROTOCOL verbatim", b"DEBUG PROTOCOL array"):
        payload = b"HELLO 3\r\n" + cmd + b"\r\nECHO end-mark\r\n"
        r = exchange(redis_proc.port, payload, until=b"end-mark\r\n")
        p = exchange(pyredis_proc.port, payload, until=b"end-mark\r\n")
        # Skip the HELLO reply (client ids differ) and compare the command's reply.
        assert p[p.index(b"*0\r\n") + 4 :] == r[r.index(b"*0\r\n") + 4 :], cmd


def test_unknown_and_arity_errors(redis_proc, pyredis_proc):
    same(redis_proc, pyredis_proc, b"NOSUCHCMD a b c\r\nGET\r\nGET a b\r\nPING a b\r\nCLIENT NOSUB\r\nCONFIG\r\n")
    long_arg = b"x" * 300
    same(redis_proc, pyredis_proc, b"NOSUCH " + long_arg + b" " + long_arg + b"\r\n")


def test_quit_closes_after_reply(redis_proc, pyredis_proc):
    same(redis_proc, pyredis_proc, b"PING\r\nQUIT\r\nPING\r\n")


def test_huge_multibulk_header_split_across_reads(redis_proc, pyredis_proc):
    payload = b"*1\r\n$4\r\nPING\r\n*2147483648\r\n"
    for chunk in (1, 3, 7):
        same(redis_proc, pyredis_proc, payload, chunk=chunk)
    assert exchange(pyredis_proc.port, b"PING\r\n") == b"+PONG\r\n"
