"""build_sched_domains of 6.x (kernel/sched/topology.c 6.18), one partition at a time.

Topology levels bottom-up (default_topology + sched_init_numa): SMT
(cpu_smt_mask; SHARE_CPUCAPACITY|SHARE_LLC), MC (cpu_coregroup_mask;
SHARE_LLC), PKG (cpu_cpu_mask = the node), then NODE (NUMA identity) and one
NUMA level per further distinct distance (SD_NUMA, overlapping).  Each CPU's
chain stops at the first level whose span equals the cpu_map.  ``sd.level``
counts built levels from 0, as relax_domain_level sees them.

Non-NUMA groups (build_sched_groups, get_group) are the child domains' spans,
shared by every CPU of the domain; NUMA groups come from `OverlapBuilder`.
Capacities are 1024 per CPU (init_sched_groups_capacity on an idle machine).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from topology.build26 import bits_of, link_ring
from topology.cpu_maps import CpuMaps
from topology.cpumask import CpuMask
from topology.degenerate import cpu_attach_domain
from topology.sched_domain import DomainAttr, SchedDomain, SchedGroup
from topology.sched_numa import SCHED_CAPACITY_SCALE, OverlapBuilder, numa_masks
from topology.sd_flags import SdFlag
from topology.sd_init import make_domain, sd_init_modern, set_domain_attribute

__all__ = ["TopologyLevel", "build_modern", "default_topology"]


@dataclass(frozen=True, slots=True)
class TopologyLevel:
    """struct sched_domain_topology_level: a mask function, flags and a name."""

    name: str
    mask: Callable[[int], int]
    flags: SdFlag
    numa_distance: int | None = None
    overlap: bool = False


def default_topology(maps: CpuMaps) -> list[TopologyLevel]:
    """default_topology[] followed by the NODE and NUMA levels of sched_init_numa."""
    node_of, node_cpus = maps.node_of, maps.node_cpus
    levels = [
        TopologyLevel("SMT", maps.sibling.__getitem__, SdFlag.SHARE_CPUCAPACITY | SdFlag.SHARE_LLC),
        TopologyLevel("MC", maps.coregroup.__getitem__, SdFlag.SHARE_LLC),
        TopologyLevel("PKG", lambda c: node_cpus[node_of[c]], SdFlag(0)),
    ]
    # SIMPLIFIED: no CLS (cluster) level; x86's SMT/CLS/MC/PKG equals this without clusters.
    if maps.nr_nodes > 1:
        distances, masks = numa_masks(maps)
        for k, (distance, row) in enumerate(zip(distances, masks, strict=True)):
            levels.append(
                TopologyLevel(
                    "NODE" if k == 0 else "NUMA",
                    (lambda r: lambda c: r[node_of[c]])(row),
                    SdFlag(0) if k == 0 else SdFlag.NUMA,
                    distance,
                    overlap=k > 0,
                )
            )
    return levels


def _build_domains(
    levels: list[TopologyLevel], cpu_map: int, attr: DomainAttr
) -> list[dict[int, SchedDomain]]:
    """Per level, cpu -> the domain sd_init/build_sched_domain made (before degeneration)."""
    sdd: list[dict[int, SchedDomain]] = [{} for _ in levels]
    for i in bits_of(cpu_map):
        child: SchedDomain | None = None
        for level, tl in enumerate(levels):
            mask = tl.mask(i)
            init = sd_init_modern(tl.name, level, mask.bit_count(), tl.flags, tl.numa_distance)
            span = mask & cpu_map
            if child is not None:
                span |= child.span.bits  # "BUG: arch topology borken" fixup
            sd = make_domain(init, i, span)
            sd.child = child
            if child is not None:
                child.parent = sd
            set_domain_attribute(sd, attr, modern=True)
            sdd[level][i] = sd
            child = sd
            if span == cpu_map:
                break
    return sdd


def _shared_groups(
    sdd: list[dict[int, SchedDomain]], level: int, span: int
) -> dict[int, SchedGroup]:
    """build_sched_groups/get_group: one group per distinct child span, ring in CPU order.

    Returns cpu -> its group.  The kernel walks from each CPU with wrap-around
    and relinks the shared groups every time; for spans whose groups do not
    interleave every walk gives the same cyclic order, which is this one.
    """
    # SIMPLIFIED: one ring in ascending CPU order for the whole span; if child spans
    # interleaved so that walks from different CPUs met them in different cyclic
    # orders, the kernel's shared next pointers would end as the last walk left them.
    below = sdd[level - 1] if level > 0 else None
    covered, order, by_cpu = 0, [], {}
    for j in bits_of(span):
        if covered >> j & 1:
            continue
        gspan = below[j].span.bits if below is not None else 1 << j
        group = SchedGroup(CpuMask(gspan), (gspan & -gspan).bit_length() - 1)
        group.power = SCHED_CAPACITY_SCALE * gspan.bit_count()
        order.append(group)
        covered |= gspan
        for k in bits_of(gspan):
            by_cpu[k] = group
    link_ring(order)
    return by_cpu


def _build_groups(levels: list[TopologyLevel], sdd: list[dict[int, SchedDomain]]) -> None:
    overlap = OverlapBuilder.of(sdd)
    for level, tl in enumerate(levels):
        domains = sdd[level]
        if tl.overlap:
            for sd in domains.values():
                sd.groups = overlap.groups_of(sd)
            continue
        done: dict[int, dict[int, SchedGroup]] = {}
        for i, sd in domains.items():
            span = sd.span.bits
            if span not in done:
                done[span] = _shared_groups(sdd, level, span)
            sd.groups = done[span][i]


def build_modern(
    maps: CpuMaps, partitions: Sequence[CpuMask], attrs: Sequence[DomainAttr]
) -> dict[int, SchedDomain | None]:
    """Build every partition with the 6.x builder; cpu -> attached base domain."""
    # SIMPLIFIED: capacity_of() is taken as 1024 (no RT/IRQ pressure, no asymmetry);
    # sd->shared, imb_numa_nr, max_newidle_lb_cost and the groups' cached child
    # flags (sg->flags) are not modelled.
    levels = default_topology(maps)
    bases: dict[int, SchedDomain | None] = {}
    for cpu_map, attr in zip(partitions, attrs, strict=True):
        if not cpu_map:
            continue
        sdd = _build_domains(levels, cpu_map.bits, attr)
        _build_groups(levels, sdd)
        for i, sd in sdd[0].items():
            bases[i] = cpu_attach_domain(sd, "modern")
    return bases
