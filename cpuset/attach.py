"""Tasks in cpusets: attach, fork, exit, and keeping their CPU masks in step.

Models kernel/cpuset.c ``attach_task``, ``cpuset_fork``, ``cpuset_exit``,
``check_for_release`` (2.6.14), ``cpuset_can_attach`` / ``cpuset_attach``
(2.6.24, 6.18) and ``cpuset_update_tasks_cpumask`` (CS-CPU-1, CS-ATT-1..4).

A task's *mems* are not stored here: what a task may use is
``guarantee_online_mems`` of its cpuset, and when that changes the tree
announces it (`MemsChanged`, `TaskAttached`) so the task can rebind its own
mempolicy -- lazily in 2.6.14 (MP-HIST-1), at once in modern kernels.
"""

from __future__ import annotations

import errno

from cpuset.effective import subpartitions_cpus
from cpuset.events import (
    MemsChanged,
    ReleaseAgentCalled,
    TaskAttached,
    TaskCpusChanged,
    TaskExited,
)
from cpuset.tree import Cpuset, CpusetError, CpusetTree, CsFlag, Task
from topology import CpuMask

__all__ = [
    "apply_cpus_allowed",
    "attach_task",
    "check_for_release",
    "cpuset_cpus_allowed",
    "cpuset_exit",
    "cpuset_fork",
    "notify_mems_changes",
    "task_cpus_for",
    "update_tasks_cpumask",
]

# SIMPLIFIED: one user (root): the euid/uid permission checks of attach
# (EACCES) and sched_setaffinity (EPERM) are not modelled.
# SIMPLIFIED: operations are atomic, so attach_in_progress (CS-ATT-2, CS-HP-5)
# is never observed by another operation.


def cpuset_cpus_allowed(tree: CpusetTree, cs: Cpuset) -> CpuMask:
    """What a task of *cs* may use: guarantee_online_cpus, but for the modern top cpuset.

    Modern kernels give the top cpuset's tasks every possible CPU minus the
    partitions' (subpartitions_cpus), offline CPUs included, since hotplug does
    not update them; all possible CPUs if that leaves none online
    (cpuset_cpus_allowed, cpuset_attach_task, cpuset_update_tasks_cpumask;
    CS-ATT-3, CS-CPU-1).
    """
    if cs is not tree.top or not tree.era.top_tasks_get_possible:
        return tree.guarantee_online_cpus(cs)
    mask = tree.machine.all_cpus - subpartitions_cpus(tree)
    return mask if mask.intersects(tree.online_cpus) else tree.machine.all_cpus


def task_cpus_for(tree: CpusetTree, task: Task, cs: Cpuset) -> CpuMask:
    """The mask set_cpus_allowed receives for *task* in *cs* (`cpuset_cpus_allowed`).

    Modern kernels re-intersect the user's sched_setaffinity request when the
    result is not empty (CS-CPU-3); if what is left is all offline (possible in
    the top cpuset), __set_cpus_allowed_ptr fails with EINVAL and the task keeps
    the mask it has.
    """
    mask = cpuset_cpus_allowed(tree, cs)
    if tree.era.user_cpus_ptr and task.user_cpus is not None and mask.intersects(task.user_cpus):
        mask = mask & task.user_cpus
        if not mask.intersects(tree.online_cpus):
            return task.cpus_allowed
    return mask


def apply_cpus_allowed(tree: CpusetTree, task: Task, mask: CpuMask) -> None:
    """set_cpus_allowed: store the mask and announce it if it changed."""
    if task.cpus_allowed != mask:
        task.cpus_allowed = mask
        tree.emit(TaskCpusChanged(pid=task.pid, cpus_allowed=mask))


def attach_task(tree: CpusetTree, cs: Cpuset, pid: int, current: int) -> None:
    """Move *pid* (0 = the writer, *current*) into *cs*, with the era's checks in its order.

    2.6.14 attach_task: ENOSPC before ESRCH; cgroup eras find the task first
    (ESRCH) and then ask can_attach (ENOSPC); v2 refuses a cgroup that has
    enabled controllers for its children (EBUSY, "no internal processes").
    """
    if tree.era.name == "2.6.14":
        _can_attach(tree, cs)
    task = tree.task(pid or current)
    if task is None:
        raise CpusetError(errno.ESRCH, f"no task with pid {pid}")
    if tree.era.name != "2.6.14":
        _can_attach(tree, cs)
    old = task.cpuset
    if old is cs:
        # 2.6.14 attach_task resets the affinity anyway; cgroup attach is a no-op.
        if tree.era.name == "2.6.14":
            apply_cpus_allowed(tree, task, task_cpus_for(tree, task, cs))
        return
    old_mems, new_mems = tree.guarantee_online_mems(old), tree.guarantee_online_mems(cs)
    old.tasks.discard(task.pid)
    cs.tasks.add(task.pid)
    task.cpuset = cs
    migrate = cs.has(CsFlag.MEMORY_MIGRATE)
    tree.emit(
        TaskAttached(
            pid=task.pid,
            src=old.path,
            dst=cs.path,
            old_mems=old_mems,
            new_mems=new_mems,
            memory_migrate=migrate,
        )
    )
    apply_cpus_allowed(tree, task, task_cpus_for(tree, task, cs))
    check_for_release(tree, old)


def _can_attach(tree: CpusetTree, cs: Cpuset) -> None:
    where = tree.display(cs)
    if tree.era.v2:
        if cs.parent is not None and cs.subtree_control:
            raise CpusetError(
                errno.EBUSY, f"{where} has controllers enabled for its children (no internal tasks)"
            )
        if not cs.effective_cpus:
            raise CpusetError(errno.ENOSPC, f"{where} has no effective CPUs (CS-ATT-2)")
        return
    if not cs.config.cpus or not cs.config.mems:
        empty = "cpus" if not cs.config.cpus else "mems"
        raise CpusetError(errno.ENOSPC, f"{where} has empty {empty}: cannot attach (CS-ATT-2)")


def cpuset_fork(tree: CpusetTree, parent_pid: int, child_pid: int | None = None) -> int:
    """fork(): the child joins the parent's cpuset with the parent's affinity (CS-ATT-4)."""
    parent = tree.task(parent_pid)
    if parent is None:
        raise CpusetError(errno.ESRCH, f"no task with pid {parent_pid}")
    pid = tree.allocate_pid() if child_pid is None else child_pid
    if pid in tree.tasks:
        raise CpusetError(errno.EEXIST, f"pid {pid} is in use")
    tree.next_pid = max(tree.next_pid, pid + 1)
    tree.tasks[pid] = Task(pid, parent.cpuset, parent.cpus_allowed, parent.user_cpus)
    parent.cpuset.tasks.add(pid)
    return pid


def cpuset_exit(tree: CpusetTree, pid: int) -> None:
    """exit(): the task leaves its cpuset, which may call the release agent."""
    if pid == 1:
        raise CpusetError(errno.EPERM, "init (pid 1) does not exit")
    task = tree.tasks.pop(pid, None)
    if task is None:
        raise CpusetError(errno.ESRCH, f"no task with pid {pid}")
    task.cpuset.tasks.discard(pid)
    tree.emit(TaskExited(pid=pid))
    check_for_release(tree, task.cpuset)


def check_for_release(tree: CpusetTree, cs: Cpuset) -> None:
    """check_for_release: notify_on_release and no tasks and no children -> the agent runs."""
    if cs.has(CsFlag.NOTIFY_ON_RELEASE) and not cs.tasks and not cs.children:
        tree.emit(ReleaseAgentCalled(path=cs.path))


def update_tasks_cpumask(tree: CpusetTree, only: Cpuset | None = None) -> None:
    """Re-apply each task's cpuset mask (2.6.24 update_cpumask; modern update_tasks_cpumask).

    With *only*, just that cpuset's tasks get exactly its cpus (2.6.24); else
    every task gets `cpuset_cpus_allowed` of its cpuset (∩ its user mask).
    """
    for pid in sorted(tree.tasks):
        task = tree.tasks[pid]
        if only is not None:
            if task.cpuset is only:
                apply_cpus_allowed(tree, task, only.config.cpus)
        else:
            apply_cpus_allowed(tree, task, task_cpus_for(tree, task, task.cpuset))


def notify_mems_changes(tree: CpusetTree) -> bool:
    """Announce every cpuset whose guarantee_online_mems changed (CS-MEM-1); True if any did."""
    changed = False
    for cs in tree.walk():
        new = tree.guarantee_online_mems(cs)
        if new == cs.old_mems_allowed:
            continue
        tree.emit(
            MemsChanged(
                path=cs.path,
                old=cs.old_mems_allowed,
                new=new,
                pids=tree.sorted_pids(cs),
                memory_migrate=cs.has(CsFlag.MEMORY_MIGRATE),
                mems_generation=cs.mems_generation,
            )
        )
        cs.old_mems_allowed = new
        changed = True
    return changed
