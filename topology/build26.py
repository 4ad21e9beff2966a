"""build_sched_domains of 2.6.14 and 2.6.20 (kernel/sched.c), one partition at a time.

Per CPU of the partition's ``cpu_map`` the chain is built top-down exactly as
the kernel does (SPEC §1.5, DYN-2):

* ALLNODES (NUMA, only if ``w(cpu_map) > 16 * w(node ∩ cpu_map)``), span = cpu_map;
* NODE (NUMA), span = the node and its 15 nearest nodes, ∩ cpu_map;
* CPU ("phys"), span = the CPU's node ∩ cpu_map;
* MC (2.6.20, machines with multi-core packages), span = cpu_coregroup_map ∩ cpu_map;
* SIBLING (SMT machines), span = cpu_sibling_map ∩ cpu_map.

Groups follow init_sched_build_groups (GRP-1) and the hand-rolled node rings
(GRP-2); powers follow GRP-3 in 2.6.14 and init_sched_groups_power /
init_numa_sched_groups_power in 2.6.20.  Then every CPU's chain goes through
cpu_attach_domain (degenerate.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from topology.cpu_maps import SD_NODES_PER_DOMAIN, CpuMaps, sched_domain_node_span
from topology.cpumask import CpuMask
from topology.degenerate import cpu_attach_domain
from topology.sched_domain import DomainAttr, SchedDomain, SchedGroup
from topology.sd_flags import SdFlag
from topology.sd_init import make_domain, sd_init_26, set_domain_attribute

__all__ = ["SCHED_LOAD_SCALE", "bits_of", "build_26", "first", "link_ring", "phys_power"]

SCHED_LOAD_SCALE = 128
"""2.6.x: cpu_power of one full CPU."""

Level = dict[int, SchedDomain]  # cpu -> that CPU's domain at one level


def bits_of(bits: int) -> Iterator[int]:
    """Ascending set bits of an int (for_each_cpu_mask)."""
    return iter(CpuMask(bits))


def first(bits: int) -> int:
    """first_cpu()."""
    return (bits & -bits).bit_length() - 1


def phys_power(weight: int) -> int:
    """GRP-3: SCHED_LOAD_SCALE + SCHED_LOAD_SCALE * (w - 1) / 10 (2 siblings -> 140)."""
    return SCHED_LOAD_SCALE + SCHED_LOAD_SCALE * (weight - 1) // 10


def link_ring(groups: Sequence[SchedGroup]) -> None:
    """Close *groups* into a ring in the given order (last->next = first)."""
    for a, b in zip(groups, [*groups[1:], groups[0]], strict=True):
        a.next = b


def _init_groups(
    span: int, class_of: Callable[[int], int], gid: Callable[[int], int]
) -> dict[int, SchedGroup]:
    """GRP-1 init_sched_build_groups: one group per class met walking *span*; ring in that order.

    *class_of(i)* is ``{j in span : group_fn(j) == group_fn(i)}``; returns cpu -> its group.
    """
    covered, order, by_cpu = 0, [], {}
    for i in bits_of(span):
        if covered >> i & 1:
            continue
        members = class_of(i)
        group = SchedGroup(CpuMask(members), gid(i))
        order.append(group)
        covered |= members
        for j in bits_of(members):
            by_cpu[j] = group
    link_ring(order)
    return by_cpu


class _Partition:
    """The build of one cpu_map: per-level domains, then groups, power, attach."""

    def __init__(self, era: str, maps: CpuMaps, cpu_map: int, node_spans: dict[int, int]) -> None:
        self.era, self.maps, self.cpu_map, self.node_spans = era, maps, cpu_map, node_spans
        # SIMPLIFIED: CONFIG_NUMA / CONFIG_SCHED_MC / CONFIG_SCHED_SMT follow the machine:
        # a level is built only if the machine has several nodes / multi-core packages / SMT.
        self.numa = maps.nr_nodes > 1
        self.mc = era == "2.6.20" and maps.has_multicore
        self.levels: dict[str, Level] = {
            n: {} for n in ("ALLNODES", "NODE", "CPU", "MC", "SIBLING")
        }

    def node_span(self, node: int) -> int:
        if node not in self.node_spans:
            self.node_spans[node] = sched_domain_node_span(self.maps, node)
        return self.node_spans[node]

    def nodemask(self, cpu: int) -> int:
        return self.maps.node_cpus[self.maps.node_of[cpu]] & self.cpu_map

    def build_domains(self, attr: DomainAttr) -> None:
        maps, cpu_map = self.maps, self.cpu_map
        weight = cpu_map.bit_count()
        for i in bits_of(cpu_map):
            nodemask = self.nodemask(i)
            spans: list[tuple[str, int]] = []
            if self.numa:
                if weight > SD_NODES_PER_DOMAIN * nodemask.bit_count():
                    spans.append(("ALLNODES", cpu_map))
                spans.append(("NODE", self.node_span(maps.node_of[i]) & cpu_map))
            spans.append(("CPU", nodemask))
            if self.mc:
                spans.append(("MC", maps.coregroup[i] & cpu_map))
            if maps.has_smt:
                spans.append(("SIBLING", maps.sibling[i] & cpu_map))
            parent: SchedDomain | None = None
            for name, span in spans:
                sd = make_domain(sd_init_26(self.era, name, maps.nr_cpus), i, span)
                set_domain_attribute(sd, attr, modern=False)
                sd.parent = parent
                if parent is not None:
                    parent.child = sd
                self.levels[name][i] = sd
                parent = sd

    def phys_class(self, i: int) -> int:
        """The CPUs sharing cpu_to_phys_group(i) within i's node ∩ cpu_map."""
        if self.mc:
            return self.maps.coregroup[i] & self.cpu_map
        if self.maps.has_smt:
            return self.maps.sibling[i] & self.nodemask(i)
        return 1 << i

    def phys_gid(self, i: int) -> int:
        if self.era == "2.6.14" and self.maps.has_smt:
            return first(self.maps.sibling[i])  # 2.6.14: first sibling of the unrestricted map
        return first(self.phys_class(i))

    def build_groups(self) -> None:
        maps, cpu_map = self.maps, self.cpu_map
        for name in ("SIBLING", "MC", "CPU"):
            level = self.levels[name]
            if not level:
                continue
            done = 0
            for i in bits_of(cpu_map):
                if done >> i & 1:
                    continue
                span = level[i].span.bits
                done |= span
                by_cpu = self._level_groups(name, span)
                for j in bits_of(span):
                    level[j].groups = by_cpu[j]
        if self.levels["ALLNODES"]:
            self._allnodes_groups()
        if self.levels["NODE"]:
            for node in range(maps.nr_nodes):
                if maps.node_cpus[node] & cpu_map:
                    self._node_groups(node)

    def _level_groups(self, name: str, span: int) -> dict[int, SchedGroup]:
        if name == "SIBLING":
            return _init_groups(span, lambda i: 1 << i, lambda i: i)
        if name == "MC":
            sib = self.maps.sibling
            cls = (lambda i: sib[i] & span) if self.maps.has_smt else (lambda i: 1 << i)
            return _init_groups(span, cls, lambda i: first(cls(i)))
        return _init_groups(span, self.phys_class, self.phys_gid)

    def allnodes_gid(self, i: int) -> int:
        """cpu_to_allnodes_group: the node (2.6.14) or its first CPU in the map (2.6.20)."""
        if self.era == "2.6.14":
            return self.maps.node_of[i]
        return first(self.nodemask(i))

    def _allnodes_groups(self) -> None:
        by_cpu = _init_groups(self.cpu_map, self.nodemask, self.allnodes_gid)
        for i, sd in self.levels["ALLNODES"].items():
            sd.groups = by_cpu[i]

    def _node_groups(self, node: int) -> None:
        """GRP-2: this node's CPUs first, then one group per further node (n+j) mod N."""
        maps, cpu_map = self.maps, self.cpu_map
        nodemask = maps.node_cpus[node] & cpu_map
        domainspan = self.node_span(node) & cpu_map
        groups = [SchedGroup(CpuMask(nodemask), node)]
        covered = nodemask
        for j in range(maps.nr_nodes):
            tmp = ~covered & cpu_map & domainspan
            if not tmp:
                break
            n = (node + j) % maps.nr_nodes
            tmp &= maps.node_cpus[n]
            if tmp:
                groups.append(SchedGroup(CpuMask(tmp), n))
                covered |= tmp
        link_ring(groups)
        for i in bits_of(nodemask):
            self.levels["NODE"][i].groups = groups[0]

    def rings(self, name: str) -> list[SchedGroup]:
        """Each distinct ring head of a level once (in CPU order)."""
        seen: set[int] = set()
        heads = []
        for sd in self.levels[name].values():
            group = sd.groups
            while group is not None and id(group) not in seen:
                seen.add(id(group))
                heads.append(group)
                group = group.next
        return heads

    def attach(self) -> dict[int, SchedDomain | None]:
        bases: dict[int, SchedDomain | None] = {}
        for i in bits_of(self.cpu_map):
            for name in ("SIBLING", "MC", "CPU"):
                if i in self.levels[name]:
                    bases[i] = cpu_attach_domain(self.levels[name][i], self.era)
                    break
        return bases


def _power_2614(p: _Partition) -> None:
    """GRP-3 as kernel/sched.c 2.6.14 computes it."""
    for group in p.rings("SIBLING"):
        group.power = SCHED_LOAD_SCALE
    first_power: dict[int, int] = {}
    for group in p.rings("CPU"):
        group.power = phys_power(len(group.span))
        first_power[group.span.first()] = group.power
    # SIMPLIFIED: 2.6.14 powers only the ALLNODES groups of nodes whose own CPUs have an
    # ALLNODES domain (the others keep cpu_power 0); every group is powered here.
    for group in p.rings("ALLNODES"):
        group.power = phys_power(len(group.span))
    for group in p.rings("NODE"):
        group.power = sum(first_power.get(j, 0) for j in group.span)


def _power_2620(p: _Partition) -> None:
    """init_sched_groups_power (SIBLING, MC, CPU) then init_numa_sched_groups_power (2.6.20)."""
    shares = SdFlag.SHARE_CPUPOWER | SdFlag.SHARE_PKG_RESOURCES
    for name in ("SIBLING", "MC", "CPU"):
        for i, sd in p.levels[name].items():
            group = sd.groups
            if group is None or i != group.span.first():
                continue
            child = sd.child
            if child is None or child.flags & shares:
                group.power = SCHED_LOAD_SCALE
            else:
                group.power = sum(g.power for g in _ring_of(child.groups))
    first_power = {g.span.first(): g.power for g in p.rings("CPU")}
    for name in ("NODE", "ALLNODES"):
        for group in p.rings(name):
            group.power = sum(first_power.get(j, 0) for j in group.span)


def _ring_of(head: SchedGroup | None) -> list[SchedGroup]:
    out: list[SchedGroup] = []
    group = head
    while group is not None and (not out or group is not head):
        out.append(group)
        group = group.next
    return out


def build_26(
    era: str, maps: CpuMaps, partitions: Sequence[CpuMask], attrs: Sequence[DomainAttr]
) -> dict[int, SchedDomain | None]:
    """Build every partition with the 2.6.14 or 2.6.20 builder; cpu -> attached base domain."""
    # SIMPLIFIED: the kernel's static SIBLING/phys group arrays are allocated per
    # partition here; 2.6.14 indexed the phys array by the first sibling of the
    # *unrestricted* sibling map, so SMT siblings split across partitions shared a
    # slot (BUG13-W's hazard, SPEC §1.9).  Only era "2.6.13" shares tables.
    node_spans: dict[int, int] = {}
    bases: dict[int, SchedDomain | None] = {}
    for cpu_map, attr in zip(partitions, attrs, strict=True):
        if not cpu_map:
            continue
        p = _Partition(era, maps, cpu_map.bits, node_spans)
        p.build_domains(attr)
        p.build_groups()
        (_power_2614 if era == "2.6.14" else _power_2620)(p)
        bases.update(p.attach())
    return bases
