"""Pluggable value serializers: JSON (default), pickle and msgpack (opt-in).

A serializer turns a Python value into ``bytes`` (or ``str``) stored in Redis and back.
``dumps`` must be *canonical* (equal values give equal bytes) for values used as hash
fields or set members, which is why JSON sorts dictionary keys.
"""

from __future__ import annotations

import json
import pickle
from typing import Any, Protocol

from pyredis.collections.errors import SerializationError


class Serializer(Protocol):
    """What a container needs from a serializer.

    An optional ``binary = True`` attribute says that ``dumps`` output may not be valid
    UTF-8, so the client must not decode responses.
    """

    def dumps(self, value: Any) -> bytes | str: ...

    def loads(self, data: bytes | str) -> Any: ...


class JSONSerializer:
    """Compact, canonical JSON (``sort_keys``); tuples come back as lists."""

    binary = False

    def __init__(self) -> None:
        # one encoder/decoder for every call: json.dumps/loads would build them each time
        self._encode = json.JSONEncoder(sort_keys=True, separators=(",", ":"), allow_nan=False).encode
        self._decode = json.JSONDecoder().decode

    def dumps(self, value: Any) -> str:
        try:
            return self._encode(value)
        except (TypeError, ValueError) as exc:
            raise SerializationError(f"cannot JSON-serialize {value!r}: {exc}") from exc

    def loads(self, data: bytes | str) -> Any:
        return self._decode(data.decode() if isinstance(data, bytes) else data)

    def __repr__(self) -> str:
        return "JSONSerializer()"


class PickleSerializer:
    """Any picklable value; only use with data you trust (unpickling runs code)."""

    binary = True

    def __init__(self, protocol: int = pickle.HIGHEST_PROTOCOL) -> None:
        self.protocol = protocol

    def dumps(self, value: Any) -> bytes:
        try:
            return pickle.dumps(value, protocol=self.protocol)
        except Exception as exc:  # PicklingError, TypeError, AttributeError...
            raise SerializationError(f"cannot pickle {value!r}: {exc}") from exc

    def loads(self, data: bytes | str) -> Any:
        if isinstance(data, str):
            raise SerializationError("pickled data needs a client with decode_responses=False")
        return pickle.loads(data)

    def __repr__(self) -> str:
        return f"PickleSerializer(protocol={self.protocol})"


class MsgpackSerializer:
    """msgpack (``pip install msgpack``); tuples come back as lists."""

    binary = True

    def __init__(self) -> None:
        import msgpack

        self._msgpack = msgpack

    def dumps(self, value: Any) -> bytes:
        try:
            return self._msgpack.packb(value, use_bin_type=True)
        except (TypeError, ValueError, OverflowError) as exc:
            raise SerializationError(f"cannot msgpack-serialize {value!r}: {exc}") from exc

    def loads(self, data: bytes | str) -> Any:
        if isinstance(data, str):
            raise SerializationError("msgpack data needs a client with decode_responses=False")
        return self._msgpack.unpackb(data, raw=False, strict_map_key=False)

    def __repr__(self) -> str:
        return "MsgpackSerializer()"


JSON = JSONSerializer()


def resolve(serializer: Serializer | str | None) -> Serializer:
    """Accept a serializer object or one of the names ``"json"``, ``"pickle"``, ``"msgpack"``."""
    if serializer is None or serializer == "json":
        return JSON
    if serializer == "pickle":
        return PickleSerializer()
    if serializer == "msgpack":
        return MsgpackSerializer()
    if not (callable(getattr(serializer, "dumps", None)) and callable(getattr(serializer, "loads", None))):
        raise ValueError(f"unknown serializer {serializer!r}")
    return serializer


def freeze(value: Any) -> Any:
    """Make a decoded value hashable again (lists become tuples), for set members and keys."""
    if isinstance(value, list):
        return tuple(freeze(v) for v in value)
    return value
