"""CPU hotplug as the cpuset code sees it (SPEC §3.6, CS-HP-1..4; DYN-5).

* 2.6.14 (CS-HP-1): no cpuset hook.  Masks keep offline CPUs; tasks get
  ``guarantee_online_cpus`` when attached.  A task left with no online CPU is
  moved by the scheduler with ``cpus_setall`` (move_task_off_dead_cpu,
  kernel/sched.c 2.6.14: "No more Mr. Nice Guy").
* 2.6.24 (CS-HP-2, common_cpu_mem_hotplug_unplug): every non-empty cpuset's
  cpus become guarantee_online_cpus of itself, children first; the top
  tracks the online map; a task with no online CPU falls back to its
  cpuset's CPUs (cpuset_cpus_allowed_locked).
* v1 6.18 (CS-HP-3, cpuset1_hotplug_update_tasks): offline CPUs leave every
  cpuset top-down; the tasks of a cpuset left with no CPUs move to the
  nearest ancestor that has CPUs and mems (remove_tasks_in_empty_cpuset).
* v2 6.18 (CS-HP-4): configured masks stay; effective masks and partitions
  are recomputed; tasks never move.
* v1 and v2 6.18 leave the masks of the top cpuset's tasks alone ("we don't
  mess with cpumasks of tasks in top_cpuset"): they keep the offline CPUs.

In 2.6.14 and 2.6.24 the scheduler's own notifier then rebuilds one default
domain over the online CPUs, dropping every cpuset-made partition (DYN-5).
"""

from __future__ import annotations

import errno
from dataclasses import replace

from cpuset.attach import apply_cpus_allowed, attach_task, task_cpus_for
from cpuset.events import PartitionsRebuilt
from cpuset.tree import Cpuset, CpusetError, CpusetTree, SchedPartitions
from cpuset.update import finish_operation
from topology import CpuMask

__all__ = ["set_online"]

# SIMPLIFIED: memory-node hotplug is not modelled (node_states[N_MEMORY] is fixed).
# SIMPLIFIED: the scheduler's fallback for a task with no online allowed CPU is
# applied to every such task, not only to those queued on the dying CPU.
# SIMPLIFIED: 6.18 moves the tasks of emptied v1 cpusets from a workqueue;
# here they move before set_online returns.
# SIMPLIFIED: a modern top-cpuset task sent to select_fallback_rq gets every
# possible CPU, partition CPUs included, until the next update of the top
# cpuset's tasks; here that update follows at once (possible minus partitions).


def set_online(tree: CpusetTree, cpu: int, online: bool) -> None:
    """Bring *cpu* online or offline and apply the era's cpuset policy."""
    if cpu not in tree.machine.all_cpus:
        raise CpusetError(errno.ENODEV, f"no CPU {cpu} on {tree.machine.name}")
    if tree.era.hotplug_redundant_refused:
        if not online and len(tree.online_cpus) == 1:  # cpu_down checks this first
            raise CpusetError(errno.EBUSY, f"CPU {cpu}: only one CPU is online")
        if online == (cpu in tree.online_cpus):
            state = "online" if online else "offline"
            raise CpusetError(errno.EINVAL, f"CPU {cpu} is already {state}")
    new = tree.online_cpus | CpuMask.of([cpu]) if online else tree.online_cpus - CpuMask.of([cpu])
    if new == tree.online_cpus:
        return
    if not new:
        raise CpusetError(errno.EBUSY, f"CPU {cpu} is the last online CPU")
    tree.online_cpus = new
    policy = tree.era.hotplug
    if policy == "guarantee":
        _guarantee_in_subtree(tree, tree.top)
        tree.top.config = replace(tree.top.config, cpus=new)
    elif policy == "move_tasks":
        _hotplug_update_v1(tree)
    elif policy == "effective":
        tree.top.config = replace(tree.top.config, cpus=tree.machine.all_cpus)
    _fallback_dead_tasks(tree)
    if tree.era.hotplug_resets_domains:
        _arch_init_sched_domains(tree)
    finish_operation(tree, hotplug=True)


def _guarantee_in_subtree(tree: CpusetTree, cur: Cpuset) -> None:
    """guarantee_online_cpus_mems_in_subtree (2.6.24): children first, non-empty ones only."""
    for child in cur.children:
        _guarantee_in_subtree(tree, child)
        if child.config.cpus:
            child.config = replace(child.config, cpus=tree.guarantee_online_cpus(child))


def _hotplug_update_v1(tree: CpusetTree) -> None:
    """cpuset1_hotplug_update_tasks, top-down: shrink, and empty out emptied cpusets."""
    top = tree.top
    top.config = replace(top.config, cpus=tree.online_cpus)
    top.effective_cpus = tree.online_cpus
    for cs in list(tree.walk()):
        if cs is top:
            continue
        cpus = cs.config.cpus & tree.online_cpus
        cs.config = replace(cs.config, cpus=cpus)
        cs.effective_cpus = cpus
        if cs.tasks and (not cpus or not cs.config.mems):
            _remove_tasks_in_empty_cpuset(tree, cs)


def _remove_tasks_in_empty_cpuset(tree: CpusetTree, cs: Cpuset) -> None:
    """Move every task of *cs* to the nearest ancestor with CPUs and mems."""
    target = cs.parent
    while target is not None and not (target.config.cpus and target.config.mems):
        target = target.parent
    assert target is not None, "the top cpuset always has CPUs and mems"
    for pid in tree.sorted_pids(cs):
        attach_task(tree, target, pid, current=pid)


def _fallback_dead_tasks(tree: CpusetTree) -> None:
    """move_task_off_dead_cpu / select_fallback_rq for tasks with no online allowed CPU.

    Modern top-cpuset tasks, whose masks hotplug leaves alone, really do reach
    select_fallback_rq: it gives them every possible CPU and drops their
    sched_setaffinity request (set_cpus_allowed_force clears user_cpus_ptr).
    """
    for pid in sorted(tree.tasks):
        task = tree.tasks[pid]
        if task.cpus_allowed.intersects(tree.online_cpus):
            continue
        if tree.era.name == "2.6.14":
            mask = tree.machine.all_cpus
        else:
            if task.cpuset is tree.top and tree.era.top_tasks_get_possible:
                task.user_cpus = None
            mask = task_cpus_for(tree, task, task.cpuset)
        apply_cpus_allowed(tree, task, mask)


def _arch_init_sched_domains(tree: CpusetTree) -> None:
    """DYN-5: one partition of all online, non-isolated CPUs."""
    dom = tree.online_cpus - tree.isolcpus
    tree.partitions = SchedPartitions((dom,), (-1,))
    tree.generation += 1
    tree.emit(PartitionsRebuilt(generation=tree.generation, doms=(dom,)))
