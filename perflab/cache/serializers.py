"""How a shared cache level turns values into bytes and back: JSON, pickle or MessagePack.

>>> row = {"id": 7, "name": "Lamp", "price_cents": 1999}
>>> {name: len(s.dumps(row)) for name, s in SERIALIZERS.items()}
{'json': 41, 'pickle': 54, 'msgpack': 30}
>>> SERIALIZERS["msgpack"].loads(SERIALIZERS["msgpack"].dumps(row)) == row
True

A value cached in Redis or diskcache is serialized on every ``set`` and deserialized on every hit,
so the format is part of the cost of an L2 hit. JSON is readable by every language but knows no
tuples or dates; pickle keeps Python types but only Python can read it (and loading pickles from a
server others can write to runs their code); MessagePack is a compact binary JSON.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Serializer:
    """A name and a pair of functions: ``dumps(value) -> bytes`` and ``loads(bytes) -> value``."""

    name: str
    dumps: Callable[[Any], bytes]
    loads: Callable[[bytes], Any]


def _json_dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), default=str).encode()


def _pickle_dumps(value: Any) -> bytes:
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


def _msgpack_dumps(value: Any) -> bytes:
    import msgpack

    return msgpack.packb(value, default=str)


def _msgpack_loads(raw: bytes) -> Any:
    import msgpack

    return msgpack.unpackb(raw)


#: The three formats, by name.
SERIALIZERS: dict[str, Serializer] = {
    "json": Serializer("json", _json_dumps, json.loads),
    "pickle": Serializer("pickle", _pickle_dumps, pickle.loads),
    "msgpack": Serializer("msgpack", _msgpack_dumps, _msgpack_loads),
}
