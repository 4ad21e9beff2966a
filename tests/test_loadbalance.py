"""2.6.14 load-balancing decisions (topology/loadbalance.py), against SPEC §2.4-2.8."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from topology.cpumask import CpuMask
from topology.loadbalance import (
    MAX_PINNED_INTERVAL,
    SCHED_LOAD_SCALE,
    Busiest,
    CpuLoad,
    DomainRuntime,
    IdleType,
    MovableTask,
    balance_interval_jiffies,
    balance_outcome,
    can_migrate_task,
    find_busiest_group,
    find_busiest_queue,
    find_idlest_cpu,
    find_idlest_group,
    move_tasks,
    msecs_to_jiffies,
    source_load,
    target_load,
    tasklet_next_balance,
    update_cpu_load,
)


@dataclass(frozen=True)
class Group:
    span: CpuMask
    power: int


@dataclass(frozen=True)
class Params:
    imbalance_pct: int = 125
    busy_idx: int = 0
    idle_idx: int = 0
    newidle_idx: int = 0


def two_cpus() -> list[Group]:
    return [Group(CpuMask.of([0]), 128), Group(CpuMask.of([1]), 128)]


def board(*nr: int) -> list[CpuLoad]:
    return [CpuLoad(n) for n in nr]


def test_find_busiest_group_3_to_0_moves_one_task_spec_2_5() -> None:
    assert find_busiest_group(two_cpus(), 0, board(0, 3), IdleType.SCHED_IDLE, Params()) == Busiest(
        1, 1
    )


def test_find_busiest_group_2_to_1_is_balanced_spec_2_5() -> None:
    assert find_busiest_group(two_cpus(), 0, board(1, 2), IdleType.SCHED_IDLE, Params()) is None


def test_find_busiest_group_4_to_0_moves_two_tasks_spec_2_5() -> None:
    assert find_busiest_group(two_cpus(), 0, board(0, 4), IdleType.SCHED_IDLE, Params()) == Busiest(
        1, 2
    )


def test_find_busiest_group_a_single_task_is_never_pulled() -> None:
    # max_load <= SCHED_LOAD_SCALE: one task on the busiest CPU is not an imbalance.
    assert find_busiest_group(two_cpus(), 0, board(0, 1), IdleType.SCHED_IDLE, Params()) is None


def test_find_busiest_group_never_pulls_towards_the_busier_side() -> None:
    assert find_busiest_group(two_cpus(), 1, board(0, 3), IdleType.SCHED_IDLE, Params()) is None


def test_find_busiest_group_uses_group_power_for_average_load() -> None:
    # An SMT pair (power 140, GRP-3) carrying 3 tasks against an idle pair.
    groups = [Group(CpuMask.of([0, 1]), 140), Group(CpuMask.of([2, 3]), 140)]
    found = find_busiest_group(groups, 2, board(2, 1, 0, 0), IdleType.SCHED_IDLE, Params())
    assert found == Busiest(0, 1)


def test_find_busiest_queue_picks_the_most_loaded_cpu_of_the_group() -> None:
    assert find_busiest_queue(CpuMask.of([2, 3, 4]), board(9, 9, 1, 3, 3)) == 3


def test_find_busiest_queue_finds_none_among_idle_cpus() -> None:
    assert find_busiest_queue(CpuMask.of([0, 1]), board(0, 0)) is None


def test_cpu_load_decay_rounds_up_while_load_rises_load_1() -> None:
    loads = (0, 0, 0)
    history = []
    for _ in range(5):
        loads = update_cpu_load(loads, 10)
        history.append(loads)
    # Index 0 follows at once; 1 and 2 average with weights 1/2 and 1/4, rounding up
    # while the load rises, so they reach 10 instead of sticking at 9.
    assert history == [(10, 5, 3), (10, 8, 5), (10, 9, 7), (10, 10, 8), (10, 10, 9)]
    assert update_cpu_load((10, 10, 9), 0) == (0, 5, 6)


def test_source_and_target_load_bracket_the_decayed_load_load_2() -> None:
    cpu = CpuLoad(2, (256, 100, 400))
    assert (source_load(cpu, 0), target_load(cpu, 0)) == (256, 256)
    assert (source_load(cpu, 2), target_load(cpu, 2)) == (100, 256)
    assert (source_load(cpu, 3), target_load(cpu, 3)) == (256, 400)


def test_can_migrate_task_order_mig_1() -> None:
    allowed = CpuMask.of([0, 1])
    assert can_migrate_task(MovableTask(1, CpuMask.of([1])), 0, 0, 5, 1, 0) == (False, True)
    assert can_migrate_task(MovableTask(1, allowed, running=True), 0, 0, 5, 1, 0) == (False, False)
    hot = MovableTask(1, allowed, last_ran_ns=1_000)
    assert can_migrate_task(hot, 0, 2_000, 0, 1, 5_000) == (False, False)
    # Repeated failures override cache-hotness.
    assert can_migrate_task(hot, 0, 2_000, 2, 1, 5_000) == (True, False)
    assert can_migrate_task(hot, 0, 9_000, 0, 1, 5_000) == (True, False)


def test_move_tasks_takes_from_the_tail_up_to_the_imbalance_mig_2() -> None:
    queue = [MovableTask(pid, CpuMask.of([0, 1])) for pid in (10, 11, 12, 13)]
    assert move_tasks(queue, 2, 0, 0, 0, 1, 0) == ((13, 12), False)


def test_move_tasks_reports_all_pinned_only_when_every_task_was_pinned() -> None:
    pinned = [MovableTask(pid, CpuMask.of([1])) for pid in (1, 2)]
    assert move_tasks(pinned, 1, 0, 0, 0, 1, 0) == ((), True)
    mixed = [MovableTask(1, CpuMask.of([1])), MovableTask(2, CpuMask.of([0, 1]), running=True)]
    assert move_tasks(mixed, 1, 0, 0, 0, 1, 0) == ((), False)


def outcome(state: DomainRuntime, **kw: bool | int) -> tuple[int, int, bool]:
    kwargs: dict[str, bool | int] = {
        "min_interval": 1,
        "max_interval": 4,
        "cache_nice_tries": 1,
        "imbalanced": True,
        "nr_moved": 0,
        "all_pinned": False,
    }
    kwargs.update(kw)
    out = balance_outcome(state, **kwargs)  # type: ignore[arg-type]
    return out.state.balance_interval, out.state.nr_balance_failed, out.kick_active


def test_balanced_domain_backs_off_to_max_interval_lb_ivl_4() -> None:
    assert outcome(DomainRuntime(0, 2, 3), imbalanced=False) == (4, 0, False)
    assert outcome(DomainRuntime(0, 4, 0), imbalanced=False) == (4, 0, False)


def test_all_pinned_backs_off_up_to_512_ms_lb_ivl_4() -> None:
    interval = 1
    seen = []
    for _ in range(12):
        interval = outcome(DomainRuntime(0, interval, 0), all_pinned=True)[0]
        seen.append(interval)
    assert seen[-1] == MAX_PINNED_INTERVAL
    assert seen[:10] == [2, 4, 8, 16, 32, 64, 128, 256, 512, 512]


def test_moving_a_task_resets_interval_and_failures_lbo_2() -> None:
    assert outcome(DomainRuntime(0, 4, 2), nr_moved=1) == (1, 0, False)


def test_repeated_failures_kick_active_balancing_lbo_1() -> None:
    state = DomainRuntime(0, 1, 0)
    kicks = []
    for _ in range(4):
        interval, failed, kick = outcome(state)
        kicks.append(kick)
        state = DomainRuntime(0, interval, failed)
    # cache_nice_tries 1: the 4th failure (> tries + 2) kicks and resets failures to tries + 1.
    assert kicks == [False, False, False, True]
    assert (state.balance_interval, state.nr_balance_failed) == (2, 2)


def test_a_pending_kick_is_not_repeated_and_interval_resets() -> None:
    assert outcome(DomainRuntime(0, 2, 3), busiest_active_balance=True) == (1, 2, False)


def test_running_task_pinned_elsewhere_backs_off_as_pinned_lbo_1() -> None:
    assert outcome(DomainRuntime(0, 4, 3), busiest_curr_allowed=False) == (8, 4, False)


def test_balance_interval_scales_with_busy_factor_when_busy_lb_ivl_1() -> None:
    assert balance_interval_jiffies(4, 64, IdleType.SCHED_IDLE, 1000) == 4
    assert balance_interval_jiffies(4, 64, IdleType.NOT_IDLE, 1000) == 256
    # msecs_to_jiffies rounds up: (256 + 9) / 10 = 26 at HZ=100.
    assert balance_interval_jiffies(4, 64, IdleType.NOT_IDLE, 100) == 26
    assert balance_interval_jiffies(1, 1, IdleType.SCHED_IDLE, 100) == 1


def test_tasklet_next_balance_mixes_ms_with_jiffies_like_2_6_19_mm() -> None:
    assert tasklet_next_balance(1000, 250, [(990, 8), (995, 64)]) == 998
    assert tasklet_next_balance(1000, 250, []) == 1000 + 60 * 250


@given(st.lists(st.integers(0, 8), min_size=2, max_size=8), st.data())
def test_find_busiest_group_only_pulls_from_a_more_loaded_group(
    nr: list[int], data: st.DataObject
) -> None:
    groups = [Group(CpuMask.of([i]), SCHED_LOAD_SCALE) for i in range(len(nr))]
    this = data.draw(st.integers(0, len(nr) - 1))
    found = find_busiest_group(groups, this, board(*nr), IdleType.SCHED_IDLE, Params())
    if found is not None:
        assert nr[found.group] > nr[this]
        assert 1 <= found.imbalance <= nr[found.group]
    elif max(nr) - nr[this] >= 2 and max(nr) >= 2:
        # A 2-task gap against a CPU at or below the average is always acted on.
        assert nr[this] * len(nr) >= sum(nr)


def test_find_idlest_group_prefers_a_clearly_idler_remote_group() -> None:
    groups = two_cpus()
    everywhere = CpuMask.of([0, 1])
    assert find_idlest_group(groups, 0, everywhere, board(2, 0), 125, 0) == 1
    # 1 vs 1: the remote group is not idler by the 112% margin, so stay local.
    assert find_idlest_group(groups, 0, everywhere, board(1, 1), 125, 0) is None


def test_find_idlest_group_skips_groups_the_task_may_not_use() -> None:
    assert find_idlest_group(two_cpus(), 0, CpuMask.of([0]), board(5, 0), 125, 0) is None


def test_find_idlest_cpu_breaks_ties_towards_this_cpu_and_respects_affinity() -> None:
    span = CpuMask.of([0, 1, 2, 3])
    assert find_idlest_cpu(span, span, 2, board(1, 0, 0, 0)) == 2
    assert find_idlest_cpu(span, span, 0, board(1, 0, 0, 0)) == 1
    assert find_idlest_cpu(span, CpuMask.of([0, 3]), 1, board(1, 0, 0, 2)) == 0
    assert find_idlest_cpu(span, CpuMask.of([7]), 1, board(1, 0, 0, 2)) == -1


def test_msecs_to_jiffies_rounds_up_for_every_hz_case() -> None:
    # include/linux/jiffies.h: HZ | 1000, 1000 | HZ, and the generic case.
    assert [msecs_to_jiffies(6, hz) for hz in (250, 2000, 300)] == [2, 12, 2]


def test_move_tasks_with_nothing_to_move_does_not_report_all_pinned_mig_2() -> None:
    # move_tasks: max_nr_move == 0 goes straight to "out" with pinned = 0.
    queue = [MovableTask(1, CpuMask.of([1]))]
    assert move_tasks(queue, 0, 0, 0, 0, 1, 0) == ((), False)
