"""Instructions per command on the request path, counted by valgrind (steady on a busy machine).

    PYTHONPATH=src python bench/hotpath_instr.py [--modes python,cython] [--tests SET,GET] [--batches 400]

For each mode and test, runs ``hotpath_micro``'s 16-command batches through ``Connection.data_received``
(fake transport, no sockets) under ``valgrind --tool=callgrind`` twice, with B and 3B batches, and prints
the difference of the instruction totals divided by the extra commands: start-up, warm-up and the
list RPOP and LRANGE_100 read (the same for both runs) cancel out.
Kernel and event-loop work is not included (see bench/compare.py / compare.sh for the whole server).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def child(mode: str, name: str, batches: int, prefill: int) -> None:
    from pyredis import _speedups

    if mode != "cython":
        _speedups.hotpath = None
    from pyredis.server import fastpath

    fastpath.ENABLED = mode != "full"
    from hotpath_micro import TESTS, _Transport

    from pyredis.server.app import Server
    from pyredis.server.connection import Connection

    srv = Server()
    srv.config.values["protected-mode"] = False
    conn = Connection(srv)
    conn.connection_made(_Transport())
    if name in ("RPOP", "LRANGE_100"):  # a list to read
        pre = TESTS["LPUSH"] * 16
        for _ in range(prefill):
            conn.data_received(pre)
    batch = TESTS[name] * 16
    for _ in range(batches + 1):
        conn.data_received(batch)


def count(mode: str, name: str, batches: int, prefill: int) -> int:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.join(HERE, "..", "src"), HERE]))
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, __file__,
           "--child", mode, name, str(batches), str(prefill)]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    m = re.search(r"Collected : (\d+)", p.stderr)
    assert m, p.stderr[-2000:]
    return int(m.group(1))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        sys.path.insert(0, HERE)
        child(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--modes", default="python,cython")
    ap.add_argument("--tests", default="SET,GET,INCR,LPUSH,RPOP,SADD,HSET,ZADD,LRANGE_100,MSET")
    ap.add_argument("--batches", type=int, default=400)
    a = ap.parse_args()
    modes = a.modes.split(",")
    tests = a.tests.upper().split(",")
    b = a.batches
    print("instructions per command (16-command batches, no sockets; valgrind callgrind)")
    print("test       " + "".join(f"{m:>10}" for m in modes))
    for t in tests:
        row = []
        for m in modes:
            pre = 3 * b + 2  # the same list for both runs (RPOP, LRANGE_100)
            lo, hi = count(m, t, b, pre), count(m, t, 3 * b, pre)
            row.append((hi - lo) / (2 * b * 16))
        print(f"{t:<11}" + "".join(f"{x:10.0f}" for x in row), flush=True)


if __name__ == "__main__":
    main()
