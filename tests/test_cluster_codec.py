"""The cluster bus codec, hash slots and nodes.conf (no processes)."""

from __future__ import annotations

import struct

import pytest

from pyredis.cluster import messages as msg
from pyredis.cluster import nodesconf
from pyredis.cluster.node import MASTER, MYSELF, SLAVE, ClusterNode
from pyredis.cluster.replies import nodes_description
from pyredis.cluster.slots import SlotIndexedDict, crc16, key_hash_slot
from pyredis.cluster.state import ClusterState


def test_crc16_xmodem_and_hash_tags():
    assert crc16(b"123456789") == 0x31C3  # the XMODEM check value
    assert key_hash_slot(b"foo") == 12182
    assert key_hash_slot(b"{user1000}.following") == key_hash_slot(b"{user1000}.followers") == 3443
    assert key_hash_slot(b"foo{}{bar}") == crc16(b"foo{}{bar}") & 0x3FFF  # empty tag: whole key
    assert key_hash_slot(b"foo{{bar}}zap") == crc16(b"{bar") & 0x3FFF
    assert key_hash_slot(b"foo{bar}{zap}") == key_hash_slot(b"bar")


def test_header_layout():
    m = msg.Message(msg.PING, b"a" * 40, current_epoch=7, config_epoch=3, offset=99, port=7000, cport=17000,
                    flags=MASTER | MYSELF, myip="10.0.0.1")
    m.gossip.append(msg.Gossip(b"b" * 40, 1, 2, "10.0.0.2", 7001, 17001, MASTER))
    m.hostname = "host-1"
    data = msg.encode(m)
    assert data[:4] == b"RCmb"
    hostname_ext = 8 + 8  # 8-byte ext header + "host-1\0" padded to 8
    assert len(data) == 2256 + 104 + hostname_ext
    assert struct.unpack(">I", data[4:8])[0] == len(data)
    assert struct.unpack(">HHHH", data[8:16]) == (1, 7000, msg.PING, 1)
    assert struct.unpack(">QQQ", data[16:40]) == (7, 3, 99)
    assert data[40:80] == b"a" * 40
    assert data[2168:2176] == b"10.0.0.1"
    assert struct.unpack(">H", data[2214:2216])[0] == 1  # extensions
    assert struct.unpack(">HHH", data[2246:2252]) == (0, 17000, MASTER | MYSELF)
    assert data[2253] & msg.FLAG0_EXT_DATA
    assert data[2256:2296] == b"b" * 40
    back = msg.decode(data)
    assert back.gossip[0].ip == "10.0.0.2" and back.gossip[0].port == 7001
    assert back.hostname == "host-1" and back.current_epoch == 7


def test_other_bodies_roundtrip():
    fail = msg.Message(msg.FAIL, b"a" * 40, about=b"c" * 40)
    assert len(msg.encode(fail)) == 2256 + 40
    assert msg.decode(msg.encode(fail)).about == b"c" * 40
    pub = msg.Message(msg.PUBLISHSHARD, b"a" * 40, channel=b"ch", message=b"hello")
    data = msg.encode(pub)
    assert len(data) == 2256 + 8 + 2 + 5
    back = msg.decode(data)
    assert (back.channel, back.message) == (b"ch", b"hello")
    upd = msg.Message(msg.UPDATE, b"a" * 40, about=b"d" * 40, update_epoch=5, update_slots=b"\x01" + bytes(2047))
    data = msg.encode(upd)
    assert len(data) == 2256 + 8 + 40 + 2048
    back = msg.decode(data)
    assert back.update_epoch == 5 and back.update_slots[0] == 1
    for t in (msg.AUTH_REQUEST, msg.AUTH_ACK, msg.MFSTART):
        assert len(msg.encode(msg.Message(t, b"a" * 40))) == 2256


def test_invalid_messages():
    m = msg.encode(msg.Message(msg.FAIL, b"a" * 40, about=b"c" * 40))
    with pytest.raises(msg.DecodeError, match="Received invalid fail packet of length 2295 but expected length 2296"):
        msg.decode(m[:-1])
    with pytest.raises(msg.DecodeError, match="Bad message length or signature"):
        msg.frame_length(b"XXXX\0\0\0\0")
    bad_version = bytearray(m)
    bad_version[8:10] = b"\0\2"
    assert msg.decode(bytes(bad_version)) is None  # ignored, like Redis


def test_slot_index_follows_writes():
    d = SlotIndexedDict()
    d[b"{a}1"] = 1
    d[b"{a}2"] = 2
    d[b"b"] = 3
    s = key_hash_slot(b"a")
    assert d.count_in_slot(s) == 2
    assert d.keys_in_slot(s, 10) == [b"{a}2", b"{a}1"]
    d.pop(b"{a}1")
    del d[b"b"]
    assert d.count_in_slot(s) == 1 and d.count_in_slot(key_hash_slot(b"b")) == 0
    dict.__setitem__(d, b"{a}3", 3)  # as a compiled loader would: the index notices and rebuilds
    assert d.count_in_slot(s) == 2 and set(d.keys_in_slot(s, 5)) == {b"{a}2", b"{a}3"}


class _Host:
    def __init__(self) -> None:
        self.written = ""

    def write_config(self, text: str, fsync: bool) -> None:
        self.written = text

    def __getattr__(self, name):
        return lambda *a, **k: 0


def test_nodes_conf_roundtrip(tmp_path):
    cfg = {"cluster-node-timeout": 15000, "cluster-require-full-coverage": True}
    st = ClusterState(cfg, _Host())
    st.create_myself()
    me = st.myself
    me.ip, me.port, me.cport, me.config_epoch = "127.0.0.1", 7000, 17000, 1
    other = ClusterNode(b"e" * 40, SLAVE)
    other.ip, other.port, other.cport, other.hostname = "127.0.0.2", 7001, 17001, "h2"
    other.slaveof = me
    me.add_slave(other)
    st.add_node(other)
    for s in list(range(0, 100)) + [200]:
        st.add_slot(me, s)
    st.migrating[5] = other
    st.current_epoch, st.last_vote_epoch = 4, 2
    st.save_config(False)
    text = st.host.written
    assert text.endswith("vars currentEpoch 4 lastVoteEpoch 2\n")
    line = [ln for ln in text.splitlines() if "myself" in ln][0]
    assert line.endswith(" connected 0-99 200 [5->-" + "e" * 40 + "]")
    assert f"eeee{'e' * 36} 127.0.0.2:7001@17001,h2 slave {me.name.decode()} 0 0 1 disconnected" in text
    path = tmp_path / "nodes.conf"
    nodesconf.write(str(path), text, True)
    st2 = ClusterState(cfg, _Host())
    assert nodesconf.load(st2, str(path))
    assert st2.myself.name == me.name and st2.current_epoch == 4 and st2.last_vote_epoch == 2
    assert st2.myself.numslots == 101 and st2.migrating[5].name == b"e" * 40
    assert nodes_description(st2) == nodes_description(st)
