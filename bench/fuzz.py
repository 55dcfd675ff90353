"""A small coverage-guided fuzzer for pyredis's hostile-input surfaces (pure Python, no dependencies).

    python bench/fuzz.py TARGET [--seconds 600] [--seed 1] [--corpus DIR] [--max-execs N]
        [--timeout 2] [--max-memory-mb 2048] [--json]
    python bench/fuzz.py TARGET --replay FILE_OR_DIR...   # run saved inputs once, report findings
    python bench/fuzz.py TARGET --engine atheris --seconds 600 --corpus DIR [libFuzzer flags]

Targets (bench/fuzz_targets.py): ``resp`` (the request parsers and the three batch paths of a
connection), ``dump`` (DUMP payloads as RESTORE loads them, sanitize-dump-payload yes and no),
``rdb`` (whole RDB files), ``aof`` (AOF files) and ``manifest`` (AOF manifests). Each runs the
pure-Python code and, when built, the compiled twin (_rdbfast / _hotpath), and compares them.

The loop: start from the seed corpus (bench/fuzz_seeds.json, made by redis-server 7.0, plus what
``--corpus`` holds), pick an input, mutate it (bit flips, interesting bytes and integers, inserts,
deletes, duplicated ranges, splices with another input, tweaks of binary and decimal length fields,
target tokens), run it under a ``sys.settrace`` tracer of the target's source files and keep it
when it covers a new edge (a pair of consecutive traced lines). An input fails when the target
raises (an exception the code must never let out, a differential mismatch, a failed invariant),
takes longer than ``--timeout`` seconds (SIGALRM) or exhausts the address-space limit
(``--max-memory-mb``, RLIMIT_AS: a MemoryError). Failures are deduplicated by exception type and
innermost source line and saved under ``<corpus>/crashes/``. Everything is seeded: the same
``--seed`` and ``--max-execs`` replay the same run.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "src"))
sys.path.insert(0, HERE)

INTERESTING_8 = [0, 1, 0x7F, 0x80, 0xFF, 0x3F, 0x40, 0xC0, 0xC3, 0xF0, 0xFE, 16, 32, 64, 100]
INTERESTING_INTS = [0, 1, -1, 2, 7, 63, 64, 127, 128, 255, 256, 4095, 4096, 16383, 16384, 32767, 65535, 65536,
                    2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**63 - 1, 2**63, 2**64 - 1, -(2**31), -(2**63)]
DIGITS = b"0123456789"


class Hang(Exception):
    """The input ran longer than the per-input timeout."""


class Mutator:
    """Byte-level mutations (AFL/libFuzzer style), driven by one seeded ``random.Random``."""

    def __init__(self, rnd: random.Random, tokens: list[bytes], max_len: int) -> None:
        self.rnd = rnd
        self.tokens = tokens or [b"\x00"]
        self.max_len = max_len

    def mutate(self, data: bytes, other: bytes) -> bytes:
        rnd = self.rnd
        buf = bytearray(data)
        for _ in range(1 << rnd.randint(0, 3)):
            op = rnd.randrange(11)
            n = len(buf)
            if n == 0:
                buf += rnd.choice(self.tokens)
                continue
            i = rnd.randrange(n)
            if op == 0:  # flip a bit
                buf[i] ^= 1 << rnd.randrange(8)
            elif op == 1:  # an interesting byte
                buf[i] = rnd.choice(INTERESTING_8)
            elif op == 2:  # a random byte
                buf[i] = rnd.randrange(256)
            elif op == 3:  # delete a range
                del buf[i:i + rnd.randint(1, min(16, n - i))]
            elif op == 4:  # insert random bytes
                buf[i:i] = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 8)))
            elif op == 5:  # duplicate a range
                j = min(n, i + rnd.randint(1, 32))
                buf[i:i] = buf[i:j]
            elif op == 6:  # splice with another input
                if other:
                    k = rnd.randrange(len(other))
                    buf[i:] = other[k:k + rnd.randint(1, 256)] if rnd.random() < 0.5 else other[k:]
            elif op == 7:  # a token
                t = rnd.choice(self.tokens)
                if rnd.random() < 0.5:
                    buf[i:i] = t
                else:
                    buf[i:i + len(t)] = t
            elif op == 8:  # add to a binary integer (a length field)
                width = rnd.choice((1, 2, 4, 8))
                if i + width <= n:
                    order = rnd.choice(("little", "big"))
                    v = int.from_bytes(buf[i:i + width], order) + rnd.choice((-2, -1, 1, 2, 8, -8, 64, 255))
                    buf[i:i + width] = (v % (1 << (8 * width))).to_bytes(width, order)
            elif op == 9:  # an interesting binary integer
                width = rnd.choice((1, 2, 4, 8))
                v = rnd.choice(INTERESTING_INTS) % (1 << (8 * width))
                buf[i:i + width] = v.to_bytes(width, rnd.choice(("little", "big")))
            else:  # rewrite a decimal number (RESP / AOF lengths and counts)
                starts = [k for k in range(max(0, i - 64), min(n, i + 64)) if buf[k] in DIGITS
                          and (k == 0 or buf[k - 1] not in DIGITS)]
                if starts:
                    k = rnd.choice(starts)
                    e = k
                    while e < n and buf[e] in DIGITS:
                        e += 1
                    v = int(buf[k:e])
                    new = rnd.choice((v + 1, v - 1, v + rnd.randint(2, 20), max(0, v - rnd.randint(2, 20)),
                                      rnd.choice(INTERESTING_INTS), 0))
                    buf[k:e] = str(new).encode()
        return bytes(buf[:self.max_len])


class Tracer:
    """Edge coverage of the watched source files through ``sys.settrace``."""

    def __init__(self, files: list[str]) -> None:
        self.prefixes = tuple(os.path.abspath(f) for f in files)
        self.watched: dict[object, bool] = {}
        self.edges: set[int] = set()
        self.prev = 0

    def _global(self, frame, event, arg):  # noqa: ANN001 - the settrace protocol
        code = frame.f_code
        w = self.watched.get(code)
        if w is None:
            w = self.watched[code] = os.path.abspath(code.co_filename).startswith(self.prefixes)
        return self._local if w else None

    def _local(self, frame, event, arg):  # noqa: ANN001
        if event == "line":
            cur = (id(frame.f_code) * 2654435761 + frame.f_lineno) & 0xFFFFFFFFFFFF
            self.edges.add(cur ^ (self.prev >> 1))
            self.prev = cur
        return self._local

    def run(self, fn: Callable[[bytes], None], data: bytes) -> set[int]:
        self.edges = set()
        self.prev = 0
        sys.settrace(self._global)
        threading.settrace(self._global)
        try:
            fn(data)
        finally:
            sys.settrace(None)
            threading.settrace(None)  # type: ignore[arg-type]
        return self.edges


def signature(e: BaseException) -> str:
    """Exception type + innermost frame in pyredis or the targets (the deduplication key)."""
    frames = traceback.extract_tb(e.__traceback__)
    where = ""
    for f in reversed(frames):
        if "/pyredis/" in f.filename or f.filename.endswith("fuzz_targets.py"):
            where = "%s:%d" % (os.path.basename(f.filename), f.lineno)
            break
    kind = type(e).__name__
    if kind == "Finding":  # a broken invariant: its message up to the first colon names it
        kind += "(%s)" % str(e).split(":")[0][:120]
    return "%s@%s" % (kind, where)


def _alarm(signum, frame):  # noqa: ANN001
    raise Hang("input took longer than the timeout")


class Fuzzer:
    def __init__(self, target, seed: int, corpus_dir: str | None, timeout: float, log=None) -> None:  # noqa: ANN001
        self.target = target
        self.rnd = random.Random(seed)
        self.corpus_dir = corpus_dir
        self.timeout = timeout
        self.tracer = Tracer(target.watch)
        self.mut = Mutator(self.rnd, target.tokens, target.max_len)
        self.corpus: list[bytes] = []
        self.covered: set[int] = set()
        self.findings: dict[str, dict] = {}
        self.execs = 0
        self.log = log

    def execute(self, data: bytes) -> bool:
        """Run one input; True when it reached new coverage (it is then added to the corpus)."""
        self.execs += 1
        signal.setitimer(signal.ITIMER_REAL, self.timeout)
        try:
            edges = self.tracer.run(self.target.run, data)
        except BaseException as e:  # noqa: BLE001 - anything escaping the target is a finding
            signal.setitimer(signal.ITIMER_REAL, 0)
            if isinstance(e, KeyboardInterrupt):
                raise
            self._record(data, e)
            return False
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        new = edges - self.covered
        if not new:
            return False
        self.covered |= new
        self.corpus.append(data)
        self._save(data, "queue")
        hook = getattr(self.target, "on_new", None)
        if hook is not None:  # slower checks (e.g. against redis-server), for coverage-adding inputs only
            try:
                hook(data)
            except Exception as e:  # noqa: BLE001
                self._record(data, e)
        return True

    def _save(self, data: bytes, sub: str) -> str | None:
        if not self.corpus_dir:
            return None
        d = os.path.join(self.corpus_dir, sub)
        os.makedirs(d, exist_ok=True)
        p = os.path.join(d, hashlib.sha1(data).hexdigest()[:16])
        with open(p, "wb") as f:
            f.write(data)
        return p

    def _record(self, data: bytes, e: BaseException) -> None:
        sig = signature(e)
        f = self.findings.get(sig)
        if f is None or len(data) < len(f["input"]):
            path = self._save(data, "crashes")
            self.findings[sig] = {"signature": sig, "error": ("%s: %s" % (type(e).__name__, e))[:300],
                                  "input": data, "path": path,
                                  "traceback": "".join(traceback.format_exception(e))[-2000:]}
            if f is None and self.log:
                self.log("NEW FINDING %s after %d execs: %s" % (sig, self.execs, self.findings[sig]["error"]))

    def run(self, seconds: float, max_execs: int | None) -> dict:
        seeds = self.target.seeds()
        if self.corpus_dir:
            qd = os.path.join(self.corpus_dir, "queue")
            if os.path.isdir(qd):
                for name in sorted(os.listdir(qd)):
                    with open(os.path.join(qd, name), "rb") as f:
                        seeds.append(f.read())
        t0 = time.monotonic()
        for s in seeds:
            if not self.execute(s) and s not in self.corpus:
                self.corpus.append(s)  # seeds stay in the corpus even when they add nothing
        seeded = len(self.covered)
        last_report = t0
        while self.corpus:
            if max_execs is not None and self.execs >= max_execs:
                break
            now = time.monotonic()
            if now - t0 >= seconds:
                break
            if self.log and now - last_report >= 30:
                last_report = now
                self.log("#%d cov %d corpus %d findings %d exec/s %.0f" % (
                    self.execs, len(self.covered), len(self.corpus), len(self.findings),
                    self.execs / (now - t0)))
            # favour recent (coverage-adding) inputs a little
            k = len(self.corpus)
            base = self.corpus[max(0, k - 1 - int(self.rnd.expovariate(1 / max(1, k / 3))))]
            other = self.rnd.choice(self.corpus)
            self.execute(self.mut.mutate(base, other))
        elapsed = time.monotonic() - t0
        return {"target": self.target.name, "execs": self.execs, "seconds": round(elapsed, 1),
                "execs_per_second": round(self.execs / elapsed, 1) if elapsed else 0.0,
                "edges_seeds": seeded, "edges": len(self.covered), "corpus": len(self.corpus),
                "findings": [{k: v for k, v in f.items() if k != "input"} | {"input_hex": f["input"][:4096].hex()}
                             for f in self.findings.values()]}


def limit_memory(mb: int) -> None:
    if mb > 0:
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        want = mb * 1024 * 1024
        if hard == resource.RLIM_INFINITY or want < hard:
            resource.setrlimit(resource.RLIMIT_AS, (want, hard))


def run_atheris(target, a, extra: list[str]) -> int:  # noqa: ANN001
    """libFuzzer through atheris (``pip install atheris``): seeds written to ``<corpus>/seeds``, new
    inputs to ``<corpus>/queue``, the first failure to ``<corpus>/crash-*`` (libFuzzer stops there)."""
    import atheris

    corpus = a.corpus or "fuzz-%s" % target.name
    seeds_dir = os.path.join(corpus, "seeds")
    queue = os.path.join(corpus, "queue")
    os.makedirs(seeds_dir, exist_ok=True)
    os.makedirs(queue, exist_ok=True)
    for s in target.seeds():
        with open(os.path.join(seeds_dir, hashlib.sha1(s).hexdigest()[:16]), "wb") as f:
            f.write(s)
    atheris.instrument_all()
    args = [sys.argv[0], queue, seeds_dir, "-max_total_time=%d" % a.seconds, "-timeout=%d" % max(1, a.timeout),
            "-rss_limit_mb=%d" % a.max_memory_mb, "-max_len=%d" % target.max_len, "-seed=%d" % a.seed,
            "-artifact_prefix=%s/" % corpus, *extra]
    atheris.Setup(args, target.run)
    atheris.Fuzz()
    return 0


def main(argv: list[str] | None = None) -> int:
    import fuzz_targets

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("target", choices=sorted(fuzz_targets.TARGETS))
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--max-execs", type=int, default=None)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--corpus", default=None, help="directory: queue/ (kept inputs) and crashes/ (findings)")
    ap.add_argument("--timeout", type=float, default=2.0, help="seconds per input before it counts as a hang")
    ap.add_argument("--max-memory-mb", type=int, default=2048, help="RLIMIT_AS of this process (0: none)")
    ap.add_argument("--replay", nargs="*", default=None, help="run these inputs (files or directories) once")
    ap.add_argument("--json", action="store_true", help="print the summary as JSON")
    ap.add_argument("--redis", action="store_true",
                    help="also compare coverage-adding inputs with a real redis-server (dump, resp)")
    ap.add_argument("--engine", choices=("builtin", "atheris"), default="builtin",
                    help="atheris: libFuzzer's engine instead (no --redis, stops at the first failure)")
    a, extra = ap.parse_known_args(argv)
    if a.engine == "atheris":
        return run_atheris(fuzz_targets.TARGETS[a.target](), a, extra)
    if extra:
        ap.error("unrecognized arguments: %s" % " ".join(extra))
    limit_memory(a.max_memory_mb)
    signal.signal(signal.SIGALRM, _alarm)
    oracle = fuzz_targets.RedisOracle() if a.redis else None
    cls = fuzz_targets.TARGETS[a.target]
    target = cls(redis=oracle) if oracle is not None and "redis" in cls.__init__.__code__.co_varnames else cls()

    def log(msg: str) -> None:
        print("[%s] %s" % (a.target, msg), file=sys.stderr, flush=True)

    fz = Fuzzer(target, a.seed, a.corpus, a.timeout, None if a.json else log)
    if a.replay is not None:
        files = []
        for p in a.replay:
            files.extend(sorted(os.path.join(p, n) for n in os.listdir(p)) if os.path.isdir(p) else [p])
        for p in files:
            with open(p, "rb") as f:
                fz.execute(f.read())
        summary = {"target": a.target, "execs": fz.execs, "edges": len(fz.covered),
                   "findings": [{k: v for k, v in f.items() if k != "input"} for f in fz.findings.values()]}
    else:
        summary = fz.run(a.seconds, a.max_execs)
    if oracle is not None:
        summary["redis_crashes"] = oracle.crashes
        oracle.stop()
    if a.json:
        print(json.dumps(summary))
    else:
        for f in summary["findings"]:
            print("FINDING %s\n  %s\n  saved: %s\n%s" % (f["signature"], f["error"], f.get("path"), f["traceback"]))
        print({k: v for k, v in summary.items() if k != "findings"} | {"findings": len(summary["findings"])})
    return 1 if summary["findings"] else 0


if __name__ == "__main__":
    sys.exit(main())
