"""`BalanceWork`, one CPU's load_balance over a hand-built board: LBO-4's -1 and LB-SER-3.

Kernel: 2.6.14 and 2.6.24 kernel/sched.c load_balance / load_balance_newidle.
"""

from __future__ import annotations

from actors.balance import LB_BALANCED, LB_COUNT, BalanceWork
from actors.shared import BoardEntry, Shared
from actors.stats import CpuStats
from topology.domains import DomainBuild, build_sched_domains
from topology.idle_balance import NewidleLevel, idle_balance
from topology.loadbalance import DomainRuntime, IdleType, MovableTask
from topology.presets import load_machine
from topology.rebalance import BalanceEra, LevelClock, rebalance_domains
from topology.sd_flags import SdFlag


def board(machine: str, era: str, loads: dict[int, int]) -> tuple[Shared, DomainBuild]:
    m = load_machine(machine)
    build = build_sched_domains(m, era=era)
    shared = Shared(m.nr_cpus, m.all_cpus)
    shared.domains.publish(build)
    for cpu, n in loads.items():
        queue = tuple(MovableTask(100 * cpu + i, m.all_cpus, running=i == 0) for i in range(n))
        shared.board.stage(cpu, BoardEntry(0, (n * 128,) * 3, n, queue))
    shared.commit()
    return shared, build


def work(shared: Shared, build: DomainBuild, cpu: int, *, designated: bool = False) -> BalanceWork:
    chain = build.chain(cpu)
    return BalanceWork(
        cpu=cpu,
        now_ns=10**9,
        shared=shared,
        build=build,
        chain=chain,
        runtime=[DomainRuntime(0, sd.balance_interval, 2) for sd in chain],
        stats=CpuStats(cpu),
        view=shared.board.view(1000),
        designated=designated,
    )


# cpu1 newly idle, its sibling cpu0 runs one task, cpu2 (the other core) three.
SMT = ("node:1 core:2 pu:2", {0: 1, 1: 0, 2: 3, 3: 0})


def test_2614_newidle_stops_at_the_smt_level_when_it_pulls_nothing_lbo_4() -> None:
    """idle_cpu(this_cpu) is false in schedule() (prev is still current): sd_idle is
    cleared, the SIBLING level returns -1 and idle_balance stops before the CPU level."""
    shared, build = board(SMT[0], "2.6.14", SMT[1])
    w = work(shared, build, 1)
    chain = w.chain
    assert [sd.name for sd in chain] == ["SIBLING", "CPU"]
    levels = [NewidleLevel(SdFlag.BALANCE_NEWIDLE in sd.flags) for sd in chain]
    results: list[int] = []

    def lb(level: int) -> int:
        results.append(w.load_balance_newidle(level))
        return results[-1]

    assert idle_balance(levels, lb) == (0,)
    assert results == [-1]
    assert w.actions == []
    assert w.runtime[0].nr_balance_failed == 2  # the early return skips the reset


def test_2614_periodic_idle_smt_level_with_a_busy_sibling_makes_the_levels_above_busy() -> None:
    shared, build = board(SMT[0], "2.6.14", SMT[1])
    w = work(shared, build, 1)
    assert w.load_balance(0, IdleType.SCHED_IDLE).result == -1
    levels = [LevelClock(0, sd.balance_interval, sd.busy_factor) for sd in w.chain]
    walk = rebalance_domains(
        levels, era=BalanceEra.TICK_2614, jiffies=1000, cpu=1, hz=1000, nr_cpus=4,
        idle=IdleType.SCHED_IDLE, load_balance=work(shared, build, 1).load_balance,
    )  # fmt: skip
    assert [(i, idle) for i, idle in walk.balanced] == [
        (0, IdleType.SCHED_IDLE),
        (1, IdleType.NOT_IDLE),
    ]


def test_an_idle_smt_level_with_idle_siblings_returns_0() -> None:
    shared, build = board(SMT[0], "2.6.14", {0: 0, 1: 0, 2: 3, 3: 0})
    assert work(shared, build, 1).load_balance(0, IdleType.SCHED_IDLE).result == 0


def test_2620_newidle_counts_this_cpu_idle_by_nr_running() -> None:
    """2.6.20+ find_busiest_group tests rq->nr_running: a newly idle CPU whose sibling
    is idle too goes on to the levels above."""
    shared, build = board("node:1 core:2 pu:2", "2.6.20", {0: 0, 1: 0, 2: 3, 3: 0})
    w = work(shared, build, 1, designated=True)
    assert w.load_balance_newidle(0) == 0


def test_a_non_smt_level_never_returns_minus_1() -> None:
    shared, build = board("node:2 core:2 pu:1", "2.6.14", {0: 1, 1: 0, 2: 1, 3: 1})
    assert work(shared, build, 1).load_balance(0, IdleType.NOT_IDLE).result == 0


def test_2620_a_non_designated_cpu_books_a_balanced_pass_lb_ser_3() -> None:
    """load_balance goes to out_balanced when *balance == 0: lb_count and lb_balanced
    count it, nr_balance_failed is reset and the interval doubles (below max)."""
    shared, build = board("node:2 core:2 pu:1", "2.6.20", {0: 0, 1: 0, 2: 3, 3: 1})
    w = work(shared, build, 1, designated=True)
    level = [sd.name for sd in w.chain].index("NODE")
    before = w.runtime[level]
    report = w.load_balance(level, IdleType.SCHED_IDLE)
    assert report.balance is False
    assert report.result == 0
    assert report.balance_interval == 2 * before.balance_interval
    assert w.runtime[level].nr_balance_failed == 0
    counts = w.stats.lb_counts("NODE", "idle")
    assert (counts[LB_COUNT], counts[LB_BALANCED]) == (1, 1)
