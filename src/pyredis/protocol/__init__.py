"""Sans-IO RESP codec: bytes in -> commands out, reply values -> bytes."""

from pyredis.protocol.encoder import encode, encode_into
from pyredis.protocol.parser import ProtocolError, RequestParser
from pyredis.protocol.types import (
    NOREPLY,
    NULL_ARRAY,
    BigNumber,
    Double,
    ErrorReply,
    MapReply,
    Push,
    Raw,
    SetReply,
    Status,
    Verbatim,
)

__all__ = [
    "encode", "encode_into", "ProtocolError", "RequestParser", "NOREPLY", "NULL_ARRAY", "BigNumber",
    "Double", "ErrorReply", "MapReply", "Push", "Raw", "SetReply", "Status", "Verbatim",
]
