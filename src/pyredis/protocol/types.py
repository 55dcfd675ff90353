"""Reply value types understood by the encoder.

Command handlers return plain Python values; the encoder turns them into RESP2 or RESP3:

=================  ==========================  ==========================
value              RESP2                       RESP3
=================  ==========================  ==========================
bytes              bulk string                 bulk string
int                integer                     integer
None               null bulk ``$-1``           null ``_``
list / tuple       array                       array
Status             ``+status``                 ``+status``
ErrorReply         ``-error``                  ``-error``
Double / float     bulk string                 double ``,``
MapReply           flat array                  map ``%``
SetReply           array                       set ``~``
Push               array                       push ``>``
NULL_ARRAY         ``*-1``                     null ``_``
bool               integer 1/0                 boolean ``#t``/``#f``
BigNumber          bulk string                 big number ``(``
Verbatim           bulk string                 verbatim ``=``
Raw                sent as is (pre-encoded)    sent as is
=================  ==========================  ==========================
"""

from __future__ import annotations


class Raw(bytes):
    """Pre-encoded RESP bytes, written to the client unchanged."""

    __slots__ = ()


class Status(bytes):
    """A simple string reply such as ``+OK``."""

    __slots__ = ()


class ErrorReply(bytes):
    """An error reply; the bytes hold the message without the leading ``-``."""

    __slots__ = ()


class Double(float):
    """A floating point reply (RESP3 double, RESP2 bulk string)."""

    __slots__ = ()


class BigNumber(int):
    """A big number reply (RESP3 ``(``, RESP2 bulk string)."""

    __slots__ = ()


class Verbatim(bytes):
    """A verbatim text reply (RESP3 ``=txt:``, RESP2 bulk string)."""

    __slots__ = ()


class MapReply(list):
    """A map given as a flat ``[k1, v1, k2, v2, ...]`` list."""

    __slots__ = ()


class SetReply(list):
    """A set reply (RESP3 ``~``, RESP2 array)."""

    __slots__ = ()


class Push(list):
    """An out-of-band push message (RESP3 ``>``, RESP2 array)."""

    __slots__ = ()


class _Sentinel:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


NULL_ARRAY = _Sentinel("NULL_ARRAY")
"""The RESP2 null array ``*-1`` (RESP3 null)."""

NOREPLY = _Sentinel("NOREPLY")
"""Returned by a handler that already wrote its replies (or must not reply)."""

OK = Raw(b"+OK\r\n")
QUEUED = Raw(b"+QUEUED\r\n")
PONG = Raw(b"+PONG\r\n")
