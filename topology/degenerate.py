"""Removing domains that do not contribute (SPEC §1.7, DEG-1..4).

kernel/sched.c 2.6.14 / 2.6.20: sd_degenerate, sd_parent_degenerate,
cpu_attach_domain; kernel/sched/topology.c 6.18: the same three, with the
NEEDS_GROUPS metaflag set and a splice loop that re-tests after each removal.

Era differences that change results:

* 2.6.x's loop advances after splicing a parent out (``for (tmp = sd; tmp;
  tmp = tmp->parent)``), so the new parent is *not* re-tested against the
  same child; 6.x re-tests.  A domain two levels up with the same span can
  therefore survive in 2.6 and go in 6.x.
* 2.6.x: WAKE_BALANCE counts as a subset of WAKE_AFFINE; NEEDS_GROUPS gains
  SHARE_CPUPOWER and SHARE_PKG_RESOURCES in 2.6.20.
* 6.x copies SD_PREFER_SIBLING down from a removed parent.
"""

from __future__ import annotations

from topology.sched_domain import SchedDomain
from topology.sd_flags import (
    NEEDS_GROUPS_2614,
    NEEDS_GROUPS_2620,
    NEEDS_GROUPS_MODERN,
    WAKE_FLAGS_26,
    SdFlag,
)

__all__ = ["cpu_attach_domain", "sd_degenerate", "sd_parent_degenerate"]

_NEEDS_GROUPS = {
    "2.6.13": NEEDS_GROUPS_2614.value,
    "2.6.14": NEEDS_GROUPS_2614.value,
    "2.6.20": NEEDS_GROUPS_2620.value,
    "modern": NEEDS_GROUPS_MODERN.value,
}
# The tests run per domain of every CPU: plain ints, not enum.Flag arithmetic.
_AFFINE = SdFlag.WAKE_AFFINE.value
_WAKE = {era: _AFFINE if era == "modern" else WAKE_FLAGS_26.value for era in _NEEDS_GROUPS}
_WAKE_BALANCE = SdFlag.WAKE_BALANCE.value


def _one_group(sd: SchedDomain) -> bool:
    groups = sd.groups
    return groups is not None and groups.next is groups


def sd_degenerate(sd: SchedDomain, era: str) -> bool:
    """DEG-1: a one-CPU domain, or one whose flags need groups it lacks and that wakes nobody."""
    if sd.span.bits.bit_count() == 1:
        return True
    flags = sd.flags.value
    if flags & _NEEDS_GROUPS[era] and not _one_group(sd):
        return False
    return not flags & _WAKE[era]


def sd_parent_degenerate(child: SchedDomain, parent: SchedDomain, era: str) -> bool:
    """DEG-2: *parent* adds nothing to *child* (same span, no flag the child lacks)."""
    if sd_degenerate(parent, era):
        return True
    if child.span.bits != parent.span.bits:
        return False
    pflags, cflags = parent.flags.value, child.flags.value
    if era != "modern" and cflags & _AFFINE:
        pflags &= ~_WAKE_BALANCE
    if _one_group(parent):
        pflags &= ~_NEEDS_GROUPS[era]
    return not pflags & ~cflags


def cpu_attach_domain(sd: SchedDomain | None, era: str) -> SchedDomain | None:
    """DEG-3: splice degenerate parents out of the chain at *sd*; return the base to attach.

    Also sets the ``child`` links of the surviving chain (2.6.20+ and 6.x keep
    them this way; 2.6.14 had no child field, the link is informational there).
    """
    tmp = sd
    while tmp is not None and tmp.parent is not None:
        parent = tmp.parent
        if sd_parent_degenerate(tmp, parent, era):
            tmp.parent = parent.parent
            if era == "modern":
                if parent.flags & SdFlag.PREFER_SIBLING:
                    tmp.flags |= SdFlag.PREFER_SIBLING
                continue  # 6.x re-tests tmp against its new parent
        tmp = tmp.parent
    if sd is not None and sd_degenerate(sd, era):
        sd = sd.parent
    _relink_children(sd)
    return sd


def _relink_children(base: SchedDomain | None) -> None:
    if base is None:
        return
    base.child = None
    sd = base
    while sd.parent is not None:
        sd.parent.child = sd
        sd = sd.parent
