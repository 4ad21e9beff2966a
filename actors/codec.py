"""The msgpack codec of the bus: messages become bytes when sent (the bytes are what the log
records); the receiver gets the sender's object if it is immutable all the way down
(`encode_for_delivery`), else a fresh object decoded from the bytes.

Wire form of a message: a msgpack array ``[tag, field values...]`` in field
order.  Inside values, msgpack covers ints, floats, str, bytes, bool, None,
dicts (int keys allowed) and arrays; everything else is an ExtType:

======  ===========  ===================================================
code    type         data
======  ===========  ===================================================
1       CpuMask      the mask bits, little-endian, minimal length (any width)
2       message      a nested ``[tag, values...]`` array (registered dataclass)
3       enum member  ``[tag, value]`` (registered Enum)
4       big int      an int outside msgpack's 64-bit range, signed little-endian
======  ===========  ===================================================

Arrays decode as tuples (``use_list=False``), so a message whose sequence
fields are tuples compares equal to its decoded copy; lists are accepted but
come back as tuples.  Unregistered classes are refused with `CodecError`.

The packer runs with ``strict_types=True`` so that subclasses (IntEnum,
NamedTuple, bool is exempt) reach the hook instead of being flattened into a
plain int or array.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

import msgpack

from actors.messages import REGISTRY
from topology.cpumask import CpuMask

__all__ = [
    "DECODE",
    "EXT_BIGINT",
    "EXT_ENUM",
    "EXT_MASK",
    "EXT_RECORD",
    "CodecError",
    "decode",
    "decode_value",
    "encode",
    "encode_for_delivery",
    "encode_value",
    "ext_hook",
    "pack_default",
    "to_jsonable",
]

EXT_MASK = 1
EXT_RECORD = 2
EXT_ENUM = 3
EXT_BIGINT = 4


class CodecError(ValueError):
    """A value that cannot travel on the bus, or bytes that are not a message."""


def _int_bytes(value: int, signed: bool) -> bytes:
    length = (value.bit_length() + 8) // 8 if signed else (value.bit_length() + 7) // 8
    return value.to_bytes(length, "little", signed=signed)


_EXT_CACHE: dict[tuple[type, object], msgpack.ExtType] = {}
"""Packed forms of small immutable values that recur (masks, enum members, policies),
keyed by (type, value): an IntFlag member equals the int-valued member of another enum."""
_EXT_CACHE_MAX = 1 << 13
_SMALL_RECORD = 8
"""records with at most this many fields are cached (a TaskRecord never recurs)"""


def pack_default(obj: object) -> object:
    """msgpack ``default`` hook: tuples, masks, messages, enum members, big ints."""
    kind = type(obj)
    if kind is tuple:
        return list(obj)  # type: ignore[call-overload]
    if kind is CpuMask:
        ext = _EXT_CACHE.get((kind, obj))
        if ext is None:
            ext = msgpack.ExtType(EXT_MASK, _int_bytes(obj.bits, signed=False))  # type: ignore[attr-defined]
            _remember((kind, obj), ext)
        return ext
    entry = REGISTRY.by_class(kind)
    if entry is not None:
        if entry.is_enum:
            member: enum.Enum = obj  # type: ignore[assignment]
            ext = _EXT_CACHE.get((kind, member))
            if ext is None:
                ext = msgpack.ExtType(EXT_ENUM, _packb([entry.tag, member.value]))
                _remember((kind, member), ext)
            return ext
        values = entry.values(obj)
        key = _record_key(kind, values) if len(values) <= _SMALL_RECORD else None
        ext = _EXT_CACHE.get(key) if key is not None else None
        if ext is None:
            ext = msgpack.ExtType(EXT_RECORD, _packb([entry.tag, *values]))
            if key is not None:
                _remember(key, ext)
        return ext
    if kind is int:
        return msgpack.ExtType(EXT_BIGINT, _int_bytes(obj, signed=True))  # type: ignore[arg-type]
    raise CodecError(
        f"cannot encode a {kind.__qualname__} ({obj!r:.60}): register it with @message, "
        "or use a tuple, dict, CpuMask or plain value"
    )


_EXACT = frozenset({int, str, CpuMask})


def _record_key(kind: type, values: tuple[object, ...]) -> tuple[type, object] | None:
    """A cache key for a small record, or None when its values could collide.

    Only exact ints, strings, masks and enum members qualify: equal values of
    other types can pack differently (1 and True and 1.0, 0.0 and -0.0), and a
    list or dict is not a value at all.
    """
    for value in values:
        if type(value) not in _EXACT and not isinstance(value, enum.Enum):
            return None
    return kind, (tuple(map(type, values)), values)


def _remember(value: tuple[type, object], ext: msgpack.ExtType) -> None:
    """Cache *value*'s packed form (immutable, so it always packs the same); bounded."""
    if len(_EXT_CACHE) >= _EXT_CACHE_MAX:
        _EXT_CACHE.clear()
    _EXT_CACHE[value] = ext


def _packb(value: object) -> bytes:
    # A fresh packer: the hook may run while the module packer is mid-message.
    return msgpack.packb(value, default=pack_default, strict_types=True)


def _build(fields: tuple[object, ...]) -> object:
    """``(tag, values...)`` -> a new instance of the registered class."""
    if not fields or not isinstance(fields[0], str):
        raise CodecError(f"not a message record: {fields!r:.80}")
    entry = REGISTRY.by_tag(fields[0])
    if entry is None:
        raise CodecError(f"unknown message tag {fields[0]!r}")
    values = fields[1:]
    if entry.is_enum:
        if len(values) != 1:
            raise CodecError(f"enum record {fields!r:.80} needs exactly one value")
        return entry.cls(values[0])
    if len(values) != len(entry.fields):
        raise CodecError(
            f"{entry.tag} has {len(entry.fields)} fields, the record has {len(values)}"
        )
    return entry.cls(**dict(zip(entry.fields, values, strict=True)))


MAX_RECORD_DEPTH = 64
"""How deep records may nest inside records: each level re-enters msgpack's C unpacker,
and a crafted log a few KiB long would otherwise overflow the C stack (a segfault)."""
_depth = [0]


def ext_hook(code: int, data: bytes) -> object:
    """msgpack ``ext_hook``: the inverse of `pack_default`."""
    if code == EXT_MASK:
        return CpuMask(int.from_bytes(data, "little"))
    if code in (EXT_RECORD, EXT_ENUM):
        if _depth[0] >= MAX_RECORD_DEPTH:
            raise CodecError(f"records nested more than {MAX_RECORD_DEPTH} deep")
        _depth[0] += 1
        try:
            record = _unpackb(data)
        finally:
            _depth[0] -= 1
        if not isinstance(record, tuple):
            raise CodecError(f"ext record is not an array: {record!r:.80}")
        return _build(record)
    if code == EXT_BIGINT:
        return int.from_bytes(data, "little", signed=True)
    raise CodecError(f"unknown ext type {code}")


def _unpackb(data: bytes) -> Any:
    return msgpack.unpackb(data, use_list=False, strict_map_key=False, ext_hook=ext_hook)


_packer = msgpack.Packer(default=pack_default, strict_types=True)


def encode(msg: object) -> tuple[str, bytes]:
    """``msg -> (tag, bytes)``; `CodecError` if its class is not registered."""
    entry = REGISTRY.by_class(type(msg))
    if entry is None or entry.is_enum:
        raise CodecError(f"{type(msg).__qualname__} is not a registered message (use @message)")
    return entry.tag, _packer.pack([entry.tag, *entry.values(msg)])


def encode_for_delivery(msg: object, logged: bool = True) -> tuple[str, bytes, object]:
    """`encode`, plus what the receiver gets: *msg* itself if immutable, else `DECODE`.

    An immutable message (`Registry.immutable`) is handed over as is: decoding
    its bytes would give an equal object that nobody can tell apart from it.
    Unless *logged*, nobody reads its bytes either, and they are not made (b"").
    """
    entry = REGISTRY.by_class(type(msg))
    if entry is None or entry.is_enum:
        raise CodecError(f"{type(msg).__qualname__} is not a registered message (use @message)")
    if REGISTRY.immutable(entry.cls):
        payload = _packer.pack([entry.tag, *entry.values(msg)]) if logged else b""
        return entry.tag, payload, msg
    return entry.tag, _packer.pack([entry.tag, *entry.values(msg)]), DECODE


DECODE: object = object()
"""`encode_for_delivery`'s marker: the receiver must decode the bytes."""


def decode(data: bytes) -> object:
    """Bytes from `encode` -> a new, equal message object."""
    try:
        record = _unpackb(data)
    except (ValueError, msgpack.UnpackException) as exc:
        if isinstance(exc, CodecError):
            raise
        raise CodecError(f"undecodable message bytes: {exc}") from exc
    if not isinstance(record, tuple):
        raise CodecError(f"not a message record: {record!r:.80}")
    return _build(record)


def encode_value(value: object) -> bytes:
    """Any codec-supported value (not only messages) -> bytes."""
    return _packb(value)


def decode_value(data: bytes) -> object:
    """The inverse of `encode_value`."""
    return _unpackb(data)


def to_jsonable(value: object) -> object:
    """A JSON view for people and jq: masks as cpulists, messages as dicts with ``_tag``."""
    kind = type(value)
    if value is None or kind in (int, float, str, bool):
        return value
    if kind is CpuMask:
        return str(value)
    if kind in (tuple, list):
        return [to_jsonable(item) for item in value]  # type: ignore[attr-defined]
    if kind is bytes:
        return value.hex()  # type: ignore[attr-defined]
    if isinstance(value, Mapping):
        return {str(key): to_jsonable(item) for key, item in value.items()}
    entry = REGISTRY.by_class(kind)
    if entry is not None and entry.is_enum:
        return value.name  # type: ignore[attr-defined]
    if entry is not None:
        view: dict[str, object] = {"_tag": entry.tag}
        view.update(zip(entry.fields, map(to_jsonable, entry.values(value)), strict=True))
        return view
    if isinstance(value, int):
        return int(value)
    raise CodecError(f"no JSON view for a {kind.__qualname__}")
