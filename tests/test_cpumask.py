"""CpuMask: the immutable int-backed CPU / node set (topology/cpumask.py)."""

from __future__ import annotations

import errno
import pickle

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from topology import CpuMask, MaskParseError, NodeMask

small_sets = st.frozensets(st.integers(0, 200), max_size=30)
masks = st.one_of(
    small_sets.map(CpuMask.of),
    st.integers(0, (1 << 700) - 1).map(CpuMask),  # dense and wide: the >64-bit paths
)


# -- construction and text ----------------------------------------------------------


def test_cpumask_of_and_span_and_parse_agree() -> None:
    assert (CpuMask.of([0, 1, 2, 3]), CpuMask.span(0, 3)) == (CpuMask.parse("0-3"),) * 2


def test_cpumask_span_with_last_below_first_is_empty() -> None:
    assert CpuMask.span(5, 4) == CpuMask()


def test_cpumask_of_refuses_negative_cpus() -> None:
    with pytest.raises(ValueError, match="negative CPU number -1"):
        CpuMask.of([3, -1])


def test_cpumask_refuses_negative_bits() -> None:
    with pytest.raises(ValueError, match="negative bits"):
        CpuMask(-1)


def test_cpumask_str_is_the_cpulist_and_repr_shows_it() -> None:
    mask = CpuMask.of([0, 1, 2, 3, 8, 10, 11])
    assert (str(mask), repr(mask), str(CpuMask())) == (
        "0-3,8,10-11",
        "CpuMask('0-3,8,10-11')",
        "",
    )


@pytest.mark.parametrize(
    ("cpus", "nbits", "expected"),
    [([0, 1, 2, 3], 4, "f"), ([0, 1], 8, "03"), ([0, 1], 64, "00000000,00000003")],
)
def test_cpumask_hex_is_the_kernel_pb_format(cpus: list[int], nbits: int, expected: str) -> None:
    assert CpuMask.of(cpus).hex(nbits) == expected


def test_cpumask_parse_passes_the_width_through_for_n_and_erange() -> None:
    with pytest.raises(MaskParseError) as info:
        CpuMask.parse("0-8", 8)
    assert (CpuMask.parse("4-N", 8), info.value.errno) == (CpuMask.span(4, 7), errno.ERANGE)


def test_cpumask_parse_hex_reads_the_pb_format() -> None:
    assert CpuMask.parse_hex("00000001,00000003", 64) == CpuMask.of([0, 1, 32])


def test_nodemask_is_the_same_value_type() -> None:
    assert NodeMask.parse("0-1") == CpuMask.of([0, 1])


# -- queries -------------------------------------------------------------------------


def test_cpumask_len_is_the_weight_and_bool_is_non_empty() -> None:
    mask = CpuMask.parse("0-3,64")
    assert (len(mask), bool(mask), bool(CpuMask())) == (5, True, False)


def test_cpumask_iterates_in_ascending_order() -> None:
    assert list(CpuMask.parse("100,3,64-65,0")) == [0, 3, 64, 65, 100]


def test_cpumask_contains_only_its_own_non_negative_ints() -> None:
    mask = CpuMask.of([2])
    assert [2 in mask, 3 in mask, -1 in mask, "2" in mask] == [True, False, False, False]


def test_cpumask_first_last_nth_and_ord() -> None:
    mask = CpuMask.parse("3,5,9")
    assert (mask.first(), mask.last(), mask.nth(1), mask.ord(9)) == (3, 9, 5, 2)


def test_cpumask_first_and_last_of_empty_mask_raise() -> None:
    with pytest.raises(ValueError, match="first"):
        CpuMask().first()
    with pytest.raises(ValueError, match="last"):
        CpuMask().last()


def test_cpumask_nth_beyond_the_weight_raises_index_error() -> None:
    with pytest.raises(IndexError, match="no bit number 3"):
        CpuMask.parse("3,5,9").nth(3)


def test_cpumask_ord_of_a_bit_not_set_raises() -> None:
    with pytest.raises(ValueError, match="bit 4 is not in mask 3,5,9"):
        CpuMask.parse("3,5,9").ord(4)


# -- value semantics -----------------------------------------------------------------


def test_cpumask_is_immutable() -> None:
    mask = CpuMask.of([1])
    with pytest.raises(AttributeError, match="immutable"):
        mask.bits = 3
    assert mask == CpuMask.of([1])


def test_cpumask_equal_masks_hash_alike_whatever_their_origin() -> None:
    a, b = CpuMask.parse("0-3"), CpuMask.parse_hex("f")
    assert (a == b, hash(a) == hash(b), len({a, b})) == (True, True, 1)


def test_cpumask_is_never_equal_to_a_plain_int() -> None:
    assert (CpuMask(3) == 3) is False


def test_cpumask_survives_pickling() -> None:
    mask = CpuMask.parse("0-3,4095")
    assert pickle.loads(pickle.dumps(mask)) == mask


def test_cpumask_subset_comparisons() -> None:
    a, b = CpuMask.parse("0-1"), CpuMask.parse("0-3")
    assert (a <= b, a < b, b >= a, b > a, b <= a, a < a, a <= a) == (
        True,
        True,
        True,
        True,
        False,
        False,
        True,
    )


def test_cpumask_intersects() -> None:
    a = CpuMask.parse("0-3")
    assert (a.intersects(CpuMask.of([3, 9])), a.intersects(CpuMask.of([9]))) == (True, False)


# -- properties ----------------------------------------------------------------------


@given(masks)
def test_cpumask_parse_reads_back_its_own_cpulist(mask: CpuMask) -> None:
    assert CpuMask.parse(str(mask)) == mask


@given(masks, st.integers(0, 100))
def test_cpumask_parse_hex_reads_back_its_own_hex(mask: CpuMask, extra: int) -> None:
    nbits = (mask.last() + 1 if mask else 0) + extra
    assert CpuMask.parse_hex(mask.hex(nbits), nbits) == mask


@given(masks)
def test_cpumask_iteration_and_membership_match_the_python_set(mask: CpuMask) -> None:
    cpus = list(mask)
    assert (cpus, len(mask), all(c in mask for c in cpus)) == (
        sorted(set(cpus)),
        len(set(cpus)),
        True,
    )
    assert CpuMask.of(cpus) == mask


@given(small_sets, small_sets)
def test_cpumask_set_operators_obey_python_set_laws(a: frozenset[int], b: frozenset[int]) -> None:
    ma, mb = CpuMask.of(a), CpuMask.of(b)
    assert [set(ma | mb), set(ma & mb), set(ma - mb), set(ma ^ mb)] == [a | b, a & b, a - b, a ^ b]
    assert (ma <= mb, ma < mb, ma >= mb, ma > mb, ma.intersects(mb)) == (
        a <= b,
        a < b,
        a >= b,
        a > b,
        bool(a & b),
    )


@given(masks)
def test_cpumask_nth_and_ord_are_inverse(mask: CpuMask) -> None:
    assert [mask.ord(mask.nth(k)) for k in range(len(mask))] == list(range(len(mask)))
    assert [mask.nth(mask.ord(bit)) for bit in mask] == list(mask)


@given(masks)
def test_cpumask_first_and_last_are_the_ends_of_the_iteration(mask: CpuMask) -> None:
    assume(mask)
    cpus = list(mask)
    assert (mask.first(), mask.last()) == (cpus[0], cpus[-1])
