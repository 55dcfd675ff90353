"""TLS between servers: ``tls-replication`` (pyredis <-> redis-server both ways).

Every server gets certificates generated here (never committed) and listens on a plain port (for the
test's own commands) and a TLS port; the replica is pointed at its master's TLS port, so a link
that did not speak TLS could not come up at all.
"""

from __future__ import annotations

import pytest
from repl_support import Node, wait_for

from pyredis import tlscerts
from support import free_port


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> tlscerts.CertFiles:
    return tlscerts.generate(str(tmp_path_factory.mktemp("certs")))


def tls_node(kind: str, certs: tlscerts.CertFiles, *extra: str, client_cert: bool = False) -> Node:
    """A server with a plain and a TLS port (``node.tls_port``) and ``tls-replication yes``."""
    port = free_port()
    args = ["--tls-port", str(port), "--tls-cert-file", certs.server_cert, "--tls-key-file", certs.server_key,
            "--tls-ca-cert-file", certs.ca_cert, "--tls-replication", "yes", "--logfile", "server.log", *extra]
    if client_cert:  # the outgoing link's own identity (else Redis falls back to tls-cert-file)
        args += ["--tls-client-cert-file", certs.client_cert, "--tls-client-key-file", certs.client_key]
    node = Node(kind, *args)
    node.tls_port = port
    return node


def _replicate_over_tls(master: Node, replica: Node) -> None:
    master.r.set("before", "1")
    master.r.rpush("list", *range(100))
    replica.r.execute_command("REPLICAOF", "127.0.0.1", master.tls_port)
    wait_for(lambda: replica.info().get("master_link_status") == "up", what="master_link_status:up over TLS")
    master.r.set("after", "2")
    master.r.hset("h", mapping={"a": "1", "b": "2"})
    wait_for(lambda: replica.r.hgetall("h") == {b"a": b"1", b"b": b"2"}, what="the live stream over TLS")
    assert replica.r.get("before") == b"1" and replica.r.get("after") == b"2"
    assert replica.r.lrange("list", 0, -1) == [str(i).encode() for i in range(100)]
    info = replica.info()
    assert info["role"] == "slave" and info["master_port"] == master.tls_port
    # The replica announces its TLS port (REPLCONF listening-port), as Redis does with tls-replication.
    wait_for(lambda: master.info().get("connected_slaves") == 1, what="connected_slaves:1")
    slave0 = master.info()["slave0"]
    assert slave0["state"] == "online" and slave0["port"] == replica.tls_port, slave0


@pytest.mark.parametrize(("master_kind", "replica_kind", "client_cert"),
                         [("redis", "pyredis", False), ("pyredis", "redis", True)])
def test_tls_replication(certs, master_kind, replica_kind, client_cert):
    master = tls_node(master_kind, certs)
    replica = tls_node(replica_kind, certs, client_cert=client_cert)
    try:
        _replicate_over_tls(master, replica)
    finally:
        replica.stop()
        master.stop()


def test_pyredis_replica_with_client_certificate_to_redis_master(certs):
    """tls-client-cert-file is the replica's identity; the master checks it against its CA."""
    master = tls_node("redis", certs)
    replica = tls_node("pyredis", certs, client_cert=True)
    try:
        _replicate_over_tls(master, replica)
        # An identity from another CA is refused by the master: each reconnection fails, the link stays down.
        other = tlscerts.generate(replica.proc.cwd + "/other")
        replica.r.execute_command("CONFIG", "SET", "tls-client-cert-file", other.client_cert,
                                  "tls-client-key-file", other.client_key)
        attempts = replica.log().count("MASTER <-> REPLICA sync started")
        replica.r.execute_command("CLIENT", "KILL", "TYPE", "master")
        master.r.set("unseen", "1")
        wait_for(lambda: replica.log().count("MASTER <-> REPLICA sync started") >= attempts + 3,
                 what="failed reconnections")
        assert replica.info()["master_link_status"] == "down"
        assert "Error accepting a client connection" in master.log()  # refused in the handshake
        assert replica.r.get("unseen") is None
    finally:
        replica.stop()
        master.stop()
