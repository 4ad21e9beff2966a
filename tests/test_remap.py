"""Relative-placement operators (topology/remap.py), SPEC §4.1 MP-REMAP-1..3.

Each worked example of SPEC §4.1 is a test of its own; the laws are checked
with Hypothesis against lib/bitmap.c's definitions.
"""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from topology import CpuMask, bitremap, fold, onto, relative, remap


def m(text: str) -> CpuMask:
    return CpuMask.parse(text)


masks = st.frozensets(st.integers(0, 80), max_size=20).map(CpuMask.of)


# -- MP-REMAP-1: bitremap -------------------------------------------------------------


@pytest.mark.parametrize(
    ("bit", "old", "new", "expected"),
    [
        (5, "4-7", "12-15", 13),  # ord 1 -> nth 1
        (3, "0-3", "4,5", 5),  # ord 3 mod 2 = 1 -> 5
        (6, "0-3", "4-7", 6),  # not in old: identity
        (2, "0-3", "", 2),  # empty new: identity
    ],
)
def test_bitremap_maps_by_ordinal_modulo_the_new_weight(
    bit: int, old: str, new: str, expected: int
) -> None:
    assert bitremap(bit, m(old), m(new)) == expected


# -- MP-REMAP-2: remap, the worked examples -----------------------------------------


def test_remap_example_old_4_7_new_12_15() -> None:
    assert remap(m("1,5,7"), m("4-7"), m("12-15")) == m("1,13,15")


def test_remap_example_collisions_merge() -> None:
    assert remap(m("1,3"), m("0-3"), m("4,5")) == m("5")


def test_remap_example_overlapping_old_and_new() -> None:
    assert remap(m("1,3"), m("0-3"), m("2-5")) == m("3,5")


def test_remap_example_bits_outside_old_are_kept() -> None:
    assert remap(m("1,6"), m("0-3"), m("4-7")) == m("5,6")


@pytest.mark.parametrize(("old", "new"), [("", "4-7"), ("0-3", "")])
def test_remap_with_an_empty_old_or_new_returns_src(old: str, new: str) -> None:
    assert remap(m("1,6"), m(old), m(new)) == m("1,6")


def test_remap_examples_of_mp_reb_ex() -> None:
    # cpuset mems {0,1} -> {2,3}: plain INTERLEAVE nodes {1} -> {3}, BIND {0,1} -> {2,3};
    # then {2,3} -> {2}: {3} -> {2}.
    assert (
        remap(m("1"), m("0-1"), m("2-3")),
        remap(m("0-1"), m("0-1"), m("2-3")),
        remap(m("3"), m("2-3"), m("2")),
    ) == (m("3"), m("2-3"), m("2"))


# -- MP-REMAP-3: fold, onto, relative -------------------------------------------------


def test_fold_takes_every_bit_modulo_the_size() -> None:
    assert fold(m("1,5,9,12"), 4) == m("0-1")


def test_fold_refuses_a_size_of_zero() -> None:
    with pytest.raises(ValueError, match="positive size"):
        fold(m("1"), 0)


def test_onto_maps_bit_m_to_the_mth_bit_of_relmap_and_drops_the_rest() -> None:
    assert onto(m("0,2,7"), m("4,6,9")) == m("4,9")


@pytest.mark.parametrize(
    ("mems", "expected"),
    [
        ("4-7", "5-7"),
        ("1-3", "1-3"),
        ("1-7", "2-4"),
        ("1,5-6", "1,5-6"),
        ("1,5-7", "5-7"),
    ],
)
def test_relative_reproduces_the_mpol_f_relative_nodes_table(mems: str, expected: str) -> None:
    # MPOL_F_RELATIVE_NODES commit message (2.6.26): user mask 1-3.
    assert relative(m("1-3"), m(mems)) == m(expected)


def test_relative_example_of_mp_reb_ex() -> None:
    assert relative(m("1"), m("2-3")) == m("3")


def test_relative_onto_an_empty_set_is_empty() -> None:
    assert relative(m("1-3"), CpuMask()) == CpuMask()


# -- laws -------------------------------------------------------------------------------


@given(masks, masks)
def test_remap_with_old_equal_to_new_is_the_identity(src: CpuMask, old: CpuMask) -> None:
    assert remap(src, old, old) == src


@given(masks, masks, masks)
def test_remap_is_bitremap_of_every_bit(src: CpuMask, old: CpuMask, new: CpuMask) -> None:
    assert remap(src, old, new) == CpuMask.of(bitremap(b, old, new) for b in src)


@given(masks, masks, masks)
def test_remap_lands_in_new_or_keeps_bits_outside_old(
    src: CpuMask, old: CpuMask, new: CpuMask
) -> None:
    assume(new)
    assert remap(src, old, new) <= new | (src - old)


@given(masks, masks)
def test_remap_of_old_itself_fills_new_from_its_lowest_bit(old: CpuMask, new: CpuMask) -> None:
    assume(old and new)
    expected = CpuMask.of(new.nth(k) for k in range(min(len(old), len(new))))
    assert remap(old, old, new) == expected


@given(st.integers(0, 100), masks, masks)
def test_bitremap_sends_bits_of_old_into_new_and_fixes_the_rest(
    bit: int, old: CpuMask, new: CpuMask
) -> None:
    assume(new)
    result = bitremap(bit, old, new)
    if bit in old:
        assert new.ord(result) == old.ord(bit) % len(new)
    else:
        assert result == bit


@given(masks, st.integers(1, 40))
def test_fold_weight_is_at_most_sz_and_bits_are_below_sz(orig: CpuMask, sz: int) -> None:
    folded = fold(orig, sz)
    assert (len(folded) <= sz, folded <= CpuMask.span(0, sz - 1)) == (True, True)


@given(masks, st.integers(1, 40))
def test_fold_leaves_a_mask_below_sz_unchanged(orig: CpuMask, sz: int) -> None:
    below = orig & CpuMask.span(0, sz - 1)
    assert fold(below, sz) == below


@given(masks, masks)
def test_onto_lands_in_relmap_with_one_bit_per_low_bit(orig: CpuMask, rel: CpuMask) -> None:
    low = orig & CpuMask.span(0, len(rel) - 1)
    result = onto(orig, rel)
    assert (result <= rel, len(result)) == (True, len(low))


@given(masks)
def test_onto_of_the_first_w_bits_is_relmap_itself(rel: CpuMask) -> None:
    assert onto(CpuMask.span(0, len(rel) - 1), rel) == rel


@given(masks, masks)
def test_relative_lands_in_rel_and_is_non_empty(user: CpuMask, rel: CpuMask) -> None:
    result = relative(user, rel)
    assert result <= rel
    assert bool(result) == bool(user and rel)


@given(masks, masks)
def test_relative_is_onto_of_fold(user: CpuMask, rel: CpuMask) -> None:
    assume(rel)
    assert relative(user, rel) == onto(fold(user, len(rel)), rel)
