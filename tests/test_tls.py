"""TLS (tls-port, tls-* directives) and protected mode, differential against a real redis-server.

Both servers get the same certificates (generated here, never committed) and the same directives;
what a TLS client sees from them must be the same: replies, refused handshakes, error replies,
negotiated protocol and ciphersuite, session reuse.
"""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import time

import pytest
import redis

from pyredis import tlscerts
from support import RawClient, ServerProcess, free_port

KINDS = ("redis", "pyredis")


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> tlscerts.CertFiles:
    return tlscerts.generate(str(tmp_path_factory.mktemp("certs")))


@pytest.fixture(scope="module")
def certs2(tmp_path_factory) -> tlscerts.CertFiles:
    """A second, unrelated CA with its own server certificate (for reload tests)."""
    return tlscerts.generate(str(tmp_path_factory.mktemp("certs2")))


def tls_args(certs: tlscerts.CertFiles, *extra: str, tls_port: int | None = None) -> tuple[list[str], int]:
    port = tls_port or free_port()
    args = ["--tls-port", str(port), "--tls-cert-file", certs.server_cert, "--tls-key-file", certs.server_key,
            "--tls-ca-cert-file", certs.ca_cert, *extra]
    return args, port


class TLSClient(RawClient):
    """RawClient over TLS."""

    def __init__(self, port: int, ctx: ssl.SSLContext, host: str = "127.0.0.1") -> None:
        raw = socket.create_connection((host, port), timeout=10)
        self.sock = ctx.wrap_socket(raw, server_hostname="localhost")
        self.buf = b""


def client_ctx(certs: tlscerts.CertFiles, with_cert: bool = True, **versions) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=certs.ca_cert)
    if with_cert:
        ctx.load_cert_chain(certs.client_cert, certs.client_key)
    if "minimum" in versions:
        ctx.minimum_version = versions["minimum"]
    if "maximum" in versions:
        ctx.maximum_version = versions["maximum"]
    return ctx


@pytest.fixture(scope="module")
def pair(certs):
    servers = {}
    for kind in KINDS:
        args, port = tls_args(certs)
        s = ServerProcess(kind, args)
        s.tls_port = port
        servers[kind] = s
    yield servers
    for s in servers.values():
        s.stop()


def test_replies_over_tls_match(pair, certs):
    script = [("SET", "k", "v"), ("GET", "k"), ("INCR", "n"), ("LPUSH", "l", "a", "b"), ("LRANGE", "l", 0, -1),
              ("HGETALL", "nosuch"), ("GET", "k", "extra"), ("PING",), ("CLIENT", "NO-EVICT", "on")]
    out = {}
    for kind, s in pair.items():
        c = TLSClient(s.tls_port, client_ctx(certs))
        c.call("FLUSHALL")
        out[kind] = [c.call(*cmd) for cmd in script]
        c.close()
    assert out["pyredis"] == out["redis"]


def test_plain_port_beside_tls(pair):
    for s in pair.values():
        assert s.client().call("PING") == b"+PONG\r\n"


def _handshake_outcome(port: int, ctx: ssl.SSLContext) -> str:
    """'ok' when a PING is answered over TLS, else the kind of failure."""
    try:
        c = TLSClient(port, ctx)
        c.sock.settimeout(5)
        reply = c.call("PING")
        c.close()
        return "ok" if reply == b"+PONG\r\n" else "reply:" + reply.decode()
    except (ssl.SSLError, ConnectionError, OSError):
        return "refused"


def test_client_certificate_required_by_default(pair, certs):
    for s in pair.values():
        assert _handshake_outcome(s.tls_port, client_ctx(certs, with_cert=False)) == "refused", s.kind
        assert _handshake_outcome(s.tls_port, client_ctx(certs)) == "ok", s.kind


def test_tls_auth_clients_optional_and_no(pair, certs):
    for mode in ("optional", "no"):
        for s in pair.values():
            c = s.client()
            assert c.call("CONFIG", "SET", "tls-auth-clients", mode) == b"+OK\r\n"
            assert _handshake_outcome(s.tls_port, client_ctx(certs, with_cert=False)) == "ok", (s.kind, mode)
            c.call("CONFIG", "SET", "tls-auth-clients", "yes")
            assert _handshake_outcome(s.tls_port, client_ctx(certs, with_cert=False)) == "refused", s.kind


def test_redis_cli_and_redis_py_over_tls(pair, certs):
    s = pair["pyredis"]
    cli = shutil.which("redis-cli")
    out = subprocess.run([cli, "--tls", "--cacert", certs.ca_cert, "--cert", certs.client_cert, "--key",
                          certs.client_key, "-p", str(s.tls_port), "SET", "cli", "x"], capture_output=True, text=True,
                         timeout=20)
    assert out.stdout.strip() == "OK", out.stderr
    r = redis.Redis(port=s.tls_port, ssl=True, ssl_ca_certs=certs.ca_cert, ssl_certfile=certs.client_cert,
                    ssl_keyfile=certs.client_key)
    assert r.get("cli") == b"x"
    assert r.pipeline().set("a", 1).incr("a").execute() == [True, 2]
    r.close()


def test_bad_config_set_keeps_old_context(pair, certs, tmp_path):
    bogus = tmp_path / "not-a-cert.pem"
    bogus.write_text("hello\n")
    replies = {}
    for kind, s in pair.items():
        c = s.client()
        replies[kind] = (c.call("CONFIG", "SET", "tls-cert-file", str(bogus)),
                         c.call("CONFIG", "GET", "tls-cert-file"),
                         c.call("CONFIG", "SET", "tls-protocols", "TLSv9"))
        assert _handshake_outcome(s.tls_port, client_ctx(certs)) == "ok", kind
    assert replies["pyredis"][0] == replies["redis"][0]
    assert replies["pyredis"][0].startswith(b"-ERR CONFIG SET failed (possibly related to argument 'tls-cert-file')"
                                            b" - Unable to update TLS configuration. Check server logs.")
    assert replies["pyredis"][1] == replies["redis"][1] and certs.server_cert.encode() in replies["redis"][1]
    assert replies["pyredis"][2] == replies["redis"][2]


def test_certificate_reload_for_new_connections(certs, certs2):
    for kind in KINDS:
        args, port = tls_args(certs, "--tls-auth-clients", "no")
        s = ServerProcess(kind, args)
        try:
            old = TLSClient(port, client_ctx(certs, with_cert=False))
            assert old.call("SET", "k", "1") == b"+OK\r\n"
            c = s.client()
            assert c.call("CONFIG", "SET", "tls-cert-file", certs2.server_cert, "tls-key-file", certs2.server_key,
                          "tls-ca-cert-file", certs2.ca_cert) == b"+OK\r\n", kind
            # new connections get the new certificate: the old CA no longer verifies it
            assert _handshake_outcome(port, client_ctx(certs, with_cert=False)) == "refused", kind
            assert _handshake_outcome(port, client_ctx(certs2, with_cert=False)) == "ok", kind
            assert old.call("GET", "k") == b"$1\r\n1\r\n", kind  # the open session is untouched
            old.close()
        finally:
            s.stop()


def test_protocols_and_ciphersuites(certs):
    for kind in KINDS:
        args, port = tls_args(certs, "--tls-auth-clients", "no", "--tls-protocols", "TLSv1.3",
                              "--tls-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256")
        s = ServerProcess(kind, args)
        try:
            only12 = client_ctx(certs, with_cert=False, maximum=ssl.TLSVersion.TLSv1_2)
            assert _handshake_outcome(port, only12) == "refused", kind
            c = TLSClient(port, client_ctx(certs, with_cert=False))
            assert c.sock.version() == "TLSv1.3"
            assert c.sock.cipher()[0] == "TLS_CHACHA20_POLY1305_SHA256", kind
            c.close()
            # CONFIG SET applies to the next connection
            assert s.client().call("CONFIG", "SET", "tls-protocols", "TLSv1.2") == b"+OK\r\n"
            c = TLSClient(port, client_ctx(certs, with_cert=False))
            assert c.sock.version() == "TLSv1.2", kind
            c.close()
        finally:
            s.stop()


def test_cipher_order_and_default_list_match_redis(certs):
    """TLSv1.2: the client's cipher order wins unless tls-prefer-server-ciphers; without tls-ciphers the
    list is OpenSSL's DEFAULT (it has the SHA-1 MAC suites that Python's own default leaves out)."""
    out = {}
    for kind in KINDS:
        args, port = tls_args(certs, "--tls-auth-clients", "no", "--tls-protocols", "TLSv1.2")
        s = ServerProcess(kind, args)
        try:
            got = []
            for cipher in ("ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA"):
                ctx = client_ctx(certs, with_cert=False)
                ctx.set_ciphers(cipher)
                got.append(_handshake_outcome(port, ctx))
            c = s.client()
            c.call("CONFIG", "SET", "tls-ciphers", "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384")
            for prefer in ("no", "yes"):
                assert c.call("CONFIG", "SET", "tls-prefer-server-ciphers", prefer) == b"+OK\r\n"
                ctx = client_ctx(certs, with_cert=False)
                ctx.set_ciphers("ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256")
                t = TLSClient(port, ctx)
                got.append(t.sock.cipher()[0])
                t.close()
            out[kind] = got
        finally:
            s.stop()
    assert out["pyredis"] == out["redis"]
    assert out["redis"][2:] == ["ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA-AES128-GCM-SHA256"]


def test_connection_closed_after_protocol_error_over_tls(pair, certs):
    """After a protocol error the TLS connection is closed at once (as Redis does: close_notify sent,
    the peer's not awaited), so a client that only keeps writing sees its writes fail (asyncio would
    keep the socket open for 30 s, reading and dropping what comes)."""
    for s in pair.values():
        c = TLSClient(s.tls_port, client_ctx(certs))
        c.send_raw(b"*\x00")
        closed = False
        try:
            for _ in range(1000):  # up to ~10 s
                c.send_raw(b"A" * 1024)
                time.sleep(0.01)
        except (OSError, ssl.SSLError):
            closed = True
        c.sock.close()
        assert closed, s.kind


def test_session_caching_matches_redis(certs):
    """TLSv1.2 session resumption on reconnect (tickets), with tls-session-caching yes and no, as redis-server."""
    results = {}
    for kind in KINDS:
        args, port = tls_args(certs, "--tls-auth-clients", "no", "--tls-protocols", "TLSv1.2")
        s = ServerProcess(kind, args)
        try:
            seen = []
            for caching in ("yes", "no"):
                s.client().call("CONFIG", "SET", "tls-session-caching", caching)
                ctx = client_ctx(certs, with_cert=False)
                first = TLSClient(port, ctx)
                first.call("PING")
                session = first.sock.session
                try:  # a clean close_notify: an unclean close invalidates the session
                    first.sock.unwrap()
                except (ssl.SSLError, OSError):
                    pass  # the server may close its side without answering the close_notify
                first.close()
                raw = socket.create_connection(("127.0.0.1", port), timeout=10)
                second = ctx.wrap_socket(raw, server_hostname="localhost", session=session)
                second.sendall(b"PING\r\n")
                second.recv(100)
                seen.append(second.session_reused)
                second.close()
            results[kind] = seen
        finally:
            s.stop()
    assert results["pyredis"] == results["redis"]
    assert results["redis"][0] is True


def test_startup_with_bad_certificate_fails_like_redis(certs, tmp_path):
    missing = str(tmp_path / "missing.crt")
    logs = {}
    for kind in KINDS:
        port = free_port()
        cmd = ([shutil.which("redis-server")] if kind == "redis" else ["python", "-m", "pyredis"])
        d = tmp_path / kind
        d.mkdir()
        env = dict(os.environ, PYTHONPATH=os.path.join(os.path.dirname(os.path.dirname(__file__)), "src"))
        p = subprocess.run([*cmd, "--port", str(free_port()), "--save", "", "--tls-port", str(port),
                            "--tls-cert-file", missing, "--tls-key-file", certs.server_key,
                            "--tls-ca-cert-file", certs.ca_cert], cwd=d, capture_output=True, text=True,
                           timeout=30, env=env)
        assert p.returncode == 1, kind
        logs[kind] = p.stdout + p.stderr
    for kind in KINDS:
        assert f"Failed to load certificate: {missing}" in logs[kind], (kind, logs[kind])
        assert "Failed to configure TLS. Check logs for more info." in logs[kind], kind


def test_config_set_tls_port(certs):
    s = ServerProcess("pyredis", ["--tls-cert-file", certs.server_cert, "--tls-key-file", certs.server_key,
                                  "--tls-ca-cert-file", certs.ca_cert])
    try:
        port = free_port()
        assert s.client().call("CONFIG", "SET", "tls-port", str(port)) == b"+OK\r\n"
        deadline = time.time() + 5
        while _handshake_outcome(port, client_ctx(certs)) != "ok" and time.time() < deadline:
            time.sleep(0.05)
        assert _handshake_outcome(port, client_ctx(certs)) == "ok"
        assert s.client().call("CONFIG", "GET", "tls-port") == b"*2\r\n$8\r\ntls-port\r\n$%d\r\n%d\r\n" % (
            len(str(port)), port)
    finally:
        s.stop()


def test_config_set_tls_port_in_use_keeps_the_old_one(pair, certs):
    """A tls-port that cannot be bound is refused and the old TLS port keeps serving, as in Redis."""
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    try:
        for s in pair.values():
            r = s.client().call("CONFIG", "SET", "tls-port", str(busy.getsockname()[1]))
            assert r.startswith(b"-ERR CONFIG SET failed (possibly related to argument 'tls-port') - Unable to "
                                b"listen on this port"), (s.kind, r)
            assert _handshake_outcome(s.tls_port, client_ctx(certs)) == "ok", s.kind
            assert s.client().call("CONFIG", "GET", "tls-port").endswith(b"%d\r\n" % s.tls_port)
    finally:
        busy.close()


def test_unix_socket_stays_plain(certs, tmp_path):
    path = str(tmp_path / "p.sock")
    args, port = tls_args(certs, "--unixsocket", path)
    s = ServerProcess("pyredis", args)
    try:
        u = socket.socket(socket.AF_UNIX)
        u.connect(path)
        u.sendall(b"PING\r\n")
        assert u.recv(100) == b"+PONG\r\n"
        u.close()
    finally:
        s.stop()


def test_embedded_server_with_tls():
    import pyredis

    with pyredis.embedded(tls=True) as server:
        r = server.client()
        assert r.set("k", "v") is True
        assert r.get("k") == b"v"
        assert server.url.startswith("rediss://")
        assert r.connection_pool.connection_kwargs.get("ssl_ca_certs")
        r.close()


# -- protected mode -------------------------------------------------------------------------------------

def _from_127_0_0_2(port: int) -> bytes:
    s = socket.socket()
    s.settimeout(10)
    s.bind(("127.0.0.2", 0))
    s.connect(("127.0.0.1", port))
    s.sendall(b"PING\r\n")
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            if data.endswith(b"\r\n") and data.startswith(b"+"):
                break
    except (TimeoutError, ConnectionResetError):
        pass
    s.close()
    return data


def test_protected_mode_denies_non_loopback_like_redis():
    out = {}
    for kind in KINDS:
        s = ServerProcess(kind, ["--bind", "127.0.0.1", "--protected-mode", "yes"])
        try:
            out[kind] = [_from_127_0_0_2(s.port)]
            s.client().call("CONFIG", "SET", "requirepass", "secret")
            out[kind].append(_from_127_0_0_2(s.port))
            c = RawClient(s.port)
            c.call("AUTH", "secret")
            c.call("CONFIG", "SET", "requirepass", "")
            c.call("CONFIG", "SET", "protected-mode", "no")
            out[kind].append(_from_127_0_0_2(s.port))
            info = c.call("INFO", "stats")
            out[kind].append(b"rejected_connections:1\r\n" in info)
        finally:
            s.stop()
    assert out["pyredis"] == out["redis"]
    assert out["redis"][0].startswith(b"-DENIED Redis is running in protected mode")
    assert out["redis"][1].startswith(b"-NOAUTH")
    assert out["redis"][2] == b"+PONG\r\n"
    assert out["redis"][3] is True


def test_pytest_plugin_redis_tls_option(tmp_path):
    (tmp_path / "test_inner.py").write_text(
        "def test_tls(redis_client, redis_server):\n"
        "    assert redis_server.tls and redis_server.url.startswith('rediss://')\n"
        "    assert redis_client.set('a', 'b') and redis_client.get('a') == b'b'\n")
    env = dict(os.environ, PYTHONPATH=os.path.join(os.path.dirname(os.path.dirname(__file__)), "src"))
    p = subprocess.run(["python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "--redis-tls", "test_inner.py"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "1 passed" in p.stdout
