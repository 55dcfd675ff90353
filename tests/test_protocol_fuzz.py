"""Random garbage on the wire: the server answers or closes that connection, and keeps serving others."""

from __future__ import annotations

import socket

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support import RawClient

FRAGMENTS = st.sampled_from([
    b"*", b"$", b"\r\n", b"\r", b"\n", b"*1\r\n", b"*3\r\n", b"$3\r\nSET\r\n", b"$1\r\na\r\n", b"$-1\r\n",
    b"*-1\r\n", b"*0\r\n", b"$99999999999\r\n", b"*2147483648\r\n", b"PING\r\n", b"GET a\r\n", b'"', b"'",
    b"\\x4", b"\x00", b"+OK\r\n", b":1\r\n", b"ECHO \"a b\"\r\n", b"HELLO 3\r\n", b"SUBSCRIBE c\r\n",
    b"MULTI\r\n", b"EXEC\r\n", b"BLPOP l 0.01\r\n", b"CLIENT REPLY OFF\r\n", b"\xff\xfe",
])
PAYLOADS = st.lists(st.one_of(FRAGMENTS, st.binary(max_size=12)), max_size=12).map(b"".join)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(PAYLOADS, st.integers(1, 7))
def test_garbage_never_hurts_other_clients(pyredis_proc, payload, chunk):
    s = socket.create_connection(("127.0.0.1", pyredis_proc.port), timeout=2)
    try:
        for i in range(0, len(payload), chunk):
            s.sendall(payload[i : i + chunk])
        s.settimeout(0.05)
        try:
            while s.recv(65536):
                pass
        except (TimeoutError, ConnectionError):
            pass
    except OSError:
        pass  # the server may close the connection while we are still writing: that is allowed
    finally:
        s.close()
    other = RawClient(pyredis_proc.port, timeout=5)
    assert other.call("PING") == b"+PONG\r\n"
    other.close()
    assert pyredis_proc.alive()
