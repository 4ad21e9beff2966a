"""The balance walk (topology/rebalance.py) against SPEC LB-IVL-1/2, LB-T2/T3, LB-IVL-EX."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from hypothesis import given
from hypothesis import strategies as st

from topology.loadbalance import IdleType, balance_interval_jiffies
from topology.rebalance import (
    BalanceEra,
    LbReport,
    LevelClock,
    RebalancePass,
    cpu_offset,
    idle_from_nr_running,
    rebalance_domains,
)

HZ = 1000


def table(
    reports: Mapping[int, LbReport],
) -> tuple[list[tuple[int, IdleType]], Callable[[int, IdleType], LbReport]]:
    """A load_balance callback answering from *reports* (default: nothing moved)."""
    calls: list[tuple[int, IdleType]] = []

    def lb(level: int, idle: IdleType) -> LbReport:
        calls.append((level, idle))
        return reports.get(level, LbReport(0))

    return calls, lb


def run(
    levels: list[LevelClock],
    era: BalanceEra,
    jiffies: int,
    idle: IdleType = IdleType.SCHED_IDLE,
    reports: Mapping[int, LbReport] | None = None,
    cpu: int = 0,
    try_serialize: Callable[[int], bool] | None = None,
    interval_cap: int | None = None,
) -> RebalancePass:
    _, lb = table(reports or {})
    return rebalance_domains(
        levels,
        era=era,
        jiffies=jiffies,
        cpu=cpu,
        hz=HZ,
        nr_cpus=8,
        idle=idle,
        load_balance=lb,
        try_serialize=try_serialize,
        interval_cap=interval_cap,
    )


def test_interval_examples_for_the_2_6_1x_cpu_domain_lb_ivl_ex() -> None:
    # SD_CPU_INIT: balance_interval 1..4 ms, busy_factor 64.
    idle = [balance_interval_jiffies(ms, 64, IdleType.SCHED_IDLE, HZ) for ms in (1, 4)]
    busy = [balance_interval_jiffies(ms, 64, IdleType.NOT_IDLE, HZ) for ms in (1, 4)]
    assert (idle, busy) == ([1, 4], [64, 256])


def test_interval_examples_for_the_x86_64_node_domain_lb_ivl_ex() -> None:
    # SD_NODE_INIT (x86_64): balance_interval 8..32 ms, busy_factor 32.
    idle = [balance_interval_jiffies(ms, 32, IdleType.SCHED_IDLE, HZ) for ms in (8, 32)]
    busy = [balance_interval_jiffies(ms, 32, IdleType.NOT_IDLE, HZ) for ms in (8, 32)]
    assert (idle, busy) == ([8, 32], [256, 1024])


def test_cpu_offset_staggers_cpus_across_one_second_lb_ivl_1() -> None:
    assert [cpu_offset(c, HZ, 8) for c in (0, 1, 7)] == [0, 125, 875]


def test_2614_staggered_cpu_balances_before_cpu_0_lb_ivl_1() -> None:
    # last_balance 0, interval 64 jiffies busy: at jiffies 0, CPU 1's j is 125.
    levels = [LevelClock(0, 1, 64)]
    cpu0 = run(levels, BalanceEra.TICK_2614, 0, IdleType.NOT_IDLE, cpu=0)
    cpu1 = run(levels, BalanceEra.TICK_2614, 0, IdleType.NOT_IDLE, cpu=1)
    assert (cpu0.balanced, cpu1.balanced) == ((), ((0, IdleType.NOT_IDLE),))
    assert cpu1.levels[0].last_balance == 64


def test_2614_catch_up_balances_on_consecutive_ticks_after_a_stall_lb_ivl_1() -> None:
    level = [LevelClock(0, 4, 64)]  # idle interval 4 jiffies; stalled until jiffies 10
    due = []
    for j in range(10, 14):
        result = run(level, BalanceEra.TICK_2614, j)
        due.append(bool(result.balanced))
        level = list(result.levels)
    # last_balance 0 -> 4 -> 8 -> 12: due at 10, 11, 12 (catching up), not at 13.
    assert (due, level[0].last_balance) == ([True, True, True, False], 12)


def test_2614_a_level_that_moved_tasks_makes_higher_levels_not_idle_lb_ivl_1() -> None:
    levels = [LevelClock(0, 1, 64), LevelClock(0, 1, 64), LevelClock(0, 1, 64)]
    calls, lb = table({0: LbReport(1)})
    result = rebalance_domains(
        levels,
        era=BalanceEra.TICK_2614,
        jiffies=1,
        cpu=0,
        hz=HZ,
        nr_cpus=8,
        idle=IdleType.SCHED_IDLE,
        load_balance=lb,
    )
    # Level 0 runs idle and pulls; the interval above becomes 64 jiffies: not due.
    assert calls == [(0, IdleType.SCHED_IDLE)]
    assert (result.idle, result.levels[1].last_balance) == (IdleType.NOT_IDLE, 0)


def test_2614_smt_minus_one_also_switches_to_not_idle_lbo_4() -> None:
    levels = [LevelClock(0, 1, 1), LevelClock(0, 1, 1)]
    result = run(levels, BalanceEra.TICK_2614, 1, reports={0: LbReport(-1)})
    assert result.balanced == ((0, IdleType.SCHED_IDLE), (1, IdleType.NOT_IDLE))


def test_2614_levels_without_sd_load_balance_are_skipped_lb_ivl_1() -> None:
    levels = [LevelClock(0, 1, 1, load_balance=False), LevelClock(0, 1, 1)]
    result = run(levels, BalanceEra.TICK_2614, 5)
    assert (result.balanced, result.levels[0]) == (((1, IdleType.SCHED_IDLE),), levels[0])


def test_2614_leaves_next_balance_alone_lb_t1() -> None:
    assert run([LevelClock(0, 1, 1)], BalanceEra.TICK_2614, 5).next_balance is None


def test_tasklet_mm_next_balance_adds_ms_to_jiffies_without_busy_factor_lb_t2() -> None:
    # HZ=250: 8 ms is 2 jiffies, yet next_balance = last_balance + 8.
    levels = [LevelClock(100, 8, 64)]
    _, lb = table({})
    result = rebalance_domains(
        levels,
        era=BalanceEra.TASKLET_MM,
        jiffies=100,
        cpu=3,
        hz=250,
        nr_cpus=8,
        idle=IdleType.NOT_IDLE,
        load_balance=lb,
    )
    assert (result.balanced, result.next_balance) == ((), 108)


def test_tasklet_mm_next_balance_starts_sixty_seconds_out_lb_t2() -> None:
    levels = [LevelClock(0, 1, 1, load_balance=False)]
    assert run(levels, BalanceEra.TASKLET_MM, 7).next_balance == 7 + 60 * HZ


def test_tasklet_mm_uses_the_backed_off_interval_for_next_balance_lb_t2() -> None:
    result = run([LevelClock(0, 4, 1)], BalanceEra.TASKLET_MM, 4, reports={0: LbReport(0, 8)})
    assert (result.levels[0], result.next_balance) == (LevelClock(4, 8, 1), 12)


def test_tasklet_mm_future_last_balance_wraps_unsigned_and_is_due_lb_t2() -> None:
    # Patch 4/7 staggers last_balance into the future; jiffies - last_balance wraps.
    result = run([LevelClock(125, 1, 1)], BalanceEra.TASKLET_MM, 0)
    assert result.balanced == ((0, IdleType.SCHED_IDLE),)


def test_idle_from_nr_running_lb_ivl_2() -> None:
    assert [idle_from_nr_running(n) for n in (0, 2)] == [IdleType.SCHED_IDLE, IdleType.NOT_IDLE]


def test_2620_sets_last_balance_to_jiffies_without_catch_up_lb_ivl_2() -> None:
    result = run([LevelClock(0, 4, 1)], BalanceEra.SOFTIRQ_2620, 10)
    assert (result.levels[0].last_balance, result.next_balance) == (10, 14)


def test_2620_a_future_last_balance_is_not_due_lb_ivl_2() -> None:
    result = run([LevelClock(125, 1, 1)], BalanceEra.SOFTIRQ_2620, 0)
    assert (result.balanced, result.next_balance) == ((), 126)


def test_2620_caps_the_interval_lb_ivl_2() -> None:
    # busy 32 ms x 32 = 1024 jiffies, capped to HZ*NR_CPUS/10 = 800.
    levels = [LevelClock(0, 32, 32)]
    result = run(levels, BalanceEra.SOFTIRQ_2620, 800, IdleType.NOT_IDLE, interval_cap=800)
    assert (result.balanced, result.next_balance) == (((0, IdleType.NOT_IDLE),), 1600)


def test_2620_stops_the_walk_when_another_cpu_is_the_designated_balancer_lb_ser_3() -> None:
    levels = [LevelClock(0, 1, 1), LevelClock(0, 1, 1)]
    result = run(levels, BalanceEra.SOFTIRQ_2620, 5, reports={0: LbReport(0, balance=False)})
    assert (result.balanced, result.next_balance) == (((0, IdleType.SCHED_IDLE),), 6)


def test_2620_failed_serialize_trylock_skips_the_level_but_folds_its_deadline_lb_t3() -> None:
    levels = [LevelClock(0, 1, 1), LevelClock(2, 1, 1, serialize=True), LevelClock(0, 1, 1)]
    result = run(levels, BalanceEra.SOFTIRQ_2620, 5, try_serialize=lambda level: level != 1)
    assert result.serialize_skipped == (1,)
    assert [lvl for lvl, _ in result.balanced] == [0, 2]
    # Level 1 kept last_balance 2, so its deadline 3 lies in the past: retry next tick.
    assert result.next_balance == 3


def test_2620_next_balance_is_none_when_no_level_lowered_it_lb_ivl_2() -> None:
    levels = [LevelClock(0, 1, 1, load_balance=False)]
    assert run(levels, BalanceEra.SOFTIRQ_2620, 5).next_balance is None


@given(st.lists(st.integers(1, 40), min_size=1, max_size=60), st.integers(1, 8))
def test_2614_catch_up_balances_once_per_interval_on_average_lb_ivl_1(
    steps: list[int], interval_ms: int
) -> None:
    # Ticks at increasing jiffies: total balances == floor(final j / interval), never more.
    level, jiffies, count = [LevelClock(0, interval_ms, 1)], 0, 0
    for step in steps:
        jiffies += step
        result = run(level, BalanceEra.TICK_2614, jiffies)
        count += len(result.balanced)
        level = list(result.levels)
    assert count <= jiffies // interval_ms
    assert level[0].last_balance == count * interval_ms
