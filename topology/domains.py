"""Sched-domain construction for partitions of a machine (SPEC §1).

Models kernel/sched.c build_sched_domains (2.6.13-2.6.20) and
kernel/sched/topology.c build_sched_domains (6.18).

`build_sched_domains(machine, partitions, era)` is what the scheduler does
when the cpuset code hands it a new set of partitions: for every CPU of every
partition, build the chain of `SchedDomain`s bottom-up with their `SchedGroup`
rings, remove the degenerate levels (DEG-1..3) and attach the base.  CPUs in
no partition, and CPUs whose whole chain degenerates (a 1-CPU partition,
DEG-4), get the NULL domain: ``build.base(cpu) is None``.

Eras (`ERAS`):

* ``"2.6.14"`` (default): the first release with dynamic domains that work;
  SIBLING/CPU/NODE/ALLNODES, GRP-1..3 (build26.py);
* ``"2.6.20"``: adds MC and SD_SERIALIZE, init_sched_groups_power (build26.py);
* ``"modern"``: 6.18's sd_init, NUMA levels from distances, overlapping NUMA
  groups, capacities (build_modern.py, sched_numa.py);
* ``"2.6.13"``: the legacy builder whose group tables are shared between the
  partitions of one call, in the order given (legacy2613.py, BUG13-2/W).

The result is a new generation of frozen objects; nothing a previous build
returned is ever touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from topology.build26 import build_26
from topology.build_modern import build_modern
from topology.cpu_maps import CpuMaps
from topology.cpumask import CpuMask
from topology.legacy2613 import build_2613
from topology.machine import Machine
from topology.sched_domain import DomainAttr, SchedDomain, SchedGroup, freeze_domains
from topology.sd_flags import SdFlag

__all__ = [
    "DEFAULT_ERA",
    "ERAS",
    "DomainAttr",
    "DomainBuild",
    "PartitionError",
    "SchedDomain",
    "SchedGroup",
    "SdFlag",
    "build_sched_domains",
]

ERAS = ("2.6.13", "2.6.14", "2.6.20", "modern")
DEFAULT_ERA = "2.6.14"
_MAX_LEVELS = 64  # a chain is never this long; the bound only guards the walk


class PartitionError(ValueError):
    """Partitions the scheduler cannot take: overlapping, or CPUs not on the machine (SD-INV-11)."""


@dataclass(frozen=True, slots=True)
class DomainBuild:
    """One generation of sched domains: per CPU its attached base domain (or NULL)."""

    machine: Machine
    era: str
    partitions: tuple[CpuMask, ...]
    attrs: tuple[DomainAttr, ...]
    generation: int
    bases: tuple[SchedDomain | None, ...]

    def base(self, cpu: int) -> SchedDomain | None:
        """``cpu_rq(cpu)->sd``: the base domain, or None for the NULL domain."""
        return self.bases[cpu]

    def chain(self, cpu: int) -> tuple[SchedDomain, ...]:
        """The CPU's domains from the base up (for_each_domain)."""
        out: list[SchedDomain] = []
        sd = self.bases[cpu]
        while sd is not None and len(out) < _MAX_LEVELS:
            out.append(sd)
            sd = sd.parent
        return tuple(out)

    def partition_of(self, cpu: int) -> int | None:
        """Index of the partition holding *cpu*, or None."""
        for index, part in enumerate(self.partitions):
            if cpu in part:
                return index
        return None


def _check_partitions(machine: Machine, partitions: Sequence[CpuMask]) -> None:
    union = 0
    owner: list[int] = []
    for index, part in enumerate(partitions):
        outside = part - machine.all_cpus
        if outside:
            raise PartitionError(
                f"partition {index} ({part}) holds CPUs {outside} that are not on "
                f"{machine.name} (CPUs {machine.all_cpus})"
            )
        clash = CpuMask(union) & part
        if clash:
            other = next(k for k in owner if partitions[k].intersects(clash))
            raise PartitionError(
                f"partitions {other} ({partitions[other]}) and {index} ({part}) overlap on "
                f"CPUs {clash}: sched-domain partitions must be disjoint"
            )
        union |= part.bits
        owner.append(index)


def build_sched_domains(
    machine: Machine,
    partitions: Sequence[CpuMask] | None = None,
    era: str = DEFAULT_ERA,
    attrs: Sequence[DomainAttr] | None = None,
    generation: int = 0,
) -> DomainBuild:
    """Build the domains of every partition (None: one partition of all CPUs) in *era*.

    An empty partition is skipped, as partition_sched_domains skips it.
    Raises PartitionError for overlapping partitions, CPUs beyond the machine,
    or an *attrs* of the wrong length; ValueError for an unknown era.
    """
    if era not in ERAS:
        raise ValueError(f"unknown era {era!r} (known: {', '.join(ERAS)})")
    parts = (machine.all_cpus,) if partitions is None else tuple(partitions)
    _check_partitions(machine, parts)
    if attrs is None:
        attrs = [DomainAttr()] * len(parts)
    if len(attrs) != len(parts):
        raise PartitionError(f"{len(attrs)} domain attributes for {len(parts)} partitions")
    maps = CpuMaps.of(machine)
    if era == "2.6.13":
        built = build_2613(maps, parts, attrs)
    elif era == "modern":
        built = build_modern(maps, parts, attrs)
    else:
        built = build_26(era, maps, parts, attrs)
    bases = tuple(built.get(cpu) for cpu in range(machine.nr_cpus))
    freeze_domains(bases)
    return DomainBuild(machine, era, parts, tuple(attrs), generation, bases)
