"""Soak test: a mixed workload from several clients while clients and the server are killed.

    python bench/soak.py --seconds 600 --clients 6 --seed 1 [--server pyredis|redis]

Every type (strings with INCR/APPEND/SETRANGE, lists, hashes, sets, sorted sets, streams, expiries,
MULTI/EXEC, a Lua script) runs pipelined from ``--clients`` threads against a server with
``appendonly yes`` + ``appendfsync always``. Meanwhile clients close their socket mid-pipeline (RST or
a half-sent command), the server is SIGSTOPped and SIGCONTed, BGREWRITEAOF runs, and the server is
``kill -9``ed and restarted. The oracle (soak_model) checks every reply; after each restart it compares
the whole keyspace with the model (writes not yet acknowledged may or may not be there: the server ran
a prefix of them). The last ``--leak-phase`` of the run has no restarts and VmRSS is sampled there:
warm-up vs end shows whether memory stays flat. Prints the figures; exit status 1 on any failure.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from soak_model import (  # noqa: E402
    Conn,
    Model,
    Uncertain,
    Workload,
    apply_blind,
    check_reply,
    encode,
    snapshot,
    unit_keys,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """The server under test, restarted in the same directory and on the same port."""

    def __init__(self, kind: str, dir: str, extra: list[str]) -> None:
        self.kind, self.dir, self.extra = kind, dir, extra
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        args = ["--port", str(self.port), "--dir", self.dir, "--appendonly", "yes", "--appendfsync", "always",
                "--save", "", "--logfile", os.path.join(self.dir, "server.log"), *self.extra]
        if self.kind == "redis":
            cmd = [shutil.which("redis-server") or "redis-server", *args]
        else:
            cmd = [sys.executable, "-m", "pyredis", *args]
        env = dict(os.environ)
        env["PYTHONPATH"] = os.path.join(ROOT, "src") + os.pathsep + env.get("PYTHONPATH", "")
        self.proc = subprocess.Popen(cmd, cwd=self.dir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     env=env)
        self.starts += 1
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; see {self.dir}/server.log")
            try:
                c = Conn(self.port, timeout=2)
                ok = c.call("PING") == "PONG"
                c.close()
                if ok:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("server did not come up")

    def kill9(self) -> None:
        assert self.proc
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def signal(self, sig: int) -> None:
        assert self.proc
        self.proc.send_signal(sig)

    def rss_kb(self) -> int | None:
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:  # type: ignore[union-attr]
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            return None
        return None

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ops = 0
        self.client_kills = 0
        self.stops = 0
        self.restarts = 0
        self.rewrites = 0
        self.verifications = 0
        self.lost = 0  # keys whose state matched no prefix of the unacknowledged commands
        self.wrong = 0  # replies that differed from the model
        self.errors: list[str] = []

    def fail(self, what: str, msg: str) -> None:
        with self.lock:
            setattr(self, what, getattr(self, what) + 1)
            if len(self.errors) < 30:
                self.errors.append(msg)


class Control:
    """Parks the clients while the controller restarts the server and checks the keyspace."""

    def __init__(self, n: int) -> None:
        self.cond = threading.Condition()
        self.pause = False
        self.parked = 0
        self.epoch = 0  # bumped on every server restart
        self.n = n
        self.done = False

    def park(self) -> None:
        with self.cond:
            self.parked += 1
            self.cond.notify_all()
            while self.pause and not self.done:
                self.cond.wait()
            self.parked -= 1

    def hold(self) -> None:
        with self.cond:
            self.pause = True

    def wait_parked(self, timeout: float = 120) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: self.parked == self.n, timeout)

    def release(self) -> None:
        with self.cond:
            self.pause = False
            self.cond.notify_all()


class Client(threading.Thread):
    def __init__(self, idx: int, seed: int, server: Server, ctl: Control, stats: Stats, kill_rate: float) -> None:
        super().__init__(daemon=True, name=f"soak-client-{idx}")
        self.idx, self.server, self.ctl, self.stats = idx, server, ctl, stats
        self.rng = random.Random(seed * 1000 + idx)
        self.model = Model()
        self.work = Workload(idx, self.rng, self.model)
        self.kill_rate = kill_rate
        self.conn: Conn | None = None
        self.conn_id = 0
        self.conn_epoch = -1
        self.pending: list[list[list[bytes]]] = []  # units whose replies were not read
        self.pending_base: dict[bytes, Any] = {}
        self.pending_t = 0.0
        self.lock = threading.Lock()  # held while running a batch: the controller resolves between

    # -- pending (unacknowledged) units ------------------------------------------------------------
    def add_pending(self, units: list[list[list[bytes]]], t_send: float) -> None:
        if not units:
            return
        keys = set().union(*(unit_keys(u) for u in units))
        for k in keys - self.pending_base.keys():
            self.pending_base[k] = snapshot(self.model, {k})[k]
        if not self.pending:
            self.pending_t = t_send
        # the model keeps the acknowledged state; pending units are replayed on candidate copies
        self.pending += units

    def resolve(self, conn: Conn) -> None:
        """Find the prefix of pending units the server ran by reading their keys back."""
        if not self.pending:
            return
        keys = sorted(self.pending_base)
        cmds = [c for k in keys for c in Model.read_cmds(k)]
        t0 = time.time()
        conn.send(b"".join(encode(c) for c in cmds))
        replies = [conn.read() for _ in cmds]
        now = time.time()
        got, i = {}, 0
        for k in keys:
            n = len(Model.read_cmds(k))
            got[k] = Model.actual(k, replies[i:i + n])
            i += n
        cand = Model()
        for prefix in range(len(self.pending) + 1):
            cand.data = {k: e for k, e in copy.deepcopy(self.pending_base).items() if e is not None}
            for u in self.pending[:prefix]:
                apply_blind(cand, u, self.pending_t, now)
            if all(cand.matches(k, got[k], t0, now) for k in keys):
                for k in keys:
                    self.model.data.pop(k, None)
                self.model.data.update(cand.data)
                break
        else:
            bad = [k for k in keys if not self.model.matches(k, got[k], t0, now)]
            self.stats.fail("lost", f"client {self.idx}: no prefix of {len(self.pending)} unacknowledged units "
                            f"explains keys {bad[:5]} (actual {[got[k] for k in bad[:2]]})")
            self.forget(conn, keys)
        self.pending, self.pending_base = [], {}

    def forget(self, conn: Conn, keys: list[bytes]) -> None:
        """After a detected loss: delete the keys on both sides and go on."""
        for k in keys:
            self.model.data.pop(k, None)
            conn.call("DEL", k)

    # -- the loop ----------------------------------------------------------------------------------
    def connect(self) -> None:
        old_id, old_epoch = self.conn_id, self.conn_epoch
        self.conn = Conn(self.server.port)
        self.conn_epoch = self.ctl.epoch
        self.conn_id = self.conn.call("CLIENT", "ID")
        if self.pending and old_epoch == self.conn_epoch and old_id:
            # the old connection may still be running its last commands: kill it and wait until gone
            self.conn.call("CLIENT", "KILL", "ID", old_id)
            for _ in range(2000):
                if not self.conn.call("CLIENT", "LIST", "ID", old_id):
                    break
                time.sleep(0.005)
        self.resolve(self.conn)

    def run(self) -> None:
        while not self.ctl.done:
            if self.ctl.pause:
                self.ctl.park()
                continue
            if self.conn is not None and self.conn_epoch != self.ctl.epoch:  # the server was restarted
                self.conn.close()
                self.conn = None
            try:
                with self.lock:
                    if self.conn is None:
                        self.connect()
                    self.batch()
            except (OSError, ConnectionError):
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
                if not self.ctl.done:
                    if self.conn_epoch == self.ctl.epoch and not self.ctl.pause:
                        # the server is alive and nobody asked: a real failure (or a stop longer than the timeout)
                        self.stats.fail("wrong", f"client {self.idx}: connection failed with the server up")
                    self.ctl.park()
            except Exception as exc:  # a model bug must not silently stop a client
                self.stats.fail("wrong", f"client {self.idx}: {exc!r}")
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
                time.sleep(0.1)

    def batch(self) -> None:
        r = self.rng
        units = [self.work.unit() for _ in range(r.randint(1, 25))]
        data = [b"".join(encode(c) for c in u) for u in units]
        kill = r.random() < self.kill_rate
        conn = self.conn
        assert conn is not None
        t_send = time.time()
        if kill and r.random() < 0.3:  # cut the pipeline in the middle of a command
            blob = b"".join(data)
            conn.send(blob[:r.randrange(1, len(blob))])
            self.kill_self(units, t_send)
            return
        try:
            conn.send(b"".join(data))
        except OSError:
            self.add_pending(units, t_send)
            raise
        stop_at = r.randrange(len(units)) if kill else len(units)
        for n, u in enumerate(units):
            if n == stop_at:
                self.kill_self(units[n:], t_send)
                return
            try:
                replies = [conn.read() for _ in u]
            except (OSError, ConnectionError):
                self.add_pending(units[n:], t_send)
                raise
            self.check(u, replies, t_send, time.time())

    def kill_self(self, unread: list[list[list[bytes]]], t_send: float) -> None:
        self.add_pending(unread, t_send)
        assert self.conn
        self.conn.close(reset=self.rng.random() < 0.7)
        self.conn = None
        with self.stats.lock:
            self.stats.client_kills += 1

    def check(self, unit: list[list[bytes]], replies: list[Any], t_lo: float, t_hi: float) -> None:
        with self.stats.lock:
            self.stats.ops += len(unit)
        cmds = unit
        if unit[0][0] == b"MULTI":
            cmds = unit[1:-1]
            if replies[0] != "OK" or any(x != "QUEUED" for x in replies[1:-1]) or not isinstance(replies[-1], list):
                self.stats.fail("wrong", f"client {self.idx}: MULTI replies {replies!r}")
                return
            replies = replies[-1]
            if len(replies) != len(cmds):
                self.stats.fail("wrong", f"client {self.idx}: EXEC gave {len(replies)} replies for {len(cmds)}")
                return
        for cmd, got in zip(cmds, replies, strict=False):
            alive = None
            if cmd[1:2] and cmd[1][:1] == b"v":
                alive = (got is not None) if cmd[0] == b"GET" else (got == 1)
            try:
                want = self.model.execute(cmd, t_lo, t_hi, alive)
            except Uncertain:
                want = got
            if not check_reply(want, got):
                self.stats.fail("wrong", f"client {self.idx}: {cmd!r} replied {got!r}, expected {want!r}")

    # -- full check --------------------------------------------------------------------------------
    def verify_all(self, conn: Conn, present: set[bytes]) -> None:
        keys = sorted(set(self.model.data) | {k for k in present if k.split(b":")[1] == b"%d" % self.idx})
        cmds = [c for k in keys for c in Model.read_cmds(k)]
        if not cmds:
            return
        t0 = time.time()
        conn.send(b"".join(encode(c) for c in cmds))
        replies = [conn.read() for _ in cmds]
        now, i = time.time(), 0
        for k in keys:
            n = len(Model.read_cmds(k))
            got = Model.actual(k, replies[i:i + n])
            i += n
            if not self.model.matches(k, got, t0, now):
                self.stats.fail("lost", f"client {self.idx}: key {k!r} is {got!r}, model "
                                f"{self.model.describe(self.model.data.get(k))!r}")
                self.forget(conn, [k])


def full_check(server: Server, clients: list[Client], stats: Stats, sabotage: bool = False) -> None:
    """With every client parked: resolve their pending units, then compare the whole keyspace.
    *sabotage* drops one acknowledged key first (the oracle's own test: it must report a lost write)."""
    conn = Conn(server.port)
    if sabotage:
        victims = sorted(k for c in clients for k in c.model.data if k[:1] != b"v" and k not in c.pending_base)
        if victims:
            conn.call("DEL", random.Random(len(victims)).choice(victims))
    keys = set(conn.call("KEYS", "*"))
    owners = {b"%d" % c.idx for c in clients}
    for k in keys:
        parts = k.split(b":")
        if len(parts) != 3 or parts[1] not in owners:
            stats.fail("lost", f"unexpected key {k!r}")
    for c in clients:
        c.resolve(conn)
        c.verify_all(conn, keys)
    conn.close()
    stats.verifications += 1


def run(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    d = tempfile.mkdtemp(prefix="pyredis-soak-")
    server = Server(args.server, d, args.server_arg or [])
    server.start()
    stats = Stats()
    ctl = Control(args.clients)
    clients = [Client(i, args.seed, server, ctl, stats, args.kill_rate) for i in range(args.clients)]
    for c in clients:
        c.start()
    t0 = time.time()
    end = t0 + args.seconds
    leak_start = end - args.seconds * args.leak_phase
    rss: list[tuple[float, int]] = []
    info_mem: dict[str, Any] = {}

    def sample() -> None:
        v = server.rss_kb()
        if v is not None and time.time() >= leak_start:
            rss.append((time.time(), v))

    def used_memory() -> tuple[int, int]:
        c = Conn(server.port)
        info = c.call("INFO", "memory").decode()
        n = c.call("DBSIZE")
        c.close()
        return int(next(x.split(":")[1] for x in info.splitlines() if x.startswith("used_memory:"))), n

    try:
        next_fault = time.time() + rng.uniform(0.5, 1.5) * args.fault_every
        nfaults = 0
        while time.time() < end and stats.ops < args.max_ops:
            time.sleep(0.25)
            sample()
            if time.time() >= leak_start and "warm" not in info_mem and \
                    time.time() >= leak_start + args.warmup * (end - leak_start):
                info_mem["warm"] = used_memory()
                info_mem["warm_rss"] = server.rss_kb()
            if time.time() < next_fault:
                continue
            next_fault = time.time() + rng.uniform(0.5, 1.5) * args.fault_every
            x = (0.0, 0.5)[nfaults] if nfaults < 2 else rng.random()  # a restart and a stop come first
            nfaults += 1
            if x < 0.45 and time.time() < leak_start:  # kill -9 and restart
                ctl.hold()
                if rng.random() < 0.3:  # sometimes while an AOF rewrite runs
                    try:
                        Conn(server.port, timeout=5).call("BGREWRITEAOF")
                        time.sleep(rng.uniform(0, 0.2))
                    except OSError:
                        pass
                server.kill9()
                ctl.epoch += 1
                server.start()
                stats.restarts += 1
                if not ctl.wait_parked():
                    stats.fail("wrong", "clients did not park after a restart")
                full_check(server, clients, stats, args.sabotage)
                ctl.release()
            elif x < 0.85:  # SIGSTOP / SIGCONT
                server.signal(signal.SIGSTOP)
                time.sleep(rng.uniform(0.05, 1.5))
                server.signal(signal.SIGCONT)
                stats.stops += 1
            else:
                try:
                    Conn(server.port, timeout=30).call("BGREWRITEAOF")
                    stats.rewrites += 1
                except OSError:
                    pass
        # end: park everybody, check the live keyspace, then once more after a final kill -9
        info_mem["end"] = used_memory()
        end_rss = server.rss_kb()
        ctl.hold()
        if not ctl.wait_parked():
            stats.fail("wrong", "clients did not park at the end")
        full_check(server, clients, stats)
        probe = Conn(server.port)
        live = sum(c.conn is not None for c in clients)
        for _ in range(100):  # killed connections may take a moment to be noticed
            listed = probe.call("CLIENT", "LIST").decode().count("\n")
            if listed <= live + 1:
                break
            time.sleep(0.05)
        probe.close()
        if listed > live + 1:  # + the probe
            stats.fail("wrong", f"CLIENT LIST has {listed} clients, {live} soak connections are open")
        server.kill9()
        ctl.epoch += 1
        server.start()
        stats.restarts += 1
        full_check(server, clients, stats)
    finally:
        ctl.done = True
        ctl.release()
        server.stop()
        if stats.lost == 0 and stats.wrong == 0 and not args.keep:
            shutil.rmtree(d, True)
    warm_rss = info_mem.get("warm_rss") or (rss[0][1] if rss else 0)
    res = {
        "server": args.server, "seconds": round(time.time() - t0, 1), "clients": args.clients, "seed": args.seed,
        "operations": stats.ops, "client_kills": stats.client_kills, "stops": stats.stops,
        "restarts": stats.restarts, "rewrites": stats.rewrites, "keyspace_checks": stats.verifications,
        "lost_writes": stats.lost, "wrong_replies": stats.wrong,
        "rss_warm_kb": warm_rss, "rss_end_kb": end_rss, "rss_max_kb": max((v for _, v in rss), default=0),
        "rss_growth_pct": round(100 * (end_rss - warm_rss) / warm_rss, 1) if warm_rss and end_rss else None,
        "used_memory_warm": info_mem.get("warm", (None, None))[0], "used_memory_end": info_mem["end"][0],
        "keys_warm": info_mem.get("warm", (None, None))[1], "keys_end": info_mem["end"][1],
        "errors": stats.errors, "dir": d if (stats.lost or stats.wrong or args.keep) else None,
    }
    return res


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--clients", type=int, default=6)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--server", choices=["pyredis", "redis"], default="pyredis")
    p.add_argument("--max-ops", type=int, default=50_000_000, help="stop after this many operations")
    p.add_argument("--fault-every", type=float, default=3.0, help="mean seconds between server faults")
    p.add_argument("--kill-rate", type=float, default=0.03, help="chance a batch ends with the client killed")
    p.add_argument("--leak-phase", type=float, default=0.4, help="final fraction of the run without restarts")
    p.add_argument("--warmup", type=float, default=0.25, help="fraction of the leak phase before the RSS baseline")
    p.add_argument("--server-arg", action="append", help="extra server argument (repeatable)")
    p.add_argument("--keep", action="store_true", help="keep the data directory")
    p.add_argument("--sabotage", action="store_true", help="delete an acknowledged key at each restart "
                   "(checks that the oracle notices)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    res = run(args)
    if args.json:
        print(json.dumps(res, indent=1))
    else:
        for k, v in res.items():
            if k != "errors":
                print(f"{k:18} {v}")
        for e in res["errors"]:
            print("  !", e)
    return 1 if res["lost_writes"] or res["wrong_replies"] else 0


if __name__ == "__main__":
    sys.exit(main())
