"""Machine descriptions: CPUs with (node, package, core, thread) ids and a SLIT.

Models what the kernel learns from firmware and exposes in
``/sys/devices/system/cpu/cpu*/topology`` and ``/sys/devices/system/node``:
per CPU its NUMA node, physical package, core and SMT thread, and the node
distance table (ACPI SLIT, ``node*/distance``; LOCAL_DISTANCE = 10).

Ids are global: core *c* is the same core wherever it appears.  The derived
masks mirror the kernel's: `sibling_mask` = cpu_sibling_map / topology_sibling_cpumask
(SMT), `core_group_mask` = cpu_coregroup_mask (CPUs of the package within the
node, i.e. the MC / LLC level), `node_mask` = cpumask_of_node.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

from topology.cpumask import CpuMask

__all__ = ["LOCAL_DISTANCE", "CpuTopo", "Machine", "MachineError", "slit_problem"]

LOCAL_DISTANCE = 10
"""node_distance(n, n) (include/linux/topology.h)."""


class MachineError(ValueError):
    """A machine description the simulator (and the kernel's topology code) rejects."""


@dataclass(frozen=True, slots=True)
class CpuTopo:
    """One logical CPU: its number and where it sits."""

    cpu: int
    node: int
    package: int
    core: int
    thread: int


def _masks_by(cpus: Sequence[CpuTopo], key: str) -> dict[int, int]:
    out: dict[int, int] = {}
    for c in cpus:
        k = getattr(c, key)
        out[k] = out.get(k, 0) | (1 << c.cpu)
    return out


@dataclass(frozen=True, eq=False)
class Machine:
    """A CPU topology with node distances; validated on construction."""

    cpus: tuple[CpuTopo, ...]
    distances: tuple[tuple[int, ...], ...]
    name: str = "machine"
    description: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.cpus:
            raise MachineError(f"{self.name}: a machine needs at least one CPU")
        for i, c in enumerate(self.cpus):
            if c.cpu != i:
                raise MachineError(f"{self.name}: CPUs must be numbered 0..{len(self.cpus) - 1}")
            if min(c.node, c.package, c.core, c.thread) < 0:
                raise MachineError(f"{self.name}: CPU {i} has a negative topology id: {c}")
        nodes = sorted({c.node for c in self.cpus})
        if len(self.distances) <= nodes[-1]:
            raise MachineError(
                f"{self.name}: distance table has {len(self.distances)} rows "
                f"but CPUs use node {nodes[-1]}"
            )
        _check_distances(self.name, self.distances)
        _check_nesting(self.name, self.cpus)

    # -- sizes and whole-machine masks --------------------------------------

    @property
    def nr_cpus(self) -> int:
        return len(self.cpus)

    @property
    def nr_nodes(self) -> int:
        """Number of nodes in the distance table (nodes may have no CPUs)."""
        return len(self.distances)

    @cached_property
    def all_cpus(self) -> CpuMask:
        return CpuMask((1 << len(self.cpus)) - 1)

    @cached_property
    def all_nodes(self) -> CpuMask:
        return CpuMask((1 << len(self.distances)) - 1)

    @cached_property
    def nodes_with_cpus(self) -> CpuMask:
        return CpuMask.of(c.node for c in self.cpus)

    # -- per-CPU masks --------------------------------------------------------

    @cached_property
    def _node_bits(self) -> dict[int, int]:
        return _masks_by(self.cpus, "node")

    @cached_property
    def _core_bits(self) -> dict[int, int]:
        return _masks_by(self.cpus, "core")

    @cached_property
    def _pkg_bits(self) -> dict[int, int]:
        return _masks_by(self.cpus, "package")

    def node_of(self, cpu: int) -> int:
        return self.cpus[cpu].node

    def node_mask(self, node: int) -> CpuMask:
        """cpumask_of_node: the CPUs of *node* (empty for a memory-only node)."""
        return CpuMask(self._node_bits.get(node, 0))

    def sibling_mask(self, cpu: int) -> CpuMask:
        """SMT siblings of *cpu*, itself included (cpu_sibling_map)."""
        return CpuMask(self._core_bits[self.cpus[cpu].core])

    def package_mask(self, cpu: int) -> CpuMask:
        """CPUs of *cpu*'s physical package (topology_core_cpumask)."""
        return CpuMask(self._pkg_bits[self.cpus[cpu].package])

    def core_group_mask(self, cpu: int) -> CpuMask:
        """cpu_coregroup_mask: CPUs sharing *cpu*'s package and node (the MC level)."""
        c = self.cpus[cpu]
        return CpuMask(self._pkg_bits[c.package] & self._node_bits[c.node])

    def distance(self, a: int, b: int) -> int:
        """node_distance(a, b) from the SLIT."""
        return self.distances[a][b]

    @cached_property
    def has_smt(self) -> bool:
        return any(bits.bit_count() > 1 for bits in self._core_bits.values())

    @cached_property
    def distinct_distances(self) -> tuple[int, ...]:
        """Sorted distinct SLIT values (sched_init_numa's sched_domains_numa_distance)."""
        return tuple(sorted({d for row in self.distances for d in row}))

    def summary(self) -> str:
        """One line: CPUs, nodes, packages, cores, threads per core."""
        return (
            f"{self.name}: {self.nr_cpus} CPUs, {self.nr_nodes} nodes, "
            f"{len(self._pkg_bits)} packages, {len(self._core_bits)} cores"
            f"{', SMT' if self.has_smt else ''}"
        )


def slit_problem(table: Sequence[Sequence[int]]) -> tuple[int, int | None, str] | None:
    """The first (row, column, what is wrong) that makes *table* an invalid SLIT, or None.

    Column None means the whole row (wrong length).  The rules are the kernel's
    (drivers/acpi/numa/srat.c: slit_valid; arch/x86/mm/numa.c: numa_set_distance):
    distance(i,i) == LOCAL_DISTANCE, any other entry in LOCAL_DISTANCE+1..255.
    """
    n = len(table)
    for i, row in enumerate(table):
        if len(row) != n:
            return i, None, f"has {len(row)} entries, expected {n}"
    for i, row in enumerate(table):
        for j, d in enumerate(row):
            if i == j and d != LOCAL_DISTANCE:
                return i, j, f"is {d}, must be LOCAL_DISTANCE={LOCAL_DISTANCE}"
            if i != j and not LOCAL_DISTANCE < d < 256:
                return i, j, f"= {d} is outside 11..255"
            # SIMPLIFIED: ACPI and the kernel accept an asymmetric SLIT (sched_init_numa
            # only warns); the domain builders here assume distance(i,j) == distance(j,i).
            if table[j][i] != d:
                return i, j, f"is {d} but distance({j},{i}) is {table[j][i]} (not symmetric)"
    return None


def _check_distances(name: str, table: tuple[tuple[int, ...], ...]) -> None:
    """Reject a SLIT the kernel would not accept (see `slit_problem`)."""
    problem = slit_problem(table)
    if problem is None:
        return
    i, j, what = problem
    where = f"distance row {i}" if j is None else f"distance({i},{j})"
    raise MachineError(f"{name}: {where} {what}")


def _check_nesting(name: str, cpus: tuple[CpuTopo, ...]) -> None:
    """GRP-5: each core lies in one package and one node, so level masks nest."""
    where: dict[int, tuple[int, int]] = {}
    for c in cpus:
        seen = where.setdefault(c.core, (c.package, c.node))
        if seen != (c.package, c.node):
            raise MachineError(
                f"{name}: core {c.core} spans package/node {seen} and "
                f"({c.package}, {c.node}) at CPU {c.cpu} (topology masks must nest, GRP-5)"
            )
