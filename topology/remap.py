"""Relative-placement bitmap operators (lib/bitmap.c, include/linux/nodemask.h, mm/mempolicy.c).

These keep a mask's *position relative to a set* when the set moves: a task
bound to "the second node of its cpuset" stays on the second node after the
cpuset's mems change (SPEC §4.1, MP-REMAP-1..3).
"""

from __future__ import annotations

from topology.cpumask import CpuMask

__all__ = ["bitremap", "fold", "onto", "relative", "remap"]


def bitremap(bit: int, old: CpuMask, new: CpuMask) -> int:
    """bitmap_bitremap / node_remap (MP-REMAP-1).

    A bit outside *old*, or any bit when *new* is empty, maps to itself; else
    the bit of *new* with the same ordinal, modulo the weight of *new*.
    """
    if bit not in old or not new:
        return bit
    return new.nth(old.ord(bit) % len(new))


def remap(src: CpuMask, old: CpuMask, new: CpuMask) -> CpuMask:
    """bitmap_remap / nodes_remap (MP-REMAP-2): bitremap every bit; collisions merge.

    >>> str(remap(CpuMask.parse("1,5,7"), CpuMask.parse("4-7"), CpuMask.parse("12-15")))
    '1,13,15'
    """
    if not old or not new:
        return src
    return CpuMask.of(bitremap(bit, old, new) for bit in src)


def fold(orig: CpuMask, sz: int) -> CpuMask:
    """bitmap_fold (MP-REMAP-3): every bit m becomes m mod sz."""
    if sz <= 0:
        raise ValueError("fold() needs a positive size")
    return CpuMask.of(bit % sz for bit in orig)


def onto(orig: CpuMask, relmap: CpuMask) -> CpuMask:
    """bitmap_onto (MP-REMAP-3): bit m -> the m-th bit of *relmap*; bits >= w(relmap) vanish."""
    weight = len(relmap)
    return CpuMask.of(relmap.nth(bit) for bit in orig if bit < weight)


def relative(user: CpuMask, rel: CpuMask) -> CpuMask:
    """mpol_relative_nodemask (MP-REMAP-3): onto(fold(user, w(rel)), rel); empty if rel is."""
    if not rel:
        return CpuMask()
    return onto(fold(user, len(rel)), rel)
