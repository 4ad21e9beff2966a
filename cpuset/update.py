"""The cpuset write handlers: cpus, mems, flags, relax level, mkdir and rmdir.

Models kernel/cpuset.c ``update_cpumask``, ``update_nodemask``,
``update_flag``, ``cpuset_create``, ``cpuset_rmdir`` (2.6.14, 2.6.24) and
kernel/cgroup/cpuset.c / cpuset-v1.c ``update_cpumask``,
``update_nodemask``, ``cpuset_update_flag``, ``update_relax_domain_level``,
``cpuset_css_alloc`` (6.18).  Each handler builds a trial config, runs
`validate_change`, stores it, and triggers what the kernel triggers
(update_cpu_domains in 2.6.14, rebuild_sched_domains in 2.6.24, the
effective-mask propagation and domain rebuild in modern kernels via
`finish_operation`).
"""

from __future__ import annotations

import errno
from dataclasses import replace

from cpuset.attach import check_for_release, notify_mems_changes, update_tasks_cpumask
from cpuset.effective import invalidate_conflicting_partitions, update_effective
from cpuset.kstrtox import bitmap_parselist_legacy
from cpuset.partitions import rebuild_sched_domains, update_cpu_domains
from cpuset.tree import Cpuset, CpusetConfig, CpusetError, CpusetTree, CsFlag
from cpuset.validate import validate_change
from topology import CpuMask, MaskParseError, NodeMask

__all__ = [
    "cpuset_mkdir",
    "cpuset_rmdir",
    "finish_operation",
    "mask_width",
    "parse_mask",
    "set_cpus",
    "set_mems",
    "update_cpumask",
    "update_flag",
    "update_nodemask",
]


def mask_width(tree: CpusetTree, nodes: bool) -> int:
    """Bits a written list may name: NR_CPUS (2.6.x) / nr_cpu_ids (modern), MAX_NUMNODES.

    # SIMPLIFIED: the compile-time NR_CPUS and MAX_NUMNODES are taken as
    # max(64, what the machine has).
    """
    if nodes:
        return max(64, tree.machine.nr_nodes)
    if tree.era.strict_flag_parse:
        return tree.machine.nr_cpus
    return max(64, tree.machine.nr_cpus)


def parse_mask(tree: CpusetTree, text: str, nodes: bool) -> CpuMask:
    """cpulist_parse / nodelist_parse as the era did it (an empty text clears from 2.6.24 on)."""
    width = mask_width(tree, nodes)
    if tree.era.empty_masks_allowed and not text.strip():
        return CpuMask()
    if not tree.era.strict_flag_parse:
        return bitmap_parselist_legacy(text.strip() if tree.era.cgroup else text, width)
    try:
        return CpuMask.parse(text.strip(), width)
    except MaskParseError as exc:
        raise CpusetError(exc.errno, str(exc)) from None


def _check_top(tree: CpusetTree, cs: Cpuset, what: str) -> None:
    if cs.parent is None and not tree.era.top_masks_writable:
        raise CpusetError(
            errno.EACCES, f"the top cpuset's {what} track what is online and are read-only"
        )


def update_cpumask(tree: CpusetTree, cs: Cpuset, text: str) -> None:
    """Write ``cpus`` (``cpuset.cpus``)."""
    _check_top(tree, cs, "cpus")
    set_cpus(tree, cs, parse_mask(tree, text, nodes=False))


def set_cpus(tree: CpusetTree, cs: Cpuset, mask: CpuMask) -> None:
    """update_cpumask after parsing: online filtering, validate_change, store, trigger."""
    era = tree.era
    if era.offline_writes_dropped:
        mask = mask & tree.online_cpus
        if not mask and not era.empty_masks_allowed:
            raise CpusetError(errno.ENOSPC, "no online CPU in the written list")
    elif not mask <= tree.top.config.cpus:
        raise CpusetError(errno.EINVAL, f"cpus {mask - tree.top.config.cpus} not in the top cpuset")
    if era.strict_flag_parse and mask == cs.config.cpus:
        return
    trial = replace(cs.config, cpus=mask)
    _validate_or_invalidate(tree, cs, trial)
    changed = mask != cs.config.cpus
    cs.config = trial
    if era.name == "2.6.14":
        if cs.has(CsFlag.CPU_EXCLUSIVE) and changed:
            update_cpu_domains(tree, cs)
    elif era.name == "2.6.24" and changed:
        update_tasks_cpumask(tree, only=cs)
        if cs.has(CsFlag.SCHED_LOAD_BALANCE):
            rebuild_sched_domains(tree)
    finish_operation(tree)


def _validate_or_invalidate(tree: CpusetTree, cs: Cpuset, trial: CpusetConfig) -> None:
    """validate_change; on v2 a sibling conflict invalidates the sibling partitions instead."""
    try:
        validate_change(tree, cs, trial)
    except CpusetError as exc:
        if not (tree.era.v2 and exc.errno == errno.EINVAL):
            raise
        saved = cs.config
        cs.config = trial
        invalidate_conflicting_partitions(tree, cs)
        cs.config = saved


def update_nodemask(tree: CpusetTree, cs: Cpuset, text: str) -> None:
    """Write ``mems`` (``cpuset.mems``); the tasks learn of it through MemsChanged."""
    _check_top(tree, cs, "mems")
    set_mems(tree, cs, parse_mask(tree, text, nodes=True))


def set_mems(tree: CpusetTree, cs: Cpuset, mask: NodeMask) -> None:
    """update_nodemask after parsing."""
    era = tree.era
    if era.offline_writes_dropped:
        mask = mask & tree.online_mems
        if not mask and not era.empty_masks_allowed:
            raise CpusetError(errno.ENOSPC, "no online memory node in the written list")
    elif not mask <= tree.top.config.mems:
        raise CpusetError(errno.EINVAL, f"mems {mask - tree.top.config.mems} not in the top cpuset")
    if era.cgroup and mask == cs.config.mems:
        return
    trial = replace(cs.config, mems=mask)
    validate_change(tree, cs, trial)
    cs.config = trial
    tree.mems_generation += 1
    cs.mems_generation = tree.mems_generation
    finish_operation(tree)


def update_flag(tree: CpusetTree, cs: Cpuset, flag: CsFlag, on: bool) -> None:
    """update_flag / cpuset_update_flag: validate the trial flags, store, trigger rebuilds."""
    trial = cs.config.with_flag(flag, on)
    validate_change(tree, cs, trial)
    old = cs.config
    cs.config = trial
    era = tree.era
    if era.name == "2.6.14" and flag is CsFlag.CPU_EXCLUSIVE and old.flags != trial.flags:
        update_cpu_domains(tree, cs)
    if era.name == "2.6.24":
        balance_changed = flag is CsFlag.SCHED_LOAD_BALANCE and old.flags != trial.flags
        if trial.cpus and balance_changed:
            rebuild_sched_domains(tree)
        if flag in (CsFlag.SPREAD_PAGE, CsFlag.SPREAD_SLAB):
            tree.mems_generation += 1
            cs.mems_generation = tree.mems_generation
    finish_operation(tree)


def update_relax_domain_level(tree: CpusetTree, cs: Cpuset, level: int, level_max: int) -> None:
    """cpuset-v1.c update_relax_domain_level: -1 .. sched_domain_level_max + 1, else EINVAL."""
    if not -1 <= level <= level_max + 1:
        raise CpusetError(
            errno.EINVAL,
            f"sched_relax_domain_level {level} outside -1..{level_max + 1} (RB-8)",
        )
    cs.config = replace(cs.config, relax_domain_level=level)
    finish_operation(tree)


def finish_operation(tree: CpusetTree, *, hotplug: bool = False) -> None:
    """What every successful operation ends with: effective masks, task masks, notices, domains.

    *hotplug*: the operation is a CPU going on- or offline (update_effective).
    """
    update_effective(tree, hotplug=hotplug)
    if tree.era.user_cpus_ptr:
        update_tasks_cpumask(tree)
    if notify_mems_changes(tree):
        tree.generation += 1
    if tree.era.partitions in ("rb_v1", "rb_v2"):
        rebuild_sched_domains(tree)


def cpuset_mkdir(tree: CpusetTree, parent: Cpuset, name: str) -> Cpuset:
    """cpuset_create / cpuset_css_alloc: an empty child, some flags inherited."""
    inherit = CsFlag.NOTIFY_ON_RELEASE | CsFlag.SPREAD_PAGE | CsFlag.SPREAD_SLAB
    if not tree.era.cgroup:
        inherit = CsFlag.NOTIFY_ON_RELEASE
    flags = parent.config.flags & inherit
    if tree.era.partitions != "dyn6":
        flags |= CsFlag.SCHED_LOAD_BALANCE
    if tree.era.v2:
        flags |= CsFlag.MEMORY_MIGRATE
    cs = Cpuset(name, parent, CpusetConfig(flags=flags))
    parent.children.append(cs)
    tree.mems_generation += 1
    cs.mems_generation = tree.mems_generation
    update_effective(tree)
    cs.old_mems_allowed = tree.guarantee_online_mems(cs)
    finish_operation(tree)
    return cs


def cpuset_rmdir(tree: CpusetTree, cs: Cpuset) -> None:
    """cpuset_rmdir / cgroup_rmdir: EBUSY with tasks or children; domains follow."""
    where = tree.display(cs)
    parent = cs.parent
    if parent is None:
        raise CpusetError(errno.EBUSY, f"{where} is the root of the hierarchy")
    if cs.populated():
        raise CpusetError(errno.EBUSY, f"{where} has tasks")
    if cs.children:
        raise CpusetError(errno.EBUSY, f"{where} has child cpusets")
    if tree.era.name == "2.6.14" and cs.has(CsFlag.CPU_EXCLUSIVE):
        update_cpu_domains(tree, cs, removed=True)
    parent.children.remove(cs)
    if tree.era.name == "2.6.24" and cs.has(CsFlag.SCHED_LOAD_BALANCE) and cs.config.cpus:
        rebuild_sched_domains(tree)
    finish_operation(tree)
    if not parent.children:
        check_for_release(tree, parent)
