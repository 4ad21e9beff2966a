"""Placement and load helpers (topology/placement.py): LOAD-1 catch-up, sched_balance_self
(2.6.14 kernel/sched.c), and the imbalance score against a greedy ideal."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from topology.cpumask import CpuMask
from topology.domains import DomainBuild, build_sched_domains
from topology.loadbalance import SCHED_LOAD_SCALE, CpuLoad, update_cpu_load
from topology.placement import (
    PlacementTally,
    cpu_load_after,
    greedy_assign,
    greedy_ideal_max,
    imbalance_score,
    sched_balance_self,
)
from topology.presets import load_machine
from topology.sd_flags import SdFlag

MAX_LOAD = SCHED_LOAD_SCALE * 64
loads = st.integers(min_value=0, max_value=MAX_LOAD)
cpu_loads = st.tuples(loads, loads, loads)


def naive(cpu_load: tuple[int, int, int], load_now: int, ticks: int) -> tuple[int, int, int]:
    for _ in range(ticks):
        cpu_load = update_cpu_load(cpu_load, load_now)
    return cpu_load


def steady(nr_running: int) -> CpuLoad:
    """A CPU that has run *nr_running* tasks long enough for cpu_load[] to settle."""
    load = nr_running * SCHED_LOAD_SCALE
    return CpuLoad(nr_running, (load, load, load))


def smt_numa_8() -> DomainBuild:
    return build_sched_domains(load_machine("smt-numa-8"))


ALL8 = CpuMask.span(0, 7)


# -- cpu_load_after (LOAD-1) ----------------------------------------------------


@given(cpu_loads, loads, st.integers(min_value=0, max_value=300))
def test_cpu_load_after_equals_the_naive_tick_loop_load_1(
    start: tuple[int, int, int], load_now: int, ticks: int
) -> None:
    assert cpu_load_after(start, load_now, ticks) == naive(start, load_now, ticks)


@given(cpu_loads, loads, st.integers(0, 100), st.integers(0, 100))
def test_cpu_load_after_skipping_ticks_in_two_steps_equals_one_step(
    start: tuple[int, int, int], load_now: int, first: int, second: int
) -> None:
    halfway = cpu_load_after(start, load_now, first)
    assert cpu_load_after(halfway, load_now, second) == cpu_load_after(
        start, load_now, first + second
    )


def test_cpu_load_after_a_billion_ticks_settles_on_the_current_load() -> None:
    assert cpu_load_after((MAX_LOAD, 0, MAX_LOAD), 384, 10**9) == (384, 384, 384)


def test_cpu_load_after_zero_ticks_keeps_the_old_load() -> None:
    assert cpu_load_after((5, 6, 7), 384, 0) == (5, 6, 7)


def test_cpu_load_after_rises_by_the_kernels_rounded_up_decay_load_1() -> None:
    # i=1: (0 + 128 + 1) // 2 = 64; i=2: (0 + 128 + 3) // 4 = 32; then 96 and 56.
    assert cpu_load_after((0, 0, 0), 128, 1) == (128, 64, 32)
    assert cpu_load_after((0, 0, 0), 128, 2) == (128, 96, 56)


def test_cpu_load_after_negative_ticks_is_an_error() -> None:
    with pytest.raises(ValueError, match="ticks must be >= 0"):
        cpu_load_after((0, 0, 0), 0, -1)


# -- sched_balance_self (2.6.14) ------------------------------------------------


def test_fork_flag_is_only_on_the_node_level_of_2614_smt_numa_8() -> None:
    """The premise of the fork tests below: SD_NODE_INIT alone has SD_BALANCE_FORK."""
    chain = smt_numa_8().chain(0)
    assert [(sd.name, bool(sd.flags & SdFlag.BALANCE_FORK)) for sd in chain] == [
        ("SIBLING", False),
        ("CPU", False),
        ("NODE", True),
    ]


def test_fork_on_an_idle_board_spreads_to_the_first_cpu_of_the_other_node() -> None:
    # NODE level: both node groups load 0; 100*0 < 112*0 is false, so the remote
    # group wins; its idlest CPU is the lowest (4); no FORK level below NODE.
    assert sched_balance_self(smt_numa_8(), 0, ALL8, [CpuLoad(0)] * 8) == 4


def test_fork_from_a_loaded_cpu_leaves_it_for_the_idle_node() -> None:
    board = [steady(3)] + [CpuLoad(0)] * 7
    assert sched_balance_self(smt_numa_8(), 0, ALL8, board) == 4


def test_fork_stays_put_when_the_other_node_is_busier_even_with_idle_siblings() -> None:
    # local group 384*128//280 = 175, remote 4*128*128//280 = 234: 17500 < 112*234,
    # so no remote group; SIBLING and CPU levels lack SD_BALANCE_FORK in 2.6.14.
    board = [steady(3), CpuLoad(0), CpuLoad(0), CpuLoad(0)] + [steady(1)] * 4
    assert sched_balance_self(smt_numa_8(), 0, ALL8, board) == 0


def test_fork_judges_nodes_by_their_decayed_load_at_forkexec_idx_load_2() -> None:
    # NODE forkexec_idx = 1: CPU 0 just got 3 tasks (cpu_load[0] still 0, source_load 0)
    # while node 1 just went idle (cpu_load[0] 256, target_load 256): node 1 looks busier.
    just_busy = CpuLoad(3, (0, 0, 0))
    just_idle = CpuLoad(0, (256, 256, 256))
    board = [just_busy, CpuLoad(0), CpuLoad(0), CpuLoad(0)] + [just_idle] * 4
    assert sched_balance_self(smt_numa_8(), 0, ALL8, board) == 0


def test_exec_on_an_idle_board_descends_through_every_exec_level() -> None:
    # NODE picks CPU 4; CPU(4-7) then picks group 6-7 -> CPU 6; SIBLING(6-7) -> CPU 7.
    board = [CpuLoad(0)] * 8
    assert sched_balance_self(smt_numa_8(), 0, ALL8, board, SdFlag.BALANCE_EXEC) == 7


def test_fork_skips_groups_with_no_allowed_cpu() -> None:
    board = [steady(3)] + [CpuLoad(0)] * 7
    assert sched_balance_self(smt_numa_8(), 0, CpuMask.span(0, 3), board) == 0


def test_fork_picks_the_allowed_cpu_of_the_idlest_group() -> None:
    board = [steady(3)] + [CpuLoad(0)] * 7
    assert sched_balance_self(smt_numa_8(), 0, CpuMask.of([0, 6]), board) == 6


def test_fork_on_a_cpu_in_a_one_cpu_partition_stays_put_deg_4() -> None:
    build = build_sched_domains(load_machine("numa-2x2"), [CpuMask.span(1, 3), CpuMask.of([0])])
    assert build.base(0) is None
    board = [steady(5), CpuLoad(0), CpuLoad(0), CpuLoad(0)]
    assert sched_balance_self(build, 0, CpuMask.span(0, 3), board) == 0


def test_fork_on_a_cpu_in_no_partition_stays_put() -> None:
    build = build_sched_domains(load_machine("smt-numa-8"), [CpuMask.span(0, 3)])
    board = [CpuLoad(0)] * 7 + [steady(5)]
    assert sched_balance_self(build, 7, ALL8, board) == 7


def test_fork_never_leaves_the_partition_of_the_parent() -> None:
    build = build_sched_domains(load_machine("numa-2x2"), [CpuMask.span(0, 1), CpuMask.span(2, 3)])
    board = [steady(4), steady(4), CpuLoad(0), CpuLoad(0)]
    assert sched_balance_self(build, 0, CpuMask.span(0, 3), board) == 0


BUILDS = {name: build_sched_domains(load_machine(name)) for name in ("smt-numa-8", "quad-node")}


@given(
    st.sampled_from(sorted(BUILDS)),
    st.data(),
    st.sampled_from([SdFlag.BALANCE_FORK, SdFlag.BALANCE_EXEC]),
)
def test_balance_self_lands_on_an_allowed_cpu_whenever_it_starts_on_one(
    name: str, data: st.DataObject, flag: SdFlag
) -> None:
    build = BUILDS[name]
    nr = build.machine.nr_cpus
    board = data.draw(
        st.lists(
            st.builds(steady, st.integers(0, 4)) | st.builds(CpuLoad, st.integers(0, 4)),
            min_size=nr,
            max_size=nr,
        )
    )
    cpu = data.draw(st.integers(0, nr - 1))
    others = data.draw(st.sets(st.integers(0, nr - 1)))
    allowed = CpuMask.of([cpu, *sorted(others)])
    assert sched_balance_self(build, cpu, allowed, board, flag) in allowed


# -- greedy ideal and imbalance score ------------------------------------------

TWO = CpuMask.of([0, 1])


def test_greedy_places_the_most_constrained_task_first() -> None:
    # The free task (index 0) goes last, so the pinned one gets CPU 0 first.
    assert greedy_assign([TWO, CpuMask.of([0])], TWO) == (1, 0)


def test_greedy_ignores_tasks_with_no_online_allowed_cpu() -> None:
    assert greedy_assign([CpuMask.of([5]), TWO], TWO) == (None, 0)
    assert greedy_ideal_max([CpuMask.of([5])], TWO) == 0
    assert greedy_ideal_max([], TWO) == 0


@given(st.integers(0, 40), st.integers(1, 8))
def test_greedy_ideal_of_unpinned_tasks_is_the_ceiling_of_tasks_per_cpu(
    tasks: int, cpus: int
) -> None:
    online = CpuMask.span(0, cpus - 1)
    assert greedy_ideal_max([online] * tasks, online) == math.ceil(tasks / cpus)


def test_imbalance_three_hogs_on_one_of_two_cpus_scores_two() -> None:
    # max 3 vs greedy 2 -> 1; CPU 1 idle while two queued tasks may run there -> 1.
    placement = [(0, TWO, True), (0, TWO, False), (0, TWO, False)]
    assert imbalance_score(placement, TWO) == 2


def test_imbalance_two_to_one_split_is_converged() -> None:
    placement = [(0, TWO, True), (0, TWO, False), (1, TWO, True)]
    assert imbalance_score(placement, TWO) == 0


def test_imbalance_pinned_tasks_do_not_waste_the_idle_cpu() -> None:
    pinned = CpuMask.of([0])
    placement = [(0, pinned, True), (0, pinned, False), (0, pinned, False)]
    assert imbalance_score(placement, TWO) == 0


def test_imbalance_counts_an_idle_cpu_a_queued_task_could_use_as_wasted() -> None:
    # 2:2:0 on three CPUs: the max equals the greedy ideal (2), but CPU 2 idles
    # while a queued task on CPU 0 may run there (Lozi et al.'s wasted core).
    three = CpuMask.span(0, 2)
    placement = [(0, three, True), (0, three, False), (1, TWO, True), (1, TWO, False)]
    assert imbalance_score(placement, three) == 1


def test_imbalance_ignores_offline_cpus_when_counting_waste() -> None:
    placement = [(0, TWO, True), (0, TWO, False)]
    assert imbalance_score(placement, CpuMask.of([0])) == 0


@st.composite
def placements(draw: st.DrawFn) -> tuple[list[tuple[int, CpuMask, bool]], CpuMask]:
    """A consistent placement: each task on an online CPU it may use, one running per CPU."""
    online = CpuMask.of(draw(st.sets(st.integers(0, 7), min_size=1)))
    cpus = list(online)
    out: list[tuple[int, CpuMask, bool]] = []
    seen: set[int] = set()
    for _ in range(draw(st.integers(0, 12))):
        cpu = draw(st.sampled_from(cpus))
        extra = draw(st.sets(st.integers(0, 9)))
        out.append((cpu, CpuMask.of([cpu, *sorted(extra)]), cpu not in seen))
        seen.add(cpu)
    return out, online


@given(placements())
def test_imbalance_score_is_never_negative(
    case: tuple[list[tuple[int, CpuMask, bool]], CpuMask],
) -> None:
    placement, online = case
    assert imbalance_score(placement, online) >= 0


@given(placements())
def test_imbalance_score_is_zero_when_no_cpu_holds_two_tasks(
    case: tuple[list[tuple[int, CpuMask, bool]], CpuMask],
) -> None:
    placement, online = case
    spread = [entry for entry in placement if entry[2]]
    assert imbalance_score(spread, online) == 0


@given(placements())
def test_imbalance_score_of_the_greedy_placement_itself_is_zero(
    case: tuple[list[tuple[int, CpuMask, bool]], CpuMask],
) -> None:
    placement, online = case
    masks = [mask for _, mask, _ in placement]
    assigned = greedy_assign(masks, online)
    # The running task of each CPU is the first one the greedy pass put there.
    usable = [mask & online for mask in masks]
    order = sorted(range(len(masks)), key=lambda i: (len(usable[i]), usable[i].bits, i))
    greedy: list[tuple[int, CpuMask, bool]] = []
    seen: set[int] = set()
    for i in order:
        cpu = assigned[i]
        assert cpu is not None
        greedy.append((cpu, masks[i], cpu not in seen))
        seen.add(cpu)
    assert imbalance_score(greedy, online) == 0


@given(st.lists(st.sets(st.integers(0, 7), min_size=1), max_size=40), st.sets(st.integers(0, 7)))
def test_greedy_ideal_max_equals_the_heap_placement_of_greedy_assign(
    masks: list[set[int]], online_cpus: set[int]
) -> None:
    # greedy_ideal_max water-fills each mask at once; greedy_assign places task by task.
    allowed = [CpuMask.of(sorted(mask)) for mask in masks]
    online = CpuMask.of(sorted(online_cpus))
    placed = [cpu for cpu in greedy_assign(allowed, online) if cpu is not None]
    expected = max((placed.count(cpu) for cpu in set(placed)), default=0)
    assert greedy_ideal_max(allowed, online) == expected


@given(st.lists(placements(), min_size=1, max_size=6))
def test_placement_tally_scores_like_imbalance_score_after_every_update(
    cases: list[tuple[list[tuple[int, CpuMask, bool]], CpuMask]],
) -> None:
    # The sampler's incremental tally, fed one CPU's runqueue at a time, must give
    # the score of the whole placement, whatever it held before.
    tally = PlacementTally(8)
    for placement, online in cases:
        for cpu in range(8):
            tasks = tuple((m.bits, running) for where, m, running in placement if where == cpu)
            tally.update(cpu, tasks)
        assert tally.score(online) == imbalance_score(placement, online)


@given(st.lists(placements(), min_size=1, max_size=4), st.integers(300, 2000))
def test_placement_tally_with_wide_masks_that_are_equal_but_not_identical(
    cases: list[tuple[list[tuple[int, CpuMask, bool]], CpuMask]], shift: int
) -> None:
    # The tally groups runs of one mask object; equal masks that are distinct int
    # objects (a wide mask's int is never shared by accident) must still net out.
    far = 1 << shift  # a CPU that is never online: the score must not change
    tally = PlacementTally(8)
    for placement, online in cases:
        for cpu in range(8):
            tasks = tuple(
                (m.bits | far, running) for where, m, running in placement if where == cpu
            )
            tally.update(cpu, tasks)
        widened = [(where, CpuMask(m.bits | far), running) for where, m, running in placement]
        assert tally.score(online) == imbalance_score(widened, online)
