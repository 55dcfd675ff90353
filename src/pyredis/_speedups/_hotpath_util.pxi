# Included by _hotpath.pyx: the reply buffer, RESP request parsing, number helpers, list end operations.

cdef struct OutBuf:
    char* p
    Py_ssize_t n
    Py_ssize_t cap


cdef int ensure(OutBuf* b, Py_ssize_t extra) except -1:
    cdef Py_ssize_t cap
    cdef char* q
    if b.n + extra <= b.cap:
        return 0
    cap = b.cap * 2 if b.cap else 4096
    while cap < b.n + extra:
        cap *= 2
    q = <char*>realloc(b.p, cap)
    if q == NULL:
        raise MemoryError()
    b.p = q
    b.cap = cap
    return 0


cdef inline int put(OutBuf* b, const char* s, Py_ssize_t n) except -1:
    ensure(b, n)
    memcpy(b.p + b.n, s, n)
    b.n += n
    return 0


cdef extern from *:
    """
    /* Two digits at a time, from a table of the pairs "00".."99". */
    static const char pyredis_digits[201] =
        "0001020304050607080910111213141516171819202122232425262728293031323334353637383940414243444546474849"
        "5051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899";
    static int pyredis_fmt_ull(char* out, unsigned long long u) {
        char tmp[24];
        int k = 24, n;
        while (u >= 100) {
            unsigned int i = (unsigned int)(u % 100) * 2;
            u /= 100;
            tmp[--k] = pyredis_digits[i + 1];
            tmp[--k] = pyredis_digits[i];
        }
        if (u >= 10) {
            tmp[--k] = pyredis_digits[u * 2 + 1];
            tmp[--k] = pyredis_digits[u * 2];
        } else {
            tmp[--k] = (char)('0' + u);
        }
        n = 24 - k;
        memcpy(out, tmp + k, n);
        return n;
    }
    """
    int fmt_ull "pyredis_fmt_ull"(char* out, unsigned long long u) noexcept


cdef inline int fmt_ll(char* out, long long v) noexcept:
    """Decimal digits of *v* at *out* (what ``b"%d" % v`` gives); returns their count."""
    if v < 0:
        out[0] = 45
        return 1 + fmt_ull(out + 1, <unsigned long long>(-(v + 1)) + 1)
    return fmt_ull(out, <unsigned long long>v)


cdef inline int put_bulk(OutBuf* b, const char* s, Py_ssize_t n) except -1:
    cdef char* w
    ensure(b, n + 26)
    w = b.p + b.n
    w[0] = 36  # '$'
    if n < 10:
        w[1] = 48 + <char>n
        w += 2
    else:
        w += 1 + fmt_ll(w + 1, n)
    w[0] = 13
    w[1] = 10
    memcpy(w + 2, s, n)
    w += n + 2
    w[0] = 13
    w[1] = 10
    b.n = (w + 2) - b.p
    return 0


cdef inline int put_int(OutBuf* b, char prefix, long long v) except -1:
    cdef char* w
    ensure(b, 24)
    w = b.p + b.n
    w[0] = prefix
    w += 1 + fmt_ll(w + 1, v)
    w[0] = 13
    w[1] = 10
    b.n = (w + 2) - b.p
    return 0


cdef inline long long now_ns() noexcept nogil:
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return <long long>ts.tv_sec * 1000000000 + ts.tv_nsec


cdef inline Py_ssize_t read_len(const char* p, Py_ssize_t i, Py_ssize_t end, long long* out) noexcept:
    """A canonical decimal (no sign, no leading zero, <= 18 digits) ending in CRLF at *i*."""
    cdef Py_ssize_t start = i
    cdef long long v = 0
    cdef char ch
    while i < end:
        ch = p[i]
        if ch < 48 or ch > 57:
            break
        v = v * 10 + (ch - 48)
        i += 1
        if i - start > 18:
            return -1
    if i == start or (i - start > 1 and p[start] == 48):
        return -1
    if i + 1 >= end or p[i] != 13 or p[i + 1] != 10:
        return -1
    out[0] = v
    return i + 2


cdef object parse_one(const char* p, Py_ssize_t pos, Py_ssize_t n, long long maxbulk, Py_ssize_t* endpos):
    """The complete canonical multibulk request at *pos* as a list of bytes, or None."""
    cdef long long count, blen
    cdef Py_ssize_t q, j
    cdef list argv
    if pos >= n or p[pos] != 42:  # '*'
        return None
    q = read_len(p, pos + 1, n, &count)
    if q < 0 or count < 1 or count > MAX_ARGS:
        return None
    if n - q < count * 4:  # cannot be complete: do not build a list for nothing
        return None
    argv = PyList_New(count)  # slots filled below; a list left partly NULL is freed safely
    for j in range(count):
        if q >= n or p[q] != 36:  # '$'
            return None
        q = read_len(p, q + 1, n, &blen)
        if q < 0 or blen > maxbulk or q + blen + 2 > n:
            return None
        if p[q + blen] != 13 or p[q + blen + 1] != 10:
            return None
        arg = PyBytes_FromStringAndSize(p + q, blen)
        Py_INCREF(arg)  # PyList_SET_ITEM steals a reference
        PyList_SET_ITEM(argv, j, arg)
        q += blen + 2
    endpos[0] = q
    return argv


def parse(bytes data, long long maxbulk=512 * 1024 * 1024):
    """The leading complete canonical requests of *data* and the offset after them (for tests)."""
    cdef const char* p = PyBytes_AS_STRING(data)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(data)
    cdef Py_ssize_t pos = 0, q = 0
    out = []
    while True:
        argv = parse_one(p, pos, n, maxbulk, &q)
        if argv is None:
            return out, pos
        out.append(argv)
        pos = q


cdef inline Py_ssize_t clamp_range(long long start, long long stop, Py_ssize_t n, Py_ssize_t* a) noexcept:
    """LRANGE's index clamping: the element count (0 when empty) and the first index in *a*."""
    if start < 0:
        start += n
    if stop < 0:
        stop += n
    if start < 0:
        start = 0
    if start > stop or start >= n:
        return 0
    if stop >= n:
        stop = n - 1
    a[0] = start
    return stop - start + 1


cdef inline bint strict_ll(object b, long long* out) noexcept:
    """*b* is the canonical decimal of a 64-bit integer (what ``b"%d" % v`` makes)."""
    cdef const char* s = PyBytes_AS_STRING(b)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(b)
    cdef Py_ssize_t i = 0
    cdef bint neg = False
    cdef long long v = 0
    if n == 0 or n > 19:
        return False
    if s[0] == 45:
        neg = True
        i = 1
        if n == 1 or n > 19 or s[1] == 48:
            return False
    elif n > 18:
        return False
    if s[i] == 48 and n > 1:
        return False
    while i < n:
        if s[i] < 48 or s[i] > 57:
            return False
        v = v * 10 + (s[i] - 48)
        i += 1
    out[0] = -v if neg else v
    return True



# -- C-level access to engine objects ------------------------------------------------------------------

cdef extern from *:
    """
    #include <structmember.h>
    /* The bytes object *o* rewritten in place with the *n* bytes at *s*, when nothing but its one
       holder can see it: exactly bytes, one reference, the same length (Redis's INCR reuses an
       unshared integer object the same way). Returns 0, having changed nothing, otherwise. */
    static int pyredis_bytes_overwrite(PyObject* o, const char* s, Py_ssize_t n) {
        if (!PyBytes_CheckExact(o) || Py_REFCNT(o) != 1 || PyBytes_GET_SIZE(o) != n) return 0;
        memcpy(PyBytes_AS_STRING(o), s, (size_t)n);
        _Py_COMP_DIAG_PUSH
        _Py_COMP_DIAG_IGNORE_DEPR_DECLS
        ((PyBytesObject*)o)->ob_shash = -1;
        _Py_COMP_DIAG_POP
        return 1;
    }
    /* The offset of an object slot of a __slots__ class (its member descriptor), or -1. */
    static Py_ssize_t pyredis_slot_offset(PyObject* descr) {
        PyMemberDef* m;
        if (Py_TYPE(descr) != &PyMemberDescr_Type) return -1;
        m = ((PyMemberDescrObject*)descr)->d_member;
        if (m->type != T_OBJECT_EX || (m->flags & READONLY)) return -1;
        return m->offset;
    }
    #define pyredis_slot(o, off) (*(PyObject**)((char*)(o) + (off)))
    /* The C function of a builtin method descriptor with the given calling convention, or NULL. */
    static PyCFunction pyredis_cmethod(PyObject* descr, int flags) {
        PyMethodDef* m;
        if (Py_TYPE(descr) != &PyMethodDescr_Type) return NULL;
        m = ((PyMethodDescrObject*)descr)->d_method;
        if ((m->ml_flags & (METH_VARARGS | METH_KEYWORDS | METH_NOARGS | METH_O | METH_FASTCALL)) != flags) return NULL;
        return m->ml_meth;
    }
    static PyObject* pyredis_call_o(PyCFunction f, PyObject* self, PyObject* arg) { return f(self, arg); }
    static PyObject* pyredis_call_noargs(PyCFunction f, PyObject* self) { return f(self, NULL); }
    #define pyredis_type_is(o, t) ((PyObject*)Py_TYPE(o) == (PyObject*)(t))
    """
    ctypedef void* PyCFunction
    int METH_O
    int METH_NOARGS
    bint bytes_overwrite "pyredis_bytes_overwrite"(PyObject* o, const char* s, Py_ssize_t n)
    Py_ssize_t slot_offset "pyredis_slot_offset"(object descr)
    PyObject* slot "pyredis_slot"(object o, Py_ssize_t off)
    PyCFunction cmethod "pyredis_cmethod"(object descr, int flags)
    object call_o "pyredis_call_o"(PyCFunction f, object o, object arg)
    object call_noargs "pyredis_call_noargs"(PyCFunction f, object o)
    Py_ssize_t obsize "Py_SIZE"(PyObject* o)
    bint type_is "pyredis_type_is"(PyObject* o, PyObject* t)
    Py_ssize_t PyLong_AsSsize_t(object o) except? -1


cdef inline Py_ssize_t list_push(object v, object x, bint left) except -1:
    """``v.appendleft(x)`` / ``v.append(x)`` of a ListValue, then its length (ListValue's own
    code inlined for the common case: the end deque exists and does not spill)."""
    cdef Py_ssize_t n
    cdef PyObject* d
    cdef PyObject* o
    cdef PyObject* m
    if LIST_SLOTS:  # the same steps on the slots and the deque's C methods
        d = slot(v, OFF_LEFT if left else OFF_RIGHT)
        if d != NULL and type_is(d, DEQUE):
            call_o(DEQ_APPENDLEFT if left else DEQ_APPEND, <object>d, x)
            n = obsize(d)
            if n <= LIST_SPILL:
                o = slot(v, OFF_RIGHT if left else OFF_LEFT)
                m = slot(v, OFF_MIDN)
                if o != NULL and m != NULL and (type_is(o, DEQUE) or type_is(o, TUPLE)) and type_is(m, INT):
                    return n + PyLong_AsSsize_t(<object>m) + obsize(o)
                return len(v)
            if left:
                v._spill_left()
            else:
                v._spill_right()
            return len(v)
    elif LIST_INLINE:
        d2 = v.left if left else v.right
        if d2 is not LIST_EMPTY:
            if left:
                d2.appendleft(x)
            else:
                d2.append(x)
            n = len(d2)
            if n <= LIST_SPILL:
                if left:
                    return n + <Py_ssize_t>v.midn + len(v.right)
                return n + <Py_ssize_t>v.midn + len(v.left)
            if left:
                v._spill_left()
            else:
                v._spill_right()
            return len(v)
    if left:
        v.appendleft(x)
    else:
        v.append(x)
    return len(v)


cdef inline object list_pop(object v, bint left, bint* empty):
    """``v.popleft()`` / ``v.pop()`` of a non-empty ListValue; *empty* says whether it is now empty."""
    cdef PyObject* d
    cdef PyObject* o
    cdef PyObject* m
    if LIST_SLOTS:
        d = slot(v, OFF_LEFT if left else OFF_RIGHT)
        if d != NULL and type_is(d, DEQUE) and obsize(d):  # the end deque holds elements: ListValue pops from it
            x = call_noargs(DEQ_POPLEFT if left else DEQ_POP, <object>d)
            if obsize(d):
                empty[0] = False
            else:
                o = slot(v, OFF_RIGHT if left else OFF_LEFT)
                m = slot(v, OFF_MIDN)
                if o != NULL and m != NULL and (type_is(o, DEQUE) or type_is(o, TUPLE)) and type_is(m, INT):
                    empty[0] = PyLong_AsSsize_t(<object>m) == 0 and obsize(o) == 0
                else:
                    empty[0] = not v
            return x
    elif LIST_INLINE:
        d2 = v.left if left else v.right
        if d2:
            x = d2.popleft() if left else d2.pop()
            empty[0] = not d2 and not v.midn and not (v.right if left else v.left)
            return x
    x = v.popleft() if left else v.pop()
    empty[0] = not v
    return x


# -- instance attributes read from the instance dict -----------------------------------------------------
# The connection, server and keyspace objects are plain Python instances: an attribute the hot path
# reads lives in the instance __dict__ (or, absent there, on the class). Generic attribute access
# looks the name up along the class's MRO first (for a data descriptor); for a class known to define
# none of these names as a data descriptor, one dict lookup gives the same value (``dget``; a name
# missing from the dict falls back to ``getattr``). ``plain`` checks a class once, keeping the last one
# that passed per role (a class that fails keeps the generic ``getattr``).

cdef extern from "Python.h":
    object PyObject_GenericGetDict(object o, void* context)
    PyObject* PyDict_GetItemWithError(object d, object key) except? NULL

CLIENT_ATTRS = ("pending", "parser", "server", "multi", "authenticated", "acl_restricted", "reply_mode",
                "tracking", "blocked", "close_asap", "in_exec", "in_script", "db", "resp", "channels",
                "patterns", "shard_channels", "last_interaction", "qbuf_peak", "qbuf_alloc", "out",
                "transport", "closed", "obuf_soft_since", "rbs", "rbp", "_flush_scheduled", "cmd")
SERVER_ATTRS = ("gate", "_after_command", "ready_keys", "stat_net_in", "stat_net_out", "propagators",
                "replication", "slow_threshold", "dirty", "before_reply", "client_eviction", "current_client", "loop")
KEYSPACE_ATTRS = ("notify_flags", "tracking_hook", "track_lru", "frozen_time", "loading", "hits", "misses")

cdef object PLAIN_CLIENT = None
cdef object PLAIN_SERVER = None
cdef object PLAIN_KEYSPACE = None


def plain_class(cls, names):
    """Instances of *cls* keep *names* in their __dict__ (generic get/setattr, no data descriptor of those names)."""
    if getattr(cls, "__dictoffset__", 0) == 0:
        return False
    if cls.__getattribute__ is not object.__getattribute__ or cls.__setattr__ is not object.__setattr__:
        return False
    for name in names:
        for k in cls.__mro__:
            found = k.__dict__.get(name, k)
            if found is not k:
                if hasattr(type(found), "__set__") or hasattr(type(found), "__delete__"):
                    return False
                break
    return True


cdef inline dict idict(object o, int role):
    """*o*'s instance dict when its class is plain for *role* (0 client, 1 server, 2 keyspace), else None."""
    global PLAIN_CLIENT, PLAIN_SERVER, PLAIN_KEYSPACE
    t = type(o)
    if role == 0:
        if t is not PLAIN_CLIENT:
            if not plain_class(t, CLIENT_ATTRS):
                return None
            PLAIN_CLIENT = t
    elif role == 1:
        if t is not PLAIN_SERVER:
            if not plain_class(t, SERVER_ATTRS):
                return None
            PLAIN_SERVER = t
    else:
        if t is not PLAIN_KEYSPACE:
            if not plain_class(t, KEYSPACE_ATTRS):
                return None
            PLAIN_KEYSPACE = t
    return <dict>PyObject_GenericGetDict(o, NULL)


cdef inline object dget(dict d, object o, str name):
    """``getattr(o, name)`` through *o*'s instance dict *d* (None: generic)."""
    cdef PyObject* v
    if d is not None:
        v = PyDict_GetItemWithError(d, name)  # str keys: no error to suppress
        if v != NULL:
            return <object>v
    return getattr(o, name)


cdef inline int dset(dict d, object o, str name, object value) except -1:
    """``setattr(o, name, value)`` through *o*'s instance dict *d* (None: generic)."""
    if d is not None:
        PyDict_SetItem(d, name, value)
    else:
        setattr(o, name, value)
    return 0
