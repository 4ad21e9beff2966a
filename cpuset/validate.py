"""validate_change: the structural rules every cpuset write must keep (SPEC §3.2).

Models kernel/cpuset.c ``validate_change`` (2.6.14, 2.6.24) and
kernel/cgroup/cpuset.c ``validate_change`` + cpuset-v1.c
``cpuset1_validate_change`` (6.18), checked in the kernel's order so that the
first broken rule decides the errno:

* CS-VAL-1 / CS-VAL-4  every child must stay a subset of the trial  -> EBUSY (v1 only)
* CS-VAL-2 / CS-VAL-4  the trial must stay a subset of its parent  -> EACCES (v1 only)
* CS-VAL-5             a populated cpuset cannot lose all its cpus or mems -> ENOSPC
                       (2.6.24: "has tasks and trial is empty", checked last)
* CS-VAL-3 / CS-VAL-7  exclusive siblings must not overlap         -> EINVAL

"Subset" includes the exclusive flags: a cpuset can be exclusive only if its
parent is (is_cpuset_subset).
"""

from __future__ import annotations

import errno

from cpuset.tree import Cpuset, CpusetConfig, CpusetError, CpusetTree, CsFlag

__all__ = ["cpus_excl_conflict", "is_cpuset_subset", "subset_failure", "validate_change"]

# SIMPLIFIED: SCHED_DEADLINE bandwidth is not modelled, so CS-VAL-6 (EBUSY when
# an exclusive cpuset's deadline tasks would not fit) never fires.

_EXCLUSIVE = (CsFlag.CPU_EXCLUSIVE, CsFlag.MEM_EXCLUSIVE)


def is_cpuset_subset(p: CpusetConfig, q: CpusetConfig) -> bool:
    """is_cpuset_subset(p, q): p's cpus and mems within q's, p exclusive only where q is."""
    return subset_failure(p, q) is None


def subset_failure(p: CpusetConfig, q: CpusetConfig) -> str | None:
    """Which part of is_cpuset_subset(p, q) fails, as words; None if p is a subset."""
    if not p.cpus <= q.cpus:
        return f"cpus {p.cpus - q.cpus} outside {q.cpus or 'an empty cpus'}"
    if not p.mems <= q.mems:
        return f"mems {p.mems - q.mems} outside {q.mems or 'an empty mems'}"
    for flag in _EXCLUSIVE:
        if p.has(flag) and not q.has(flag):
            name = (flag.name or "").lower()
            return f"{name} set without {name} above"
    return None


def cpus_excl_conflict(a: CpusetConfig, b: CpusetConfig, modern: bool) -> bool:
    """Do two sibling cpusets break CPU exclusivity? (CS-VAL-3; modern CS-VAL-7 a-c)."""
    if not modern:
        exclusive = a.has(CsFlag.CPU_EXCLUSIVE) or b.has(CsFlag.CPU_EXCLUSIVE)
        return exclusive and a.cpus.intersects(b.cpus)
    if a.has(CsFlag.CPU_EXCLUSIVE) or b.has(CsFlag.CPU_EXCLUSIVE):
        return (a.exclusive_cpus or a.cpus).intersects(b.exclusive_cpus or b.cpus)
    if a.exclusive_cpus and b.exclusive_cpus:
        return a.exclusive_cpus.intersects(b.exclusive_cpus)
    if a.cpus and b.exclusive_cpus and a.cpus <= b.exclusive_cpus:
        return True
    return bool(b.cpus and a.exclusive_cpus and b.cpus <= a.exclusive_cpus)


def validate_change(tree: CpusetTree, cur: Cpuset, trial: CpusetConfig) -> None:
    """Raise CpusetError if replacing cur's config with *trial* breaks a rule."""
    era = tree.era
    rule = "CS-VAL-4" if era.strict_flag_parse else "CS-VAL-1"
    if not era.v2:
        _check_children(tree, cur, trial, rule)
    if cur.parent is None:
        return
    if not era.v2:
        _check_parent(tree, cur, trial, "CS-VAL-4" if era.strict_flag_parse else "CS-VAL-2")
    modern = era.strict_flag_parse
    if modern:
        _check_populated(tree, cur, trial)
    _check_siblings(tree, cur, trial, modern)
    if era.name == "2.6.24" and cur.tasks and not (trial.cpus and trial.mems):
        what = "cpus" if not trial.cpus else "mems"
        raise CpusetError(errno.ENOSPC, f"{tree.display(cur)} has tasks: {what} cannot be empty")


def _check_children(tree: CpusetTree, cur: Cpuset, trial: CpusetConfig, rule: str) -> None:
    for child in cur.children:
        why = subset_failure(child.config, trial)
        if why is not None:
            raise CpusetError(
                errno.EBUSY,
                f"child {tree.display(child)} would not be a subset: {why} ({rule})",
            )


def _check_parent(tree: CpusetTree, cur: Cpuset, trial: CpusetConfig, rule: str) -> None:
    assert cur.parent is not None
    why = subset_failure(trial, cur.parent.config)
    if why is not None:
        raise CpusetError(
            errno.EACCES, f"not a subset of parent {tree.display(cur.parent)}: {why} ({rule})"
        )


def _check_populated(tree: CpusetTree, cur: Cpuset, trial: CpusetConfig) -> None:
    if not cur.populated():
        return
    for what, old, new in (
        ("cpus", cur.config.cpus, trial.cpus),
        ("mems", cur.config.mems, trial.mems),
    ):
        if old and not new:
            raise CpusetError(
                errno.ENOSPC,
                f"{tree.display(cur)} has tasks: {what} cannot become empty (CS-VAL-5)",
            )


def _check_siblings(tree: CpusetTree, cur: Cpuset, trial: CpusetConfig, modern: bool) -> None:
    assert cur.parent is not None
    rule = "CS-VAL-7" if modern else "CS-VAL-3"
    for sib in cur.parent.children:
        if sib is cur:
            continue
        if cpus_excl_conflict(trial, sib.config, modern):
            which = "cpu_exclusive sibling" if sib.has(CsFlag.CPU_EXCLUSIVE) else "sibling"
            raise CpusetError(errno.EINVAL, f"cpus overlap {which} {tree.display(sib)} ({rule})")
        mem_excl = trial.has(CsFlag.MEM_EXCLUSIVE) or sib.has(CsFlag.MEM_EXCLUSIVE)
        if mem_excl and trial.mems.intersects(sib.config.mems):
            which = "mem_exclusive sibling" if sib.has(CsFlag.MEM_EXCLUSIVE) else "sibling"
            raise CpusetError(errno.EINVAL, f"mems overlap {which} {tree.display(sib)} ({rule})")
