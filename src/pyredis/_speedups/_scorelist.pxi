# Part of _hotpath.pyx (textually included): ScoreList, the compiled sorted list of a sorted set.
#
# ``ZSetValue.sl`` holds ``(score, member)`` pairs in Redis's order (score, then member bytes). The
# pure-Python build keeps them in a sortedcontainers ``SortedList`` of tuples: 64 bytes of tuple and 8
# of list slot per member. A ScoreList keeps the same pairs unboxed, 16 bytes each (a C double and a
# reference to the member, which the member -> score dict holds too), in chunks of at most
# 2 * SL_LOAD items (a sorted list of sorted arrays, like SortedList's list of lists), and gives the
# part of SortedList's API the engine uses; items read back are new ``(float, bytes)`` tuples. Members
# must be exact ``bytes``: they cannot refer to anything, so the cyclic GC has nothing to traverse.

cdef extern from "Python.h":
    char* sl_str "PyBytes_AS_STRING" (PyObject*) nogil
    Py_ssize_t sl_len "PyBytes_GET_SIZE" (PyObject*) nogil

from libc.stdio cimport snprintf
from libc.string cimport memmove

cdef struct SLItem:
    double score
    PyObject* member  # an exact bytes object (a reference owned by the list)

cdef struct SLChunk:
    SLItem* items
    Py_ssize_t size  # never 0 while the chunk exists
    Py_ssize_t cap

cdef enum:
    SL_LOAD = 256  # chunks are split at 2 * SL_LOAD items and merged below SL_LOAD / 4


cdef inline int sl_cmp(double sa, PyObject* ma, double sb, PyObject* mb) noexcept nogil:
    """Redis's order: the score, then the member's bytes (a prefix first)."""
    cdef Py_ssize_t la, lb
    cdef int r
    if sa < sb:
        return -1
    if sa > sb:
        return 1
    la = sl_len(ma)
    lb = sl_len(mb)
    r = memcmp(sl_str(ma), sl_str(mb), la if la < lb else lb)
    if r != 0:
        return r
    return (la > lb) - (la < lb)


cdef int sl_parse(object item, double* s, PyObject** m) except -1:
    """Read a ``(score, member)`` tuple (the member borrowed from it)."""
    cdef object sc, mm
    if type(item) is not tuple or len(<tuple>item) != 2:
        raise TypeError("ScoreList items are (score, member) tuples")
    sc = (<tuple>item)[0]
    mm = (<tuple>item)[1]
    if type(mm) is not bytes:
        raise TypeError("ScoreList members are bytes")
    s[0] = PyFloat_AS_DOUBLE(sc) if type(sc) is float else float(sc)
    m[0] = <PyObject*>mm
    return 0


cdef inline tuple sl_item(SLItem* it):
    return (PyFloat_FromDouble(it.score), <object>it.member)


cdef class ScoreList:
    """A sorted list of ``(score, member)`` pairs for a sorted set (SortedList's API as the engine
    uses it: add, remove, discard, bisect_left/right, islice, indexing and slicing, del, clear)."""

    cdef SLChunk* chunks
    cdef Py_ssize_t nchunks
    cdef Py_ssize_t chunks_cap
    cdef Py_ssize_t n
    cdef Py_ssize_t* offsets  # offsets[c]: the items before chunk c (valid while offsets_ok)
    cdef Py_ssize_t offsets_cap
    cdef bint offsets_ok
    cdef uint32_t version  # bumped by every change (iterators re-locate their position)

    def __init__(self, iterable=None):
        if iterable is not None:
            if type(iterable) is ScoreList:
                self._copy_from(<ScoreList>iterable)
            else:
                self._fill(sorted(iterable))

    def __dealloc__(self):
        self._free_all()

    # -- the C-level core -----------------------------------------------------------------------
    cdef void _free_all(self) noexcept:
        cdef Py_ssize_t c, i
        cdef SLChunk* ch
        for c in range(self.nchunks):
            ch = &self.chunks[c]
            for i in range(ch.size):
                Py_DECREF(<object>ch.items[i].member)
            free(ch.items)
        free(self.chunks)
        free(self.offsets)
        self.chunks = NULL
        self.offsets = NULL
        self.nchunks = self.chunks_cap = self.n = self.offsets_cap = 0
        self.offsets_ok = False
        self.version += 1

    @cython.boundscheck(True)
    cdef int _fill(self, list items) except -1:
        """Replace the contents with *items*, ``(score, member)`` tuples in order (checked)."""
        cdef Py_ssize_t total = len(items), k = 0, c, take, i
        cdef double s
        cdef PyObject* m
        cdef SLChunk* ch
        cdef SLItem* prev = NULL
        self._free_all()
        if total == 0:
            return 0
        c = (total + SL_LOAD - 1) // SL_LOAD
        self.chunks = <SLChunk*>malloc(c * sizeof(SLChunk))
        if self.chunks == NULL:
            raise MemoryError()
        self.chunks_cap = c
        try:
            while k < total:
                take = total - k if total - k < SL_LOAD else SL_LOAD
                ch = &self.chunks[self.nchunks]
                ch.items = <SLItem*>malloc(take * sizeof(SLItem))
                if ch.items == NULL:
                    raise MemoryError()
                ch.size = 0
                ch.cap = take
                self.nchunks += 1
                for i in range(take):
                    sl_parse(items[k + i], &s, &m)
                    if prev != NULL and sl_cmp(prev.score, prev.member, s, m) > 0:
                        raise ValueError("ScoreList items out of order")
                    Py_INCREF(<object>m)
                    ch.items[i].score = s
                    ch.items[i].member = m
                    ch.size += 1
                    self.n += 1
                    prev = &ch.items[i]
                k += take
        except BaseException:
            self._free_all()  # nothing half-built stays
            raise
        return 0

    cdef int _copy_from(self, ScoreList other) except -1:
        cdef Py_ssize_t c, i
        cdef SLChunk* src
        cdef SLChunk* dst
        self._free_all()
        if other.nchunks == 0:
            return 0
        self.chunks = <SLChunk*>malloc(other.nchunks * sizeof(SLChunk))
        if self.chunks == NULL:
            raise MemoryError()
        self.chunks_cap = other.nchunks
        for c in range(other.nchunks):
            src = &other.chunks[c]
            dst = &self.chunks[c]
            dst.items = <SLItem*>malloc(src.size * sizeof(SLItem))
            if dst.items == NULL:
                raise MemoryError()
            memcpy(dst.items, src.items, src.size * sizeof(SLItem))
            dst.size = dst.cap = src.size
            for i in range(src.size):
                Py_INCREF(<object>dst.items[i].member)
            self.nchunks += 1
            self.n += src.size
        return 0

    cdef void _locate(self, double s, PyObject* m, bint right, Py_ssize_t* cout, Py_ssize_t* pout) noexcept:
        """Where bisect_left (bisect_right when *right*) of ``(s, m)`` falls: chunk and position in
        it (the position may be the chunk's size only in the last chunk)."""
        cdef Py_ssize_t lo = 0, hi = self.nchunks - 1, mid, c
        cdef SLChunk* ch
        cdef SLItem* it
        cdef int r
        # the first chunk whose last item is >= (left) or > (right) the probe
        while lo < hi:
            mid = (lo + hi) >> 1
            ch = &self.chunks[mid]
            it = &ch.items[ch.size - 1]
            r = sl_cmp(it.score, it.member, s, m)
            if r < 0 or (right and r == 0):
                lo = mid + 1
            else:
                hi = mid
        c = lo
        ch = &self.chunks[c]
        lo = 0
        hi = ch.size
        while lo < hi:
            mid = (lo + hi) >> 1
            it = &ch.items[mid]
            r = sl_cmp(it.score, it.member, s, m)
            if r < 0 or (right and r == 0):
                lo = mid + 1
            else:
                hi = mid
        cout[0] = c
        pout[0] = lo

    cdef int _ensure_offsets(self) except -1:
        cdef Py_ssize_t c, total = 0
        cdef Py_ssize_t* o
        if self.offsets_ok:
            return 0
        if self.offsets_cap < self.nchunks:
            o = <Py_ssize_t*>realloc(self.offsets, self.chunks_cap * sizeof(Py_ssize_t))
            if o == NULL:
                raise MemoryError()
            self.offsets = o
            self.offsets_cap = self.chunks_cap
        for c in range(self.nchunks):
            self.offsets[c] = total
            total += self.chunks[c].size
        self.offsets_ok = True
        return 0

    cdef Py_ssize_t _rank(self, Py_ssize_t c, Py_ssize_t p) except -1:
        if c == 0:
            return p
        self._ensure_offsets()
        return self.offsets[c] + p

    cdef int _at(self, Py_ssize_t i, Py_ssize_t* cout, Py_ssize_t* pout) except -1:
        """The chunk and position of item *i* (0 <= i < n)."""
        cdef Py_ssize_t lo = 0, hi, mid
        if self.nchunks == 1 or i < self.chunks[0].size:
            cout[0] = 0
            pout[0] = i
            return 0
        self._ensure_offsets()
        hi = self.nchunks - 1
        while lo < hi:  # the last chunk with offsets[c] <= i
            mid = (lo + hi + 1) >> 1
            if self.offsets[mid] <= i:
                lo = mid
            else:
                hi = mid - 1
        cout[0] = lo
        pout[0] = i - self.offsets[lo]
        return 0

    cdef int _chunk_room(self) except -1:
        """Room in the chunk array for one more chunk."""
        cdef Py_ssize_t cap
        cdef SLChunk* chs
        if self.nchunks < self.chunks_cap:
            return 0
        cap = self.chunks_cap + (self.chunks_cap >> 1) + 4
        chs = <SLChunk*>realloc(self.chunks, cap * sizeof(SLChunk))
        if chs == NULL:
            raise MemoryError()
        self.chunks = chs
        self.chunks_cap = cap
        return 0

    cdef int _split(self, Py_ssize_t c) except -1:
        """Move the upper half of chunk *c* into a new chunk after it."""
        cdef SLChunk* ch
        cdef SLItem* items
        cdef SLItem* shrunk
        cdef Py_ssize_t half
        self._chunk_room()
        ch = &self.chunks[c]
        half = ch.size >> 1
        items = <SLItem*>malloc((half + (half >> 2)) * sizeof(SLItem))
        if items == NULL:
            raise MemoryError()
        memcpy(items, &ch.items[ch.size - half], half * sizeof(SLItem))
        ch.size -= half
        shrunk = <SLItem*>realloc(ch.items, ch.size * sizeof(SLItem))  # give the room back
        if shrunk != NULL:
            ch.items = shrunk
            ch.cap = ch.size
        memmove(&self.chunks[c + 2], &self.chunks[c + 1], (self.nchunks - c - 1) * sizeof(SLChunk))
        self.chunks[c + 1].items = items
        self.chunks[c + 1].size = half
        self.chunks[c + 1].cap = half + (half >> 2)
        self.nchunks += 1
        self.offsets_ok = False
        return 0

    cdef int _insert(self, Py_ssize_t c, Py_ssize_t p, double s, PyObject* m) except -1:
        """Insert ``(s, m)`` at position *p* of chunk *c* (taking a new reference to *m*)."""
        cdef SLChunk* ch
        cdef SLItem* items
        cdef Py_ssize_t cap
        if self.nchunks == 0:
            self._chunk_room()
            items = <SLItem*>malloc(4 * sizeof(SLItem))
            if items == NULL:
                raise MemoryError()
            self.chunks[0].items = items
            self.chunks[0].size = 0
            self.chunks[0].cap = 4
            self.nchunks = 1
            c = p = 0
        ch = &self.chunks[c]
        if ch.size == ch.cap:
            cap = ch.cap + (ch.cap >> 2) + 4
            items = <SLItem*>realloc(ch.items, cap * sizeof(SLItem))
            if items == NULL:
                raise MemoryError()
            ch.items = items
            ch.cap = cap
        memmove(&ch.items[p + 1], &ch.items[p], (ch.size - p) * sizeof(SLItem))
        Py_INCREF(<object>m)
        ch.items[p].score = s
        ch.items[p].member = m
        ch.size += 1
        self.n += 1
        self.version += 1
        self.offsets_ok = False
        if ch.size >= 2 * SL_LOAD:
            self._split(c)
        return 0

    cdef void _drop_chunk(self, Py_ssize_t c) noexcept:
        free(self.chunks[c].items)
        memmove(&self.chunks[c], &self.chunks[c + 1], (self.nchunks - c - 1) * sizeof(SLChunk))
        self.nchunks -= 1
        self.offsets_ok = False

    cdef int _merge_small(self, Py_ssize_t c) except -1:
        """Fold chunk *c* into a neighbour when it has grown small."""
        cdef Py_ssize_t left, need
        cdef SLChunk* a
        cdef SLChunk* b
        cdef SLItem* items
        if self.nchunks < 2 or self.chunks[c].size >= SL_LOAD // 4:
            return 0
        left = c if c + 1 < self.nchunks else c - 1
        a = &self.chunks[left]
        b = &self.chunks[left + 1]
        need = a.size + b.size
        if need > a.cap:
            items = <SLItem*>realloc(a.items, need * sizeof(SLItem))
            if items == NULL:
                raise MemoryError()
            a.items = items
            a.cap = need
        memcpy(&a.items[a.size], b.items, b.size * sizeof(SLItem))
        a.size = need
        self._drop_chunk(left + 1)
        if need >= 2 * SL_LOAD:
            self._split(left)
        return 0

    cdef int _delete(self, Py_ssize_t c, Py_ssize_t p) except -1:
        cdef SLChunk* ch = &self.chunks[c]
        cdef PyObject* m = ch.items[p].member
        memmove(&ch.items[p], &ch.items[p + 1], (ch.size - p - 1) * sizeof(SLItem))
        ch.size -= 1
        self.n -= 1
        self.version += 1
        self.offsets_ok = False
        if ch.size == 0:
            self._drop_chunk(c)
        else:
            self._merge_small(c)
        Py_DECREF(<object>m)
        return 0

    cdef int _delete_range(self, Py_ssize_t start, Py_ssize_t stop) except -1:
        """Delete items ``[start, stop)`` (0 <= start < stop <= n)."""
        cdef Py_ssize_t c, p, k, i, c0, left = stop - start
        cdef SLChunk* ch
        if start == 0 and stop == self.n:
            self._free_all()
            return 0
        self._at(start, &c, &p)
        c0 = c
        while left > 0:
            ch = &self.chunks[c]
            k = ch.size - p if ch.size - p < left else left
            for i in range(p, p + k):
                Py_DECREF(<object>ch.items[i].member)
            memmove(&ch.items[p], &ch.items[p + k], (ch.size - p - k) * sizeof(SLItem))
            ch.size -= k
            self.n -= k
            left -= k
            if ch.size == 0:
                self._drop_chunk(c)
            else:
                c += 1
            p = 0
        self.version += 1
        self.offsets_ok = False
        # the chunks the deletion cut into may have grown small (c0: where it started)
        if c0 + 1 < self.nchunks:
            self._merge_small(c0 + 1)
        if c0 < self.nchunks:
            self._merge_small(c0)
        elif self.nchunks:
            self._merge_small(self.nchunks - 1)
        return 0

    cdef tuple _get(self, Py_ssize_t i):
        cdef Py_ssize_t c, p
        self._at(i, &c, &p)
        return sl_item(&self.chunks[c].items[p])

    cdef Py_ssize_t _bisect(self, object item, bint right) except -1:
        cdef double s
        cdef PyObject* m
        cdef Py_ssize_t c, p
        sl_parse(item, &s, &m)
        if self.n == 0:
            return 0
        self._locate(s, m, right, &c, &p)
        return self._rank(c, p)

    cdef bint _find(self, object item, Py_ssize_t* cout, Py_ssize_t* pout) except -1:
        cdef double s
        cdef PyObject* m
        cdef SLItem* it
        sl_parse(item, &s, &m)
        if self.n == 0:
            return False
        self._locate(s, m, False, cout, pout)
        if pout[0] >= self.chunks[cout[0]].size:
            return False
        it = &self.chunks[cout[0]].items[pout[0]]
        return sl_cmp(it.score, it.member, s, m) == 0

    # -- SortedList's API -----------------------------------------------------------------------
    def __len__(self):
        return self.n

    def add(self, item):
        """Insert *item*, a ``(score, member)`` tuple, after any equal item."""
        cdef double s
        cdef PyObject* m
        cdef Py_ssize_t c = 0, p = 0
        sl_parse(item, &s, &m)
        if self.n:
            self._locate(s, m, True, &c, &p)
        self._insert(c, p, s, m)

    def remove(self, item):
        """Remove *item*; ValueError when it is not there."""
        cdef Py_ssize_t c, p
        if not self._find(item, &c, &p):
            raise ValueError(f"{item!r} not in list")
        self._delete(c, p)

    def discard(self, item):
        """Remove *item* when it is there."""
        cdef Py_ssize_t c, p
        if self._find(item, &c, &p):
            self._delete(c, p)

    def __contains__(self, item):
        cdef Py_ssize_t c, p
        return self._find(item, &c, &p)

    def bisect_left(self, item):
        return self._bisect(item, False)

    def bisect_right(self, item):
        return self._bisect(item, True)

    def clear(self):
        self._free_all()

    def __getitem__(self, index):
        cdef Py_ssize_t i, start, stop, step, c, p, k
        cdef list out
        cdef SLChunk* ch
        if isinstance(index, slice):
            start, stop, step = index.indices(self.n)
            if step != 1:
                return [self._get(i) for i in range(start, stop, step)]
            out = []
            if start >= stop:
                return out
            self._at(start, &c, &p)
            k = stop - start
            while k > 0:
                ch = &self.chunks[c]
                while p < ch.size and k > 0:
                    out.append(sl_item(&ch.items[p]))
                    p += 1
                    k -= 1
                c += 1
                p = 0
            return out
        i = index
        if i < 0:
            i += self.n
        if i < 0 or i >= self.n:
            raise IndexError("list index out of range")
        return self._get(i)

    def __delitem__(self, index):
        cdef Py_ssize_t i, start, stop, step, c, p
        if isinstance(index, slice):
            start, stop, step = index.indices(self.n)
            if step == 1:
                if start < stop:
                    self._delete_range(start, stop)
                return
            for i in sorted(range(start, stop, step), reverse=True):
                self._at(i, &c, &p)
                self._delete(c, p)
            return
        i = index
        if i < 0:
            i += self.n
        if i < 0 or i >= self.n:
            raise IndexError("list assignment index out of range")
        self._at(i, &c, &p)
        self._delete(c, p)

    def encode_range(self, Py_ssize_t start, Py_ssize_t stop, bint reverse=False, int scores=0):
        """The encoded reply listing positions ``[start, stop)`` (clamped), last first when *reverse*:
        the members (*scores* 0), members and ``%.17g`` scores flat (2: RESP2) or as
        ``[member, double]`` pairs (3: RESP3). The same bytes as ``commands/zsets/common.py``'s
        ``_members`` and ``_with_scores``, without building the items."""
        cdef Py_ssize_t c = 0, p = 0, i, k
        cdef SLItem* it
        cdef OutBuf b
        cdef char num[40]
        cdef int nl
        if start < 0:
            start = 0
        if stop > self.n:
            stop = self.n
        k = stop - start if stop > start else 0
        b.p = NULL
        b.n = b.cap = 0
        try:
            put_int(&b, 42, 2 * k if scores == 2 else k)  # '*'
            if k:
                self._at(stop - 1 if reverse else start, &c, &p)
            for i in range(k):
                it = &self.chunks[c].items[p]
                if scores == 3:
                    put(&b, "*2\r\n", 4)
                put_bulk(&b, sl_str(it.member), sl_len(it.member))
                if scores:
                    nl = snprintf(num, sizeof(num), "%.17g", it.score)
                    if scores == 2:
                        put_bulk(&b, num, nl)
                    else:
                        put(&b, ",", 1)
                        put(&b, num, nl)
                        put(&b, "\r\n", 2)
                if i + 1 == k:
                    break
                if reverse:
                    if p == 0:
                        c -= 1
                        p = self.chunks[c].size
                    p -= 1
                else:
                    p += 1
                    if p == self.chunks[c].size:
                        c += 1
                        p = 0
            return PyBytes_FromStringAndSize(b.p, b.n)
        finally:
            free(b.p)

    def __iter__(self):
        return ScoreListIter(self, 0, self.n, False)

    def __reversed__(self):
        return ScoreListIter(self, 0, self.n, True)

    def islice(self, start=None, stop=None, bint reverse=False):
        """An iterator over items ``[start, stop)`` (slice semantics), backwards when *reverse*."""
        cdef Py_ssize_t a, b, _
        a, b, _ = slice(start, stop).indices(self.n)
        return ScoreListIter(self, a, b if b > a else a, reverse)

    def copy(self):
        return ScoreList(self)

    def __sizeof__(self):
        cdef Py_ssize_t c, total = object.__sizeof__(self) + self.chunks_cap * sizeof(SLChunk)
        for c in range(self.nchunks):
            total += self.chunks[c].cap * sizeof(SLItem)
        return total + self.offsets_cap * sizeof(Py_ssize_t)

    def __reduce__(self):
        return (ScoreList, (list(self),))

    def __repr__(self):
        return f"ScoreList({list(self)!r})"

    def _check(self):
        """Tests: assert the invariants (order, chunk sizes, counts)."""
        cdef Py_ssize_t c, i, total = 0
        cdef SLItem* prev = NULL
        cdef SLChunk* ch
        assert (self.nchunks == 0) == (self.n == 0)
        for c in range(self.nchunks):
            ch = &self.chunks[c]
            assert 0 < ch.size <= ch.cap and ch.size < 2 * SL_LOAD
            for i in range(ch.size):
                if prev != NULL:
                    assert sl_cmp(prev.score, prev.member, ch.items[i].score, ch.items[i].member) <= 0
                prev = &ch.items[i]
            total += ch.size
        assert total == self.n
        return self.nchunks


def score_list_of(list items):
    """A ScoreList of *items*, ``(score, member)`` tuples expected in order (sorted when they are not)."""
    cdef ScoreList sl = ScoreList()
    try:
        sl._fill(items)
    except ValueError:
        sl._fill(sorted(items))
    return sl


cdef class ScoreListIter:
    """Items ``[start, stop)`` of a ScoreList by position (forwards or backwards); a change to the
    list makes the iterator find its position again (as SortedList's iterators, positions move)."""

    cdef ScoreList sl
    cdef Py_ssize_t i, start, stop  # i: the next position (forwards) or one past it (backwards)
    cdef Py_ssize_t c, p
    cdef uint32_t version
    cdef bint reverse, placed

    def __cinit__(self, ScoreList sl, Py_ssize_t start, Py_ssize_t stop, bint reverse):
        self.sl = sl
        self.start = start
        self.stop = stop
        self.reverse = reverse
        self.i = stop if reverse else start
        self.placed = False

    def __iter__(self):
        return self

    def __length_hint__(self):
        return (self.i - self.start) if self.reverse else (self.stop - self.i)

    def __next__(self):
        cdef ScoreList sl = self.sl
        cdef Py_ssize_t pos
        cdef SLItem* it
        pos = self.i - 1 if self.reverse else self.i
        if pos < self.start or pos >= self.stop or pos >= sl.n:
            raise StopIteration
        if not self.placed or self.version != sl.version:
            sl._at(pos, &self.c, &self.p)
            self.version = sl.version
            self.placed = True
        it = &sl.chunks[self.c].items[self.p]
        if self.reverse:
            self.i -= 1
            self.p -= 1
            if self.p < 0:
                self.c -= 1
                if self.c >= 0:
                    self.p = sl.chunks[self.c].size - 1
                else:
                    self.placed = False
        else:
            self.i += 1
            self.p += 1
            if self.p >= sl.chunks[self.c].size:
                self.c += 1
                self.p = 0
                if self.c >= sl.nchunks:
                    self.placed = False
        return sl_item(it)
