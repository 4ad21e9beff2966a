"""What a cpuset operation did beyond its own cpuset: the notices the actors act on.

The tree appends these to ``CpusetTree.events`` as operations happen; the
owner (``CpusetFS.take_events``) drains them.  They are frozen values of
masks and ints only, ready to be sent as messages.
"""

from __future__ import annotations

from dataclasses import dataclass

from topology import CpuMask, NodeMask

__all__ = [
    "CpusetEvent",
    "MemsChanged",
    "PartitionsRebuilt",
    "ReleaseAgentCalled",
    "TaskAttached",
    "TaskCpusChanged",
    "TaskExited",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskCpusChanged:
    """set_cpus_allowed was called on *pid* (attach, cpus write, hotplug, affinity)."""

    pid: int
    cpus_allowed: CpuMask


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskAttached:
    """*pid* moved from cpuset *src* to *dst* (paths inside the hierarchy).

    *old_mems* / *new_mems* are guarantee_online_mems of the two cpusets: the
    task rebinds its mempolicy from one to the other, and with
    *memory_migrate* its pages follow (CS-ATT-1, CS-ATT-3).
    """

    pid: int
    src: str
    dst: str
    old_mems: NodeMask
    new_mems: NodeMask
    memory_migrate: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskExited:
    """*pid* left the tree (exit or kill)."""

    pid: int


@dataclass(frozen=True, slots=True, kw_only=True)
class MemsChanged:
    """The mems a cpuset hands to its tasks changed: their mempolicies need a rebind.

    *pids* are the tasks whose guarantee_online_mems changed; *memory_migrate*
    says whether their pages follow (CS-MEM-1).  *mems_generation* is the
    2.6.14 global ``cpuset_mems_generation`` stamped on the cpuset (MP-HIST-1).
    """

    path: str
    old: NodeMask
    new: NodeMask
    pids: tuple[int, ...]
    memory_migrate: bool
    mems_generation: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PartitionsRebuilt:
    """The cpuset code handed new sched-domain partitions to the scheduler."""

    generation: int
    doms: tuple[CpuMask, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ReleaseAgentCalled:
    """notify_on_release: the last task left and no children remain (check_for_release)."""

    path: str


CpusetEvent = (
    TaskCpusChanged
    | TaskAttached
    | TaskExited
    | MemsChanged
    | PartitionsRebuilt
    | ReleaseAgentCalled
)
