"""WebSocket gateway fan-out benchmark.

1000 WebSocket clients (spread over several load processes) subscribe to one channel; one RESP
publisher sends 100-byte messages at rising rates. Reported per mode (compression off / on):

* deliveries/s at saturation (highest rate the clients actually received, all 1000 of them);
* end-to-end latency p50/p99 (publisher clock to client receipt) at 50% of saturation;
* server RSS per idle client (subscribed, no traffic) and per busy client (at saturation).

The load clients are minimal asyncio protocols (handshake, frame parsing, inflate when compressed),
not the websockets library, so the client side costs as little CPU as possible: on a 2-core
machine they still share the CPUs with the server, which the figures include.

    python bench/gateway_fanout.py [--clients 1000] [--procs 4] [--modes off,on] [--step 3]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import multiprocessing as mp
import os
import socket
import subprocess
import sys
import time
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAYLOAD = 100


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


# -- load clients ------------------------------------------------------------------------------------
def frame_of(payload: bytes) -> bytes:
    n = len(payload)
    return (bytes([0x81, n]) if n < 126 else b"\x81\x7e" + n.to_bytes(2, "big")) + payload


FRAME_LEN = 0  # size of one plain message frame (fixed: fixed-width phase and timestamp)


def message_json(phase: int, ts: int) -> bytes:
    data = (b"%02d:%d:" % (phase, ts) + b"x" * PAYLOAD)[:PAYLOAD]
    return b'{"type":"message","channel":"bench","data":"%s"}' % data


class WSClient(asyncio.Protocol):
    """A subscriber. Plain frames all have one size, so it counts bytes and reads the timestamp of
    the first whole frame in each chunk (the oldest: a conservative latency sample); compressed
    frames are walked header by header and every 8th is inflated for its timestamp."""

    def __init__(self, stats: list, compress: bool, ready: asyncio.Future) -> None:
        self.stats = stats  # [bytes or frames, latency samples]
        self.buf = b""
        self.handshaken = False
        self.subscribed = False
        self.compress = compress
        self.ready = ready
        self.total = 0
        self.nframes = 0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        ext = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" if self.compress else ""
        transport.write((f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{ext}\r\n").encode())

    def send_json(self, obj: dict) -> None:
        payload = json.dumps(obj).encode()
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.transport.write(bytes([0x81, 0x80 | len(payload)]) + mask + masked)

    def data_received(self, data: bytes) -> None:
        if not self.subscribed:
            buf = self.buf + data
            if not self.handshaken:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    self.buf = buf
                    return
                assert buf.startswith(b"HTTP/1.1 101"), buf[:100]
                self.handshaken = True
                buf = buf[end + 4 :]
                self.send_json({"op": "subscribe", "id": 1, "channels": ["bench"]})
            pos = 0
            while len(buf) - pos >= 2 and not self.subscribed:  # hello, then the subscribe answer
                ln, hl = buf[pos + 1] & 0x7F, 2
                if ln == 126:
                    if len(buf) - pos < 4:
                        break
                    ln, hl = int.from_bytes(buf[pos + 2 : pos + 4], "big"), 4
                if len(buf) - pos < hl + ln:
                    break
                payload = buf[pos + hl : pos + hl + ln]
                if buf[pos] & 0x40:
                    payload = zlib.decompressobj(-15).decompress(payload + b"\x00\x00\xff\xff")
                pos += hl + ln
                if payload.startswith(b'{"id":1,'):
                    self.subscribed = True
            if not self.subscribed:
                self.buf = buf
                return
            self.ready.set_result(True)
            data, self.buf = buf[pos:], b""
            if not data:
                return
        now = time.time_ns()
        if not self.compress:
            before = self.total
            self.total += len(data)
            first = (-before) % FRAME_LEN  # where the first whole frame starts in data
            self.stats[0] += len(data)
            if first + FRAME_LEN <= len(data):
                frame = data[first : first + FRAME_LEN]
                j = frame.index(b'"data":"') + 11
                self.stats[1].append((now - int(frame[j : j + 19])) / 1e6)
            return
        buf = self.buf + data
        pos, n = 0, len(buf)
        while n - pos >= 2:
            ln = buf[pos + 1] & 0x7F
            hl = 2
            if ln == 126:
                if n - pos < 4:
                    break
                ln, hl = int.from_bytes(buf[pos + 2 : pos + 4], "big"), 4
            if n - pos < hl + ln:
                break
            self.nframes += 1
            self.stats[0] += 1
            if self.nframes % 8 == 1:
                payload = zlib.decompressobj(-15).decompress(buf[pos + hl : pos + hl + ln] + b"\x00\x00\xff\xff")
                j = payload.index(b'"data":"') + 11
                self.stats[1].append((now - int(payload[j : j + 19])) / 1e6)
            pos += hl + ln
        self.buf = buf[pos:]


def load_process(port: int, nclients: int, compress: bool, conn) -> None:
    """One load generator: *nclients* subscribers; reports its stats when told to stop."""
    global FRAME_LEN
    FRAME_LEN = len(frame_of(message_json(10, time.time_ns())))

    async def main() -> None:
        loop = asyncio.get_running_loop()
        stats: list = [0, []]
        readies = []
        for _ in range(nclients):
            fut = loop.create_future()
            await loop.create_connection(lambda f=fut: WSClient(stats, compress, f), "127.0.0.1", port)
            readies.append(fut)
        await asyncio.wait_for(asyncio.gather(*readies), 60)
        conn.send("ready")
        while True:
            cmd = await loop.run_in_executor(None, conn.recv)
            if cmd == "report":
                count = stats[0] // FRAME_LEN if not compress else stats[0]
                conn.send((count, stats[1]))
                stats[0], stats[1] = 0, []
            elif cmd == "stop":
                return

    asyncio.run(main())


# -- publisher ------------------------------------------------------------------------------------------
def publish_phase(sock: socket.socket, phase: int, rate: int, seconds: float) -> float:
    """Publish *rate* messages/s for *seconds* (pipelined every 5 ms); the achieved publish rate."""
    sent = 0
    t0 = time.time()
    tick = 0.005
    pad = b"x" * PAYLOAD
    pending = 0
    reader = b""
    while True:
        now = time.time()
        if now - t0 >= seconds:
            break
        due = int((now - t0) * rate) + 1
        batch = []
        while sent < due:
            data = (b"%02d:%d:" % (phase, time.time_ns()) + pad)[:PAYLOAD]
            batch.append(b"*3\r\n$7\r\nPUBLISH\r\n$5\r\nbench\r\n$%d\r\n%s\r\n" % (len(data), data))
            sent += 1
        if batch:
            sock.sendall(b"".join(batch))
            pending += len(batch)
        sock.setblocking(False)
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                reader += chunk
        except BlockingIOError:
            pass
        sock.setblocking(True)
        pending -= reader.count(b"\r\n")
        reader = reader[reader.rfind(b"\r\n") + 2 :] if b"\r\n" in reader else reader
        time.sleep(max(0.0, tick - (time.time() - now)))
    elapsed = time.time() - t0
    while pending > 0:  # drain replies
        chunk = sock.recv(65536)
        reader += chunk
        pending -= chunk.count(b"\r\n")
    return sent / elapsed


def run_mode(compress: bool, nclients: int, nprocs: int, step: float, rates: list[int]) -> dict:
    port, gport = free_port(), free_port()
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"))
    args = [sys.executable, "-m", "pyredis", "--port", str(port), "--gateway-port", str(gport), "--save", "",
            "--appendonly", "no", "--gateway-compression", "yes" if compress else "no"]
    srv = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", gport), 0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        time.sleep(0.5)
        base = rss_kib(srv.pid)
        pipes, procs = [], []
        per = nclients // nprocs
        for i in range(nprocs):
            a, b = mp.Pipe()
            p = mp.Process(target=load_process, args=(gport, per + (1 if i < nclients % nprocs else 0), compress, b))
            p.start()
            pipes.append(a)
            procs.append(p)
        for a in pipes:
            assert a.recv() == "ready"
        time.sleep(1.0)
        idle = rss_kib(srv.pid)
        pub = socket.create_connection(("127.0.0.1", port))
        pub.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        results = []
        busy_rss = idle

        def phase(ph: int, rate: int) -> dict:
            nonlocal busy_rss
            cpu0 = cpu_seconds(srv.pid)
            achieved = publish_phase(pub, ph, rate, step)
            busy_rss = max(busy_rss, rss_kib(srv.pid))
            time.sleep(1.0)  # let the tail arrive
            cpu = cpu_seconds(srv.pid) - cpu0
            count, lats = 0, []
            for a in pipes:
                a.send("report")
                c, samples = a.recv()
                count += c
                lats.extend(samples)
            lats.sort()
            # deliveries over the publishing time plus the time the last ones needed to arrive
            tail = lats[-1] / 1000 if lats else 0.0
            span = step + min(tail, 1.0)
            return {"rate": rate, "published_per_s": round(achieved), "expected": int(achieved * step) * nclients,
                    "delivered": count, "deliveries_per_s": round(count / span),
                    "p50_ms": round(lats[len(lats) // 2], 2) if lats else None,
                    "p99_ms": round(lats[int(len(lats) * 0.99)], 2) if lats else None,
                    "server_cpu_s": round(cpu, 2), "server_cpu_us_per_delivery": round(cpu * 1e6 / max(count, 1), 2)}

        ph = 9
        best = 0
        for rate in rates:
            ph += 1
            r = phase(ph, rate)
            results.append(r)
            print(f"  [{'deflate' if compress else 'plain'}] offered {rate * nclients:>8}/s -> "
                  f"{r['deliveries_per_s']:>8}/s delivered ({r['delivered']}/{r['expected']}), "
                  f"p50 {r['p50_ms']} ms p99 {r['p99_ms']} ms, server CPU {r['server_cpu_us_per_delivery']} us/delivery",
                  flush=True)
            complete = r["delivered"] >= 0.98 * r["expected"]
            if complete:
                best = max(best, r["deliveries_per_s"])
            if not complete or (r["p99_ms"] or 0) > 1000:
                break
        half = max(1, int(best / nclients / 2))
        ph += 1
        at_half = phase(ph, half)
        print(f"  [{'deflate' if compress else 'plain'}] at 50% ({half * nclients}/s): p50 {at_half['p50_ms']} ms "
              f"p99 {at_half['p99_ms']} ms", flush=True)
        for a in pipes:
            a.send("stop")
        for p in procs:
            p.join(10)
        pub.close()
        cpu_best = min((r["server_cpu_us_per_delivery"] for r in results if r["delivered"]), default=None)
        return {"compression": compress, "clients": nclients, "load_processes": nprocs,
                "server_cpu_us_per_delivery_min": cpu_best,
                "server_bound_deliveries_per_cpu_s": round(1e6 / cpu_best) if cpu_best else None,
                "saturation_deliveries_per_s": best, "half_rate_deliveries_per_s": half * nclients,
                "p50_ms_at_half": at_half["p50_ms"], "p99_ms_at_half": at_half["p99_ms"],
                "rss_base_kib": base, "rss_idle_kib": idle, "rss_busy_kib": busy_rss,
                "kib_per_idle_client": round((idle - base) / nclients, 1),
                "kib_per_busy_client": round((busy_rss - base) / nclients, 1), "phases": results}
    finally:
        srv.terminate()
        srv.wait(10)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=1000)
    ap.add_argument("--procs", type=int, default=4)
    ap.add_argument("--modes", default="off,on")
    ap.add_argument("--step", type=float, default=3.0, help="seconds per rate step")
    ap.add_argument("--rates", default="10,25,50,75,100,150,200,300,400",
                    help="messages/s per step (deliveries = rate x clients)")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()
    rates = [int(x) for x in args.rates.split(",")]
    out = []
    for mode in args.modes.split(","):
        print(f"compression {mode}: {args.clients} clients over {args.procs} processes", flush=True)
        out.append(run_mode(mode == "on", args.clients, args.procs, args.step, rates))
    for r in out:
        print(json.dumps({k: v for k, v in r.items() if k != "phases"}))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
