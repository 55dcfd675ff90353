# Part of _rdbfast.pyx (textually included): CRC-64, LZF, the output buffer, integers, RDB lengths and strings.

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
