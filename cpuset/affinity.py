"""CPU affinity filtered through the cpuset, and the 2003 cpuset-relative numbering.

Models kernel/sched.c ``sched_setaffinity`` / ``set_cpus_allowed`` (2.6.14,
C03-4, CS-CPU-2) and kernel/sched/syscalls.c ``__sched_setaffinity`` /
kernel/sched/core.c ``__set_cpus_allowed_ptr`` (6.18, C03-5, CS-CPU-3).

The tree does not know on which CPU a task runs; the caller passes it
(*task_cpu*) and gets back where the task must go if that CPU is no longer
allowed -- the migration the actors then carry out.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass

from cpuset.attach import apply_cpus_allowed, cpuset_cpus_allowed
from cpuset.tree import CpusetError, CpusetTree
from topology import CpuMask, onto

__all__ = [
    "SetCpusAllowed",
    "mask_to_logical",
    "mask_to_real",
    "sched_setaffinity",
    "set_cpus_allowed",
    "to_logical",
    "to_real",
]


@dataclass(frozen=True, slots=True)
class SetCpusAllowed:
    """The outcome of set_cpus_allowed: the stored mask and, if the task must move, where to."""

    cpus_allowed: CpuMask
    dest_cpu: int | None


def set_cpus_allowed(online: CpuMask, new_mask: CpuMask, task_cpu: int | None) -> SetCpusAllowed:
    """CS-CPU-2: EINVAL without an online CPU; a task on a CPU outside the mask moves.

    # SIMPLIFIED: the destination is the first online CPU of the mask
    # (any_online_cpu); 6.18 spreads with cpumask_any_and_distribute.
    """
    usable = new_mask & online
    if not usable:
        raise CpusetError(errno.EINVAL, f"no online CPU in {new_mask or 'an empty mask'}")
    if task_cpu is None or (task_cpu in new_mask and task_cpu in online):
        return SetCpusAllowed(new_mask, None)
    return SetCpusAllowed(new_mask, usable.first())


def sched_setaffinity(
    tree: CpusetTree, pid: int, mask: CpuMask, task_cpu: int | None = None
) -> SetCpusAllowed:
    """sched_setaffinity(pid, mask): the request ∩ the cpuset's CPUs, applied to the task.

    Bits outside the cpuset are dropped silently (C03-4); nothing online left
    is EINVAL.  In the modern top cpuset offline CPUs of the request are kept.
    Modern kernels remember the request (user_cpus_ptr) and re-intersect it when
    the cpuset changes (C03-5, CS-CPU-3).
    """
    task = tree.task(pid)
    if task is None:
        raise CpusetError(errno.ESRCH, f"no task with pid {pid}")
    allowed = cpuset_cpus_allowed(tree, task.cpuset)
    result = set_cpus_allowed(tree.online_cpus, mask & allowed, task_cpu)
    if tree.era.user_cpus_ptr:
        task.user_cpus = mask
    apply_cpus_allowed(tree, task, result.cpus_allowed)
    return result


def to_logical(cpus: CpuMask, real: int) -> int:
    """cpuset_realtologic_cpuid (C03-2): the ordinal of *real* among the cpuset's CPUs."""
    if real not in cpus:
        raise CpusetError(errno.EINVAL, f"CPU {real} is not in the cpuset's CPUs {cpus}")
    return cpus.ord(real)


def to_real(cpus: CpuMask, logical: int) -> int:
    """The real CPU that logical CPU *logical* of a cpuset stands for (C03-2)."""
    if not 0 <= logical < len(cpus):
        raise CpusetError(errno.EINVAL, f"logical CPU {logical} not in a {len(cpus)}-CPU cpuset")
    return cpus.nth(logical)


def mask_to_real(cpus: CpuMask, logical: CpuMask) -> CpuMask:
    """A logical affinity mask in real numbering (bitmap_onto; bits beyond the set vanish)."""
    return onto(logical, cpus)


def mask_to_logical(cpus: CpuMask, real: CpuMask) -> CpuMask:
    """A real mask as the cpuset's tasks see it (CPUs outside the cpuset are invisible)."""
    return CpuMask.of(cpus.ord(cpu) for cpu in real & cpus)
