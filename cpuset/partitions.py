"""Which CPU sets become sched-domain partitions, era by era (SPEC §1.8, §1.10, §1.11).

* 2.6.14 (DYN-6, kernel/cpuset.c update_cpu_domains): each ``cpu_exclusive``
  event computes a pair (pspan, cspan) and calls partition_sched_domains on
  just those two spans (DYN-4); the rest of the layout stays as it was, so the
  result depends on history and is kept in the tree.
* 2.6.24 (P24-2, kernel/cpuset.c rebuild_sched_domains): breadth-first list
  of the ``sched_load_balance`` cpusets, overlapping ones merged (the kernel's
  relabel-and-restart loop), one domain per class.
* v1 6.18 (RB-4, RB-5, kernel/cgroup/cpuset.c generate_sched_domains): the
  fast path when the top balances, else a pre-order walk that stops below the
  first balanced cpuset, union-find on overlaps, relax_domain_level = the
  largest over each merged subtree.
* v2 6.18 (RB-4, RB-6): the top's remaining CPUs plus every valid ``root``
  partition; ``isolated`` partitions get no domain.

CPUs outside every partition get the NULL domain (SD-INV-11).
"""

from __future__ import annotations

from collections import deque
from typing import Protocol

from cpuset.events import PartitionsRebuilt
from cpuset.tree import Cpuset, CpusetTree, CsFlag, Prs, SchedPartitions
from topology import CpuMask
from topology.domains import DomainAttr, DomainBuild, build_sched_domains
from topology.machine import Machine

__all__ = [
    "build_domains",
    "generate_partitions",
    "generate_sched_domains",
    "partition_sched_domains_2614",
    "rebuild_sched_domains",
    "union_find_domains",
    "update_cpu_domains",
]

# SIMPLIFIED: empty elements (a balanced cpuset with no CPUs, P24-2) are dropped:
# the kernel passes them on but building an empty span builds nothing.


def generate_partitions(tree: CpusetTree) -> SchedPartitions:
    """The partitions currently in force (what the scheduler was last given)."""
    return tree.partitions


def generate_sched_domains(tree: CpusetTree) -> SchedPartitions:
    """What rebuild_sched_domains would hand the scheduler now (not 2.6.14: see DYN-6)."""
    rule = tree.era.partitions
    if rule == "dyn6":
        raise ValueError("2.6.14 partitions come from cpu_exclusive events (update_cpu_domains)")
    if rule == "union_find":
        return _generate_2624(tree)
    top = tree.top
    hk = tree.online_cpus - tree.isolcpus
    subparts = any(c.prs > 0 for c in top.children)
    if top.has(CsFlag.SCHED_LOAD_BALANCE) and not subparts:
        relax = _relax_of_subtree(top)
        return SchedPartitions((top.effective_cpus & hk,), (relax,))
    if rule == "rb_v2":
        return _generate_v2(tree, hk)
    return _generate_v1(tree, hk)


def union_find_domains(masks: list[CpuMask]) -> list[list[int]]:
    """Group indices of *masks* whose members overlap transitively, in first-member order.

    The kernel's relabel-and-restart loop over csa[] (pn numbers) gives the
    same classes; each class is listed by ascending index.
    """
    parent = list(range(len(masks)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, a in enumerate(masks):
        for j in range(i + 1, len(masks)):
            if a.intersects(masks[j]):
                ri, rj = find(i), find(j)
                parent[max(ri, rj)] = min(ri, rj)
    classes: dict[int, list[int]] = {}
    for i in range(len(masks)):
        classes.setdefault(find(i), []).append(i)
    return [classes[root] for root in sorted(classes)]


def _generate_2624(tree: CpusetTree) -> SchedPartitions:
    """P24-2: the 2.6.24 rebuild_sched_domains (breadth-first csa, merged overlaps)."""
    top = tree.top
    if top.has(CsFlag.SCHED_LOAD_BALANCE):
        return SchedPartitions((top.config.cpus,), (-1,))
    csa: list[Cpuset] = []
    queue: deque[Cpuset] = deque([top])
    while queue:
        cp = queue.popleft()
        if cp.has(CsFlag.SCHED_LOAD_BALANCE):
            csa.append(cp)
        queue.extend(cp.children)
    doms = []
    for cls in union_find_domains([cs.config.cpus for cs in csa]):
        dom = CpuMask()
        for i in cls:
            dom = dom | csa[i].config.cpus
        if dom:
            doms.append(dom)
    return SchedPartitions(tuple(doms), tuple(-1 for _ in doms))


def _generate_v1(tree: CpusetTree, hk: CpuMask) -> SchedPartitions:
    """RB-5: collect the top-most balanced cpusets, merge overlaps, take the largest relax."""
    csa: list[Cpuset] = []
    _collect_v1(tree.top, hk, csa)
    doms: list[CpuMask] = []
    relax: list[int] = []
    for cls in union_find_domains([cs.effective_cpus for cs in csa]):
        dom, level = CpuMask(), -1
        for i in cls:
            dom = dom | (csa[i].effective_cpus & hk)
            level = max(level, _relax_of_subtree(csa[i]))
        doms.append(dom)
        relax.append(level)
    return SchedPartitions(tuple(doms), tuple(relax))


def _collect_v1(cs: Cpuset, hk: CpuMask, csa: list[Cpuset]) -> None:
    for cp in cs.children:
        balanced = cp.has(CsFlag.SCHED_LOAD_BALANCE) and cp.config.cpus.intersects(hk)
        if cp.config.cpus and not balanced:
            _collect_v1(cp, hk, csa)
            continue
        if cp.has(CsFlag.SCHED_LOAD_BALANCE) and cp.effective_cpus:
            csa.append(cp)


def _generate_v2(tree: CpusetTree, hk: CpuMask) -> SchedPartitions:
    """RB-6: the top (if it balances) and each valid ``root`` partition with CPUs, as they are."""
    doms: list[CpuMask] = []
    if tree.top.has(CsFlag.SCHED_LOAD_BALANCE) and tree.top.effective_cpus & hk:
        doms.append(tree.top.effective_cpus & hk)
    stack = list(reversed(tree.top.children))
    while stack:
        cp = stack.pop()
        if cp.prs == Prs.ROOT and cp.effective_cpus:
            doms.append(cp.effective_cpus)
        if cp.prs > 0 or cp.config.exclusive_cpus:
            stack.extend(reversed(cp.children))
    return SchedPartitions(tuple(doms), tuple(-1 for _ in doms))


def _relax_of_subtree(root: Cpuset) -> int:
    """update_domain_attr_tree: the largest relax_domain_level of balanced cpusets with CPUs."""
    level = -1
    stack = [root]
    while stack:
        cp = stack.pop()
        if not cp.config.cpus:
            continue
        if cp.has(CsFlag.SCHED_LOAD_BALANCE):
            level = max(level, cp.config.relax_domain_level)
        stack.extend(cp.children)
    return level


def update_cpu_domains(tree: CpusetTree, cur: Cpuset, removed: bool = False) -> None:
    """DYN-6 (2.6.14 update_cpu_domains): compute (pspan, cspan) for *cur* and repartition."""
    par = cur.parent
    if par is None or not cur.config.cpus:
        return
    pspan = par.config.cpus
    for c in par.children:
        if c.has(CsFlag.CPU_EXCLUSIVE):
            pspan = pspan - c.config.cpus
    if removed or not cur.has(CsFlag.CPU_EXCLUSIVE):
        pspan = pspan | cur.config.cpus
        if pspan == cur.config.cpus:
            return
        cspan = CpuMask()
    else:
        if not pspan:
            return
        cspan = cur.config.cpus
        for c in cur.children:
            if c.has(CsFlag.CPU_EXCLUSIVE):
                cspan = cspan - c.config.cpus
    partition_sched_domains_2614(tree, pspan, cspan)


def partition_sched_domains_2614(tree: CpusetTree, p1: CpuMask, p2: CpuMask) -> None:
    """DYN-4: detach p1 ∪ p2 from the current layout, then build p1 and p2 (online only)."""
    p1, p2 = p1 & tree.online_cpus, p2 & tree.online_cpus
    both = p1 | p2
    doms = [d - both for d in tree.partitions.doms if d - both]
    doms.extend(d for d in (p1, p2) if d)
    _install(tree, SchedPartitions(tuple(doms), tuple(-1 for _ in doms), dyn4=(p1, p2)))


def rebuild_sched_domains(tree: CpusetTree) -> None:
    """Hand the current generate_sched_domains result to the scheduler (if it changed)."""
    _install(tree, generate_sched_domains(tree))


def _install(tree: CpusetTree, new: SchedPartitions) -> None:
    if new == tree.partitions:
        return
    tree.partitions = new
    tree.generation += 1
    tree.emit(PartitionsRebuilt(generation=tree.generation, doms=new.doms))


def sched_domain_level_max(machine: Machine) -> int:
    """sched_domain_level_max: the highest ``level`` of the machine's default modern domains.

    The bound of the v1 ``sched_relax_domain_level`` file (RB-8) comes from the
    domains the kernel built at boot.
    """
    build = build_sched_domains(machine, partitions=[machine.all_cpus], era="modern")
    deepest = -1
    for cpu in machine.all_cpus:
        sd = build.base(cpu)
        while sd is not None:
            deepest = max(deepest, sd.level)
            sd = sd.parent
    return deepest


class HasTree(Protocol):
    """Anything holding a cpuset tree (a CpusetFS)."""

    @property
    def tree(self) -> CpusetTree: ...


def build_domains(
    target: CpusetTree | HasTree, era: str | None = None, generation: int | None = None
) -> DomainBuild:
    """Build the sched domains of the partitions of a tree (or a CpusetFS's tree).

    *generation* defaults to the tree's generation counter.
    *era* is the domain-builder era (default: the first of the cpuset era's
    DOMAIN_ERAS); for "2.6.13" the partitions are built in the order DYN-4
    built them, so the legacy shared node-group table is overwritten as in
    the 2.6.13 oops (BUG13-2).
    """
    tree = target if isinstance(target, CpusetTree) else target.tree
    allowed = tree.era.domain_eras
    chosen = allowed[0] if era is None else era
    if chosen not in allowed:
        raise ValueError(
            f"domain era {chosen!r} does not go with cpuset era {tree.era.name!r} "
            f"(use one of {', '.join(allowed)})"
        )
    parts = tree.partitions
    attrs = [DomainAttr(relax_domain_level=level) for level in parts.relax]
    return build_sched_domains(
        tree.machine,
        partitions=list(parts.doms),
        era=chosen,
        attrs=attrs,
        generation=tree.generation if generation is None else generation,
    )
