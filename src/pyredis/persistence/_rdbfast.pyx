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
from cpython.float cimport PyFloat_AS_DOUBLE
from cpython.list cimport PyList_Append
from libc.stdint cimport int64_t, uint8_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcmp, memcpy, memset

from pyredis.persistence.codec_errors import BlobError, LZFError

# Bumped whenever a function's contract changes: accel.py ignores a stale build.
ABI = 5

# The code is split over three include files (one extension module, so the cdef helpers stay
# C-level calls across them).
include "_rdbfast_base.pxi"
include "_rdbfast_lists.pxi"
include "_rdbfast_load.pxi"
