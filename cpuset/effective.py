"""Effective masks and cgroup-v2 partition roots (kernel/cgroup/cpuset.c, 6.18).

On the legacy hierarchy (eras 2.6.14, 2.6.24, v1) the effective masks are the
configured ones (CS-EFF-2).  On v2 they are derived top-down (CS-EFF-1): a
cpuset uses ``cpus ∩ parent.effective`` or, if that is empty, the parent's
effective mask; a *valid partition root* instead owns the exclusive CPUs it
was granted and the parent loses them (CS-PART-2).

Partition validity is state, as in the kernel: a partition becomes invalid
through events (a sibling's conflicting ``cpuset.cpus`` write, a parent that
stops being a partition, hotplug) and `update_effective` re-checks every
partition top-down:

* a valid partition stays valid unless its parent is no longer a valid root,
  both its masks are empty, none of its CPUs can be granted, the parent would
  be left without CPUs while the parent has tasks, or its CPUs all went offline
  while it has tasks (tasks_nocpu_error: "Parent unable to distribute cpu
  downstream"; a hotplug invalidation, partcmd_invalidate, records no reason);
* an invalid partition becomes valid again when all of that holds *and* it
  no longer conflicts with a sibling (setting CS_CPU_EXCLUSIVE runs
  validate_change).

Valid partitions carry CS_CPU_EXCLUSIVE; isolated ones drop
CS_SCHED_LOAD_BALANCE (CS-PART-3).

A partition requested under a parent that is not a valid root is what the
kernel calls a remote partition request (update_prstate ->
remote_partition_enable): its reason is decided at the write -- "Cpu list in
cpuset.cpus not exclusive", "cpuset.cpus and cpuset.cpus.exclusive are empty",
or "Invalid cpu list in cpuset.cpus.exclusive" when the parent passes none of
its CPUs down -- and becomes "Parent is (not|an invalid) partition root" only
when update_cpumasks_hier later walks over it, which the model approximates as
"the parent's partition state or effective CPUs changed" (`Cpuset.perr_parent`).
"""

from __future__ import annotations

from cpuset.tree import Cpuset, CpusetTree, CsFlag, Perr, Prs
from cpuset.validate import cpus_excl_conflict
from topology import CpuMask

__all__ = [
    "invalidate_conflicting_partitions",
    "is_partition_valid",
    "isolated_cpus",
    "subpartitions_cpus",
    "update_effective",
    "update_prstate",
    "user_xcpus",
]

# SIMPLIFIED: only local partitions (parent a valid partition root) are modelled;
# a remote partition request that the kernel would grant (exclusive CPUs passed
# down through cpuset.cpus.exclusive of non-partition ancestors) is refused as
# "Parent is not a partition root".
# SIMPLIFIED: housekeeping conflicts (PERR_HKEEPING) and "Enable partition not
# permitted" (PERR_ACCESS) are never raised.
# SIMPLIFIED: invalid partitions are re-validated after every operation; the
# kernel re-checks them only when update_cpumasks_hier visits them.


def user_xcpus(cs: Cpuset) -> CpuMask:
    """user_xcpus(): cpuset.cpus.exclusive if set, else cpuset.cpus."""
    return cs.config.exclusive_cpus or cs.config.cpus


def is_partition_valid(cs: Cpuset) -> bool:
    return cs.prs > 0


def isolated_cpus(tree: CpusetTree) -> CpuMask:
    """cpuset.cpus.isolated: the exclusive CPUs of valid isolated partitions."""
    out = CpuMask()
    for cs in tree.walk():
        if cs.prs == Prs.ISOLATED:
            out = out | cs.effective_xcpus
    return out


def subpartitions_cpus(tree: CpusetTree) -> CpuMask:
    """subpartitions_cpus: the CPUs granted to the top cpuset's valid child partitions."""
    out = CpuMask()
    if tree.era.v2:
        for child in tree.top.children:
            if is_partition_valid(child):
                out = out | child.effective_xcpus
    return out


def update_prstate(tree: CpusetTree, cs: Cpuset, new: Prs) -> None:
    """update_prstate: record a ``cpuset.cpus.partition`` write; update_effective decides validity.

    Switching to member is always allowed (and invalidates child partitions,
    which then read "Parent is not a partition root"); a new root or isolated
    request starts invalid and must pass every check, exclusivity included.
    Under a parent that is not a valid root the reason is decided here
    (`_remote_enable_error`).
    """
    kind = abs(int(cs.prs))
    parent = cs.parent
    assert parent is not None
    if new == Prs.MEMBER:
        cs.prs, cs.prs_err = Prs.MEMBER, Perr.NONE
    elif cs.prs <= 0 and not is_partition_valid(parent):
        cs.prs, cs.prs_err = Prs(-int(new)), _remote_enable_error(tree, cs)
        cs.perr_parent = (int(parent.prs), parent.effective_cpus)
    elif kind == 0:
        cs.prs, cs.prs_err = Prs(-int(new)), Perr.NONE
    else:
        sign = 1 if cs.prs > 0 else -1
        cs.prs = Prs(sign * int(new))
    update_effective(tree)


def _remote_enable_error(tree: CpusetTree, cs: Cpuset) -> Perr:
    """Why a partition request under a non-partition parent fails (update_prstate order).

    update_partition_exclusive (NOTEXCL), xcpus_empty (CPUSEMPTY), then
    remote_partition_enable: the CPUs the parent passes down (user_xcpus ∩ the
    parent's effective exclusive CPUs) must include an online one, leave the top
    some CPUs and not be another partition's, else INVCPUS.
    """
    parent = cs.parent
    assert parent is not None
    assert parent.parent is not None
    if _conflicts(cs):
        return Perr.NOTEXCL
    if not user_xcpus(cs):
        return Perr.CPUSEMPTY
    excpus = user_xcpus(cs) & _member_xcpus(parent, parent.parent)
    taken = excpus.intersects(subpartitions_cpus(tree))
    if not excpus.intersects(tree.online_cpus) or tree.top.effective_cpus <= excpus or taken:
        return Perr.INVCPUS
    return Perr.NOTPART  # a remote partition the kernel would grant (SIMPLIFIED above)


def invalidate_conflicting_partitions(tree: CpusetTree, cs: Cpuset) -> None:
    """CS-VAL-8 (v2): a ``cpuset.cpus`` write that conflicts is let through, invalidating the
    written partition itself and its conflicting sibling partitions (update_cpumask's
    ``invalidate``: partition_cpus_change then marks *cs* PERR_NOTEXCL, which also
    drops its CS_CPU_EXCLUSIVE)."""
    if cs.parent is None:
        return
    if is_partition_valid(cs):
        cs.prs, cs.prs_err = Prs(-int(cs.prs)), Perr.NOTEXCL
    for sib in cs.parent.children:
        conflict = sib is not cs and cpus_excl_conflict(cs.config, sib.config, modern=True)
        if conflict and is_partition_valid(sib):
            sib.prs, sib.prs_err = Prs(-int(sib.prs)), Perr.NOTEXCL


def update_effective(tree: CpusetTree, *, hotplug: bool = False) -> None:
    """Recompute every cpuset's effective masks (and, on v2, partition states) top-down.

    *hotplug*: the recompute follows a CPU going on- or offline
    (cpuset_hotplug_update_tasks rather than update_cpumasks_hier).
    """
    if not tree.era.v2:
        for cs in tree.walk():
            cs.effective_cpus, cs.effective_mems = cs.config.cpus, cs.config.mems
        return
    top = tree.top
    # Offline CPUs stay granted to their partitions (subpartitions_cpus); only
    # the effective masks drop them.
    top.effective_xcpus = tree.machine.all_cpus
    top.effective_mems = tree.online_mems
    _distribute(tree, top, tree.machine.all_cpus, hotplug)


def _distribute(tree: CpusetTree, parent: Cpuset, base: CpuMask, hotplug: bool) -> None:
    """Set parent.effective_cpus from *base* minus what its valid child partitions take, recurse."""
    for child in parent.children:
        if not child.cpuset_enabled():
            child.prs = Prs.MEMBER  # no cpuset controller here: no partition either
    if parent.prs > 0:
        granted = _grant_partitions(tree, parent, base, hotplug)
        parent.effective_cpus = (base - granted) & tree.online_cpus
    else:
        parent.effective_cpus = base & tree.online_cpus
        _orphan_partitions(parent)
    for child in parent.children:
        _set_partition_flags(child)
        if is_partition_valid(child):
            child_base = child.effective_xcpus
        else:
            child.effective_xcpus = _member_xcpus(child, parent)
            child_base = (child.config.cpus & parent.effective_cpus) or parent.effective_cpus
        mems = child.config.mems & parent.effective_mems
        child.effective_mems = mems or parent.effective_mems
        _distribute(tree, child, child_base, hotplug)


def _orphan_partitions(parent: Cpuset) -> None:
    """Children asking to be partitions under a parent that is not a valid root are invalid.

    update_cpumasks_hier writes NOTPART / INVPARENT when it walks over such a
    child; an already invalid child keeps the reason it has until the parent's
    partition state or effective CPUs change (the walk would not reach it).
    """
    err = Perr.INVPARENT if parent.prs < 0 else Perr.NOTPART
    key = (int(parent.prs), parent.effective_cpus)
    for child in parent.children:
        if child.prs == Prs.MEMBER:
            continue
        if child.prs > 0 or child.prs_err is Perr.NONE or child.perr_parent != key:
            child.prs_err = err
        child.prs, child.perr_parent = Prs(-abs(int(child.prs))), key
        child.effective_xcpus = CpuMask()


def _member_xcpus(cs: Cpuset, parent: Cpuset) -> CpuMask:
    """cpuset.cpus.exclusive.effective of a non-partition: its exclusive CPUs the parent has."""
    return cs.config.exclusive_cpus & parent.effective_xcpus


def _grant_partitions(tree: CpusetTree, parent: Cpuset, base: CpuMask, hotplug: bool) -> CpuMask:
    """Decide which child partitions of a valid root are valid; return the CPUs they take.

    Currently valid children claim first, then invalid ones try, each group in
    creation order (a partition that was there first keeps its CPUs).
    """
    granted = CpuMask()
    ordered = [c for c in parent.children if c.prs > 0] + [c for c in parent.children if c.prs < 0]
    for child in ordered:
        err, xcpus = _partition_error(tree, parent, child, base, granted, hotplug)
        kind = abs(int(child.prs))
        if err is None:
            child.prs, child.prs_err, child.effective_xcpus = Prs(kind), Perr.NONE, xcpus
            granted = granted | xcpus
        else:
            child.prs, child.prs_err, child.effective_xcpus = Prs(-kind), err, CpuMask()
    for child in parent.children:
        if child.prs == Prs.MEMBER:
            child.prs_err = Perr.NONE
    return granted


def _partition_error(
    tree: CpusetTree,
    parent: Cpuset,
    cs: Cpuset,
    base: CpuMask,
    granted: CpuMask,
    hotplug: bool,
) -> tuple[Perr | None, CpuMask]:
    """The first partition rule *cs* breaks (None if valid) and the CPUs it would own.

    Both halves of tasks_nocpu_error are PERR_NOCPUS (update_parent_effective_cpumask;
    PERR_HOTPLUG is for remote partitions only), except that a valid partition
    whose own CPUs all went offline under its tasks is invalidated by hotplug with
    partcmd_invalidate, which records no reason (Perr.NONE).
    """
    wanted = user_xcpus(cs)
    if not wanted:
        return Perr.CPUSEMPTY, CpuMask()
    xcpus = wanted & (parent.effective_xcpus - granted)
    if not xcpus:
        return Perr.INVCPUS, CpuMask()
    if cs.prs < 0 and _conflicts(cs):
        return Perr.NOTEXCL, CpuMask()
    left = (base - granted - xcpus) & tree.online_cpus
    if not left and _partition_is_populated(parent, cs):
        return Perr.NOCPUS, CpuMask()
    if not xcpus & tree.online_cpus and cs.populated():
        return (Perr.NONE if hotplug and cs.prs > 0 else Perr.NOCPUS), CpuMask()
    return None, xcpus


def _conflicts(cs: Cpuset) -> bool:
    """Would setting CS_CPU_EXCLUSIVE on *cs* fail validate_change against a sibling?"""
    assert cs.parent is not None
    trial = cs.config.with_flag(CsFlag.CPU_EXCLUSIVE, True)
    return any(
        cpus_excl_conflict(trial, sib.config, modern=True)
        for sib in cs.parent.children
        if sib is not cs
    )


def _partition_is_populated(parent: Cpuset, excluded: Cpuset) -> bool:
    """partition_is_populated: tasks in *parent* itself or in its non-partition children."""
    if parent.tasks:
        return True
    return any(
        c.populated() for c in parent.children if c is not excluded and not is_partition_valid(c)
    )


def _set_partition_flags(cs: Cpuset) -> None:
    """Valid partitions are cpu_exclusive; isolated ones do not load-balance (CS-PART-3)."""
    cfg = cs.config.with_flag(CsFlag.CPU_EXCLUSIVE, is_partition_valid(cs))
    parent_lb = cs.parent is None or cs.parent.has(CsFlag.SCHED_LOAD_BALANCE)
    balance = cs.prs == Prs.ROOT or (cs.prs <= 0 and parent_lb)
    cs.config = cfg.with_flag(CsFlag.SCHED_LOAD_BALANCE, balance)
