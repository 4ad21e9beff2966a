"""The generic 2.6.13 builder with its shared group tables (BUG13-2; kernel/sched.c 2.6.13).

Before Hawkes' fix (2.6.14, BUG13-4) the generic build_sched_domains kept its
groups in static arrays indexed by something not restricted to the cpu_map
being built: ``sched_group_cpus[cpu]``, ``sched_group_phys[first sibling]`` and
``sched_group_nodes[node]``.  partition_sched_domains(p1, p2) builds p1 and
then p2 (DYN-4); when a node is split between them, p2's build rewrites the
slot p1's CPUs still point at.  This module keeps those tables for the
duration of one `build_2613` call and builds the partitions in the order
given, so the corruption is real: the ``next`` links are rewritten, and
BUG13-W comes out exactly (CPU1's node domain left with the single group {0};
CPU2/CPU3's ring never returning to its head).

Levels (generic 2.6.13): SIBLING (SMT), CPU = node ∩ cpu_map, NODE = the whole
cpu_map (no SD_NODES_PER_DOMAIN, no ALLNODES).  Parameters are 2.6.14's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from topology.build26 import SCHED_LOAD_SCALE, bits_of, first, phys_power
from topology.cpu_maps import CpuMaps
from topology.cpumask import CpuMask
from topology.degenerate import cpu_attach_domain
from topology.sched_domain import DomainAttr, SchedDomain, SchedGroup
from topology.sd_init import make_domain, sd_init_26, set_domain_attribute

__all__ = ["StaticGroups", "build_2613"]


class StaticGroups:
    """One of the kernel's static ``struct sched_group x[NR_CPUS]`` arrays."""

    def __init__(self) -> None:
        self.slots: dict[int, SchedGroup] = {}

    def __getitem__(self, index: int) -> SchedGroup:
        if index not in self.slots:
            self.slots[index] = SchedGroup(CpuMask(0), index)
        return self.slots[index]

    def init_sched_build_groups(self, span: int, group_fn: Callable[[int], int]) -> None:
        """GRP-1 writing into the shared slots: cpumask, power 0 and ``next`` of each slot met."""
        covered = 0
        last: SchedGroup | None = None
        head: SchedGroup | None = None
        for i in bits_of(span):
            if covered >> i & 1:
                continue
            g = group_fn(i)
            members = 0
            for j in bits_of(span):
                if group_fn(j) == g:
                    members |= 1 << j
            covered |= members
            sg = self[g]
            sg.span = sg.balance_mask = CpuMask(members)
            sg.power = 0
            if last is not None:
                last.next = sg
            head = head or sg
            last = sg
        if last is not None:
            last.next = head


def _build_one(
    maps: CpuMaps, tables: dict[str, StaticGroups], cpu_map: int, attr: DomainAttr
) -> dict[int, SchedDomain]:
    """Build one partition's domains and groups; cpu -> lowest domain (not yet attached)."""
    numa = maps.nr_nodes > 1
    phys_fn = (lambda i: first(maps.sibling[i])) if maps.has_smt else (lambda i: i)
    lowest: dict[int, SchedDomain] = {}
    for i in bits_of(cpu_map):
        spans = [("NODE", cpu_map, maps.node_of[i])] if numa else []
        spans.append(("CPU", maps.node_cpus[maps.node_of[i]] & cpu_map, phys_fn(i)))
        if maps.has_smt:
            spans.append(("SIBLING", maps.sibling[i] & cpu_map, i))
        parent: SchedDomain | None = None
        for name, span, slot in spans:
            sd = make_domain(sd_init_26("2.6.13", name, maps.nr_cpus), i, span)
            set_domain_attribute(sd, attr, modern=False)
            sd.groups = tables[name][slot]
            sd.parent = parent
            if parent is not None:
                parent.child = sd
            parent = sd
            lowest[i] = sd
    if maps.has_smt:
        for i in bits_of(cpu_map):
            this = maps.sibling[i] & cpu_map
            if i == first(this):
                tables["SIBLING"].init_sched_build_groups(this, lambda c: c)
    for node in range(maps.nr_nodes):
        nodemask = maps.node_cpus[node] & cpu_map
        if nodemask:
            tables["CPU"].init_sched_build_groups(nodemask, phys_fn)
    if numa:
        tables["NODE"].init_sched_build_groups(cpu_map, maps.node_of.__getitem__)
    _power(maps, tables, cpu_map, phys_fn)
    return lowest


def _power(
    maps: CpuMaps, tables: dict[str, StaticGroups], cpu_map: int, phys_fn: Callable[[int], int]
) -> None:
    """2.6.13: SMT 128; phys 128 + 128(w-1)/10, added once per package to the node group."""
    for i in bits_of(cpu_map):
        if maps.has_smt:
            tables["SIBLING"][i].power = SCHED_LOAD_SCALE
        phys = tables["CPU"][phys_fn(i)]
        phys.power = phys_power(len(phys.span))
        if maps.nr_nodes > 1 and i == phys.span.first():
            tables["NODE"][maps.node_of[i]].power += phys.power


def build_2613(
    maps: CpuMaps, partitions: Sequence[CpuMask], attrs: Sequence[DomainAttr]
) -> dict[int, SchedDomain | None]:
    """Build the partitions in order over shared static tables; cpu -> attached base domain.

    Each partition is attached (degeneration decided) right after its own build,
    before the next partition's build rewrites the shared slots, as in DYN-4.
    """
    tables = {"SIBLING": StaticGroups(), "CPU": StaticGroups(), "NODE": StaticGroups()}
    bases: dict[int, SchedDomain | None] = {}
    for cpu_map, attr in zip(partitions, attrs, strict=True):
        if not cpu_map:
            continue
        lowest = _build_one(maps, tables, cpu_map.bits, attr)
        for i, sd in lowest.items():
            bases[i] = cpu_attach_domain(sd, "2.6.13")
    return bases
