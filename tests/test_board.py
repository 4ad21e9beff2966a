"""The load board's shared view (actors/shared.py): its memoized group sums must read
exactly what the naive loops of find_busiest_group read (LOAD-1 decay, LOAD-2 picks)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from actors.shared import BoardEntry, Domains, LoadBoard
from topology.cpumask import CpuMask
from topology.domains import build_sched_domains
from topology.loadbalance import CpuLoad, source_load, target_load
from topology.placement import sched_balance_self
from topology.sched_domain import ring
from topology.synthetic import parse_synthetic

NR = 6
spans = st.sets(st.integers(0, NR - 1), min_size=1).map(lambda s: CpuMask.of(sorted(s)))
loads = st.integers(0, 8 * 128)
entries = st.builds(
    lambda anchor, load, nr: BoardEntry(anchor, load, nr),
    st.integers(0, 20),
    st.tuples(loads, loads, loads),
    st.integers(0, 8),
)
ops = st.one_of(
    st.tuples(st.just("read"), st.integers(0, 3), st.integers(0, 3), st.booleans()),
    st.tuples(st.just("stage"), st.integers(0, NR - 1), entries),
    st.tuples(st.just("commit")),
    st.tuples(st.just("tick"), st.integers(0, 5)),
    st.tuples(st.just("retire")),
)


def naive(entries: list[BoardEntry], jiffy: int, span: CpuMask, idx: int, high: bool) -> int:
    pick = target_load if high else source_load
    return sum(pick(CpuLoad(entries[c].nr_running, entries[c].at(jiffy)), idx) for c in span)


@given(
    st.lists(entries, min_size=NR, max_size=NR),
    st.lists(spans, min_size=4, max_size=4),
    st.lists(ops, max_size=60),
)
def test_shared_view_sums_equal_the_naive_loop_across_commits_and_jiffies(
    slots: list[BoardEntry], groups: list[CpuMask], program: list[tuple[object, ...]]
) -> None:
    # The sums are keyed by the span object (a domain's groups are read again and
    # again), so the reads pick from four fixed spans, and cached sums are hit.
    board = LoadBoard(NR)
    for cpu, entry in enumerate(slots):
        board.stage(cpu, entry)
    board.commit()
    jiffy = 0
    for op in program:
        if op[0] == "read":
            _, which, idx, high = op
            assert isinstance(which, int)
            span = groups[which]
            assert isinstance(idx, int)
            assert isinstance(high, bool)
            got = board.view(jiffy).span_load(span, idx, high)
            assert got == naive(board.entries, jiffy, span, idx, high)
            for cpu in span:
                entry = board.entries[cpu]
                assert board.view(jiffy)[cpu] == CpuLoad(entry.nr_running, entry.at(jiffy))
        elif op[0] == "stage":
            slot, new = op[1], op[2]
            assert isinstance(slot, int)
            assert isinstance(new, BoardEntry)
            board.stage(slot, new)
        elif op[0] == "commit":
            board.commit()
        elif op[0] == "retire":
            board.retired()
        else:
            step = op[1]
            assert isinstance(step, int)
            jiffy += step


@given(st.lists(entries, min_size=NR, max_size=NR), st.lists(st.integers(0, NR - 1)), spans, spans)
def test_placement_view_sums_follow_the_tasks_it_adds(
    slots: list[BoardEntry], added: list[int], span: CpuMask, later: CpuMask
) -> None:
    board = LoadBoard(NR)
    for cpu, entry in enumerate(slots):
        board.stage(cpu, entry)
    board.commit()
    view = board.placement_view(30)
    before = {
        (idx, high): view.span_load(span, idx, high) for idx in range(3) for high in (False, True)
    }
    for cpu in added:
        view.add(cpu)
    bumped = [BoardEntry(30, e.at(30), e.nr_running + added.count(c)) for c, e in enumerate(slots)]
    for idx, high in before:
        assert view.span_load(span, idx, high) == naive(bumped, 30, span, idx, high)
        assert view.span_load(later, idx, high) == naive(bumped, 30, later, idx, high)
    assert [view[c] for c in range(NR)] == [CpuLoad(e.nr_running, e.cpu_load) for e in bumped]
    assert board.view(30).span_load(span, 0, True) == naive(board.entries, 30, span, 0, True)


def test_a_sum_follows_members_changed_together_twice_and_read_in_between() -> None:
    # A cached sum's members change: two CPUs in one commit, one CPU twice before
    # the next read of the sum, and a CPU read alone in between.
    board = LoadBoard(4)
    for cpu in range(4):
        board.stage(cpu, BoardEntry(0, (128, 128, 128), 1))
    board.commit()
    span = CpuMask.of([0, 1, 2])

    def check() -> None:
        for idx in range(3):
            for high in (False, True):
                got = board.view(0).span_load(span, idx, high)
                assert got == naive(board.entries, 0, span, idx, high)

    check()
    board.stage(0, BoardEntry(0, (0, 0, 0), 3))
    board.stage(1, BoardEntry(0, (0, 0, 0), 3))
    board.commit()
    check()
    board.stage(2, BoardEntry(0, (256, 256, 256), 2))
    board.commit()
    assert board.view(0)[2] == CpuLoad(2, (256, 256, 256))
    board.stage(2, BoardEntry(0, (512, 512, 512), 4))
    board.commit()
    board.stage(2, BoardEntry(0, (0, 0, 0), 0))
    board.commit()
    check()


def test_a_sum_recomputed_after_one_member_changed_is_listed_once_per_cpu() -> None:
    # Only the changed CPU's list is dropped; the others must not gain the key again
    # at each recompute (quiet CPUs' lists grew for the whole run).
    board = LoadBoard(4)
    for cpu in range(4):
        board.stage(cpu, BoardEntry(0, (128, 128, 128), 1))
    board.commit()
    span = CpuMask.of([0, 1, 2, 3])
    for round_ in range(20):
        board.view(0).span_load(span, 1, True)
        board.stage(0, BoardEntry(0, (128, 128, 128), 1 + round_ % 2))
        board.commit()
    board.view(0).span_load(span, 1, True)
    assert [len(board.view(0)._members[cpu]) for cpu in range(4)] == [1, 1, 1, 1]


def test_the_ring_cache_lists_a_broken_rings_groups_beyond_its_span() -> None:
    # 2.6.13 with a partition splitting a node: CPU 0's node-level domain spans 0-1
    # but its ring holds four groups of other CPUs; the kernel's do/while (and fork
    # placement) walks them all, so the per-generation cache must not stop at span+1.
    machine = parse_synthetic("node:4 core:2 pu:2")
    build = build_sched_domains(
        machine, [CpuMask.of([0, 1]), CpuMask.of(range(2, 16))], era="2.6.13"
    )
    domains = Domains()
    domains.publish(build)
    for sd in build.chain(0):
        assert domains.ring(build.generation, sd) == tuple(ring(sd.groups, machine.nr_cpus + 1))
    widest = max(len(domains.ring(build.generation, sd)) - len(sd.span) for sd in build.chain(0))
    assert widest > 0  # the case above exists in this build
    board = [
        CpuLoad(5 if cpu < 12 else 0, (5120,) * 3 if cpu < 12 else (0,) * 3) for cpu in range(16)
    ]
    rings = domains.rings_of(build.generation)
    assert sched_balance_self(build, 0, machine.all_cpus, board, rings=rings) == sched_balance_self(
        build, 0, machine.all_cpus, board
    )


def test_ring_cache_lists_groups_alike_in_span_and_power_as_one_object() -> None:
    # 2.6.14 builds a private copy of the node groups for every node's NUMA domain;
    # the balancer reads only span and power, so the cache hands every CPU one object
    # per (span, power), in each ring's own order.
    machine = parse_synthetic("node:32 core:2 pu:1")
    build = build_sched_domains(machine, era="2.6.14")
    domains = Domains()
    domains.publish(build)
    seen: dict[tuple[int, int], int] = {}
    raw_objects: set[int] = set()
    for cpu in range(machine.nr_cpus):
        for sd in build.chain(cpu):
            cached = domains.ring(build.generation, sd)
            raw = tuple(ring(sd.groups, machine.nr_cpus + 1))
            assert [(g.span, g.power) for g in cached] == [(g.span, g.power) for g in raw]
            raw_objects.update(id(g) for g in raw)
            for g in cached:
                assert seen.setdefault((g.span.bits, g.power), id(g)) == id(g)
    assert len(seen) < len(raw_objects)  # the private copies exist, and are folded
