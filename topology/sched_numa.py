"""NUMA levels and overlapping groups (kernel/sched/topology.c 6.18).

sched_init_numa: the distinct node distances, sorted, give one level each;
level k's mask for node n holds the CPUs of every node within
``distances[k]`` of n.  Level 0 is the NODE identity level; levels 1.. are
"NUMA" levels with SD_NUMA, whose spans overlap between CPUs.

build_overlap_sched_groups (GRP-4): a CPU walks its NUMA domain's span from
itself with wrap-around; each uncovered CPU i contributes the span of the
*child* of i's own domain at this level (descending further while that child
would reach outside the span: find_descended_sibling), with a balance mask of
the CPUs that really arrive at that group (build_balance_mask) and the
capacity object of the mask's first CPU (``id``).
"""

from __future__ import annotations

from dataclasses import dataclass

from topology.cpu_maps import CpuMaps
from topology.cpumask import CpuMask
from topology.sched_domain import SchedDomain, SchedGroup

__all__ = ["SCHED_CAPACITY_SCALE", "OverlapBuilder", "numa_masks"]

SCHED_CAPACITY_SCALE = 1024


def numa_masks(maps: CpuMaps) -> tuple[tuple[int, ...], tuple[tuple[int, ...], ...]]:
    """sched_init_numa: (sorted distinct distances, masks[level][node]) over nodes with CPUs."""
    nodes = maps.nodes_with_cpus()
    distances = tuple(sorted({maps.distance[i][j] for i in nodes for j in nodes}))
    masks = []
    for limit in distances:
        row = [0] * maps.nr_nodes
        for n in nodes:
            for m in nodes:
                if maps.distance[n][m] <= limit:
                    row[n] |= maps.node_cpus[m]
        masks.append(tuple(row))
    return distances, tuple(masks)


def _next_at_or_after(bits: int, pos: int) -> int:
    """Lowest set bit of *bits* at or above *pos*, or -1."""
    rest = bits >> pos << pos
    return (rest & -rest).bit_length() - 1 if rest else -1


@dataclass(slots=True)
class OverlapBuilder:
    """Overlap groups of one partition; ``sdd[level][cpu]``: the domains before degeneration."""

    sdd: list[dict[int, SchedDomain]]
    _rings: dict[tuple[int, int, int, int], SchedGroup]
    _masks: dict[tuple[int, int], int]

    @classmethod
    def of(cls, sdd: list[dict[int, SchedDomain]]) -> OverlapBuilder:
        return cls(sdd, {}, {})

    def groups_of(self, sd: SchedDomain) -> SchedGroup:
        """The group list of *sd* (a NUMA-level domain of CPU ``sd.cpu``): its head."""
        span, cpu = sd.span.bits, sd.cpu
        head_span = sd.child.span.bits if sd.child is not None else span
        # Two CPUs whose walks start in the same first group and meet the same
        # next uncovered CPU walk identically: they can share the (frozen) list.
        # SIMPLIFIED: the kernel gives each CPU private copies of these groups.
        rest = span & ~head_span
        nxt = _next_at_or_after(rest, cpu + 1)
        if nxt < 0:
            nxt = _next_at_or_after(rest, 0)
        key = (sd.level, span, head_span, nxt)
        if key not in self._rings:
            self._rings[key] = self._build(sd)
        return self._rings[key]

    def _build(self, sd: SchedDomain) -> SchedGroup:
        span, cpu, level = sd.span.bits, sd.cpu, sd.level
        covered = 0
        order: list[SchedGroup] = []
        for lo, hi in ((cpu, span.bit_length()), (0, cpu)):
            pos = lo
            while True:
                i = _next_at_or_after(span & ~covered & ((1 << hi) - 1), pos)
                if i < 0:
                    break
                pos = i + 1
                sibling = self.sdd[level].get(i)
                if sibling is None or not sibling.span.bits >> i & 1:
                    continue  # asymmetric topology: i's tree stopped below this level
                child = sibling.child
                if child is not None and child.span.bits & ~span:
                    sibling = _find_descended_sibling(span, sibling)
                    child = sibling.child
                gspan = child.span.bits if child is not None else sibling.span.bits
                covered |= gspan
                order.append(self._group(sibling, gspan))
        for a, b in zip(order, [*order[1:], order[0]], strict=True):
            a.next = b
        return order[0]

    def _group(self, sibling: SchedDomain, gspan: int) -> SchedGroup:
        key = (sibling.level, gspan)
        if key not in self._masks:
            self._masks[key] = self._balance_mask(sibling.level, gspan)
        mask = self._masks[key]
        # init_overlap_sched_group: sgc of the mask's first CPU; capacity 1024 per CPU.
        group = SchedGroup(CpuMask(gspan), (mask & -mask).bit_length() - 1)
        group.balance_mask = CpuMask(mask)
        group.power = SCHED_CAPACITY_SCALE * gspan.bit_count()
        return group

    def _balance_mask(self, level: int, gspan: int) -> int:
        """build_balance_mask: CPUs of the group whose own domain's child is exactly the group."""
        mask = 0
        for j in CpuMask(gspan):
            sib = self.sdd[level].get(j)
            if sib is not None and sib.child is not None and sib.child.span.bits == gspan:
                mask |= 1 << j
        return mask


def _find_descended_sibling(span: int, sibling: SchedDomain) -> SchedDomain:
    """find_descended_sibling: go down until the child fits in *span*, then past equal spans."""
    while sibling.child is not None and sibling.child.span.bits & ~span:
        sibling = sibling.child
    while sibling.child is not None and sibling.child.span == sibling.span:
        sibling = sibling.child
    return sibling
