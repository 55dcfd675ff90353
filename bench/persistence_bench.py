"""Persistence benchmark: SAVE and load time for N keys of mixed types, and redis-benchmark
throughput while a BGSAVE runs vs idle, pyredis against redis-server in one run.

    python bench/persistence_bench.py [--keys 1000000] [--requests 200000] [--repeat 3]
        [--port-base N] [--dataset PATH] [--skip-throughput]

``--repeat`` runs SAVE and the start-up load that many times on each server and reports the
medians (the machine may be shared); ``--dataset`` keeps the generated dump file at PATH and
reuses it on the next run; ``--port-base`` uses fixed ports from N instead of free ones.

The dataset (strings, integers, small lists/hashes/sets/zsets, a few streams, some TTLs) is built
once on redis-server and saved; pyredis then starts on that very dump file, so both servers hold
the same data. Reported: SAVE seconds and file size, load seconds (from the servers' own
"DB loaded from disk" log line), and SET/GET requests per second idle and during BGSAVE.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


_PORT_BASE = [0]


def free_port() -> int:
    if _PORT_BASE[0]:
        _PORT_BASE[0] += 1
        return _PORT_BASE[0]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, kind: str, d: str, args: list[str]) -> None:
        self.kind = kind
        self.dir = d
        self.port = free_port()
        self.logfile = os.path.join(d, f"{kind}.log")
        base = ["--port", str(self.port), "--dir", d, "--logfile", self.logfile, "--save", "",
                "--appendonly", "no"]
        if kind == "redis":
            cmd = ["redis-server", *base, *args]
        else:
            cmd = [sys.executable, "-m", "pyredis", *base, *args]
        env = dict(os.environ)
        env["PYTHONPATH"] = os.path.join(ROOT, "src") + os.pathsep + env.get("PYTHONPATH", "")
        self.proc = subprocess.Popen(cmd, cwd=d, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 600
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{kind} exited")
            try:
                if self.call("PING") in (True, "PONG"):
                    return
            except Exception:  # noqa: BLE001 - not listening yet, or -LOADING
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{kind} did not start")

    def call(self, *args: str) -> str:
        import redis

        r = redis.Redis(port=self.port, socket_timeout=3600, decode_responses=True)
        try:
            out = r.execute_command(*args)
        finally:
            r.close()
        return out

    def info(self) -> dict:
        import redis

        r = redis.Redis(port=self.port, socket_timeout=3600)
        try:
            return r.info("persistence")
        finally:
            r.close()

    def cpu(self) -> float:
        """utime + stime of the server process so far (seconds)."""
        with open(f"/proc/{self.proc.pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def load_seconds(self) -> float | None:
        with open(self.logfile, errors="replace") as fh:
            found = re.findall(r"DB loaded from disk: ([0-9.]+) seconds", fh.read())
        return float(found[-1]) if found else None  # the log file is appended to on each start

    def stop(self) -> None:
        try:
            self.call("SHUTDOWN", "NOSAVE")
        except Exception:  # noqa: BLE001
            pass
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def build_dataset(srv: Server, n: int, seed: int = 1) -> None:
    import redis

    rnd = random.Random(seed)
    r = redis.Redis(port=srv.port, socket_timeout=3600)
    p = r.pipeline(transaction=False)
    for i in range(n):
        k = rnd.random()
        key = b"key:%d" % i
        if k < 0.5:
            p.set(key, os.urandom(rnd.randint(5, 60)).hex().encode()[: rnd.randint(10, 100)])
        elif k < 0.6:
            p.set(key, rnd.randint(0, 10**12))
        elif k < 0.7:
            p.rpush(key, *[b"item-%d" % rnd.randint(0, 10**6) for _ in range(5)])
        elif k < 0.8:
            p.hset(key, mapping={b"field%d" % j: b"value-%d" % rnd.randint(0, 10**6) for j in range(5)})
        elif k < 0.87:
            p.sadd(key, *[rnd.randint(0, 10**6) for _ in range(5)])
        elif k < 0.9:
            p.sadd(key, *[b"member-%d" % rnd.randint(0, 10**6) for _ in range(5)])
        elif k < 0.99:
            p.zadd(key, {b"m%d" % rnd.randint(0, 10**6): rnd.random() * 100 for _ in range(5)})
        else:
            for j in range(3):
                p.xadd(key, {b"f": b"v%d" % j})
        if rnd.random() < 0.1:
            p.expire(key, rnd.randint(10_000, 100_000))
        if i % 5000 == 4999:
            p.execute()
    p.execute()
    r.close()


def timed_save(srv: Server) -> tuple[float, float, int]:
    """Wall seconds, server CPU seconds and file size of one SAVE."""
    c = srv.cpu()
    t = time.time()
    srv.call("SAVE")
    return time.time() - t, srv.cpu() - c, os.path.getsize(os.path.join(srv.dir, "dump.rdb"))


def startup_cpu(kind: str, base: str) -> float:
    """CPU seconds a server spends starting with nothing to load (subtracted from load CPU)."""
    d = os.path.join(base, f"empty-{kind}")
    os.makedirs(d, exist_ok=True)
    s = Server(kind, d, [])
    try:
        return s.cpu()
    finally:
        s.stop()


def benchmark(srv: Server, requests: int, during_bgsave: bool) -> dict[str, float]:
    cmd = ["redis-benchmark", "-p", str(srv.port), "-t", "set,get", "-n", str(requests), "-c", "50", "-P", "16",
           "-r", "100000", "--csv"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    saves = 0
    if during_bgsave:
        while proc.poll() is None:
            if not srv.info()["rdb_bgsave_in_progress"]:
                srv.call("BGSAVE")
                saves += 1
            time.sleep(0.05)
    out, _ = proc.communicate()
    res = {}
    for line in out.splitlines()[1:]:
        parts = [x.strip('"') for x in line.split(",")]
        res[parts[0]] = float(parts[1])
    res["bgsaves"] = saves
    return res


def key_payloads(path: str) -> tuple[dict, dict]:
    """``{(db, key): raw bytes of the key's value record}`` and the aux fields of an RDB file.

    Used to compare two dumps record by record: the aux fields (ctime, used-mem) always differ,
    and the key order follows each server's dict order.
    """
    sys.path.insert(0, os.path.join(ROOT, "src"))
    from pyredis.persistence.rdb_format import (
        OP_AUX,
        OP_EOF,
        OP_EXPIRETIME_MS,
        OP_RESIZEDB,
        OP_SELECTDB,
        Reader,
    )
    from pyredis.persistence.rdb_types import load_value

    with open(path, "rb") as fh:
        data = fh.read()
    cfg = {"list-max-listpack-size": -2, "zset-max-listpack-entries": 128, "zset-max-listpack-value": 64,
           "hash-max-listpack-entries": 128, "hash-max-listpack-value": 64, "set-max-intset-entries": 512}

    class _Cfg(dict):
        values = cfg

    r = Reader(data, _Cfg(cfg), 9)
    out: dict = {}
    aux: dict = {}
    db = 0
    start = r.pos
    while True:
        t = r.byte()
        if t == OP_EOF:
            break
        if t == OP_AUX:
            k = r.string()
            aux[k] = r.string()
        elif t == OP_SELECTDB:
            db = r.length()
        elif t == OP_RESIZEDB:
            r.length()
            r.length()
        elif t == OP_EXPIRETIME_MS:
            r.ms_time()
            continue
        else:
            key = r.string()
            load_value(r, t)
            out[(db, key)] = data[start : r.pos]
        start = r.pos
    return out, aux


def compare_files(a: str, b: str) -> str:
    """How many key records of two dumps are byte-identical (and which types differ)."""
    ka, _ = key_payloads(a)
    kb, _ = key_payloads(b)
    same = sum(1 for k, v in ka.items() if kb.get(k) == v)
    diff_types: dict[int, int] = {}
    for k, v in ka.items():
        if kb.get(k) != v:
            diff_types[v[0]] = diff_types.get(v[0], 0) + 1
    return (f"{same} of {len(ka)} key records byte-identical ({len(kb)} in the other file); "
            f"differing by RDB type byte: {diff_types}")


def median(xs: list[float]) -> float:
    ys = sorted(xs)
    return ys[len(ys) // 2]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, default=1_000_000)
    ap.add_argument("--requests", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--port-base", type=int, default=0)
    ap.add_argument("--dataset", default="")
    ap.add_argument("--skip-throughput", action="store_true")
    args = ap.parse_args()
    _PORT_BASE[0] = args.port_base
    base = tempfile.mkdtemp(prefix="pyredis-persist-bench-")
    rdir, pdir = os.path.join(base, "redis"), os.path.join(base, "pyredis")
    os.makedirs(rdir)
    os.makedirs(pdir)
    results: dict[str, dict] = {"redis-server": {}, "pyredis": {}}
    runs: dict[str, dict[str, list[float]]] = {
        name: {"save": [], "load": [], "save_cpu": [], "load_cpu": []} for name in ("redis-server", "pyredis")}
    try:
        if args.dataset and os.path.exists(args.dataset):
            shutil.copy(args.dataset, os.path.join(rdir, "dump.rdb"))
        else:
            print(f"building {args.keys} keys on redis-server ...", flush=True)
            r = Server("redis", rdir, [])
            build_dataset(r, args.keys)
            r.call("SAVE")
            r.stop()
            if args.dataset:
                shutil.copy(os.path.join(rdir, "dump.rdb"), args.dataset)
        shutil.copy(os.path.join(rdir, "dump.rdb"), os.path.join(pdir, "dump.rdb"))
        srv: dict[str, Server] = {}
        idle_cpu = {"redis-server": startup_cpu("redis", base), "pyredis": startup_cpu("pyredis", base)}
        for i in range(args.repeat):
            for name, kind, d in (("redis-server", "redis", rdir), ("pyredis", "pyredis", pdir)):
                if i:
                    srv[name].stop()
                print(f"run {i + 1}: {name} load + SAVE ...", flush=True)
                s = srv[name] = Server(kind, d, [])
                runs[name]["load"].append(s.load_seconds() or 0.0)
                runs[name]["load_cpu"].append(s.cpu() - idle_cpu[name])
                t, c, size = timed_save(s)
                runs[name]["save"].append(t)
                runs[name]["save_cpu"].append(c)
                results[name]["file_mb"] = size / 1e6
        dbsize = int(srv["redis-server"].call("DBSIZE"))
        assert int(srv["pyredis"].call("DBSIZE")) == dbsize, "pyredis loaded a different number of keys"
        for name in results:
            results[name]["save_s"] = median(runs[name]["save"])
            results[name]["load_s"] = median(runs[name]["load"])
            results[name]["save_cpu"] = median(runs[name]["save_cpu"])
            results[name]["load_cpu"] = median(runs[name]["load_cpu"])
        try:
            identical = compare_files(os.path.join(rdir, "dump.rdb"), os.path.join(pdir, "dump.rdb"))
        except Exception as e:  # noqa: BLE001 - a report line, not the benchmark
            identical = f"not compared: {e!r}"
        for name, s in srv.items():
            if args.skip_throughput:
                results[name]["idle"] = results[name]["bgsave"] = {"bgsaves": 0}
                continue
            print(f"redis-benchmark on {name} ...", flush=True)
            results[name]["idle"] = benchmark(s, args.requests, False)
            results[name]["bgsave"] = benchmark(s, args.requests, True)
        for s in srv.values():
            s.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(f"\n{args.keys} keys of mixed types (dbsize {dbsize}); medians of {args.repeat} runs")
    print(f"{'':14}{'SAVE s':>9}{'SAVE cpu':>9}{'file MB':>9}{'load s':>9}{'load cpu':>9}{'SET idle':>11}"
          f"{'SET bgsave':>12}{'GET idle':>11}{'GET bgsave':>12}{'bgsaves':>9}")
    for name, res in results.items():
        idle, bg = res["idle"], res["bgsave"]
        print(f"{name:14}{res['save_s']:9.2f}{res['save_cpu']:9.2f}{res['file_mb']:9.1f}{res['load_s'] or 0:9.2f}"
              f"{res['load_cpu']:9.2f}"
              f"{idle.get('SET', 0):11.0f}{bg.get('SET', 0):12.0f}{idle.get('GET', 0):11.0f}"
              f"{bg.get('GET', 0):12.0f}{bg['bgsaves']:9d}")
    rs, ps = results["redis-server"], results["pyredis"]
    print(f"ratios pyredis/redis: SAVE {ps['save_s'] / rs['save_s']:.2f}x (cpu {ps['save_cpu'] / rs['save_cpu']:.2f}x), "
          f"load {ps['load_s'] / rs['load_s']:.2f}x (cpu {ps['load_cpu'] / rs['load_cpu']:.2f}x), "
          f"file size {ps['file_mb'] / rs['file_mb']:.4f}x")
    print("all runs:", runs)
    print("files:", identical)


if __name__ == "__main__":
    main()
