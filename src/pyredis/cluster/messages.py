"""The Redis 7.0 cluster bus message codec (sans-IO): header, gossip entries, ping extensions, bodies.

Layouts follow src/cluster.h: the "RCmb" signature, protocol version 1, big-endian fields, a 2256-byte
header, 104-byte gossip entries, the hostname ping extension announced with the EXT_DATA flag.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

PING, PONG, MEET, FAIL, PUBLISH, AUTH_REQUEST, AUTH_ACK, UPDATE, MFSTART, MODULE, PUBLISHSHARD = range(11)
TYPE_COUNT = 11
TYPE_NAMES = ("ping", "pong", "meet", "fail", "publish", "auth-req", "auth-ack", "update", "mfstart",
              "module", "publishshard")

FLAG0_PAUSED = 1
FLAG0_FORCEACK = 2
FLAG0_EXT_DATA = 4

EXT_HOSTNAME = 0

NAMELEN = 40
IPLEN = 46
SLOTS_BYTES = 2048
NULL_NAME = b"\0" * NAMELEN

_HDR = struct.Struct(">4sIHHHHQQQ40s2048s40s46sH30sHHHB3s")
_GOSSIP = struct.Struct(">40sII46sHHHHH")
_EXT = struct.Struct(">IHH")
HEADER_LEN = _HDR.size  # 2256
GOSSIP_LEN = _GOSSIP.size  # 104
MIN_LEN = HEADER_LEN
MAX_MSG_LEN = HEADER_LEN + 8 + NAMELEN + SLOTS_BYTES  # sizeof(clusterMsg)

assert HEADER_LEN == 2256 and GOSSIP_LEN == 104


def type_name(t: int) -> str:
    return TYPE_NAMES[t] if 0 <= t < TYPE_COUNT else "unknown"


def _cstr(b: bytes) -> str:
    return b.split(b"\0", 1)[0].decode("latin-1")


@dataclass
class Gossip:
    """One gossip entry: what the sender knows about another node."""

    name: bytes
    ping_sent: int  # seconds
    pong_received: int  # seconds
    ip: str
    port: int
    cport: int
    flags: int
    pport: int = 0


@dataclass
class Message:
    """A decoded (or to be encoded) cluster bus message."""

    type: int
    sender: bytes = NULL_NAME
    current_epoch: int = 0
    config_epoch: int = 0
    offset: int = 0
    port: int = 0
    pport: int = 0
    cport: int = 0
    flags: int = 0
    state: int = 0
    mflags0: int = 0
    myslots: bytes = bytes(SLOTS_BYTES)
    slaveof: bytes = NULL_NAME
    myip: str = ""
    gossip: list[Gossip] = field(default_factory=list)
    hostname: str | None = None
    about: bytes = NULL_NAME  # FAIL: the failing node; UPDATE: the slots owner
    channel: bytes = b""
    message: bytes = b""
    update_epoch: int = 0
    update_slots: bytes = bytes(SLOTS_BYTES)
    totlen: int = 0


class DecodeError(ValueError):
    """A malformed message; the text is the warning Redis logs for it."""


def encode(m: Message) -> bytes:
    """Serialize *m* as Redis 7.0 puts it on the wire."""
    t = m.type
    body = b""
    extensions = 0
    mflags0 = m.mflags0
    if t in (PING, PONG, MEET):
        parts = [_GOSSIP.pack(g.name, g.ping_sent & 0xFFFFFFFF, g.pong_received & 0xFFFFFFFF,
                              g.ip.encode()[:IPLEN - 1], g.port, g.cport, g.flags, g.pport, 0) for g in m.gossip]
        if m.hostname:
            h = m.hostname.encode() + b"\0"
            h += b"\0" * (-len(h) % 8)
            parts.append(_EXT.pack(_EXT.size + len(h), EXT_HOSTNAME, 0) + h)
            extensions = 1
            mflags0 |= FLAG0_EXT_DATA
        body = b"".join(parts)
    elif t == FAIL:
        body = m.about
    elif t in (PUBLISH, PUBLISHSHARD):
        body = struct.pack(">II", len(m.channel), len(m.message)) + m.channel + m.message
    elif t == UPDATE:
        body = struct.pack(">Q", m.update_epoch) + m.about + m.update_slots
    count = len(m.gossip) if t in (PING, PONG, MEET) else 0
    totlen = HEADER_LEN + len(body)
    hdr = _HDR.pack(b"RCmb", totlen, 1, m.port, t, count, m.current_epoch, m.config_epoch, m.offset,
                    m.sender, m.myslots, m.slaveof, m.myip.encode()[:IPLEN - 1], extensions, b"", m.pport,
                    m.cport, m.flags, m.state, bytes((mflags0, 0, 0)))
    return hdr + body


def frame_length(prefix: bytes) -> int:
    """Validate the first 8 bytes of a message and return its total length (DecodeError if bad)."""
    if prefix[:4] != b"RCmb" or int.from_bytes(prefix[4:8], "big") < MIN_LEN:
        raise DecodeError("Bad message length or signature received from Cluster bus.")
    return int.from_bytes(prefix[4:8], "big")


def decode(buf: bytes) -> Message | None:
    """Parse one whole message; None for one Redis silently ignores, DecodeError for an invalid one."""
    totlen = len(buf)
    if totlen < HEADER_LEN:
        return None
    (sig, tl, ver, port, t, count, cur, cfg, off, sender, myslots, slaveof, myip, extensions, _unused,
     pport, cport, flags, state, mflags) = _HDR.unpack_from(buf, 0)
    if ver != 1:
        return None
    m = Message(t, sender, cur, cfg, off, port, pport, cport, flags, state, mflags[0], myslots, slaveof,
                _cstr(myip), totlen=totlen)
    name = type_name(t)
    if t in (PING, PONG, MEET):
        explen = HEADER_LEN + GOSSIP_LEN * count
        if totlen < explen:
            raise DecodeError(f"Received invalid {name} packet with gossip count {count} that exceeds "
                              f"total packet length ({totlen})")
        for i in range(count):
            gname, ps, pr, ip, gport, gcport, gflags, gpport, _ = _GOSSIP.unpack_from(buf, HEADER_LEN + i * GOSSIP_LEN)
            m.gossip.append(Gossip(gname, ps, pr, _cstr(ip), gport, gcport, gflags, gpport))
        if mflags[0] & FLAG0_EXT_DATA:
            pos = explen
            for _ in range(extensions):
                if totlen - explen < _EXT.size:
                    raise DecodeError(f"Received invalid {name} packet with extension data that exceeds "
                                      f"total packet length ({totlen})")
                extlen, exttype, _u = _EXT.unpack_from(buf, pos)
                extlen &= 0xFFFF  # Redis reads the length into a uint16_t
                if extlen < _EXT.size or extlen % 8:
                    raise DecodeError(f"Received a {name} packet without proper padding ({extlen} bytes)")
                if totlen - explen < extlen:
                    raise DecodeError(f"Received invalid {name} packet with extension data that exceeds "
                                      f"total packet length ({totlen})")
                data = buf[pos + _EXT.size:pos + extlen]
                if exttype == EXT_HOSTNAME:
                    if not data or data[-1] != 0:
                        raise DecodeError(f"Received {name} packet with missing null terminator in "
                                          f"extension type {exttype}")
                    m.hostname = _cstr(data)
                explen += extlen
                pos += extlen
    elif t == FAIL:
        explen = HEADER_LEN + NAMELEN
        m.about = buf[HEADER_LEN:HEADER_LEN + NAMELEN]
    elif t in (PUBLISH, PUBLISHSHARD):
        if totlen < HEADER_LEN + 8:
            explen = HEADER_LEN + 8
        else:
            clen, mlen = struct.unpack_from(">II", buf, HEADER_LEN)
            explen = HEADER_LEN + 8 + clen + mlen
            if explen == totlen:
                m.channel = buf[HEADER_LEN + 8:HEADER_LEN + 8 + clen]
                m.message = buf[HEADER_LEN + 8 + clen:explen]
    elif t in (AUTH_REQUEST, AUTH_ACK, MFSTART):
        explen = HEADER_LEN
    elif t == UPDATE:
        explen = HEADER_LEN + 8 + NAMELEN + SLOTS_BYTES
        if totlen == explen:
            (m.update_epoch,) = struct.unpack_from(">Q", buf, HEADER_LEN)
            m.about = buf[HEADER_LEN + 8:HEADER_LEN + 8 + NAMELEN]
            m.update_slots = buf[HEADER_LEN + 8 + NAMELEN:explen]
    elif t == MODULE:
        explen = HEADER_LEN + 13 + (int.from_bytes(buf[HEADER_LEN + 8:HEADER_LEN + 12], "big")
                                    if totlen >= HEADER_LEN + 12 else 0)
    else:
        explen = totlen
    if totlen != explen:
        raise DecodeError(f"Received invalid {name} packet of length {totlen} but expected length {explen}")
    return m
