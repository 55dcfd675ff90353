# Part of _rdbfast.pyx (textually included): loading runs of records.

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
        if q + clen > n or ulen > clen * 88:  # more than LZF expands to (rdb_format.LZF_MAX_RATIO)
            return None
        try:
            out = decompress(d[q:q + clen], ulen)
        except LZFError:
            return None
        p[0] = q + clen
        return out
    return None


cdef inline int _bytes_cmp(bytes a, bytes b) noexcept:
    """<0, 0, >0 as *a* sorts before, with or after *b* (bytes order)."""
    cdef Py_ssize_t na = PyBytes_GET_SIZE(a), nb = PyBytes_GET_SIZE(b)
    cdef int c = memcmp(PyBytes_AS_STRING(a), PyBytes_AS_STRING(b), na if na < nb else nb)
    if c:
        return c
    return (na > nb) - (na < nb)


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
    cdef double score, prev_score = 0.0
    cdef Py_ssize_t mn
    cdef bint ordered = True
    cdef object prev_m = None
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
                if not items:
                    return None
                pairs = []
                entries = []  # (score, member) as the set orders them
                for k in range(0, len(items), 2):
                    m = items[k]
                    if type(m) is int:
                        m = b"%d" % m
                    mn = PyBytes_GET_SIZE(m)
                    if mn > longest:
                        longest = mn  # members only
                    sc = items[k + 1]
                    if type(sc) is bytes and b"_" in sc:
                        return None  # float() reads "1_0" as 10, strtod as 1: the Python loader decides
                    sc = float(sc)
                    score = PyFloat_AS_DOUBLE(sc)
                    if score != score:
                        return None
                    # Redis writes a listpack in (score, member) order: then the entries are the sorted
                    # list as they stand. A zero score (its sign) or any other order: the builder sorts.
                    if ordered and (score == 0.0 or (k and (score < prev_score or (
                            score == prev_score and _bytes_cmp(prev_m, m) >= 0)))):
                        ordered = False
                    prev_score = score
                    prev_m = m
                    pairs.append((m, sc))
                    entries.append((sc, m))
                return fn(pairs, longest, entries if ordered else None)
            else:  # 16: hash listpack
                _lp_decode_into(bp, bn, items, False, &longest)
        if not items:
            return None
        return fn(items, longest)
    except Exception:  # noqa - the Python loader re-reads the record and reports the problem
        return None


def read_records(r, object cur_data, dict cur_exp, Py_ssize_t stop, int64_t now, bint skip_expired,
                 dict builders=None):
    """Load consecutive records (optionally preceded by an EXPIRETIME_MS opcode) from ``r.data``
    at ``r.pos`` into *cur_data* (a plain dict or the accelerator's KeyTable) / *cur_exp*, up to offset *stop*: plain strings, and with
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
    cdef bint plain = type(cur_data) is dict
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
            if plain:
                if PyDict_GetItem(cur_data, key) != NULL:
                    break
                PyDict_SetItem(cur_data, key, val)
            else:  # the accelerator's KeyTable
                if cur_data.setdefault(key, val) is not val:  # one probe; a duplicate changes nothing
                    break
            if has_when:
                PyDict_SetItem(cur_exp, key, when)
            loaded += 1
            pos = p
    finally:
        r.pos = pos
    return loaded, expired


def read_strings(r, object cur_data, dict cur_exp, Py_ssize_t stop, int64_t now, bint skip_expired):
    """:func:`read_records` for plain string records only."""
    return read_records(r, cur_data, cur_exp, stop, now, skip_expired, None)
