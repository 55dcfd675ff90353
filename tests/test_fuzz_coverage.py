"""Coverage-guided fuzzing (bench/fuzz.py) of the request parser, the DUMP/RDB loaders and the AOF loader.

A short seeded run per target (a fixed number of executions, so a failure replays with the same
command line), then the inputs longer runs found, kept here as regression cases: each one through
its in-process target (pure-Python and compiled implementations compared) and, where Redis's
behaviour is observable, through a live pyredis beside a real redis-server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from support import ROOT, ServerProcess

BENCH = os.path.join(ROOT, "bench")
sys.path.insert(0, BENCH)

import fuzz_targets  # noqa: E402

from pyredis.protocol.parser import PyRequestParser, RequestParser  # noqa: E402

# executions per target: each run takes a few seconds
SHORT_RUNS = {"dump": 2000, "rdb": 1200, "aof": 60, "manifest": 2500, "resp": 120}
WITH_REDIS = {"dump", "resp"}  # coverage-adding inputs also compared with a real redis-server


@pytest.mark.parametrize("target", sorted(SHORT_RUNS))
def test_short_fuzz_run_finds_nothing(target):
    cmd = [sys.executable, os.path.join(BENCH, "fuzz.py"), target, "--seed", "1", "--max-execs",
           str(SHORT_RUNS[target]), "--seconds", "60", "--timeout", "5", "--max-memory-mb", "2048", "--json"]
    if target in WITH_REDIS:
        cmd.append("--redis")
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=dict(os.environ))
    assert out.returncode in (0, 1), out.stderr[-3000:]
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    findings = [(f["signature"], f["error"], f["input_hex"][:400]) for f in summary["findings"]]
    assert findings == [], "replay: %s" % " ".join(cmd)
    assert summary["execs"] >= SHORT_RUNS[target]
    assert summary["edges"] > summary["edges_seeds"] > 0  # the coverage feedback works


# -- regression inputs found by the long runs ----------------------------------------------------------
def _lzf_string(clen_ulen: bytes, comp: bytes) -> bytes:
    return b"\xc3" + clen_ulen + comp


DUMP_CASES = {
    # an LZF string declaring 2**40 bytes once uncompressed: refused before any allocation
    "lzf-huge-length": b"\x00" + _lzf_string(b"\x02\x81" + (1 << 40).to_bytes(8, "big"), b"\x01ab"),
    # ... and 2**64 - 1 (larger than a C ssize_t: the compiled decompressor raised OverflowError)
    "lzf-length-overflow": b"\x00" + _lzf_string(b"\x02\x81" + b"\xff" * 8, b"\x01ab"),
    "quicklist-lzf-overflow": bytes.fromhex("120102c30281c000025f31c002"),
    "stream-lzf-overflow": bytes.fromhex("0f0010001001c30281000200025f31c002"),
    # a listpack zset whose score is "1.0000000000000001]+300": Redis reads it with strtod (1.0)
    "zset-score-strtod": bytes.fromhex(
        "11c33940411f410000000a00816302842d696e6605816102010181620283322e35048165029702312e30e005000a315d2b3330"
        "30188164028320300104ff300104ff"),
    # stream listpacks: Redis's deep check ignores the header's element count (here 33290 for 10)
    "stream-header-count-ignored": bytes.fromhex(
        "0f01100000000000000001000000000000000025250000000a8201010001010185666a646c640600010201000100018576616c7565"
        "060401ff010100010793e86d7967726f7570010001000000000000000100000000000000004a79898f9f01000001020963"
        "6f6e73756d6572414a79898f9f010000010000000000000001000000000000000009636f6e73f1010000000000000001000000"
        "0000000000"),
    # no node but a length of 16: "Stream length inconsistent with rax entries", sanitized or not
    "stream-length-without-nodes": bytes.fromhex(
        "0f00100000000000000001000000000000000025250000000a00010100010101856669656c640600010201000100018576616c"
        "7565060401ff01010001076d7967726f7570010001000000000000000100aa8bb068fc3ca9898f9f010000010209636f6e7375"
        "2d6572414a79898f9f01000001000000000000000000000000000009636f6e73756d659472425479898fa70100002c00000000"
        "000000010000000000000000"),
    # a v1 stream whose nodes are not in key order: Redis walks the radix tree (key order) to the first ID
    "stream-v1-nodes-out-of-order": bytes.fromhex(
        "0f03100000017b1334c3b20000000000000000c3404f405c185c0000002400050100010201846974656d058576616c75650640"
        "1000802001000120030005201c4009050101825f3103800d0002200d0002a0190003200b02825f33a0190004200d0004201900"
        "ff100000017b1334c3b20000000000000005c34056406118610000002400050100010201846974656d058576616c7565064010"
        "00002001060101825f350305201e400b0301010601400b030101dffb200502825f37601a200e00fc20050008c01b00ed200c02"
        "825f39201b00ff100000017b1334c3a30000000000000003c33d404a184a0000001500020100010201846974656d058576616c"
        "75650640100000200140000005600702dffd02c02309010186756e6971756507a02d020801ff0c810000017b1334c3b40000"),
    # a group PEL entry no consumer claims: refused only by deep sanitization
    "stream-pel-without-consumer": bytes.fromhex(
        "0f01100000017b08f0b2340000000000000000c33b404219420000001800020101010201846974656d058576616c75650600"
        "20100000200100012003020501032005400004825f31030560198032020501ff02810000017b08f0b2340201076d7967726f"
        "7570810000017b08f0b23401010000017b08f0b234000000000000000135b2f0087b010000010113416c69636535b2f0087b"
        "010000010000017b08f0b2340000000000000001"),
    # two nodes with the same key: "Listpack re-added with existing key", sanitized or not
    "stream-duplicate-node-key": bytes.fromhex(
        "0f03100000017b605a23790000000000000000c3404f405c185c0000002400050100010201846974656d058576616c7565064010"
        "00002001000120030005201c4009050101825f3103800d0002200d0002a0190003200b02825f33a0190004200d0004201900ff10"
        "0000017b605a23790000000000000005c34051405e185e0000002400050100010201846974656d058576616c7565064010000020"
        "01060101825f350305201e400b0301010601800b0002200b02825f37a0190003200d0008a0190004200b02825f39201900ff1000"
        "00017b605a23790000000000000000c33b404918490000001500020100010201846974656d058576616c75650640100000200140"
        "00000520074009c02209010186756e6971756507a02c020801ff0c810000017b605a237a0100"),
    # a v1 stream whose first live entry is followed by an end byte: lpNext returns NULL, no assertion
    "stream-v1-end-byte-after-first-id": bytes.fromhex(
        "0f01100000017b0eae663600000000000000004042420000001800020101010201846974656d058576616c756506000102010001"
        "0001ffffffff1d010301240100010169825f3103050102af33010001010102010501ff02810000017b0eae66690001076d796772"
        "6f7570810000017b0e0eae665a00000000000000009466ae0e7b010000010105416c6963653966ae0e7b010000010000017b0eae"
        "665a0000000000000000"),
}

RESP_CASES = {
    # a CR not followed by LF ends a header line for Redis (hiredis waited for "\r\n")
    "lone-cr-count": [b"*NG", b"\r'"],
    "lone-cr-then-garbage": [b"*", b"1\r", b'\xff\xff\x01\rNINC"RG\n\n'],
    # RESP3 aggregates inside a request: hiredis raised TypeError building a map
    "resp3-map-in-request": [b"*2\r\n$4\r\nECHO\r\n$1\r\n3\r\n*2\r\n%3\r\n$4\r\nECHO\r\n$1\r\n3\r\n"],
    "resp3-map-split": [b"*2\r\n$4\r\nECHO\r\n$1\r\n3\r\n*2\r\n%3", b"\r\n$4\r\nECHO\r\n$1\r\n3\r\n"],
    "resp3-map-complete": [b"*1\r\n%1\r\n$1\r\na\r\n$1\r\nb\r\nPING\r\n"],
    # a NUL before the line end: Redis's strchr() stops there and waits for more
    "nul-in-inline": [b"\x133\r\n\x9e\x98\x00\x00\x00\x00\x00\x00\x00\x02\nPING\r\n"],
    "nul-in-count": [b"*4", b"\x00\x00\r:"],
    "nul-in-bulk-length": [b"*1\r\n$4\x00\r\nPING\r\n"],
    # the Python parser kept waiting for the size of an earlier partial request: PING never ran
    "stale-need-after-partial": [b"PING\r\n*2\r\n$4\r\nECHO\r\n$20\r\n0123456789", b"0123456789\r\n*1",
                                 b"\r\n$4\r\nPING\r\n"],
    # inline commands starting with a RESP type byte: hiredis waited for a bignum / bulk / map
    "inline-bignum-byte": [b"(0\n"],
    "inline-bulk-byte": [b"$", b"6", b"M\n"],
    "inline-map-byte-mid-stream": [b"*2\r\n$4\r\nECHO\r\n$1\r\nn\r\n%5\r\n$4\r\nECHO\r\n", b"*1\r\n$4\r\nPING\r\n"],
    "lone-cr-in-bulk-length": [b"*1\r\n$4\r\x08PINMGET"],
    # the two bytes after an argument are not checked: a nested header may follow any bytes
    "nested-header-after-unchecked-crlf": [b"*3", b"\r\n$", b"3\r", b"\nSET \xff*2\r\n$\n"],
    # Redis formats the unknown-command error with %s: an argument is cut at its first NUL
    "nul-in-unknown-command-arg": [b"*3\r\n$3\r\nFOO\r\n$3\r\na\x00b\r\n$2\r\n\xc3\xa9\r\n"],
    # a bulk over proto-max-bulk-len in a later partial request of the same read (hiredis waited)
    "bulk-limit-in-later-partial": [b"*1\r\n$4\r\n", b"PI", b"NG\r\n*2\r\n$536870913\r\n\r\nk\r\n"],
    # \v and \f do not end an inline argument (sdssplitargs)
    "vtab-in-inline": [b"ECHO a\x0bb\x0cc\r\n"],
}

RDB_CASES = {
    # a string record whose LZF value declares 2**40 bytes: the compiled record reader allocated them
    "lzf-huge-length": b"REDIS0010\x00\x01k" + _lzf_string(b"\x02\x81" + (1 << 40).to_bytes(8, "big"), b"\x01ab")
    + b"\xff" + bytes(8),
}

AOF_CASES = {
    # SELECT without its argument (Redis runs it unchecked); the loader must not raise IndexError
    "select-without-db": b"*1\r\n$6\r\nSELECT\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n",
}

MANIFEST_CASES = {
    # a file name with a byte that is not UTF-8 (written back as \xf5, read back as the same name)
    "non-utf8-name": b"file append\xf5only.aof.1.incr.aof seq 1 type i\n",
    "utf8-name": "file appendonly-\u00e9.aof.1.incr.aof seq 1 type i\n".encode(),
    "comment-only": b"# nothing\n",
}


@pytest.mark.parametrize("name", sorted(DUMP_CASES))
def test_dump_regressions_in_process(name):
    fuzz_targets.DumpTarget().run(DUMP_CASES[name])


@pytest.mark.parametrize("name", sorted(RESP_CASES))
def test_resp_regressions_in_process(name):
    t = fuzz_targets.RespTarget()
    t.run(b"".join(RESP_CASES[name]))
    chunks = RESP_CASES[name]
    whole = fuzz_targets._parse(PyRequestParser, [b"".join(chunks)], False)
    assert fuzz_targets._parse(PyRequestParser, chunks, False) == whole  # however the bytes arrive
    for auth in (False, True):
        assert fuzz_targets._parse(PyRequestParser, chunks, auth) == fuzz_targets._parse(RequestParser, chunks, auth)
    ref = t.serve("full", chunks)
    for mode in t.modes[1:]:  # these very chunks too
        assert t.serve(mode, chunks) == ref, mode


@pytest.mark.parametrize("name", sorted(RDB_CASES))
def test_rdb_regressions_in_process(name):
    fuzz_targets.RdbTarget().run(RDB_CASES[name])


@pytest.mark.parametrize("name", sorted(AOF_CASES))
def test_aof_regressions_in_process(name):
    target = fuzz_targets.AofTarget()
    target.run(AOF_CASES[name])
    assert target.load(AOF_CASES[name])[0] == "ok"


@pytest.mark.parametrize("name", sorted(MANIFEST_CASES))
def test_manifest_regressions_in_process(name):
    fuzz_targets.ManifestTarget().run(MANIFEST_CASES[name])


def test_manifest_lines_like_fgets():
    from pyredis.persistence.aof import AOFError, Manifest

    with pytest.raises(AOFError, match="too long line"):
        Manifest.parse("file a seq 1 type i")  # no newline at the end: what fgets() reads is "too long"
    with pytest.raises(AOFError, match="too long line"):
        Manifest.parse("file %s seq 1 type i\n" % ("a" * 1010))
    m = Manifest.parse("file %s seq 1 type i\r\n" % ("a" * 1000))
    assert m.incr[0].name == "a" * 1000
    for sep in ("\x1c", "\x0b"):  # sdssplitargs ends an argument at space, \t, \r, \n (not \v, \x1c)
        with pytest.raises(AOFError, match="Invalid AOF manifest file format"):
            Manifest.parse("file a seq 1%stype i\n" % sep)
    assert Manifest.parse("\x0bfile a seq 1 type i\x0b\n").incr[0].type == "i"  # but skips isspace() first
    assert Manifest.parse("file a seq 3\u00b2 type i\n").incr[0].seq == 3  # atoll stops at non-ASCII digits


def _restore_replies(srv: ServerProcess, payload: bytes) -> list[bytes]:
    r = srv.client()
    out = []
    for mode in ("yes", "no"):
        r.call("CONFIG", "SET", "sanitize-dump-payload", mode)
        out.append(r.call("RESTORE", "k", "0", payload, "REPLACE"))
        r.call("DEL", "k")
    assert r.call("PING") == b"+PONG\r\n"
    r.close()
    return out


def test_regressions_against_redis_server():
    """The same inputs on a live pyredis and on redis-server: the same replies, both keep serving."""
    redis = ServerProcess("redis")
    py = ServerProcess("pyredis")
    try:
        for name, body in sorted(DUMP_CASES.items()):
            payload = fuzz_targets.DumpTarget.payload(body)
            got = [_restore_replies(srv, payload) for srv in (redis, py)]
            assert got[0] == got[1], name
            assert all(x in (b"+OK\r\n", b"-ERR Bad data format\r\n") for x in got[1]), name
        oracle = fuzz_targets.RedisOracle.__new__(fuzz_targets.RedisOracle)
        for name, chunks in sorted(RESP_CASES.items()):
            replies = []
            for srv in (redis, py):
                oracle.port = srv.port
                oracle.sock = srv.client().sock
                oracle.buf = b""
                replies.append(oracle.stream(chunks))
                oracle.sock.close()
            (a, reset_a), (b, reset_b) = replies
            if reset_a or reset_b:  # a RST (close with unread input) may cut the replies short
                assert a.startswith(b) or b.startswith(a), name
            else:
                assert a == b, name
        assert redis.alive() and py.alive()
    finally:
        redis.stop()
        py.stop()


# AOF bodies read as Redis's loader reads them (fgets lines, atoi/strtol, the CRLF after an argument
# not checked); each is loaded at start-up by both servers, which must end up with the same keys
AOF_LIKE_REDIS = {
    "lf-only-headers": b"*3\n$3\nSET\r\n$1\na\r\n$1\n1\r\n",
    "crlf-not-checked": b"*3\r\n$3\r\nSETXY$1\r\naXY$1\r\n1\r\n",
    "count-with-garbage": b"*3junk\r\n$3 x\r\nSET\r\n$01\r\na\r\n$+1\r\n1\r\n",
}


def _start_on_aof(kind: str, root: str, body: bytes):
    d = os.path.join(root, kind)
    os.makedirs(os.path.join(d, "appendonlydir"))
    with open(os.path.join(d, "appendonlydir", "appendonly.aof.1.incr.aof"), "wb") as f:
        f.write(body)
    with open(os.path.join(d, "appendonlydir", "appendonly.aof.manifest"), "w") as f:
        f.write("file appendonly.aof.1.incr.aof seq 1 type i\n")
    try:
        return ServerProcess(kind, ["--appendonly", "yes", "--dir", d], cwd=d)
    except RuntimeError:
        return None


@pytest.mark.parametrize("name", sorted(AOF_LIKE_REDIS))
def test_aof_loaded_like_redis(name, tmp_path):
    got = []
    for kind in ("redis", "pyredis"):
        srv = _start_on_aof(kind, str(tmp_path), AOF_LIKE_REDIS[name])
        if srv is None:
            got.append("refused to start")
            continue
        try:
            got.append(srv.client().call("GET", "a"))
        finally:
            srv.stop()
    assert got[0] == got[1] == b"$1\r\n1\r\n"


def test_aof_reader_reads_two_bytes_after_each_argument():
    from pyredis.persistence.aof import BadFormat, Truncated, iter_commands

    with pytest.raises(BadFormat):  # the two bytes after "SET" are "\n$": "1" is no '$' line (Redis: fmterr)
        list(iter_commands(b"*3\n$3\nSET\n$1\na\n$1\n1\r\n"))
    with pytest.raises(Truncated) as t:  # the cut is after the last complete command, annotations included
        list(iter_commands(b"*1\r\n$4\r\nPING\r\n#TS:1\r\n*2\r\n$3\r\nGET"))
    assert t.value.args == (14,)
