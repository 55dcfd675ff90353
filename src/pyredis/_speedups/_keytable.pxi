# Part of _hotpath.pyx (textually included): KeyTable, the compiled key dict of a database.
#
# A dict with CPython's compact layout minus what a keyspace does not need: an insertion-ordered array
# of (key, value) entries (16 bytes each; the key's hash is not stored: bytes cache their own) grown
# in steps of a quarter, and an int32 index at most 2/3 full, probed as CPython's dict probes, of a
# power-of-two size or, from 2^16 slots, 3/4 of one when that is enough. A CPython dict of 1M keys
# allocates 2^21 index slots and 1.4M 24-byte entries (41.9 bytes per key); this table allocates 1.5M
# slots (or 2^21) and 1.0-1.25M 16-byte entries (22-28 bytes).
# Iteration order, and what changes it, are those of dict.

from collections.abc import ItemsView, KeysView, Mapping, MutableMapping, ValuesView

from cpython.object cimport Py_EQ, PyObject_Hash, PyObject_RichCompareBool
from cpython.ref cimport Py_DECREF, Py_XDECREF
from libc.stdint cimport int32_t, uint32_t, uint64_t
from libc.string cimport memset

cdef struct KTEntry:
    PyObject* key  # NULL: deleted
    PyObject* value

cdef enum:
    KT_EMPTY = -1
    KT_DUMMY = -2
    KT_MINSIZE = 8

cdef Py_ssize_t KT_MAX_ENTRIES = (1 << 30)  # the int32 index addresses at most this many entries
# An index slot holds the entry's number in its low 26 bits and 5 bits of the key's hash above them
# (a "tag"): a probe that meets another key's slot moves on unless the tags agree, without reading the
# entry or the key object (the cache misses of a big table). Tables of over 2^26 entries keep no tag.
cdef int32_t KT_TAGMASK = 0x7C000000
cdef Py_ssize_t KT_TAGGED_MAX = (1 << 26)
# An index of at least this many slots may take 3/4 of a power of two, so that a big table grows by 3/2
# and 4/3 in turn instead of doubling (1.5-2.25 slots per key, 7.2 bytes on average, where powers of two
# alone give 1.5-3 and 8.7; a 1M-key table: 1.5M slots, 6 MB, not 2^21, 8 MB). Probes run over the power
# of two (mask) and skip the slots past the end: the probe sequence still reaches every slot. Smaller
# indexes are powers of two, which nothing skips.
cdef size_t KT_THREEQ_MIN = (1 << 16)


def _set_three_quarter_min(size_t n):
    """Tests: let indexes of *n* slots or more take 3/4 of a power of two; returns the old limit."""
    global KT_THREEQ_MIN
    old, KT_THREEQ_MIN = KT_THREEQ_MIN, max(n, KT_MINSIZE)
    return old


def _index_slots(KeyTable t):
    """Tests: the number of slots of *t*'s index."""
    return t.nslots


def _set_tagged_max(Py_ssize_t n):
    """Tests: make tables of over *n* entries keep no tag (the huge-table layout); returns the old limit."""
    global KT_TAGGED_MAX
    old, KT_TAGGED_MAX = KT_TAGGED_MAX, min(n, 1 << 26)
    return old

cdef object _MISSING = object()


@cython.no_gc
cdef class KeyTable:
    """A compiled ``dict`` for a database's keys and hash fields (insertion ordered; the dict API the
    engine uses). ``HashValue`` subclasses it under the accelerator.

    The values it holds are not traversed by the cyclic GC: they are treated as reachable, as they
    are while the database holds them (keys and values never refer back to a key table).
    """

    cdef KTEntry* entries
    cdef int32_t* index
    cdef size_t mask       # the power of two the index probes over - 1 (0 while there is no index)
    cdef size_t nslots     # index slots: mask + 1, or 3/4 of it (a probe skips slots >= nslots)
    cdef Py_ssize_t nentries  # entries in use, live or deleted
    cdef Py_ssize_t cap       # entries allocated
    cdef Py_ssize_t used      # live entries
    cdef Py_ssize_t usable    # the most entries the index takes before it is rebuilt
    cdef uint32_t version     # bumped by every insertion and deletion (iterators check it)
    cdef int32_t tagmask      # the index slots' hash-tag bits (KT_TAGMASK, or 0 for a huge table)

    # (no __cinit__: the object starts zero-filled, no entries and no index, and a subclass's
    # constructor arguments are not parsed twice)
    def __init__(self, other=None):
        if other is not None:
            self.update(other)

    def __dealloc__(self):
        self._release(self.entries, self.nentries)
        free(self.index)

    # -- the C-level core -----------------------------------------------------------------------
    cdef int _release(self, KTEntry* ents, Py_ssize_t n) except -1:
        cdef Py_ssize_t i
        if ents == NULL:
            return 0
        for i in range(n):
            if ents[i].key != NULL:
                Py_DECREF(<object>ents[i].key)
                Py_XDECREF(ents[i].value)
        free(ents)
        return 0

    cdef Py_ssize_t slot_of(self, object key, Py_hash_t h) except -3:
        """The index slot holding *key* (>= 0), or -1 when it is absent."""
        cdef size_t i, perturb = <size_t>h
        cdef int32_t ix, tagmask = self.tagmask, tag = (<int32_t>(<uint64_t>h >> 32)) & tagmask
        cdef PyObject* k
        cdef uint32_t ver
        cdef int eq
        cdef object ko
        if self.index == NULL:
            return -1
        i = <size_t>h & self.mask
        while True:
            if i >= self.nslots:  # past the end of a 3/4-size index
                perturb >>= 5
                i = (i * 5 + perturb + 1) & self.mask
                continue
            ix = self.index[i]
            if ix == KT_EMPTY:
                return -1
            if ix >= 0 and (ix & tagmask) == tag:
                ix = ix ^ tag
                k = self.entries[ix].key
                if k == <PyObject*>key:
                    return <Py_ssize_t>i
                if type_is(k, BYTES) and type(key) is bytes:
                    if (PyBytes_GET_SIZE(<object>k) == PyBytes_GET_SIZE(key)
                            and PyObject_Hash(<object>k) == h
                            and memcmp(PyBytes_AS_STRING(<object>k), PyBytes_AS_STRING(key),
                                       PyBytes_GET_SIZE(key)) == 0):
                        return <Py_ssize_t>i
                elif PyObject_Hash(<object>k) == h:
                    ver = self.version
                    ko = <object>k  # a strong reference: __eq__ may delete the entry
                    eq = PyObject_RichCompareBool(ko, key, Py_EQ)
                    if ver != self.version or self.entries[ix].key != k:
                        return self.slot_of(key, h)  # __eq__ changed the table: start again
                    if eq:
                        return <Py_ssize_t>i
            perturb >>= 5
            i = (i * 5 + perturb + 1) & self.mask

    cdef inline PyObject* lookup(self, object key) except? NULL:
        """The value of *key* (borrowed) or NULL (a NULL with an exception set is an error)."""
        cdef Py_ssize_t s = self.slot_of(key, PyObject_Hash(key))
        if s < 0:
            return NULL
        return self.entries[self.index[s] & ~self.tagmask].value

    cdef int _build_index(self, size_t size, size_t pow2) except -1:
        """A fresh index of *size* slots (*pow2*, or 3/4 of it) over the (compact) entries."""
        cdef int32_t* idx = <int32_t*>malloc(size * sizeof(int32_t))
        cdef size_t mask = pow2 - 1, i, perturb
        cdef Py_ssize_t j, usable = <Py_ssize_t>((size << 1) // 3)
        cdef Py_hash_t h
        cdef int32_t tagmask = KT_TAGMASK if usable <= KT_TAGGED_MAX else 0
        if idx == NULL:
            raise MemoryError()
        memset(idx, 0xFF, size * sizeof(int32_t))
        for j in range(self.nentries):
            h = PyObject_Hash(<object>self.entries[j].key)
            i = <size_t>h & mask
            perturb = <size_t>h
            while i >= size or idx[i] != KT_EMPTY:
                perturb >>= 5
                i = (i * 5 + perturb + 1) & mask
            idx[i] = <int32_t>j | ((<int32_t>(<uint64_t>h >> 32)) & tagmask)
        free(self.index)
        self.index = idx
        self.mask = mask
        self.nslots = size
        self.usable = usable
        self.tagmask = tagmask
        return 0

    cdef int _rebuild(self) except -1:
        """Drop deleted entries and size the index for 1.3125 times the live keys: from a power of two
        the next index is 3/4 of the next one, from there the power of two after it (growth by 3/2
        and 4/3 in turn, where doubling at 2/3 full would leave 1.5-3 slots per key)."""
        cdef Py_ssize_t i, j = 0
        cdef size_t size = KT_MINSIZE, slots, need
        cdef KTEntry* ents
        if self.used >= KT_MAX_ENTRIES:
            raise MemoryError("key table full")
        if self.nentries != self.used:
            for i in range(self.nentries):
                if self.entries[i].key != NULL:
                    self.entries[j] = self.entries[i]
                    j += 1
            self.nentries = j
        need = <size_t>(self.used + (self.used >> 2) + (self.used >> 4) + 1)
        while ((size << 1) // 3) < need:
            size <<= 1
        slots = (size >> 2) * 3  # 3/4 of the power of two when that is big enough
        if slots < KT_THREEQ_MIN or ((slots << 1) // 3) < need:
            slots = size
        if self.cap > 2 * (self.used + 8):  # mostly deleted: give the room back
            ents = <KTEntry*>realloc(self.entries, (self.used + 8) * sizeof(KTEntry))
            if ents != NULL:
                self.entries = ents
                self.cap = self.used + 8
        return self._build_index(slots, size)

    cdef int store(self, object key, object value, bint replace=True) except -1:
        """``self[key] = value`` (when *replace* is false, a present key keeps its value): 1 when
        *key* was added, 0 when it was there."""
        cdef Py_hash_t h = PyObject_Hash(key)
        cdef Py_ssize_t s = self.slot_of(key, h), n
        cdef size_t i, perturb
        cdef PyObject* old
        cdef KTEntry* ents
        cdef KTEntry* e
        if s >= 0:
            if replace:
                e = &self.entries[self.index[s] & ~self.tagmask]
                old = e.value
                Py_INCREF(value)
                e.value = <PyObject*>value
                Py_DECREF(<object>old)
            return 0
        if self.nentries >= self.usable:
            self._rebuild()
        if self.nentries >= self.cap:
            n = self.cap + (self.cap >> 2) + 8
            if n > self.usable:
                n = self.usable
            ents = <KTEntry*>realloc(self.entries, n * sizeof(KTEntry))
            if ents == NULL:
                raise MemoryError()
            self.entries = ents
            self.cap = n
        i = <size_t>h & self.mask
        perturb = <size_t>h
        while i >= self.nslots or self.index[i] >= 0:  # the first empty or dummy slot
            perturb >>= 5
            i = (i * 5 + perturb + 1) & self.mask
        Py_INCREF(key)
        Py_INCREF(value)
        e = &self.entries[self.nentries]
        e.key = <PyObject*>key
        e.value = <PyObject*>value
        self.index[i] = <int32_t>self.nentries | ((<int32_t>(<uint64_t>h >> 32)) & self.tagmask)
        self.nentries += 1
        self.used += 1
        self.version += 1
        return 1

    cdef object _take(self, Py_ssize_t s):
        """Remove the entry at index slot *s*; returns its value (the key's reference is dropped)."""
        cdef int32_t ix = self.index[s] & ~self.tagmask
        cdef PyObject* k = self.entries[ix].key
        cdef object v = <object>self.entries[ix].value  # a new reference
        self.index[s] = KT_DUMMY
        self.entries[ix].key = NULL
        self.used -= 1
        self.version += 1
        Py_DECREF(<object>self.entries[ix].value)
        self.entries[ix].value = NULL
        Py_DECREF(<object>k)  # the deleted entry stays until the next rebuild
        return v

    cdef int discard(self, object key) except -1:
        """``del self[key]`` when present; 1 if it was, 0 if not."""
        cdef Py_ssize_t s = self.slot_of(key, PyObject_Hash(key))
        if s < 0:
            return 0
        self._take(s)
        return 1

    cdef object entry(self, Py_ssize_t i, int kind):
        cdef KTEntry* e = &self.entries[i]
        if kind == 0:
            return <object>e.key
        if kind == 1:
            return <object>e.value
        return (<object>e.key, <object>e.value)

    # -- the mapping protocol -------------------------------------------------------------------
    def __len__(self):
        return self.used

    def __contains__(self, key):
        return self.slot_of(key, PyObject_Hash(key)) >= 0

    def __getitem__(self, key):
        cdef PyObject* v = self.lookup(key)
        if v == NULL:
            raise KeyError(key)
        return <object>v

    def __setitem__(self, key, value):
        self.store(key, value)

    def __delitem__(self, key):
        if not self.discard(key):
            raise KeyError(key)

    def __iter__(self):
        return KeyTableIterator(self, 0)

    def __reversed__(self):
        return reversed(list(self))

    def get(self, key, default=None):
        cdef PyObject* v = self.lookup(key)
        return default if v == NULL else <object>v

    def pop(self, key, default=_MISSING):
        cdef Py_ssize_t s = self.slot_of(key, PyObject_Hash(key))
        if s < 0:
            if default is _MISSING:
                raise KeyError(key)
            return default
        return self._take(s)

    def popitem(self):
        """Remove and return the last inserted (key, value) pair (KeyError when empty)."""
        cdef Py_ssize_t i = self.nentries - 1
        while i >= 0 and self.entries[i].key == NULL:
            i -= 1
        if i < 0:
            raise KeyError("popitem(): dictionary is empty")
        key = <object>self.entries[i].key
        return key, self.pop(key)

    def setdefault(self, key, default=None):
        if self.store(key, default, False):  # one probe when the key is new (the RDB loader's case)
            return default
        return <object>self.lookup(key)

    def update(self, other=(), **kwargs):
        if isinstance(other, (dict, KeyTable)):
            for k, v in other.items():
                self.store(k, v)
        elif hasattr(other, "keys"):
            for k in other.keys():
                self.store(k, other[k])
        else:
            for pair in other:
                k, v = pair
                self.store(k, v)
        for k, v in kwargs.items():
            self.store(k, v)

    def update_flat(self, list items):
        """Store ``items[0]: items[1], items[2]: items[3], ...`` (an even-length list; a hash's
        fields and values as a listpack holds them)."""
        cdef Py_ssize_t i, n = len(items)
        if n % 2:
            raise ValueError("update_flat() needs an even number of items")
        for i in range(0, n, 2):
            self.store(items[i], items[i + 1])

    def clear(self):
        cdef KTEntry* ents = self.entries
        cdef Py_ssize_t n = self.nentries
        free(self.index)
        self.entries = NULL
        self.index = NULL
        self.mask = self.nslots = 0
        self.nentries = self.cap = self.used = self.usable = 0
        self.version += 1
        self._release(ents, n)

    def copy(self):
        return KeyTable(self)

    @classmethod
    def fromkeys(cls, iterable, value=None):
        t = cls()
        for k in iterable:
            t[k] = value
        return t

    def keys(self):
        return _KTKeys(self)

    def values(self):
        return _KTValues(self)

    def items(self):
        return _KTItems(self)

    def __eq__(self, other):
        if not isinstance(other, (dict, KeyTable, Mapping)):
            return NotImplemented
        if len(other) != self.used:
            return False
        for k, v in self.items():
            if k not in other or other[k] != v:
                return False
        return True

    def __ne__(self, other):
        r = self.__eq__(other)
        return r if r is NotImplemented else not r

    __hash__ = None

    def __repr__(self):
        return "%s(%r)" % (type(self).__name__, dict(self.items()))

    def __sizeof__(self):
        return (sizeof(KTEntry) * self.cap + (sizeof(int32_t) * self.nslots if self.index != NULL else 0)
                + 8 * sizeof(Py_ssize_t) + 16)

    def __reduce__(self):
        return (type(self), (), self.__getstate__(), None, iter(self.items()))  # a subclass's slots too

    def random_key(self):
        """A uniformly random live key, or None when empty (RANDOMKEY's pick: O(1) unless most entries are deleted)."""
        cdef Py_ssize_t i, r
        if not self.used:
            return None
        if self.used * 4 < self.nentries:  # mostly deleted entries (until the next rebuild): count live ones
            r = _randrange(self.used)
            for i in range(self.nentries):
                if self.entries[i].key != NULL:
                    if r == 0:
                        return <object>self.entries[i].key
                    r -= 1
        while True:
            i = _randrange(self.nentries)
            if self.entries[i].key != NULL:
                return <object>self.entries[i].key


@cython.final
cdef class KeyTableIterator:
    """Keys (kind 0), values (1) or items (2) of a KeyTable, in insertion order."""

    cdef KeyTable table
    cdef Py_ssize_t pos
    cdef uint32_t version
    cdef Py_ssize_t used
    cdef Py_ssize_t yielded
    cdef int kind

    def __cinit__(self, KeyTable table, int kind):
        self.table = table
        self.pos = 0
        self.version = table.version
        self.used = table.used
        self.yielded = 0
        self.kind = kind

    def __iter__(self):
        return self

    def __length_hint__(self):
        return self.used - self.yielded if self.table.version == self.version else 0

    def __next__(self):
        cdef KeyTable t = self.table
        if t.version != self.version:
            self.version = t.version  # raise once, as dict's iterators do
            if t.used != self.used:
                raise RuntimeError("dictionary changed size during iteration")
            raise RuntimeError("dictionary keys changed during iteration")
        while self.pos < t.nentries:
            self.pos += 1
            if t.entries[self.pos - 1].key != NULL:
                self.yielded += 1
                return t.entry(self.pos - 1, self.kind)
        raise StopIteration


import random as _random
cdef object _randrange = _random.randrange


class _KTKeys(KeysView):
    __slots__ = ()

    def __iter__(self):
        return KeyTableIterator(self._mapping, 0)


class _KTValues(ValuesView):
    __slots__ = ()

    def __iter__(self):
        return KeyTableIterator(self._mapping, 1)


class _KTItems(ItemsView):
    __slots__ = ()

    def __iter__(self):
        return KeyTableIterator(self._mapping, 2)


MutableMapping.register(KeyTable)


cdef inline Py_ssize_t kt_slot(object d, object key) except -3:
    """(hot path) The slot of *key* in a KeyTable *d*."""
    return (<KeyTable>d).slot_of(key, PyObject_Hash(key))


cdef inline PyObject* dget_item(object d, object key) except? NULL:
    """(hot path) ``d.get(key)`` borrowed, for a database's dict or KeyTable; NULL when absent."""
    if type(d) is KeyTable:
        return (<KeyTable>d).lookup(key)
    return PyDict_GetItem(d, key)


cdef inline int dset_item(object d, object key, object value) except -1:
    """(hot path) ``d[key] = value`` for a database's dict or KeyTable."""
    if type(d) is KeyTable:
        return (<KeyTable>d).store(key, value)
    return PyDict_SetItem(d, key, value)
