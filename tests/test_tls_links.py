"""TLS between servers: ``tls-replication`` (pyredis <-> redis-server both ways).

Every server gets certificates generated here (never committed) and listens on a plain port (for the
test's own commands) and a TLS port; the replica is pointed at its master's TLS port, so a link
that did not speak TLS could not come up at all.
"""

from __future__ import annotations

import shutil
import ssl

import pytest
from cluster_support import cluster_port, redis_cli, wait_for
from repl_support import Node
from test_tls import TLSClient

from pyredis import tlscerts
from support import ServerProcess, free_port


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


def test_redis_replica_of_pyredis_master_over_tls(certs):
    """A pyredis master's TLS port serves a redis-server replica (full sync and the live stream).

    (A pyredis replica falling back to tls-cert-file as its identity is in the cluster test below.)"""
    master = tls_node("pyredis", certs)
    replica = tls_node("redis", certs, client_cert=True)
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
        wait_for(lambda: replica.log().count("MASTER <-> REPLICA sync started") >= attempts + 2,
                 what="failed reconnections")
        assert replica.info()["master_link_status"] == "down"
        assert "Error accepting a client connection" in master.log()  # refused in the handshake
        assert replica.r.get("unseen") is None
    finally:
        replica.stop()
        master.stop()


# -- tls-cluster ------------------------------------------------------------------------------------------
def _tls_client(port: int, certs: tlscerts.CertFiles) -> TLSClient:
    ctx = ssl.create_default_context(cafile=certs.ca_cert)
    ctx.load_cert_chain(certs.client_cert, certs.client_key)
    return TLSClient(port, ctx)


def _cluster_node(kind: str, certs: tlscerts.CertFiles, taken: set[int]) -> ServerProcess:
    """A cluster node whose client port is its TLS port (the bus is on tls-port + 10000)."""
    tls_port = cluster_port(taken)
    args = ["--cluster-enabled", "yes", "--cluster-node-timeout", "3000", "--logfile", "node.log",
            "--tls-port", str(tls_port), "--tls-cert-file", certs.server_cert, "--tls-key-file", certs.server_key,
            "--tls-ca-cert-file", certs.ca_cert, "--tls-cluster", "yes", "--tls-replication", "yes", "--repl-diskless-sync-delay", "0"]
    node = ServerProcess(kind, args)
    node.tls_port = tls_port
    return node


def _views(node: ServerProcess, certs: tlscerts.CertFiles) -> dict[str, object]:
    """What a plain and a TLS client are told about the cluster's addresses."""
    plain, tls = node.client(), _tls_client(node.tls_port, certs)
    try:
        return {"nodes-plain": _nodes_lines(plain.call("CLUSTER", "NODES")),
                "nodes-tls": _nodes_lines(tls.call("CLUSTER", "NODES")),
                "slots-plain": plain.call("CLUSTER", "SLOTS"), "slots-tls": tls.call("CLUSTER", "SLOTS")}
    finally:
        plain.close()
        tls.close()


def _nodes_lines(raw: bytes) -> set[tuple[str, ...]]:
    body = raw.split(b"\r\n", 1)[1].decode()
    return {(f[0], f[1], ",".join(x for x in f[2].split(",") if x != "myself"), f[3], *f[8:])
            for f in (line.split(" ") for line in body.strip().split("\n"))}


def _shards_ports(raw: bytes) -> set[bytes]:
    """The port / tls-port fields of a CLUSTER SHARDS reply (RESP2, flattened)."""
    lines = raw.split(b"\r\n")
    return {lines[i] + b"=" + lines[i + 1] for i in range(len(lines) - 1) if lines[i] in (b"port", b"tls-port")}


@pytest.mark.skipif(shutil.which("redis-cli") is None, reason="redis-cli is needed")
def test_tls_cluster_mixed_pyredis_and_redis(certs):
    """Two pyredis masters and a redis-server master created by ``redis-cli --cluster create --tls``, a
    pyredis replica of the redis-server master: the bus, replication and clients are all on TLS."""
    taken: set[int] = set()
    nodes = [_cluster_node(k, certs, taken) for k in ("pyredis", "redis", "pyredis", "pyredis")]
    masters, replica = nodes[:3], nodes[3]
    tls_cli = ["--tls", "--cacert", certs.ca_cert, "--cert", certs.client_cert, "--key", certs.client_key]
    try:
        redis_cli(*tls_cli, "--cluster", "create", *(f"127.0.0.1:{n.tls_port}" for n in masters),
                  "--cluster-yes")
        for n in masters:
            wait_for(lambda n=n: b"cluster_state:ok" in n.client().call("CLUSTER", "INFO"), what="cluster_state:ok")
        redis_cli(*tls_cli, "--cluster", "add-node", f"127.0.0.1:{replica.tls_port}",
                  f"127.0.0.1:{masters[1].tls_port}", "--cluster-slave")
        wait_for(lambda: b"master_link_status:up" in replica.client().call("INFO", "replication"),
                 what="the replica's TLS link to its redis-server master")
        # Data through redirections, over TLS end to end.
        for i in (3, 17, 42):
            assert redis_cli(*tls_cli, "-c", "-p", str(masters[0].tls_port), "SET", f"k{i}", str(i)).strip() == "OK"
        assert redis_cli(*tls_cli, "-c", "-p", str(masters[2].tls_port), "GET", "k17").strip() == "17"
        # Every node agrees; plain clients see the plain ports, TLS clients the TLS ports, as Redis does.
        # (CLUSTER SLOTS lists the replica once its offset has reached the others.)
        views: dict[str, dict] = {}

        def agreed() -> bool:
            views.update({n.kind + str(i): _views(n, certs) for i, n in enumerate(nodes)})
            return len(views["redis1"]["nodes-tls"]) == 4 and all(v == views["redis1"] for v in views.values())

        wait_for(agreed, what="the same views on every node")
        v = views["redis1"]
        tls_ports = {f"127.0.0.1:{n.tls_port}@{n.tls_port + 10000}" for n in nodes}
        plain_ports = {f"127.0.0.1:{n.port}@{n.tls_port + 10000}" for n in nodes}
        assert {line[1] for line in v["nodes-tls"]} == tls_ports
        assert {line[1] for line in v["nodes-plain"]} == plain_ports
        assert b":%d\r\n" % masters[0].tls_port in v["slots-tls"] and b":%d\r\n" % masters[0].port in v["slots-plain"]
        shards = {n.kind: _shards_ports(n.client().call("CLUSTER", "SHARDS")) for n in nodes[:2]}
        assert shards["pyredis"] == shards["redis"]
        assert shards["pyredis"] == {b"port=:%d" % n.port for n in nodes} | {b"tls-port=:%d" % n.tls_port for n in nodes}
        # -MOVED names the port of the client's kind.
        slot_owner_port = {}
        for n in masters:
            c, t = n.client(), _tls_client(n.tls_port, certs)
            slot_owner_port[n.kind, "plain"] = c.call("GET", "k17")
            slot_owner_port[n.kind, "tls"] = t.call("GET", "k17")
            c.close()
            t.close()
        moved = [r for r in slot_owner_port.values() if r.startswith(b"-MOVED")]
        assert moved
        owner = next(n for n in masters if not n.client().call("GET", "k17").startswith(b"-MOVED"))
        for (_, kind), r in slot_owner_port.items():
            if r.startswith(b"-MOVED"):
                port = owner.tls_port if kind == "tls" else owner.port
                assert r.endswith(b" 127.0.0.1:%d\r\n" % port), (kind, r)
    finally:
        for n in nodes:
            n.stop()


def test_migrate_over_tls_with_tls_cluster(certs):
    """MIGRATE connects with TLS under tls-cluster (to a redis-server's TLS port), as Redis does."""
    source = tls_node("pyredis", certs, "--tls-cluster", "yes")
    target = tls_node("redis", certs)
    try:
        source.r.set("moved", "v")
        assert source.r.execute_command("MIGRATE", "127.0.0.1", target.tls_port, "moved", 0, 5000) == b"OK"
        assert target.r.get("moved") == b"v" and source.r.get("moved") is None
    finally:
        source.stop()
        target.stop()
