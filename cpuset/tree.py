"""The cpuset hierarchy (struct cpuset, top_cpuset, task->cpuset) and its queries.

Design: a `Cpuset` node is mutable and owned by exactly one `CpusetTree`; its
user-settable part is a frozen `CpusetConfig`, so a write builds a *trial*
config and `validate_change` compares trial with the tree exactly as the
kernel compares ``trialcs`` with ``cur``.  Everything derived (effective
masks, partition states, sched-domain partitions) is recomputed by the
functions in effective.py and partitions.py after an operation.

Order: children are kept in creation order (``cgroup->children`` is appended
to in cgroup-era kernels; 2.6.14 prepended, which only changes which sibling
an error message names first); tasks are reported sorted by pid, as the
``tasks`` file sorts them (cpuset_tasks_open, pidlist_array_load).
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from cpuset.era import Era
from cpuset.events import CpusetEvent
from topology import CpuMask, NodeMask
from topology.machine import Machine

__all__ = [
    "Cpuset",
    "CpusetConfig",
    "CpusetError",
    "CpusetTree",
    "CsFlag",
    "Perr",
    "Prs",
    "SchedPartitions",
    "Task",
]

_EMPTY = CpuMask()
"""The empty mask (masks are immutable, so one object serves every default)."""


class CpusetError(OSError):
    """A cpuset operation the kernel refuses: the kernel's ``.errno``, a message naming the rule."""

    def __init__(self, err: int, message: str) -> None:
        super().__init__(err, message)


class CsFlag(enum.Flag):
    """cpuset_flagbits_t (kernel/cgroup/cpuset-internal.h), plus the cgroup notify flag."""

    NONE = 0
    CPU_EXCLUSIVE = enum.auto()
    MEM_EXCLUSIVE = enum.auto()
    MEM_HARDWALL = enum.auto()
    MEMORY_MIGRATE = enum.auto()
    SCHED_LOAD_BALANCE = enum.auto()
    SPREAD_PAGE = enum.auto()
    SPREAD_SLAB = enum.auto()
    NOTIFY_ON_RELEASE = enum.auto()


class Prs(enum.IntEnum):
    """partition_root_state (CS-PART-1): negative = the same request, currently invalid."""

    INVALID_ISOLATED = -2
    INVALID_ROOT = -1
    MEMBER = 0
    ROOT = 1
    ISOLATED = 2


class Perr(enum.Enum):
    """prs_err: why a partition is invalid (perr_strings[], kernel/cgroup/cpuset.c)."""

    NONE = ""
    INVCPUS = "Invalid cpu list in cpuset.cpus.exclusive"
    INVPARENT = "Parent is an invalid partition root"
    NOTPART = "Parent is not a partition root"
    NOTEXCL = "Cpu list in cpuset.cpus not exclusive"
    NOCPUS = "Parent unable to distribute cpu downstream"
    HOTPLUG = "No cpu available due to hotplug"
    CPUSEMPTY = "cpuset.cpus and cpuset.cpus.exclusive are empty"


@dataclass(frozen=True, slots=True, kw_only=True)
class CpusetConfig:
    """The user-settable fields of struct cpuset: what writes change and validate_change checks."""

    cpus: CpuMask = _EMPTY
    mems: NodeMask = _EMPTY
    flags: CsFlag = CsFlag.NONE
    relax_domain_level: int = -1
    exclusive_cpus: CpuMask = _EMPTY

    def has(self, flag: CsFlag) -> bool:
        return flag in self.flags

    def with_flag(self, flag: CsFlag, on: bool) -> CpusetConfig:
        return replace(self, flags=(self.flags | flag) if on else (self.flags & ~flag))


@dataclass(frozen=True, slots=True)
class SchedPartitions:
    """What the cpuset code last passed to partition_sched_domains.

    *doms* are disjoint CPU sets, each becoming one sched-domain tree;
    *relax* is the sched_domain_attr relax_domain_level of each (-1 = none).
    *dyn4* is 2.6.14's last ``partition_sched_domains(pspan, cspan)`` call
    (DYN-4), in the order the two spans were built; None in other eras.
    """

    doms: tuple[CpuMask, ...]
    relax: tuple[int, ...]
    dyn4: tuple[CpuMask, CpuMask] | None = None

    @property
    def balanced(self) -> CpuMask:
        """Every CPU that is in some domain (the others get the NULL domain)."""
        out = CpuMask()
        for dom in self.doms:
            out = out | dom
        return out


class Cpuset:
    """One cpuset: its config, derived state and members (struct cpuset)."""

    def __init__(self, name: str, parent: Cpuset | None, config: CpusetConfig) -> None:
        self.name = name
        self.parent = parent
        self.children: list[Cpuset] = []
        self.config = config
        self.prs = Prs.MEMBER if parent is not None else Prs.ROOT
        self.prs_err = Perr.NONE
        self.perr_parent: tuple[int, CpuMask] | None = None
        """v2: the parent's (partition state, effective CPUs) when a "parent is not a
        valid partition root" reason was last decided (effective.py)."""
        self.effective_cpus = config.cpus
        self.effective_mems = config.mems
        self.effective_xcpus = CpuMask()
        self.tasks: set[int] = set()
        self.mems_generation = 0
        self.old_mems_allowed = config.mems
        """guarantee_online_mems as last announced (cs->old_mems_allowed)."""
        self.subtree_control = False
        """v2: ``+cpuset`` in cgroup.subtree_control (the children get cpuset files)."""

    @property
    def path(self) -> str:
        """The path below the mount point: ``/`` for the top cpuset, else ``/a/b``."""
        names: list[str] = []
        node: Cpuset | None = self
        while node is not None and node.parent is not None:
            names.append(node.name)
            node = node.parent
        return "/" + "/".join(reversed(names))

    def child(self, name: str) -> Cpuset | None:
        for c in self.children:
            if c.name == name:
                return c
        return None

    def subtree(self) -> Iterator[Cpuset]:
        """This cpuset and its descendants, pre-order (cpuset_for_each_descendant_pre)."""
        yield self
        for c in self.children:
            yield from c.subtree()

    def populated(self) -> bool:
        """cgroup_is_populated: a task in this cpuset or below."""
        return any(cs.tasks for cs in self.subtree())

    def has(self, flag: CsFlag) -> bool:
        return flag in self.config.flags

    def cpuset_enabled(self) -> bool:
        """v2: the cpuset controller is enabled here (the parent's subtree_control)."""
        return self.parent is None or self.parent.subtree_control

    def __repr__(self) -> str:
        return f"Cpuset({self.path!r}, cpus={self.config.cpus}, mems={self.config.mems})"


@dataclass(slots=True)
class Task:
    """A task as the cpuset code sees it: its cpuset and its CPU affinity."""

    pid: int
    cpuset: Cpuset
    cpus_allowed: CpuMask
    user_cpus: CpuMask | None = None
    """The last sched_setaffinity request (p->user_cpus_ptr, modern only)."""


@dataclass
class CpusetTree:
    """The whole hierarchy of one machine, with its tasks and online maps."""

    machine: Machine
    era: Era
    isolcpus: CpuMask = field(default_factory=CpuMask)
    top: Cpuset = field(init=False)
    online_cpus: CpuMask = field(init=False)
    online_mems: NodeMask = field(init=False)
    tasks: dict[int, Task] = field(init=False)
    partitions: SchedPartitions = field(init=False)
    events: list[CpusetEvent] = field(init=False, default_factory=list)
    mount_point: str = field(init=False)
    generation: int = 0
    """Bumped whenever the partitions or some cpuset's mems change (the actors' cue)."""
    mems_generation: int = 1
    """2.6.14's global cpuset_mems_generation counter."""
    next_pid: int = 2
    memory_pressure_enabled: bool = False
    """The root-only memory_pressure_enabled switch (cpuset_memory_pressure_enabled)."""

    def __post_init__(self) -> None:
        flags = CsFlag.CPU_EXCLUSIVE | CsFlag.MEM_EXCLUSIVE
        if self.era.partitions != "dyn6":
            flags |= CsFlag.SCHED_LOAD_BALANCE
        self.online_cpus = self.machine.all_cpus
        self.online_mems = self.machine.all_nodes
        config = CpusetConfig(cpus=self.online_cpus, mems=self.online_mems, flags=flags)
        self.top = Cpuset("", None, config)
        self.top.effective_xcpus = self.online_cpus
        self.top.mems_generation = self.mems_generation
        self.tasks = {1: Task(1, self.top, self.machine.all_cpus)}
        self.top.tasks.add(1)
        self.partitions = SchedPartitions((self.online_cpus - self.isolcpus,), (-1,))
        self.mount_point = self.era.default_mount

    # -- lookup ---------------------------------------------------------------

    def walk(self) -> Iterator[Cpuset]:
        """Every cpuset, pre-order from the top, children in creation order."""
        return self.top.subtree()

    def lookup(self, path: str) -> Cpuset | None:
        """The cpuset at *path* below the mount point (``/``, ``/a/b``), or None."""
        node: Cpuset | None = self.top
        for name in path.strip("/").split("/"):
            if name and node is not None:
                node = node.child(name)
        return node

    def display(self, cs: Cpuset) -> str:
        """The absolute path an administrator sees (mount point + cpuset path)."""
        return self.mount_point if cs.parent is None else self.mount_point.rstrip("/") + cs.path

    def task(self, pid: int) -> Task | None:
        return self.tasks.get(pid)

    def sorted_pids(self, cs: Cpuset) -> tuple[int, ...]:
        return tuple(sorted(cs.tasks))

    def allocate_pid(self) -> int:
        pid = self.next_pid
        self.next_pid += 1
        return pid

    # -- what a task may use (guarantee_online_cpus / guarantee_online_mems) ---

    def guarantee_online_cpus(self, cs: Cpuset) -> CpuMask:
        """cs's CPUs that are online, walking up to the nearest ancestor that has some."""
        node: Cpuset | None = cs
        while node is not None and not node.effective_cpus.intersects(self.online_cpus):
            node = node.parent
        return self.online_cpus if node is None else node.effective_cpus & self.online_cpus

    def guarantee_online_mems(self, cs: Cpuset) -> NodeMask:
        """cs's nodes that have memory online, walking up like guarantee_online_cpus."""
        node: Cpuset | None = cs
        while node is not None and not node.effective_mems.intersects(self.online_mems):
            node = node.parent
        return self.online_mems if node is None else node.effective_mems & self.online_mems

    def emit(self, event: CpusetEvent) -> None:
        self.events.append(event)
