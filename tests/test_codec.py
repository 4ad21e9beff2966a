"""actors/codec.py and the registry of actors/messages.py: every registered type round-trips."""

from __future__ import annotations

import enum
import types
from dataclasses import dataclass

import actors_toys as toys
import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.codec import CodecError, decode, decode_value, encode, encode_value, to_jsonable
from actors.messages import REGISTRY, Registry, RegistryError, message
from topology.cpumask import CpuMask

masks = st.builds(CpuMask, st.integers(min_value=0, max_value=(1 << 5000) - 1))
st.register_type_strategy(CpuMask, masks)


@message("test.codec.Color")
class Color(enum.IntEnum):
    RED = 1
    GREEN = 2


@message("test.codec.Carrier")
@dataclass(frozen=True, slots=True, kw_only=True)
class Carrier:
    """test -> nobody: one field of every kind the codec supports."""

    mask: CpuMask
    values: tuple[int, ...]
    table: dict[int, str]
    nested: toys.Ping | None
    big: int
    color: Color
    blob: bytes
    ratio: float
    flag: bool


def carrier(**changes: object) -> Carrier:
    fields: dict[str, object] = {
        "mask": CpuMask.of([0, 64, 1023]),
        "values": (1, (2, 3), ()),
        "table": {7: "seven", -1: "minus one"},
        "nested": toys.Ping(n=3),
        "big": 1 << 100,
        "color": Color.GREEN,
        "blob": b"\x00\xff",
        "ratio": 0.25,
        "flag": True,
    }
    fields.update(changes)
    return Carrier(**fields)  # type: ignore[arg-type]


def test_carrier_round_trips_to_an_equal_fresh_object() -> None:
    msg = carrier()
    tag, data = encode(msg)
    copy = decode(data)
    assert (tag, copy, copy is msg) == ("test.codec.Carrier", msg, False)


def test_decoded_enum_field_keeps_its_enum_type() -> None:
    copy = decode(encode(carrier())[1])
    assert isinstance(copy, Carrier)
    assert type(copy.color) is Color


def test_mask_of_4096_cpus_round_trips() -> None:
    mask = CpuMask.span(0, 4095)
    assert decode_value(encode_value(mask)) == mask


def test_empty_mask_round_trips() -> None:
    assert decode_value(encode_value(CpuMask())) == CpuMask()


@pytest.mark.parametrize("value", [(1 << 64), -(1 << 63) - 1, -(1 << 200), (1 << 64) - 1])
def test_ints_beyond_64_bits_round_trip(value: int) -> None:
    assert decode_value(encode_value(value)) == value


def test_lists_come_back_as_tuples() -> None:
    assert decode_value(encode_value([1, [2, 3]])) == (1, (2, 3))


def test_int_map_keys_round_trip() -> None:
    assert decode_value(encode_value({1: "a", 2: (3,)})) == {1: "a", 2: (3,)}


@given(mask=masks)
def test_any_mask_round_trips(mask: CpuMask) -> None:
    assert decode_value(encode_value(mask)) == mask


@pytest.mark.parametrize("entry", [e for e in REGISTRY if not e.is_enum], ids=lambda e: e.tag)
@given(data=st.data())
def test_every_registered_message_type_round_trips(entry: object, data: st.DataObject) -> None:
    cls = entry.cls  # type: ignore[attr-defined]
    msg = data.draw(st.from_type(cls))
    tag, encoded = encode(msg)
    copy = decode(encoded)
    # bytes, not ==: a NaN field is never equal to itself
    assert (type(copy), encode(copy)) == (cls, (tag, encoded))


def test_unregistered_message_is_refused() -> None:
    @dataclass(frozen=True, slots=True, kw_only=True)
    class Stray:
        n: int

    with pytest.raises(CodecError, match="not a registered message"):
        encode(Stray(n=1))


def test_unsupported_field_value_is_refused() -> None:
    with pytest.raises(CodecError, match="cannot encode a set"):
        encode(toys.Ping(n={1}))  # type: ignore[arg-type]


def test_garbage_bytes_are_not_a_message() -> None:
    with pytest.raises(CodecError):
        decode(b"\xc1")


def test_unknown_tag_is_refused() -> None:
    with pytest.raises(CodecError, match="unknown message tag 'nope'"):
        decode(encode_value(("nope", 1)))


def test_record_with_wrong_field_count_is_refused() -> None:
    with pytest.raises(CodecError, match=r"toy\.Ping has 1 fields, the record has 2"):
        decode(encode_value(("toy.Ping", 1, 2)))


def test_jsonable_view_shows_masks_as_cpulists_and_messages_by_tag() -> None:
    view = to_jsonable(carrier())
    assert isinstance(view, dict)
    expected = {
        "_tag": "test.codec.Carrier",
        "mask": "0,64,1023",
        "values": [1, [2, 3], []],
        "table": {"7": "seven", "-1": "minus one"},
        "nested": {"_tag": "toy.Ping", "n": 3},
        "big": 1 << 100,
        "color": "GREEN",
        "blob": "00ff",
        "ratio": 0.25,
        "flag": True,
    }
    assert view == expected


def test_registry_refuses_a_mutable_dataclass() -> None:
    @dataclass(slots=True, kw_only=True)
    class Mutable:
        n: int

    with pytest.raises(RegistryError, match="frozen"):
        Registry().register(Mutable, "m")


def test_registry_refuses_a_set_field_msgpack_cannot_encode() -> None:
    """Handed over as is with the log off, it would crash the run with the log on."""

    @dataclass(frozen=True, slots=True, kw_only=True)
    class WithSet:
        cpus: frozenset[int]

    @dataclass(frozen=True, slots=True, kw_only=True)
    class Nested:
        pairs: tuple[tuple[int, set[int]], ...]

    for cls in (WithSet, Nested):
        with pytest.raises(RegistryError, match="a set cannot be encoded"):
            Registry().register(cls, "s")


def test_registry_refuses_positional_fields() -> None:
    @dataclass(frozen=True, slots=True)
    class Positional:
        n: int

    with pytest.raises(RegistryError, match="kw_only"):
        Registry().register(Positional, "p")


def test_registry_refuses_a_dataclass_without_slots() -> None:
    @dataclass(frozen=True, kw_only=True)
    class Loose:
        n: int

    with pytest.raises(RegistryError, match="slots"):
        Registry().register(Loose, "l")


def test_registry_refuses_a_reused_tag() -> None:
    with pytest.raises(RegistryError, match="already names"):
        message("toy.Ping")(Color)


def test_registry_lists_types_in_tag_order() -> None:
    tags = [entry.tag for entry in REGISTRY]
    assert tags == sorted(tags)


def test_every_task_field_fits_a_task_record_value() -> None:
    # TaskRecord spells out its value types so that the bus may hand records over
    # uncopied (Registry.immutable); a new Task field of another type must fail here.
    from typing import Union, get_args, get_origin, get_type_hints

    from actors.messages import REGISTRY, TaskRecord, TaskValue
    from actors.task import Task

    allowed = set(get_args(TaskValue))
    for name, hint in get_type_hints(Task).items():
        members = get_args(hint) if get_origin(hint) in (Union, types.UnionType) else (hint,)
        assert set(members) <= allowed, f"Task.{name}: {hint}"
    assert REGISTRY.immutable(TaskRecord)


def test_delivery_without_a_log_skips_the_bytes_of_immutable_messages_only() -> None:
    import actors_toys as toys

    from actors.codec import DECODE, decode, encode_for_delivery

    ping = toys.Ping(n=3)
    assert encode_for_delivery(ping, logged=False) == ("toy.Ping", b"", ping)
    tag, payload, given = encode_for_delivery(ping)
    assert (tag, decode(payload), given) == ("toy.Ping", ping, ping)
    bag = toys.Bag(items={"a": 1})
    tag, payload, given = encode_for_delivery(bag, logged=False)
    assert given is DECODE
    assert decode(payload) == bag


def test_cached_packing_keeps_equal_values_of_different_types_apart() -> None:
    # The codec caches the packed form of small immutable values; two IntEnum members
    # that compare equal (both 1) must not share a cache entry.
    from actors.codec import decode_value, encode_value

    values = (toys.Color.RED, toys.Size.BIG, toys.Size.BIG, toys.Color.RED, CpuMask(1))
    assert int(toys.Color.RED) == int(toys.Size.BIG)
    for _ in range(2):  # the second time from the cache
        out = decode_value(encode_value(values))
        assert out == values
        assert [type(v) for v in out] == [toys.Color, toys.Size, toys.Size, toys.Color, CpuMask]


def test_cached_packing_never_merges_equal_values_that_pack_differently() -> None:
    import math

    from actors.codec import decode_value, encode_value

    encode_value((toys.Weight(x=0.0), toys.Weight(x=1.0)))  # warm any cache
    out = decode_value(encode_value((toys.Weight(x=-0.0), toys.Weight(x=True))))
    assert isinstance(out, tuple)
    assert math.copysign(1.0, out[0].x) == -1.0
    assert out[1].x is True
