# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""Compiled request loop: RESP multibulk parsed straight from the read buffer, string commands run
on the database dicts, replies appended to one buffer.

The semantics are those of :mod:`pyredis.server.fastpath` (itself an optimisation of the full path):
``run_batch`` is only entered while ``fastpath.allowed`` holds; every command it does not handle
natively goes to the Python fast handler or, when that declines, to ``fallback`` (the full path),
and anything it cannot parse canonically (inline commands, partial or malformed requests, limits)
is handed back, from its first byte, to the Python parser.
"""

import sys
from collections import deque

cimport cython

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.float cimport PyFloat_AS_DOUBLE, PyFloat_FromDouble
from cpython.dict cimport PyDict_GetItem, PyDict_SetItem, PyDict_Size
from cpython.list cimport PyList_Append, PyList_New, PyList_SET_ITEM
from cpython.set cimport PySet_Add, PySet_Contains
from cpython.ref cimport Py_INCREF, PyObject
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcmp, memcpy
from posix.time cimport CLOCK_MONOTONIC, CLOCK_REALTIME, clock_gettime, timespec

# Bumped whenever the interface with pyredis._speedups changes: a stale build is then ignored.
ABI = 8

DEF MAX_ARGS = 1048576

cdef extern from "limits.h":
    const long long LLONG_MAX
    const long long LLONG_MIN

# C constants (a literal this large would be a Python int in Cython arithmetic)
cdef long long LLMAX = LLONG_MAX
cdef long long LLMIN = LLONG_MIN
cdef long long FLOAT_EXACT = 1LL << 53  # integers within +-2**53 are exact doubles

include "_hotpath_util.pxi"

cdef enum:
    K_PY = 0
    K_GET = 1
    K_SET = 2
    K_INCR = 3
    K_DECR = 4
    K_INCRBY = 5
    K_DECRBY = 6
    K_MGET = 7
    K_MSET = 8
    K_EXISTS = 9
    K_PING = 10
    K_LPUSH = 11
    K_RPUSH = 12
    K_LPOP = 13
    K_RPOP = 14
    K_SADD = 15
    K_SISMEMBER = 16
    K_HSET = 17
    K_HGET = 18
    K_LRANGE = 19
    K_ZADD = 20
    K_ZSCORE = 21
    K_ZCARD = 22

KINDS = {"get": K_GET, "set": K_SET, "incr": K_INCR, "decr": K_DECR, "incrby": K_INCRBY,
         "decrby": K_DECRBY, "mget": K_MGET, "mset": K_MSET, "exists": K_EXISTS, "ping": K_PING,
         "lpush": K_LPUSH, "rpush": K_RPUSH, "lpop": K_LPOP, "rpop": K_RPOP, "lrange": K_LRANGE}

# The engine's value classes (set by make_table); the set and hash ones only when they are the
# set/dict subclasses the native handlers assume, else those commands use the Python handlers.
cdef object ListValue = None
cdef object SetValue = None
cdef object HashValue = None
cdef bint HASH_KT = False  # HashValue is a KeyTable (else a dict)
cdef object ZSetValue = None
cdef object parse_score_py = None
# ListValue's layout (left deque, packed middle, right deque; engine/list.py), used inline when present.
cdef bint LIST_INLINE = False
cdef Py_ssize_t LIST_SPILL = 0
cdef object LIST_EMPTY = None
# The same layout reached through the slots' offsets and the deque's C methods (LIST_SLOTS)
cdef bint LIST_SLOTS = False
cdef Py_ssize_t OFF_LEFT = -1, OFF_RIGHT = -1, OFF_MIDN = -1
cdef PyCFunction DEQ_APPEND = NULL, DEQ_APPENDLEFT = NULL, DEQ_POP = NULL, DEQ_POPLEFT = NULL
cdef PyObject* DEQUE = <PyObject*>deque
cdef PyObject* TUPLE = <PyObject*>tuple
cdef PyObject* INT = <PyObject*>int
cdef PyObject* BYTES = <PyObject*>bytes

include "_keytable.pxi"
include "_scorelist.pxi"


cdef class Entry:
    """One fast command: its registry entry, Python fast handler, kind and per-batch counters."""
    cdef public object cmd
    cdef public object fn
    cdef public object direct
    cdef public int arity
    cdef public int kind
    cdef public bint writes  # fn writes its reply to client.out itself (a "direct" handler)
    cdef long long calls
    cdef long long usec

    def __init__(self, cmd, fn, direct, int kind):
        self.cmd = cmd
        self.fn = fn
        self.direct = direct
        self.arity = cmd.arity
        self.kind = kind
        self.writes = bool(getattr(fn, "direct", False))
        self.calls = 0
        self.usec = 0


def make_table(dict fast_table, list_cls, set_cls, hash_cls, zset_cls=None, parse_score=None):
    """Wrap ``fastpath.TABLE`` (name -> (command, fast, direct, ...)) into Entry objects, one per command.

    The value classes are the engine's; a class whose layout is not the one the native handlers
    assume leaves its commands to the Python fast handlers.
    """
    global ListValue, SetValue, HashValue, ZSetValue, parse_score_py, LIST_INLINE, LIST_SPILL, LIST_EMPTY, HASH_KT
    global LIST_SLOTS, OFF_LEFT, OFF_RIGHT, OFF_MIDN, DEQ_APPEND, DEQ_APPENDLEFT, DEQ_POP, DEQ_POPLEFT
    cdef dict out = {}
    cdef dict made = {}
    ListValue = list_cls
    mod = sys.modules.get(list_cls.__module__)
    slots = getattr(list_cls, "__slots__", ())
    if (mod is not None and type(getattr(mod, "SPILL", None)) is int and getattr(mod, "_NONE", None) == ()
            and all(a in slots for a in ("left", "mid", "right", "midn"))
            and hasattr(list_cls, "_spill_left") and hasattr(list_cls, "_spill_right")):
        LIST_INLINE = True
        LIST_SPILL = mod.SPILL
        LIST_EMPTY = mod._NONE
        OFF_LEFT = slot_offset(list_cls.__dict__["left"])
        OFF_RIGHT = slot_offset(list_cls.__dict__["right"])
        OFF_MIDN = slot_offset(list_cls.__dict__["midn"])
        DEQ_APPEND = cmethod(deque.__dict__["append"], METH_O)
        DEQ_APPENDLEFT = cmethod(deque.__dict__["appendleft"], METH_O)
        DEQ_POP = cmethod(deque.__dict__["pop"], METH_NOARGS)
        DEQ_POPLEFT = cmethod(deque.__dict__["popleft"], METH_NOARGS)
        LIST_SLOTS = (OFF_LEFT >= 0 and OFF_RIGHT >= 0 and OFF_MIDN >= 0 and DEQ_APPEND != NULL
                      and DEQ_APPENDLEFT != NULL and DEQ_POP != NULL and DEQ_POPLEFT != NULL)
    if (zset_cls is not None and parse_score is not None and "d" in getattr(zset_cls, "__slots__", ())
            and hasattr(zset_cls, "insert") and hasattr(zset_cls, "update")):
        ZSetValue = zset_cls
        parse_score_py = parse_score
        KINDS["zadd"] = K_ZADD
        KINDS["zscore"] = K_ZSCORE
        KINDS["zcard"] = K_ZCARD
    if issubclass(set_cls, set) and hasattr(set_cls, "pool") and hasattr(set_cls, "after_add"):
        SetValue = set_cls
        KINDS["sadd"] = K_SADD
        KINDS["sismember"] = K_SISMEMBER
    if ((issubclass(hash_cls, dict) or issubclass(hash_cls, KeyTable)) and hasattr(hash_cls, "check_lengths")
            and hasattr(hash_cls, "check_size")):
        HashValue = hash_cls
        HASH_KT = issubclass(hash_cls, KeyTable)
        KINDS["hset"] = K_HSET
        KINDS["hget"] = K_HGET
    for name, (cmd, fn, direct, _lo, _hi) in fast_table.items():
        ent = made.get(cmd.name)
        if ent is None:
            ent = made[cmd.name] = Entry(cmd, fn, direct, KINDS.get(cmd.name, K_PY))
        out[name] = ent
    return out




@cython.no_gc  # never part of a cycle: no collector traversal (nor gen-0 collections it would trigger)
cdef class _State:
    """Counters of the batch not yet added to the server objects."""
    cdef long long dirty
    cdef long long hits
    cdef long long misses
    cdef list touched
    cdef object last
    cdef dict cd  # the instance dicts of the client, server and keyspace (None: generic attributes)
    cdef dict sd
    cdef dict kd


cdef int flush(OutBuf* b, list out, _State st, object srv, object ks, object c) except -1:
    if b.n:
        PyList_Append(out, PyBytes_FromStringAndSize(b.p, b.n))
        b.n = 0
    return flush_counters(st, srv, ks, c)


cdef int flush_counters(_State st, object srv, object ks, object c) except -1:
    cdef Entry e
    if st.dirty:
        dset(st.sd, srv, "dirty", dget(st.sd, srv, "dirty") + st.dirty)
        st.dirty = 0
    if st.hits:
        dset(st.kd, ks, "hits", dget(st.kd, ks, "hits") + st.hits)
        st.hits = 0
    if st.misses:
        dset(st.kd, ks, "misses", dget(st.kd, ks, "misses") + st.misses)
        st.misses = 0
    if st.touched:
        for x in st.touched:
            e = <Entry>x
            cmd = e.cmd
            cmd.calls += e.calls
            cmd.usec += e.usec
            e.calls = 0
            e.usec = 0
        del st.touched[:]
    if st.last is not None:
        dset(st.cd, c, "cmd", st.last)
        st.last = None
    return 0


cdef bint allowed(object srv, object c) except -1:
    """``pyredis.server.fastpath.allowed`` (keep the two identical), minus its test switch."""
    cdef dict sd = idict(srv, 1)
    cdef dict cd = idict(c, 0)
    ks = dget(sd, srv, "keyspace")
    cdef dict kd = idict(ks, 2)
    if (dget(sd, srv, "gate") or dget(sd, srv, "_after_command") or dget(sd, srv, "ready_keys")
            or dget(kd, ks, "notify_flags") or dget(kd, ks, "tracking_hook") is not None
            or dget(kd, ks, "track_lru") or dget(kd, ks, "frozen_time") is not None or dget(kd, ks, "loading")):
        return False
    if (dget(cd, c, "multi") is not None or not dget(cd, c, "authenticated") or dget(cd, c, "acl_restricted")
            or dget(cd, c, "reply_mode") or dget(cd, c, "tracking") is not None
            or dget(cd, c, "blocked") is not None or dget(cd, c, "close_asap") or dget(cd, c, "in_exec")
            or dget(cd, c, "in_script")):
        return False
    db = dget(cd, c, "db")
    if db.watched or db.blocked:
        return False
    return not (dget(cd, c, "resp") == 2 and (dget(cd, c, "channels") or dget(cd, c, "patterns")
                                              or dget(cd, c, "shard_channels")))


def fast_allowed(srv, c):
    """The compiled ``allowed`` (for tests comparing it with the Python one)."""
    return allowed(srv, c)


cdef bint is_propagating(object srv, dict sd) except -1:
    """``pyredis.server.fastpath.propagating`` (keep the two identical)."""
    props = dget(sd, srv, "propagators")
    if not props:
        return False
    repl = dget(sd, srv, "replication")
    if repl is None or (repl.backlog is not None and repl.masterhost is None):
        return True
    feed = repl.master.feed
    for fn in props:
        if fn != feed:
            return True
    return False


def fast_propagating(srv):
    """The compiled ``propagating`` (for tests comparing it with the Python one)."""
    return is_propagating(srv, idict(srv, 1))


# RequestParser's slots (protocol/parser.py), read in place by parser_idle / parser_skipped
cdef object PARSER_CLS = None
cdef Py_ssize_t OFF_P_AUTH = -1, OFF_P_READER = -1, OFF_P_PENDING = -1, OFF_P_TAIL = -1


def overwrite_value(d, key, bytes digits):
    """Rewrite *key*'s value in *d* (a database's dict or KeyTable) in place with *digits* when it is an
    unshared bytes object of the same length (the full path's INCR, as the native one); False, having
    changed nothing, otherwise."""
    cdef PyObject* vp = dget_item(d, key)
    return vp != NULL and bytes_overwrite(vp, PyBytes_AS_STRING(digits), PyBytes_GET_SIZE(digits))


def set_parser_class(cls):
    """Read *cls*'s ``_auth``, ``_reader``, ``_pending`` and ``_tail`` slots in place (else call its methods)."""
    global PARSER_CLS, OFF_P_AUTH, OFF_P_READER, OFF_P_PENDING, OFF_P_TAIL
    d = cls.__dict__
    offs = [slot_offset(d[n]) if n in d else -1 for n in ("_auth", "_reader", "_pending", "_tail")]
    if min(offs) >= 0 and "idle" in d and "skipped" in d:
        OFF_P_AUTH, OFF_P_READER, OFF_P_PENDING, OFF_P_TAIL = offs
        PARSER_CLS = cls


cdef inline bint parser_idle(object parser) except -1:
    """``parser.idle()``: no bytes held and no stricter (unauthenticated) limits."""
    cdef PyObject* a
    cdef PyObject* r
    cdef PyObject* n
    if type(parser) is PARSER_CLS:
        a = slot(parser, OFF_P_AUTH)
        r = slot(parser, OFF_P_READER)
        n = slot(parser, OFF_P_PENDING)
        if a == <PyObject*>False and r != NULL and r != <PyObject*>None and n != NULL and type_is(n, INT):
            return PyLong_AsSsize_t(<object>n) == 0
    return parser.idle()


cdef inline int parser_skipped(object parser) except -1:
    """``parser.skipped()``, which only has to run when the tail it forgets is not empty already."""
    cdef PyObject* t
    if type(parser) is PARSER_CLS:
        t = slot(parser, OFF_P_TAIL)
        if t != NULL and type_is(t, BYTES) and obsize(t) == 0:
            return 0
    parser.skipped()
    return 0


def run_batch(object c, bytes data, dict table, object execute, long long maxbulk, object propagating):
    """Run the requests in *data* for client *c*; returns the offset of the first byte not consumed.

    Precondition: an empty query buffer. Returns 0 at once unless the fast path is allowed.
    Commands this loop does not finish run through ``execute(c, argv)`` (the full path); when the
    fast path is no longer allowed after one, the offset after that command is returned.
    ``propagating(server)`` says whether writes must be propagated (``fastpath.propagating``).
    The replies are appended to ``c.out``.
    """
    cdef OutBuf b
    cdef Py_ssize_t pos
    if not allowed(c.server, c):
        return 0
    b.p = NULL
    b.n = 0
    b.cap = 0
    try:
        pos = batch(c, data, table, execute, maxbulk, propagating, &b)
        if b.n:
            PyList_Append(c.out, PyBytes_FromStringAndSize(b.p, b.n))
    finally:
        free(b.p)
    return pos


# Replies receive() wrote in the plain case, held until the end of the loop iteration (after every read
# the poll returned), as Redis writes replies in beforeSleep: one wake-up of a peer per burst of replies.
# Triples (connection, transport, bytes) in arrival order; anything else that writes to a connection
# (Connection.flush) first calls write_pending(), so no reply overtakes an earlier one.
PENDING = []
cdef list _pending = PENDING
cdef bint _write_scheduled = False


cdef int defer_write(object c, object t, bytes reply, object loop) except -1:
    global _write_scheduled
    _pending.append(c)
    _pending.append(t)
    _pending.append(reply)
    if not _write_scheduled:
        _write_scheduled = True
        loop.call_soon(write_pending)
    return 0


def write_pending():
    """Write the replies receive() held (``PENDING``), in order, to the connections still open."""
    global _write_scheduled
    cdef Py_ssize_t i, n
    cdef dict cd
    _write_scheduled = False
    n = len(_pending)
    if n == 0:
        return
    items = _pending[:]
    del _pending[:]
    for i in range(0, n, 3):
        c = items[i]
        t = items[i + 1]
        cd = idict(c, 0)
        if dget(cd, c, "transport") is t and not dget(cd, c, "closed"):
            t.write(items[i + 2])


def receive(object c, bytes data, object fp):
    """``Connection.data_received`` for a read the fast path can take (*fp* is ``server.fastpath``).

    Returns False, having changed nothing, unless the fast path is on (``fp.ENABLED``) and allowed,
    nothing is pending and the parser holds no bytes; then it does what ``data_received`` does: the
    read's accounting, ``run_batch``, and the reply written as ``Connection.flush`` writes it (when
    that would do anything more, ``c.flush()`` itself); the part of the read ``run_batch`` leaves
    goes to ``c.feed_rest``. Returns True then.
    """
    return _receive(c, data, fp)


cdef object _speedups_mod = None
cdef object _fastpath_mod = None


def install(cls, parser_cls, speedups, fastpath):
    """Give *cls* (``Connection``) the compiled :func:`data_received` (no Python frame per read);
    *parser_cls* is the ``RequestParser`` whose slots ``receive`` reads in place."""
    global _speedups_mod, _fastpath_mod
    _speedups_mod = speedups
    _fastpath_mod = fastpath
    set_parser_class(parser_cls)
    cls.data_received = data_received


def data_received(self, data):
    """``Connection.data_received``: :func:`receive` while the accelerator is on (``speedups.hotpath``,
    which tests switch), else the Python steps, ``Connection.received``."""
    if type(data) is not bytes or _speedups_mod.hotpath is None or not _receive(self, data, _fastpath_mod):
        self.received(data)


cdef bint _receive(object c, bytes data, object fp) except -1:
    cdef OutBuf b
    cdef Py_ssize_t pos, n, size, nb
    cdef long long rbs
    cdef timespec ts
    if not fp.ENABLED:
        return False
    cdef dict cd = idict(c, 0)
    if dget(cd, c, "pending"):
        return False
    parser = dget(cd, c, "parser")
    if not parser_idle(parser):
        return False
    srv = dget(cd, c, "server")
    if not allowed(srv, c):
        return False
    cdef dict sd = idict(srv, 1)
    table = fp.ACCEL_TABLE or fp.accel_table()
    # Connection.data_received's accounting (an idle parser buffers nothing: the size is this read's)
    n = PyBytes_GET_SIZE(data)
    dset(sd, srv, "stat_net_in", dget(sd, srv, "stat_net_in") + n)
    clock_gettime(CLOCK_REALTIME, &ts)
    dset(cd, c, "last_interaction", <double>ts.tv_sec + <double>ts.tv_nsec * 1e-9)  # time.time()
    size = n if n < 16384 else 16384
    if size > dget(cd, c, "qbuf_peak"):
        dset(cd, c, "qbuf_peak", size)
    x = dget(cd, c, "qbuf_alloc")
    if x < size or x < 20474:
        dset(cd, c, "qbuf_alloc", size if size > 20474 else 20474)
    b.p = NULL
    b.n = 0
    b.cap = 0
    try:
        pos = batch(c, data, table, None, parser.max_bulk_len, None, &b)
        out = dget(cd, c, "out")
        nb = b.n
        if pos < n:  # the rest (inline, partial, or after a command the fast path cannot follow)
            if nb:
                PyList_Append(out, PyBytes_FromStringAndSize(b.p, nb))
            c.feed_rest(data[pos:] if pos else data)
            return True
        parser_skipped(parser)
        # Connection.flush, when it would only write: one reply chunk within the reply buffer
        t = dget(cd, c, "transport")
        if (nb and not out and t is not None and not dget(cd, c, "closed") and not dget(cd, c, "close_asap")
                and dget(cd, c, "obuf_soft_since") is None and dget(sd, srv, "before_reply") is None
                and not dget(sd, srv, "client_eviction").enabled):
            rbs = dget(cd, c, "rbs")
            if nb + <Py_ssize_t>t.get_write_buffer_size() <= rbs:
                if dget(cd, c, "_flush_scheduled"):
                    dset(cd, c, "_flush_scheduled", False)
                if nb > dget(cd, c, "rbp"):
                    dset(cd, c, "rbp", nb if nb < rbs else rbs)
                reply = PyBytes_FromStringAndSize(b.p, nb)
                dset(sd, srv, "stat_net_out", dget(sd, srv, "stat_net_out") + nb)
                loop = dget(sd, srv, "loop")
                if loop is None:
                    t.write(reply)
                else:
                    defer_write(c, t, reply, loop)
                return True
        if nb:
            PyList_Append(out, PyBytes_FromStringAndSize(b.p, nb))
        c.flush()
    finally:
        free(b.p)
    return True


include "_batch.pxi"
