# Part of _rdbfast.pyx (textually included): the record writer and listpacks (encode, quicklist nodes, decode).

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
