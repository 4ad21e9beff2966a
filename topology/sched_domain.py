"""struct sched_domain and struct sched_group (include/linux/sched.h 2.6.14; sched/topology.h 6.18).

The builders create these objects, link them (``parent``/``child`` chains per
CPU, ``next`` rings of groups) and then `freeze_domains` turns everything
reachable into its frozen class: after that, assigning an attribute raises.
Rings are real rings made of ``next`` links, so a builder that corrupts them
(the 2.6.13 legacy builder, BUG13-W) produces a real broken ring that the
debug checks must walk with a bound.

Attribute access stays plain (``__slots__``, spans as `CpuMask` whose ``.bits``
is an int) because the load balancer walks these objects on its hot path.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from topology.cpumask import CpuMask
from topology.sd_flags import SdFlag

__all__ = ["DomainAttr", "SchedDomain", "SchedGroup", "freeze_domains", "ring"]


@dataclass(frozen=True, slots=True)
class DomainAttr:
    """struct sched_domain_attr: per-partition attributes (RB-8)."""

    relax_domain_level: int = -1


class SchedGroup:
    """A sched_group: a set of CPUs balanced as one entity, linked in a ring.

    ``power`` is 2.6's ``cpu_power`` (SCHED_LOAD_SCALE = 128 per full CPU, GRP-3)
    or the modern ``sgc->capacity`` (SCHED_CAPACITY_SCALE = 1024 per CPU);
    ``capacity`` reads the same number under its modern name.  ``balance_mask``
    is the modern group_balance_mask (equal to ``span`` except on overlapping
    NUMA levels); ``id`` is the kernel's table index (2.6) or ``sgc->id`` (modern).
    """

    __slots__ = ("balance_mask", "id", "next", "power", "span")
    span: CpuMask
    power: int
    balance_mask: CpuMask
    id: int
    next: SchedGroup | None

    def __init__(self, span: CpuMask, gid: int, power: int = 0) -> None:
        self.span = span
        self.balance_mask = span
        self.id = gid
        self.power = power
        self.next = None

    @property
    def capacity(self) -> int:
        """The modern name of ``power`` (sgc->capacity)."""
        return self.power

    def __repr__(self) -> str:
        return f"SchedGroup(span={str(self.span)!r}, power={self.power}, id={self.id})"


class SchedDomain:
    """A sched_domain of one CPU at one topology level (SPEC §1.1)."""

    __slots__ = (
        "balance_interval",
        "busy_factor",
        "busy_idx",
        "cache_hot_time_ns",
        "cache_nice_tries",
        "child",
        "cpu",
        "flags",
        "forkexec_idx",
        "groups",
        "idle_idx",
        "imbalance_pct",
        "level",
        "max_interval",
        "min_interval",
        "name",
        "newidle_idx",
        "parent",
        "per_cpu_gain",
        "span",
        "wake_idx",
    )
    name: str
    level: int
    cpu: int
    span: CpuMask
    flags: SdFlag
    min_interval: int
    max_interval: int
    busy_factor: int
    imbalance_pct: int
    cache_nice_tries: int
    busy_idx: int
    idle_idx: int
    newidle_idx: int
    wake_idx: int
    forkexec_idx: int
    balance_interval: int
    cache_hot_time_ns: int
    per_cpu_gain: int
    parent: SchedDomain | None
    child: SchedDomain | None
    groups: SchedGroup | None

    def __init__(self, name: str, level: int, cpu: int, span: CpuMask, flags: SdFlag) -> None:
        self.name = name
        self.level = level
        self.cpu = cpu
        self.span = span
        self.flags = flags
        self.min_interval = self.max_interval = self.busy_factor = 0
        self.imbalance_pct = self.cache_nice_tries = 0
        self.busy_idx = self.idle_idx = self.newidle_idx = self.wake_idx = self.forkexec_idx = 0
        self.balance_interval = self.cache_hot_time_ns = self.per_cpu_gain = 0
        self.parent = self.child = None
        self.groups = None

    @property
    def span_weight(self) -> int:
        return len(self.span)

    def __repr__(self) -> str:
        return f"SchedDomain({self.name}, cpu={self.cpu}, span={str(self.span)!r})"


def ring(head: SchedGroup | None, limit: int) -> Iterator[SchedGroup]:
    """The groups of the ring at *head*, stopping at the head, a NULL link or a revisit.

    *limit* bounds the walk as well: a ring never holds more groups than CPUs
    (or distinct group objects), so a longer walk is a broken ring.
    """
    seen: set[int] = set()
    group = head
    while group is not None and id(group) not in seen and len(seen) < limit:
        seen.add(id(group))
        yield group
        group = group.next
        if group is head:
            return


class _FrozenSchedGroup(SchedGroup):
    """A sched_group after its build: read-only."""

    __slots__ = ()

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"sched_group {self.span} is frozen (build a new generation)")


class _FrozenSchedDomain(SchedDomain):
    """A sched_domain after its build: read-only."""

    __slots__ = ()

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"sched_domain {self.name} of CPU{self.cpu} is frozen")


def freeze_domains(bases: Iterable[SchedDomain | None]) -> None:
    """Freeze every domain on the chains at *bases* and every group reachable from them.

    Each object is visited once, however many CPUs share it, and a broken
    ring is followed only until it reaches an object already frozen.
    """
    for sd in bases:
        while sd is not None and type(sd) is SchedDomain:
            group = sd.groups
            while group is not None and type(group) is SchedGroup:
                group.__class__ = _FrozenSchedGroup
                group = group.next
            sd.__class__ = _FrozenSchedDomain
            sd = sd.parent
