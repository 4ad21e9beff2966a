"""SD-INV-1..11 hold for random topologies and partitions (SPEC §1.2; every era but 2.6.13).

Machines are hwloc-style synthetic strings of 1-4 levels (up to 256 CPUs)
with a random SLIT.  The SLIT is a path metric: the nodes are joined by a
random connected graph and the distance is 10 + step * hops, the way
firmware derives SLITs from the interconnect (symmetric, LOCAL_DISTANCE on
the diagonal, triangle inequality).  Partitions are random disjoint sets of
CPUs, some CPUs left in none.
"""

from __future__ import annotations

import itertools
from collections import deque

from hypothesis import given, settings
from hypothesis import strategies as st

from topology import CpuMask
from topology.debug import sched_domain_debug
from topology.domains import build_sched_domains
from topology.machine import Machine
from topology.sched_domain import ring
from topology.synthetic import parse_synthetic

LEVELS = ("node", "package", "core", "pu")
EXAMPLES = max(10, settings().max_examples // 3)


def _hops(n: int, edges: set[tuple[int, int]]) -> list[list[int]]:
    adjacent: list[list[int]] = [[] for _ in range(n)]
    for a, b in sorted(edges):
        adjacent[a].append(b)
        adjacent[b].append(a)
    table = []
    for src in range(n):
        dist = [-1] * n
        dist[src] = 0
        queue = deque([src])
        while queue:
            here = queue.popleft()
            for there in adjacent[here]:
                if dist[there] < 0:
                    dist[there] = dist[here] + 1
                    queue.append(there)
        table.append(dist)
    return table


@st.composite
def slit(draw: st.DrawFn, nodes: int) -> str:
    """A random connected interconnect's hop-count SLIT, as ``distances=`` rows."""
    edges = {(draw(st.integers(0, i - 1)), i) for i in range(1, nodes)}
    pairs = [(a, b) for a in range(nodes) for b in range(a + 1, nodes)]
    if pairs:
        edges |= set(draw(st.lists(st.sampled_from(pairs), max_size=nodes)))
    step = draw(st.integers(1, 7))
    hops = _hops(nodes, edges)
    return ";".join(",".join(str(10 + step * h) for h in row) for row in hops)


@st.composite
def machines(draw: st.DrawFn) -> Machine:
    chosen = draw(st.lists(st.sampled_from(LEVELS), min_size=1, max_size=4, unique=True))
    levels = [lv for lv in LEVELS if lv in chosen]
    counts, total = {}, 1
    for lv in levels:
        counts[lv] = draw(st.integers(1, max(1, min(8, 256 // total))))
        total *= counts[lv]
    spec = " ".join(f"{lv}:{counts[lv]}" for lv in levels)
    nodes = counts.get("node", 1)
    if nodes > 1:
        spec += f" distances={draw(slit(nodes))}"
    return parse_synthetic(spec)


@st.composite
def partitioned(draw: st.DrawFn) -> tuple[Machine, list[CpuMask]]:
    machine = draw(machines())
    k = draw(st.integers(1, 4))
    owner = draw(
        st.lists(st.integers(-1, k - 1), min_size=machine.nr_cpus, max_size=machine.nr_cpus)
    )
    parts = [CpuMask.of(c for c, o in enumerate(owner) if o == p) for p in range(k)]
    return machine, [p for p in parts if p]


def _errors(machine: Machine, parts: list[CpuMask], era: str) -> list[str]:
    build = build_sched_domains(machine, parts, era=era)
    return [f"CPU{e.cpu}: {e.message}" for e in sched_domain_debug(build).errors]


@settings(max_examples=EXAMPLES)
@given(partitioned())
def test_sd_invariants_hold_in_2_6_14(case: tuple[Machine, list[CpuMask]]) -> None:
    assert _errors(*case, "2.6.14") == []


@settings(max_examples=EXAMPLES)
@given(partitioned())
def test_sd_invariants_hold_in_2_6_20(case: tuple[Machine, list[CpuMask]]) -> None:
    assert _errors(*case, "2.6.20") == []


@settings(max_examples=EXAMPLES)
@given(partitioned())
def test_sd_invariants_hold_in_modern(case: tuple[Machine, list[CpuMask]]) -> None:
    assert _errors(*case, "modern") == []


@settings(max_examples=EXAMPLES)
@given(partitioned(), st.sampled_from(["2.6.14", "2.6.20", "modern"]))
def test_chains_nest_and_stay_inside_their_partition(
    case: tuple[Machine, list[CpuMask]], era: str
) -> None:
    """SD-INV-1/6/11 checked on the objects directly, independently of the printout."""
    machine, parts = case
    build = build_sched_domains(machine, parts, era=era)
    for cpu in range(machine.nr_cpus):
        index = build.partition_of(cpu)
        part = CpuMask(0) if index is None else parts[index]
        spans = [sd.span for sd in build.chain(cpu)]
        assert all(cpu in s and s <= part for s in spans)
        assert all(a <= b for a, b in itertools.pairwise(spans))
        for sd in build.chain(cpu):
            groups = list(ring(sd.groups, machine.nr_cpus + 1))
            assert groups[-1].next is sd.groups
            union = CpuMask(0)
            for g in groups:
                union |= g.span
            assert union == sd.span
