# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled twins of the RDB format's hot helpers (optional accelerator).

Every function here has a pure-Python reference with the same name and contract in
:mod:`pyredis.persistence.crc64`, :mod:`~pyredis.persistence.lzf`,
:mod:`~pyredis.persistence.listpack` and :mod:`~pyredis.persistence.rdb_format`; the selector
:mod:`pyredis.persistence.accel` picks these when the extension is built and
``PYREDIS_NO_EXTENSIONS`` is not set, and ``tests/test_rdb_accel.py`` checks that both agree on
random inputs (same output bytes, same exception classes).
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.dict cimport PyDict_GetItem, PyDict_SetItem
from cpython.list cimport PyList_Append
from libc.stdint cimport int64_t, uint8_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcmp, memcpy, memset

from pyredis.persistence.codec_errors import BlobError, LZFError

# Bumped whenever a function's contract changes: accel.py ignores a stale build.
ABI = 2


# ================================================================================================
# CRC-64 (Jones polynomial, reflected, as Redis): slicing by 8
# ================================================================================================
cdef uint64_t CRC_T[8][256]


cdef void _crc_init():
    cdef uint64_t c
    cdef uint64_t poly = 0x95AC9329AC4BC9B5ULL
    cdef int i, j, k
    for i in range(256):
        c = i
        for k in range(8):
            if c & 1:
                c = (c >> 1) ^ poly
            else:
                c = c >> 1
        CRC_T[0][i] = c
    for i in range(256):
        c = CRC_T[0][i]
        for j in range(1, 8):
            c = CRC_T[0][c & 0xFF] ^ (c >> 8)
            CRC_T[j][i] = c


_crc_init()


cdef uint64_t _crc(uint64_t crc, const uint8_t* p, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i = 0
    cdef uint64_t w
    while n - i >= 8:
        w = (<uint64_t>p[i] | (<uint64_t>p[i + 1] << 8) | (<uint64_t>p[i + 2] << 16) | (<uint64_t>p[i + 3] << 24)
             | (<uint64_t>p[i + 4] << 32) | (<uint64_t>p[i + 5] << 40) | (<uint64_t>p[i + 6] << 48)
             | (<uint64_t>p[i + 7] << 56))
        crc ^= w
        crc = (CRC_T[7][crc & 0xFF] ^ CRC_T[6][(crc >> 8) & 0xFF] ^ CRC_T[5][(crc >> 16) & 0xFF]
               ^ CRC_T[4][(crc >> 24) & 0xFF] ^ CRC_T[3][(crc >> 32) & 0xFF] ^ CRC_T[2][(crc >> 40) & 0xFF]
               ^ CRC_T[1][(crc >> 48) & 0xFF] ^ CRC_T[0][crc >> 56])
        i += 8
    while i < n:
        crc = CRC_T[0][(crc ^ p[i]) & 0xFF] ^ (crc >> 8)
        i += 1
    return crc


def crc64(uint64_t crc, const uint8_t[::1] data):
    """Continue the CRC *crc* over *data* (use 0 to start)."""
    cdef Py_ssize_t n = data.shape[0]
    if n == 0:
        return crc
    cdef const uint8_t* p = &data[0]
    if n >= 65536:
        with nogil:
            crc = _crc(crc, p, n)
    else:
        crc = _crc(crc, p, n)
    return crc


# ================================================================================================
# LZF (the output liblzf produces as built into Redis; see lzf.compress for the rules)
# ================================================================================================
cdef uint32_t HT_POS[65536]
cdef uint32_t HT_GEN[65536]
cdef uint32_t ht_gen = 0


cdef inline uint32_t _hash3(const uint8_t* d, Py_ssize_t p) noexcept nogil:
    cdef uint32_t b1 = d[p + 1]
    return ((((<uint32_t>d[p] << 8) | b1) - (((b1 << 8) | d[p + 2]) * 5)) & 0xFFFF)


cdef Py_ssize_t _lzf_compress(const uint8_t* d, Py_ssize_t n, uint8_t* out, Py_ssize_t out_end) noexcept:
    """Compress into *out* (room for out_end + 8 bytes); the length, or 0 when it does not fit."""
    global ht_gen
    ht_gen += 1
    if ht_gen == 0:
        memset(HT_GEN, 0, sizeof(HT_GEN))
        ht_gen = 1
    cdef uint32_t gen = ht_gen
    cdef Py_ssize_t op = 1, lit = 0, ip = 0, last = n - 2, ref, off, maxlen, ln, code, p
    cdef uint32_t h
    out[0] = 0
    while ip < last:
        h = _hash3(d, ip)
        ref = HT_POS[h] if HT_GEN[h] == gen else 0
        HT_GEN[h] = gen
        HT_POS[h] = <uint32_t>ip
        off = ip - ref - 1
        if ref and off < 8192 and d[ref + 2] == d[ip + 2] and d[ref] == d[ip] and d[ref + 1] == d[ip + 1]:
            if op + 4 >= out_end and op - (lit == 0) + 4 >= out_end:
                return 0
            if lit:
                out[op - lit - 1] = <uint8_t>(lit - 1)
            else:
                op -= 1
            maxlen = n - ip - 2
            if maxlen > 264:
                maxlen = 264
            if maxlen > 16:
                if memcmp(d + ref + 3, d + ip + 3, 16) == 0:
                    ln = 19
                    while ln < maxlen and d[ref + ln] == d[ip + ln]:
                        ln += 1
                else:
                    ln = 3
                    while d[ref + ln] == d[ip + ln]:
                        ln += 1
            else:
                ln = 3
                while ln < maxlen and d[ref + ln] == d[ip + ln]:
                    ln += 1
            code = ln - 2
            if code < 7:
                out[op] = <uint8_t>((off >> 8) + (code << 5))
                op += 1
            else:
                out[op] = <uint8_t>((off >> 8) + (7 << 5))
                out[op + 1] = <uint8_t>(code - 7)
                op += 2
            out[op] = <uint8_t>(off & 0xFF)
            out[op + 1] = 0
            op += 2
            lit = 0
            ip += ln
            if ip >= last:
                break
            for p in range(ip - 2, ip):
                h = _hash3(d, p)
                HT_GEN[h] = gen
                HT_POS[h] = <uint32_t>p
            continue
        if op >= out_end:
            return 0
        out[op] = d[ip]
        op += 1
        ip += 1
        lit += 1
        if lit == 32:
            out[op - lit - 1] = <uint8_t>(lit - 1)
            lit = 0
            out[op] = 0
            op += 1
    if op + 3 > out_end:
        return 0
    while ip < n:
        out[op] = d[ip]
        op += 1
        ip += 1
        lit += 1
        if lit == 32:
            out[op - lit - 1] = <uint8_t>(lit - 1)
            lit = 0
            out[op] = 0
            op += 1
    if lit:
        out[op - lit - 1] = <uint8_t>(lit - 1)
    else:
        op -= 1
    return op


cdef object _compress_ptr(const uint8_t* d, Py_ssize_t n, Py_ssize_t max_out):
    cdef uint8_t stack[512]
    cdef uint8_t* buf
    cdef Py_ssize_t got
    if n == 0 or max_out <= 0:
        return None
    if max_out + 8 <= 512:
        got = _lzf_compress(d, n, stack, max_out)
        return PyBytes_FromStringAndSize(<char*>stack, got) if got else None
    buf = <uint8_t*>malloc(max_out + 8)
    if buf == NULL:
        raise MemoryError()
    try:
        got = _lzf_compress(d, n, buf, max_out)
        return PyBytes_FromStringAndSize(<char*>buf, got) if got else None
    finally:
        free(buf)


def compress(const uint8_t[::1] data, max_out=None):
    """LZF-compress *data* into at most *max_out* bytes (default ``len(data) - 4``); None when it does not fit."""
    cdef Py_ssize_t n = data.shape[0]
    cdef Py_ssize_t mo = n - 4 if max_out is None else max_out
    if n == 0:
        return None
    return _compress_ptr(&data[0], n, mo)


def decompress(const uint8_t[::1] data, Py_ssize_t out_len):
    """Decompress *data* that must expand to exactly *out_len* bytes (LZFError otherwise)."""
    cdef Py_ssize_t n = data.shape[0], i = 0, o = 0, run, length, dist, start, k
    cdef unsigned int ctrl
    if out_len < 0:
        raise LZFError("length mismatch")
    res = PyBytes_FromStringAndSize(NULL, out_len)
    cdef uint8_t* out = <uint8_t*>PyBytes_AS_STRING(res)
    cdef const uint8_t* d = &data[0] if n else NULL
    while i < n:
        ctrl = d[i]
        i += 1
        if ctrl < 32:
            run = ctrl + 1
            if i + run > n:
                raise LZFError("literal run past the end")
            if o + run > out_len:
                raise LZFError("length mismatch")
            memcpy(out + o, d + i, run)
            i += run
            o += run
            continue
        length = ctrl >> 5
        if length == 7:
            if i >= n:
                raise LZFError("truncated back reference")
            length += d[i]
            i += 1
        if i >= n:
            raise LZFError("truncated back reference")
        dist = (((ctrl & 31) << 8) | d[i]) + 1
        i += 1
        length += 2
        start = o - dist
        if start < 0:
            raise LZFError("back reference before the start")
        if o + length > out_len:
            raise LZFError("length mismatch")
        for k in range(length):
            out[o + k] = out[start + k]
        o += length
    if o != out_len:
        raise LZFError("length mismatch")
    return res


# ================================================================================================
# Growable output buffer
# ================================================================================================
cdef struct Buf:
    uint8_t* p
    Py_ssize_t n
    Py_ssize_t cap


cdef int buf_init(Buf* b, Py_ssize_t cap) except -1:
    b.p = <uint8_t*>malloc(cap)
    if b.p == NULL:
        raise MemoryError()
    b.n = 0
    b.cap = cap
    return 0


cdef inline int buf_reserve(Buf* b, Py_ssize_t extra) except -1:
    cdef Py_ssize_t need = b.n + extra, cap
    cdef uint8_t* np
    if need <= b.cap:
        return 0
    cap = b.cap * 2
    if cap < need:
        cap = need + 64
    np = <uint8_t*>realloc(b.p, cap)
    if np == NULL:
        raise MemoryError()
    b.p = np
    b.cap = cap
    return 0


cdef inline int buf_put(Buf* b, const uint8_t* src, Py_ssize_t n) except -1:
    buf_reserve(b, n)
    memcpy(b.p + b.n, src, n)
    b.n += n
    return 0


cdef inline int buf_byte(Buf* b, uint8_t c) except -1:
    if b.n >= b.cap:
        buf_reserve(b, 1)
    b.p[b.n] = c
    b.n += 1
    return 0


cdef inline object buf_bytes(Buf* b):
    return PyBytes_FromStringAndSize(<char*>b.p, b.n)


# ================================================================================================
# Integers in strings (string2ll rules: no sign '+', no leading zeros, no "-0", 64-bit range)
# ================================================================================================
cdef inline bint _parse_ll(const uint8_t* p, Py_ssize_t n, int64_t* out) noexcept nogil:
    cdef Py_ssize_t i = 0
    cdef bint neg = False
    cdef uint64_t v = 0, lim
    if n <= 0 or n > 20:
        return False
    if p[0] == 45:  # '-'
        neg = True
        i = 1
        if n == 1:
            return False
    if p[i] == 48:  # '0'
        if n == 1:
            out[0] = 0
            return True
        return False
    lim = 9223372036854775808ULL if neg else 9223372036854775807ULL
    while i < n:
        if p[i] < 48 or p[i] > 57:
            return False
        if v > (lim - (p[i] - 48)) // 10:
            return False
        v = v * 10 + (p[i] - 48)
        i += 1
    if neg:
        out[0] = <int64_t>(0 - v)
    else:
        out[0] = <int64_t>v
    return True


cdef object _ll_bytes(int64_t v):
    """The decimal form of *v* as bytes (what ``b"%d" % v`` gives)."""
    cdef char tmp[24]
    cdef int i = 23, neg = v < 0
    cdef uint64_t u = (<uint64_t>0 - <uint64_t>v) if neg else <uint64_t>v
    if u == 0:
        return b"0"
    while u:
        i -= 1
        tmp[i] = <char>(48 + u % 10)
        u //= 10
    if neg:
        i -= 1
        tmp[i] = 45
    return PyBytes_FromStringAndSize(tmp + i, 23 - i)


# ================================================================================================
# RDB lengths and strings
# ================================================================================================
cdef inline int put_len(Buf* b, uint64_t n) except -1:
    cdef int k
    buf_reserve(b, 9)
    cdef uint8_t* q = b.p + b.n
    if n < 64:
        q[0] = <uint8_t>n
        b.n += 1
    elif n < 16384:
        q[0] = <uint8_t>(0x40 | (n >> 8))
        q[1] = <uint8_t>(n & 0xFF)
        b.n += 2
    elif n <= 0xFFFFFFFFULL:
        q[0] = 0x80
        q[1] = <uint8_t>(n >> 24)
        q[2] = <uint8_t>(n >> 16)
        q[3] = <uint8_t>(n >> 8)
        q[4] = <uint8_t>n
        b.n += 5
    else:
        q[0] = 0x81
        for k in range(8):
            q[1 + k] = <uint8_t>(n >> (56 - 8 * k))
        b.n += 9
    return 0


cdef int put_str(Buf* b, const uint8_t* s, Py_ssize_t n, bint comp) except -1:
    """Append a string as enc_str encodes it."""
    cdef int64_t v
    cdef uint8_t stack[512]
    cdef uint8_t* zb
    cdef Py_ssize_t got
    if n and n <= 11:
        if ((48 <= s[0] <= 57) or s[0] == 45) and _parse_ll(s, n, &v):
            buf_reserve(b, 5)
            if -128 <= v <= 127:
                b.p[b.n] = 0xC0
                b.p[b.n + 1] = <uint8_t>(v & 0xFF)
                b.n += 2
                return 0
            if -32768 <= v <= 32767:
                b.p[b.n] = 0xC1
                b.p[b.n + 1] = <uint8_t>(v & 0xFF)
                b.p[b.n + 2] = <uint8_t>((v >> 8) & 0xFF)
                b.n += 3
                return 0
            if -2147483648 <= v <= 2147483647:
                b.p[b.n] = 0xC2
                b.p[b.n + 1] = <uint8_t>(v & 0xFF)
                b.p[b.n + 2] = <uint8_t>((v >> 8) & 0xFF)
                b.p[b.n + 3] = <uint8_t>((v >> 16) & 0xFF)
                b.p[b.n + 4] = <uint8_t>((v >> 24) & 0xFF)
                b.n += 5
                return 0
    elif n > 20 and comp:
        if n - 4 + 8 <= 512:
            zb = stack
        else:
            zb = <uint8_t*>malloc(n + 8)
            if zb == NULL:
                raise MemoryError()
        try:
            got = _lzf_compress(s, n, zb, n - 4)
            if got:
                buf_byte(b, 0xC3)
                put_len(b, got)
                put_len(b, n)
                buf_put(b, zb, got)
                return 0
        finally:
            if zb != stack:
                free(zb)
    put_len(b, n)
    buf_put(b, s, n)
    return 0


def enc_len(uint64_t n):
    """A length as RDB stores it."""
    cdef Buf b
    buf_init(&b, 16)
    try:
        put_len(&b, n)
        return buf_bytes(&b)
    finally:
        free(b.p)


def enc_str(s, bint compress=True):
    """A string as RDB stores it (integer-encoded, LZF-compressed or raw; see rdb_format.enc_str)."""
    if type(s) is not bytes:
        s = bytes(s)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(s)
    cdef Buf b
    buf_init(&b, n + 16)
    try:
        put_str(&b, <const uint8_t*>PyBytes_AS_STRING(s), n, compress)
        return buf_bytes(&b)
    finally:
        free(b.p)


def db_records(it, expires, encode, Py_ssize_t limit, bint comp):
    """Serialize up to *limit* ``(key, value)`` pairs taken from the iterator *it*.

    Each record is the expire opcode (when *expires* has the key), the type byte, the key and
    the value: ``bytes`` values inline (type 0), others through ``encode(value)`` (type byte +
    payload, :meth:`Encoder.encode`). Returns ``(blob, count)``; count < limit means the
    iterator is exhausted.
    """
    cdef Buf b
    cdef Py_ssize_t count = 0, tn
    cdef bytes k, t
    cdef object when
    cdef uint64_t w
    cdef int j
    cdef bint has_exp = bool(expires)
    buf_init(&b, 65536)
    try:
        while count < limit:
            try:
                pair = next(it)
            except StopIteration:
                break
            key, val = pair
            k = key
            if has_exp:
                when = expires.get(k)
                if when is not None:
                    w = <uint64_t>(<int64_t>when)
                    buf_reserve(&b, 9)
                    b.p[b.n] = 0xFC
                    for j in range(8):
                        b.p[b.n + 1 + j] = <uint8_t>((w >> (8 * j)) & 0xFF)
                    b.n += 9
            if type(val) is bytes:
                buf_byte(&b, 0)
                put_str(&b, <const uint8_t*>PyBytes_AS_STRING(k), PyBytes_GET_SIZE(k), comp)
                put_str(&b, <const uint8_t*>PyBytes_AS_STRING(val), PyBytes_GET_SIZE(<bytes>val), comp)
            else:
                t = encode(val)
                tn = PyBytes_GET_SIZE(t)
                buf_byte(&b, <uint8_t>PyBytes_AS_STRING(t)[0])
                put_str(&b, <const uint8_t*>PyBytes_AS_STRING(k), PyBytes_GET_SIZE(k), comp)
                buf_put(&b, <const uint8_t*>PyBytes_AS_STRING(t) + 1, tn - 1)
            count += 1
        return buf_bytes(&b), count
    finally:
        free(b.p)


# ================================================================================================
# Listpacks
# ================================================================================================
cdef int put_backlen(Buf* b, uint64_t n) except -1:
    buf_reserve(b, 5)
    cdef uint8_t* q = b.p + b.n
    if n <= 127:
        q[0] = <uint8_t>n
        b.n += 1
    elif n < 16383:
        q[0] = <uint8_t>(n >> 7)
        q[1] = <uint8_t>((n & 127) | 128)
        b.n += 2
    elif n < 2097151:
        q[0] = <uint8_t>(n >> 14)
        q[1] = <uint8_t>(((n >> 7) & 127) | 128)
        q[2] = <uint8_t>((n & 127) | 128)
        b.n += 3
    elif n < 268435455:
        q[0] = <uint8_t>(n >> 21)
        q[1] = <uint8_t>(((n >> 14) & 127) | 128)
        q[2] = <uint8_t>(((n >> 7) & 127) | 128)
        q[3] = <uint8_t>((n & 127) | 128)
        b.n += 4
    else:
        q[0] = <uint8_t>(n >> 28)
        q[1] = <uint8_t>(((n >> 21) & 127) | 128)
        q[2] = <uint8_t>(((n >> 14) & 127) | 128)
        q[3] = <uint8_t>(((n >> 7) & 127) | 128)
        q[4] = <uint8_t>((n & 127) | 128)
        b.n += 5
    return 0


cdef int put_lp_int(Buf* b, int64_t v) except -1:
    buf_reserve(b, 10)
    cdef uint8_t* q = b.p + b.n
    cdef uint64_t u
    cdef int k
    if 0 <= v <= 127:
        q[0] = <uint8_t>v
        q[1] = 1
        b.n += 2
    elif -4096 <= v <= 4095:
        if v < 0:
            v += 8192
        q[0] = <uint8_t>(0xC0 | (v >> 8))
        q[1] = <uint8_t>(v & 0xFF)
        q[2] = 2
        b.n += 3
    elif -32768 <= v <= 32767:
        q[0] = 0xF1
        q[1] = <uint8_t>(v & 0xFF)
        q[2] = <uint8_t>((v >> 8) & 0xFF)
        q[3] = 3
        b.n += 4
    elif -8388608 <= v <= 8388607:
        q[0] = 0xF2
        q[1] = <uint8_t>(v & 0xFF)
        q[2] = <uint8_t>((v >> 8) & 0xFF)
        q[3] = <uint8_t>((v >> 16) & 0xFF)
        q[4] = 4
        b.n += 5
    elif -2147483648 <= v <= 2147483647:
        q[0] = 0xF3
        u = <uint64_t>v
        for k in range(4):
            q[1 + k] = <uint8_t>((u >> (8 * k)) & 0xFF)
        q[5] = 5
        b.n += 6
    else:
        q[0] = 0xF4
        u = <uint64_t>v
        for k in range(8):
            q[1 + k] = <uint8_t>((u >> (8 * k)) & 0xFF)
        q[9] = 9
        b.n += 10
    return 0


cdef int put_lp_entry(Buf* b, object s) except -1:
    cdef int64_t v
    cdef const uint8_t* p
    cdef Py_ssize_t n
    if type(s) is int:
        put_lp_int(b, s)
        return 0
    p = <const uint8_t*>PyBytes_AS_STRING(s)
    n = PyBytes_GET_SIZE(s)
    if n and n <= 20 and _parse_ll(p, n, &v):
        put_lp_int(b, v)
        return 0
    buf_reserve(b, n + 10)
    if n < 64:
        b.p[b.n] = <uint8_t>(0x80 | n)
        memcpy(b.p + b.n + 1, p, n)
        b.p[b.n + 1 + n] = <uint8_t>(n + 1)
        b.n += n + 2
    elif n < 4096:
        b.p[b.n] = <uint8_t>(0xE0 | (n >> 8))
        b.p[b.n + 1] = <uint8_t>(n & 0xFF)
        memcpy(b.p + b.n + 2, p, n)
        b.n += n + 2
        put_backlen(b, n + 2)
    else:
        b.p[b.n] = 0xF0
        b.p[b.n + 1] = <uint8_t>(n & 0xFF)
        b.p[b.n + 2] = <uint8_t>((n >> 8) & 0xFF)
        b.p[b.n + 3] = <uint8_t>((n >> 16) & 0xFF)
        b.p[b.n + 4] = <uint8_t>((n >> 24) & 0xFF)
        memcpy(b.p + b.n + 5, p, n)
        b.n += n + 5
        put_backlen(b, n + 5)
    return 0


def lp_entry(s):
    """One encoded listpack entry (backlen included) for bytes (an integer when it is one) or an int."""
    cdef Buf b
    if type(s) is not int and type(s) is not bytes:
        s = bytes(s)
    buf_init(&b, 32)
    try:
        put_lp_entry(&b, s)
        return buf_bytes(&b)
    finally:
        free(b.p)


cdef inline void _lp_header(Buf* b, Py_ssize_t count) noexcept:
    cdef uint32_t total = <uint32_t>b.n  # called after the 0xFF terminator was appended
    cdef uint32_t c = <uint32_t>(count if count < 65535 else 65535)
    b.p[0] = total & 0xFF
    b.p[1] = (total >> 8) & 0xFF
    b.p[2] = (total >> 16) & 0xFF
    b.p[3] = (total >> 24) & 0xFF
    b.p[4] = c & 0xFF
    b.p[5] = (c >> 8) & 0xFF


def lp_encode(items):
    """A listpack holding *items* (a sized sequence of bytes or ints)."""
    cdef Buf b
    cdef Py_ssize_t count = len(items)
    buf_init(&b, 64 + 16 * count)
    try:
        b.n = 6
        for s in items:
            if type(s) is not int and type(s) is not bytes:
                s = bytes(s)
            put_lp_entry(&b, s)
        buf_byte(&b, 0xFF)
        _lp_header(&b, count)
        return buf_bytes(&b)
    finally:
        free(b.p)


def lp_encode_pairs(mapping):
    """A listpack of field, value, field, value... of a dict (small hashes)."""
    cdef Buf b
    cdef Py_ssize_t count = 2 * len(mapping)
    buf_init(&b, 64 + 16 * count)
    try:
        b.n = 6
        for k, v in mapping.items():
            put_lp_entry(&b, k)
            put_lp_entry(&b, v)
        buf_byte(&b, 0xFF)
        _lp_header(&b, count)
        return buf_bytes(&b)
    finally:
        free(b.p)


def quicklist_nodes(items, Py_ssize_t max_bytes, Py_ssize_t max_count, bint comp, Py_ssize_t plain_threshold):
    """The quicklist-2 payload of a list (node count, then container + string per node)."""
    cdef Buf out, node, res
    cdef Py_ssize_t nodes = 0, count = 0, before, esize
    buf_init(&out, 256)
    buf_init(&node, 256)
    node.n = 6
    try:
        for s in items:
            if type(s) is not bytes:
                s = bytes(s)
            if PyBytes_GET_SIZE(s) >= plain_threshold:
                if count:
                    buf_byte(&node, 0xFF)
                    _lp_header(&node, count)
                    buf_byte(&out, 2)
                    put_str(&out, node.p, node.n, comp)
                    nodes += 1
                    node.n = 6
                    count = 0
                buf_byte(&out, 1)
                put_str(&out, <const uint8_t*>PyBytes_AS_STRING(s), PyBytes_GET_SIZE(s), comp)
                nodes += 1
                continue
            before = node.n
            put_lp_entry(&node, s)
            esize = node.n - before
            # the Python reference: flush when size + len(e) > max_bytes (size counts the 7-byte header)
            if count and ((before + 1) + esize > max_bytes or count >= max_count):
                node.n = before
                buf_byte(&node, 0xFF)
                _lp_header(&node, count)
                buf_byte(&out, 2)
                put_str(&out, node.p, node.n, comp)
                nodes += 1
                node.n = 6
                count = 0
                put_lp_entry(&node, s)
            count += 1
        if count:
            buf_byte(&node, 0xFF)
            _lp_header(&node, count)
            buf_byte(&out, 2)
            put_str(&out, node.p, node.n, comp)
            nodes += 1
        buf_init(&res, out.n + 16)
        try:
            buf_byte(&res, 0x12)
            put_len(&res, nodes)
            buf_put(&res, out.p, out.n)
            return buf_bytes(&res)
        finally:
            free(res.p)
    finally:
        free(out.p)
        free(node.p)


cdef inline bint _backlen_ok(const uint8_t* q, Py_ssize_t avail, uint64_t n, Py_ssize_t* used) noexcept:
    cdef uint8_t tmp[5]
    cdef Py_ssize_t k = 0
    if n <= 127:
        tmp[0] = <uint8_t>n
        k = 1
    elif n < 16383:
        tmp[0] = <uint8_t>(n >> 7)
        tmp[1] = <uint8_t>((n & 127) | 128)
        k = 2
    elif n < 2097151:
        tmp[0] = <uint8_t>(n >> 14)
        tmp[1] = <uint8_t>(((n >> 7) & 127) | 128)
        tmp[2] = <uint8_t>((n & 127) | 128)
        k = 3
    elif n < 268435455:
        tmp[0] = <uint8_t>(n >> 21)
        tmp[1] = <uint8_t>(((n >> 14) & 127) | 128)
        tmp[2] = <uint8_t>(((n >> 7) & 127) | 128)
        tmp[3] = <uint8_t>((n & 127) | 128)
        k = 4
    else:
        tmp[0] = <uint8_t>(n >> 28)
        tmp[1] = <uint8_t>(((n >> 21) & 127) | 128)
        tmp[2] = <uint8_t>(((n >> 14) & 127) | 128)
        tmp[3] = <uint8_t>(((n >> 7) & 127) | 128)
        tmp[4] = <uint8_t>((n & 127) | 128)
        k = 5
    used[0] = k
    if k > avail:
        return False
    return memcmp(q, tmp, k) == 0


cdef inline int64_t _le(const uint8_t* q, int width) noexcept:
    cdef uint64_t u = 0
    cdef int k
    for k in range(width):
        u |= (<uint64_t>q[k]) << (8 * k)
    if width < 8 and (u >> (8 * width - 1)) & 1:
        u |= (~<uint64_t>0) << (8 * width)
    return <int64_t>u


def lp_decode(blob, bint ints=False):
    """Elements of a listpack (validated: never reads out of bounds; BlobError when malformed)."""
    if type(blob) is not bytes:
        blob = bytes(blob)
    cdef list out = []
    _lp_decode_into(<const uint8_t*>PyBytes_AS_STRING(blob), PyBytes_GET_SIZE(blob), out, ints, NULL)
    return out


cdef int _lp_decode_into(const uint8_t* d, Py_ssize_t n, list out, bint ints, Py_ssize_t* maxlen) except -1:
    """Append the elements of the listpack d[:n] to *out*; *maxlen* (optional) gets the longest
    element's length (integers: their decimal length)."""
    cdef Py_ssize_t p, end, ln, sl, used, before = len(out), longest = 0
    cdef uint32_t total, count
    cdef uint8_t c
    cdef int64_t iv
    cdef bint isint
    cdef object item
    if n < 7:
        raise BlobError("listpack too short")
    total = d[0] | (<uint32_t>d[1] << 8) | (<uint32_t>d[2] << 16) | (<uint32_t>d[3] << 24)
    count = d[4] | (<uint32_t>d[5] << 8)
    if total != n or d[n - 1] != 0xFF:
        raise BlobError("listpack size mismatch")
    p = 6
    end = n - 1
    while p < end:
        c = d[p]
        isint = True
        sl = 0
        if c < 0x80:
            iv = c
            ln = 1
        elif c < 0xC0:
            sl = c & 0x3F
            ln = 1 + sl
            isint = False
        elif c < 0xE0:
            if p + 2 > end:
                raise BlobError("listpack entry past the end")
            iv = ((c & 0x1F) << 8) | d[p + 1]
            if iv >= 4096:
                iv -= 8192
            ln = 2
        elif c < 0xF0:
            if p + 2 > end:
                raise BlobError("listpack entry past the end")
            sl = ((c & 0x0F) << 8) | d[p + 1]
            ln = 2 + sl
            isint = False
        elif c == 0xF0:
            if p + 5 > end:
                raise BlobError("listpack entry past the end")
            sl = d[p + 1] | (<Py_ssize_t>d[p + 2] << 8) | (<Py_ssize_t>d[p + 3] << 16) | (<Py_ssize_t>d[p + 4] << 24)
            ln = 5 + sl
            isint = False
        elif c == 0xF1:
            ln = 3
        elif c == 0xF2:
            ln = 4
        elif c == 0xF3:
            ln = 5
        elif c == 0xF4:
            ln = 9
        else:
            raise BlobError("bad listpack entry encoding")
        if p + ln > end:
            raise BlobError("listpack entry past the end")
        if isint:
            if c >= 0xF1:
                iv = _le(d + p + 1, ln - 1)
            if ints:
                out.append(iv)
                if maxlen != NULL:
                    item = _ll_bytes(iv)
                    if PyBytes_GET_SIZE(item) > longest:
                        longest = PyBytes_GET_SIZE(item)
            else:
                item = _ll_bytes(iv)
                if PyBytes_GET_SIZE(item) > longest:
                    longest = PyBytes_GET_SIZE(item)
                out.append(item)
        else:
            out.append(PyBytes_FromStringAndSize(<const char*>d + p + ln - sl, sl))
            if sl > longest:
                longest = sl
        if not _backlen_ok(d + p + ln, end - (p + ln), ln, &used):
            raise BlobError("bad listpack entry back length")
        p += ln + used
    if p != end:
        raise BlobError("listpack entries overrun")
    if count != 65535 and count != len(out) - before:
        raise BlobError("listpack count mismatch")
    if maxlen != NULL and longest > maxlen[0]:
        maxlen[0] = longest
    return 0


# ================================================================================================
# Loading: runs of plain string records
# ================================================================================================
cdef inline Py_ssize_t _rd_len(const uint8_t* d, Py_ssize_t n, Py_ssize_t* p, bint* enc) noexcept:
    """An RDB length at *p (advanced); -1 when truncated or malformed. *enc: the special form."""
    cdef Py_ssize_t q = p[0]
    cdef uint8_t c
    cdef uint64_t v
    cdef int k
    if q >= n:
        return -1
    c = d[q]
    enc[0] = False
    if c < 0x40:
        p[0] = q + 1
        return c
    if c < 0x80:
        if q + 2 > n:
            return -1
        p[0] = q + 2
        return ((c & 0x3F) << 8) | d[q + 1]
    if c >= 0xC0:
        enc[0] = True
        p[0] = q + 1
        return c & 0x3F
    if c == 0x80:
        if q + 5 > n:
            return -1
        p[0] = q + 5
        return (<Py_ssize_t>d[q + 1] << 24) | (<Py_ssize_t>d[q + 2] << 16) | (<Py_ssize_t>d[q + 3] << 8) | d[q + 4]
    if c == 0x81:
        if q + 9 > n:
            return -1
        v = 0
        for k in range(8):
            v = (v << 8) | d[q + 1 + k]
        if v > <uint64_t>0x7FFFFFFFFFFFFFFF:
            return -1
        p[0] = q + 9
        return <Py_ssize_t>v
    return -1


cdef object _rd_str(const uint8_t* d, Py_ssize_t n, Py_ssize_t* p):
    """An RDB string at *p (advanced), or None when it is malformed (the caller falls back)."""
    cdef bint enc
    cdef Py_ssize_t ln = _rd_len(d, n, p, &enc), q, clen, ulen
    cdef int64_t iv
    cdef object out
    if ln < 0:
        return None
    q = p[0]
    if not enc:
        if q + ln > n:
            return None
        p[0] = q + ln
        return PyBytes_FromStringAndSize(<const char*>d + q, ln)
    if ln == 0:
        if q + 1 > n:
            return None
        iv = <signed char>d[q]
        p[0] = q + 1
        return _ll_bytes(iv)
    if ln == 1:
        if q + 2 > n:
            return None
        iv = _le(d + q, 2)
        p[0] = q + 2
        return _ll_bytes(iv)
    if ln == 2:
        if q + 4 > n:
            return None
        iv = _le(d + q, 4)
        p[0] = q + 4
        return _ll_bytes(iv)
    if ln == 3:
        clen = _rd_len(d, n, p, &enc)
        if clen < 0 or enc:
            return None
        ulen = _rd_len(d, n, p, &enc)
        if ulen < 0 or enc:
            return None
        q = p[0]
        if q + clen > n:
            return None
        try:
            out = decompress(d[q:q + clen], ulen)
        except LZFError:
            return None
        p[0] = q + clen
        return out
    return None


cdef object _rd_value(const uint8_t* d, Py_ssize_t n, Py_ssize_t* p, int t, dict builders):
    """A compact collection (hash/zset listpack, intset, quicklist 2) built by builders[t](items,
    longest); None when the record is not one this handles or anything is off."""
    cdef object blob, b
    cdef list items = []
    cdef Py_ssize_t longest = 0, nodes, k, q
    cdef bint enc
    cdef int container
    cdef uint32_t width, count, j
    cdef const uint8_t* bp
    cdef Py_ssize_t bn
    cdef int64_t iv, prev_iv = 0
    fn = builders.get(t)
    if fn is None:
        return None
    try:
        if t == 2:  # a set as a plain list of strings
            nodes = _rd_len(d, n, p, &enc)
            if nodes <= 0 or enc:
                return None
            for k in range(nodes):
                blob = _rd_str(d, n, p)
                if blob is None:
                    return None
                items.append(blob)
        elif t == 18:  # quicklist 2: nodes of (container, string)
            nodes = _rd_len(d, n, p, &enc)
            if nodes < 0 or enc:
                return None
            for k in range(nodes):
                container = _rd_len(d, n, p, &enc)
                if enc or container != 2:
                    return None
                blob = _rd_str(d, n, p)
                if blob is None:
                    return None
                bp = <const uint8_t*>PyBytes_AS_STRING(blob)
                bn = PyBytes_GET_SIZE(blob)
                q = len(items)
                _lp_decode_into(bp, bn, items, False, NULL)
                if len(items) == q:
                    return None  # an empty node: the Python loader decides
        else:
            blob = _rd_str(d, n, p)
            if blob is None:
                return None
            bp = <const uint8_t*>PyBytes_AS_STRING(blob)
            bn = PyBytes_GET_SIZE(blob)
            if t == 11:  # intset
                if bn < 8:
                    return None
                width = bp[0] | (<uint32_t>bp[1] << 8) | (<uint32_t>bp[2] << 16) | (<uint32_t>bp[3] << 24)
                count = bp[4] | (<uint32_t>bp[5] << 8) | (<uint32_t>bp[6] << 16) | (<uint32_t>bp[7] << 24)
                if (width != 2 and width != 4 and width != 8) or bn != 8 + <Py_ssize_t>width * count:
                    return None
                for j in range(count):
                    iv = _le(bp + 8 + j * width, width)
                    if j and iv <= prev_iv:
                        return None
                    prev_iv = iv
                    items.append(_ll_bytes(iv))
            elif t == 17:  # zset listpack: member, score pairs
                _lp_decode_into(bp, bn, items, True, NULL)
                if len(items) % 2:
                    return None
                pairs = []
                for k in range(0, len(items), 2):
                    m = items[k]
                    if type(m) is int:
                        m = b"%d" % m
                    if PyBytes_GET_SIZE(m) > longest:
                        longest = PyBytes_GET_SIZE(m)  # members only
                    sc = items[k + 1]
                    sc = float(sc)
                    if sc != sc:
                        return None
                    pairs.append((m, sc))
                items = pairs
            else:  # 16: hash listpack
                _lp_decode_into(bp, bn, items, False, &longest)
        if not items:
            return None
        return fn(items, longest)
    except Exception:  # noqa - the Python loader re-reads the record and reports the problem
        return None


def read_records(r, dict cur_data, dict cur_exp, Py_ssize_t stop, int64_t now, bint skip_expired,
                 dict builders=None):
    """Load consecutive records (optionally preceded by an EXPIRETIME_MS opcode) from ``r.data``
    at ``r.pos`` into *cur_data* / *cur_exp*, up to offset *stop*: plain strings, and with
    *builders* (``{type: fn(items, longest) -> value}``) the compact collections of
    :func:`_rd_value`.

    Stops before the first record it does not handle (another type or opcode, a duplicate key,
    an empty collection, anything malformed: the Python loop then loads or reports it) and
    advances ``r.pos`` past what it loaded. Returns ``(loaded, expired)``.
    """
    cdef bytes data = r.data
    cdef const uint8_t* d = <const uint8_t*>PyBytes_AS_STRING(data)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(data)
    cdef Py_ssize_t pos = r.pos, p, loaded = 0, expired = 0
    cdef int64_t when = 0
    cdef bint has_when
    cdef int t
    cdef object key, val
    try:
        while pos < stop and pos < n:
            p = pos
            has_when = False
            if d[p] == 0xFC:
                if p + 10 > n:
                    break
                when = _le(d + p + 1, 8)
                has_when = True
                p += 9
            t = d[p]
            if t != 0 and builders is None:
                break
            p += 1
            key = _rd_str(d, n, &p)
            if key is None:
                break
            if t == 0:
                val = _rd_str(d, n, &p)
            else:
                val = _rd_value(d, n, &p, t, builders)
            if val is None:
                break
            if has_when and skip_expired and when < now:
                expired += 1
                pos = p
                continue
            if PyDict_GetItem(cur_data, key) != NULL:
                break
            PyDict_SetItem(cur_data, key, val)
            if has_when:
                PyDict_SetItem(cur_exp, key, when)
            loaded += 1
            pos = p
    finally:
        r.pos = pos
    return loaded, expired


def read_strings(r, dict cur_data, dict cur_exp, Py_ssize_t stop, int64_t now, bint skip_expired):
    """:func:`read_records` for plain string records only."""
    return read_records(r, cur_data, cur_exp, stop, now, skip_expired, None)
