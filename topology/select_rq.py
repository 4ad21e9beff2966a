"""Wakeup placement for the simulator: previous CPU, else select_fallback_rq (CS-CPU-4).

Models kernel/sched.c (2.6.34+) select_fallback_rq's order for a task whose
previous CPU is no longer usable:

1. the previous CPU, if it is still in cpus_allowed and online;
2. the first allowed online CPU on the previous CPU's node;
3. the first allowed online CPU anywhere;
4. cpuset_cpus_allowed_fallback: cpus_allowed becomes the task's cpuset's CPUs,
   and the first online one of those is used;
5. otherwise cpus_allowed becomes every possible CPU and the first online is used.

Steps 4-5 change the task's affinity; the result says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from topology.cpumask import CpuMask

__all__ = ["WakePlacement", "select_wake_cpu"]


@dataclass(frozen=True, slots=True)
class WakePlacement:
    """Where a woken task goes, and its new cpus_allowed if the fallback widened it."""

    cpu: int
    cpus_allowed: CpuMask | None = None


def select_wake_cpu(
    prev_cpu: int,
    cpus_allowed: CpuMask,
    online: CpuMask,
    prev_node_cpus: CpuMask,
    cpuset_cpus: CpuMask,
    possible: CpuMask,
) -> WakePlacement:
    """The CPU a task waking on *prev_cpu* runs on (module docstring order)."""
    # SIMPLIFIED: no wake-affine or wake-balance heuristics (try_to_wake_up's
    # SD_WAKE_AFFINE/SD_WAKE_BALANCE); a task wakes where it last ran if it may.
    usable = cpus_allowed & online
    if prev_cpu in usable:
        return WakePlacement(prev_cpu)
    for candidates in (usable & prev_node_cpus, usable):
        if candidates:
            return WakePlacement(candidates.first())
    if cpuset_cpus & online:
        return WakePlacement((cpuset_cpus & online).first(), cpuset_cpus)
    if not possible & online:
        raise ValueError("select_wake_cpu: no online CPU")
    return WakePlacement((possible & online).first(), possible)
