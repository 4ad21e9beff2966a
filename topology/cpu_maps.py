"""The topology maps the domain builders read, as plain int bitmaps.

Mirrors what the kernel's builders consult: ``cpu_sibling_map`` (SMT
siblings), ``cpu_coregroup_map`` (cores of a package within a node, the MC
level), ``node_to_cpumask`` and ``node_distance`` (SLIT).  Computed once per
build from a `Machine`, indexed by CPU or node, so that building domains for
4096 CPUs is a few linear passes over ints.
"""

from __future__ import annotations

from dataclasses import dataclass

from topology.machine import Machine

__all__ = ["SD_NODES_PER_DOMAIN", "CpuMaps", "sched_domain_node_span"]

SD_NODES_PER_DOMAIN = 16
"""kernel/sched.c (2.6.x): nodes in a NODE-level domain, this one included."""


@dataclass(frozen=True, slots=True)
class CpuMaps:
    """Per-CPU and per-node bitmaps of one machine."""

    nr_cpus: int
    nr_nodes: int
    node_of: tuple[int, ...]
    sibling: tuple[int, ...]
    coregroup: tuple[int, ...]
    node_cpus: tuple[int, ...]
    distance: tuple[tuple[int, ...], ...]
    has_smt: bool
    has_multicore: bool

    @classmethod
    def of(cls, machine: Machine) -> CpuMaps:
        node_cpus = [machine.node_mask(n).bits for n in range(machine.nr_nodes)]
        sibling = [machine.sibling_mask(c.cpu).bits for c in machine.cpus]
        coregroup = [machine.core_group_mask(c.cpu).bits for c in machine.cpus]
        return cls(
            nr_cpus=machine.nr_cpus,
            nr_nodes=machine.nr_nodes,
            node_of=tuple(c.node for c in machine.cpus),
            sibling=tuple(sibling),
            coregroup=tuple(coregroup),
            node_cpus=tuple(node_cpus),
            distance=machine.distances,
            has_smt=machine.has_smt,
            has_multicore=any(cg != sib for cg, sib in zip(coregroup, sibling, strict=True)),
        )

    def nodes_with_cpus(self) -> list[int]:
        return [n for n in range(self.nr_nodes) if self.node_cpus[n]]


def sched_domain_node_span(maps: CpuMaps, node: int) -> int:
    """kernel/sched.c sched_domain_node_span: *node* plus its 15 nearest nodes (GRP-2).

    find_next_best_node picks the closest unused node with CPUs, scanning from
    *node* upward with wrap-around so that the first strictly smaller distance
    wins: ties go to the node met first.  Sorting the candidates once by
    (distance, scan position) gives the same picks in the same order.  When the
    nodes run out the kernel falls back to node 0, whose CPUs are already in.
    """
    # SIMPLIFIED: the scan wraps at nr_nodes, not MAX_NUMNODES; nodes beyond the
    # machine have no CPUs, so the order over the real nodes is the same.
    n = maps.nr_nodes
    row = maps.distance[node]
    candidates = sorted(
        (m for m in range(n) if m != node and maps.node_cpus[m]),
        key=lambda m: (row[m], (m - node) % n),
    )
    span = maps.node_cpus[node]
    for m in candidates[: SD_NODES_PER_DOMAIN - 1]:
        span |= maps.node_cpus[m]
    return span
