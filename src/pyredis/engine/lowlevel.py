"""Models of redis-server's low-level memory layout, for DEBUG HTSTATS / SDSLEN / STRUCTSIZE.

pyredis stores keys in Python dicts and strings as ``bytes``, so these reports describe what
redis-server 7.0 would allocate for the same data: its hash tables (power-of-two sizes, at least 4
buckets, grown to the next power of two above the element count), its SDS string headers and
jemalloc's size classes.  Chain lengths come from hashing the real keys into a table of the
modelled size (Redis's seed is random per process, so those figures vary between runs there too).
"""

from __future__ import annotations

from collections.abc import Iterable

DICT_HT_INITIAL_SIZE = 4
DICT_STATS_VECTLEN = 50
#: DEBUG STRUCTSIZE on a 64-bit build.
STRUCT_SIZES = "bits:64 robj:16 dictentry:24 sdshdr5:1 sdshdr8:3 sdshdr16:5 sdshdr32:9 sdshdr64:17 "
ROBJ_SIZE = 16
EMBSTR_LIMIT = 44


def table_size(used: int) -> int:
    """Buckets of a Redis dict holding *used* entries after growing by inserts (0 when empty)."""
    if used <= 0:
        return 0
    size = DICT_HT_INITIAL_SIZE
    while size < used:
        size <<= 1
    return size


def je_usable(n: int) -> int:
    """The jemalloc size class serving an allocation of *n* bytes (what ``zmalloc_size`` reports)."""
    if n <= 8:
        return 8
    if n <= 128:
        return (n + 15) // 16 * 16
    spacing = 1 << ((n - 1).bit_length() - 3)
    return (n + spacing - 1) // spacing * spacing


def sds_header(length: int) -> tuple[int, bool]:
    """(header bytes, whether the type records its allocation) of an SDS string of *length*."""
    if length < 1 << 5:
        return (1, False) if length else (3, True)  # an empty string gets an sdshdr8
    if length < 1 << 8:
        return 3, True
    if length < 1 << 16:
        return 5, True
    if length < 1 << 32:
        return 9, True
    return 17, True


def sds_exact(length: int) -> tuple[int, int]:
    """(avail, allocation size) of an SDS created for exactly *length* bytes (``sdsnewlen``)."""
    hdr, has_alloc = sds_header(length)
    usable = je_usable(hdr + length + 1)
    return (usable - hdr - length - 1 if has_alloc else 0), usable


def sdslen_report(key: bytes, value: bytes) -> str:
    """DEBUG SDSLEN's status line for a string value stored raw or embstr."""
    k_avail, k_alloc = sds_exact(len(key))
    n = len(value)
    if n <= EMBSTR_LIMIT:
        v_avail, v_alloc = 0, je_usable(ROBJ_SIZE + 3 + n + 1) - ROBJ_SIZE
    else:  # a raw string: SET trims the spare room when it is over a tenth of the length
        v_avail, v_alloc = sds_exact(n)
        if v_avail > n // 10:
            v_avail = 0
    return (f"key_sds_len:{len(key)}, key_sds_avail:{k_avail}, key_zmalloc: {k_alloc}, "
            f"val_sds_len:{n}, val_sds_avail:{v_avail}, val_zmalloc: {v_alloc}")


def held_table_size(used: int, at_fork: int) -> int:
    """Buckets of a dict that held *at_fork* entries when a child process started and *used* now: while
    the child runs Redis grows a dict only once it is over 5 entries a bucket (``dict_force_resize_ratio``)."""
    size = table_size(at_fork)
    if used >= size and (size == 0 or used / size > 5):
        return table_size(used)
    return size


def _ht_stats(keys: Iterable[bytes], used: int, idx: int = 0, size: int = 0) -> str:
    label = "main hash table" if idx == 0 else "rehashing target"
    if used == 0:
        return f"Hash table {idx} stats ({label}):\nNo stats available for empty dictionaries\n"
    size = size or table_size(used)
    chains = [0] * size
    mask = size - 1
    for k in keys:
        chains[hash(k) & mask] += 1
    vec = [0] * DICT_STATS_VECTLEN
    slots = maxchain = total = 0
    for n in chains:
        if n == 0:
            vec[0] += 1
            continue
        slots += 1
        vec[min(n, DICT_STATS_VECTLEN - 1)] += 1
        maxchain = max(maxchain, n)
        total += n
    out = [f"Hash table {idx} stats ({label}):\n table size: {size}\n number of elements: {used}\n"
           f" different slots: {slots}\n max chain length: {maxchain}\n"
           f" avg chain length (counted): {total / slots:.2f}\n avg chain length (computed): {used / slots:.2f}\n"
           " Chain length distribution:\n"]
    for i in range(DICT_STATS_VECTLEN - 1):
        if vec[i]:
            out.append(f"   {i}: {vec[i]} ({vec[i] / size * 100:.2f}%)\n")
    return "".join(out)[:4095]  # Redis formats into a 4 KB buffer


def dict_stats(keys: Iterable[bytes], used: int, size: int = 0) -> str:
    """``dictGetStats`` text of a dict holding *keys* (*used* of them) in *size* buckets (0: grown by inserts)."""
    return _ht_stats(keys, used, 0, size)
