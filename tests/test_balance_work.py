"""`BalanceWork`, one CPU's load_balance over a hand-built board: LBO-4's -1 and LB-SER-3.

Kernel: 2.6.14 and 2.6.24 kernel/sched.c load_balance / load_balance_newidle.
"""

from __future__ import annotations

from actors.balance import LB_BALANCED, LB_COUNT, BalanceWork
from actors.messages import ActiveBalance
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


def test_an_active_balance_kick_stays_pending_until_the_migration_thread_serves_it() -> None:
    """LBO-1: rq->active_balance is set by the kicker and cleared by the migration thread;
    a second kick of the delta it is served in is ignored; a kick staged in the delta of
    a serve is a later one and stays pending (the commit does not depend on the order
    the delta's actors ran in)."""
    shared = Shared(4, load_machine("core:4").all_cpus)
    shared.kick_active_balance(2)
    assert 2 not in shared.alb_pending  # staged until the delta ends
    shared.commit()
    assert shared.alb_pending == {2}
    assert shared.serve_active_balance(2)
    assert not shared.serve_active_balance(2)
    shared.kick_active_balance(2)
    shared.commit()
    assert shared.alb_pending == {2}
    assert shared.serve_active_balance(2)
    shared.commit()
    assert shared.alb_pending == set()


def test_a_pass_that_finds_a_kick_pending_does_not_kick_and_resets_its_interval() -> None:
    """2.6.14 load_balance: with busiest->active_balance set, active_balance stays 0, so
    the interval goes back to min_interval instead of doubling.  cpu2's core is idle,
    the other core's two siblings run one task each: the busiest CPU has one task, no
    pull can move it, and the failures have piled up (the HT case of §2.10)."""
    shared, build = board(SMT[0], "2.6.14", {0: 1, 1: 1, 2: 0, 3: 0})
    level = [sd.name for sd in build.chain(2)].index("CPU")
    sd = build.chain(2)[level]
    results = []
    for pending in (False, True):
        if pending:
            shared.kick_active_balance(0)
            shared.kick_active_balance(1)
            shared.commit()
        w = work(shared, build, 2)
        w.runtime[level] = DomainRuntime(0, 2 * sd.min_interval, sd.cache_nice_tries + 2)
        w.load_balance(level, IdleType.SCHED_IDLE)
        results.append((len(w.actions), w.runtime[level].balance_interval))
    assert results == [(1, 4 * sd.min_interval), (0, sd.min_interval)]


def test_the_kick_carries_push_cpus_lowest_domain_spanning_the_busiest_cpu() -> None:
    """§2.10: active_load_balance searches push_cpu's domains bottom-up for the first
    SD_LOAD_BALANCE one spanning busiest, and uses its failure count and cache-hot
    settings; a kick from ALLNODES to a node inside NODE's span is a NODE push."""
    shared, build = board("node:20 core:1 pu:1", "2.6.14", {})
    w = work(shared, build, 0)
    names = [sd.name for sd in w.chain]
    assert names == ["NODE", "ALLNODES"]
    assert 1 in w.chain[0].span
    assert 19 not in w.chain[0].span
    w.runtime[0] = DomainRuntime(0, 8, 1)
    kicked = DomainRuntime(0, 64, 3)
    w._kick(1, 1, kicked)
    w._kick(19, 1, kicked)
    (_, near), (_, far) = w.actions
    assert isinstance(near, ActiveBalance)
    assert isinstance(far, ActiveBalance)
    assert (near.level, near.nr_balance_failed) == ("NODE", 1)
    assert (far.level, far.nr_balance_failed) == ("ALLNODES", 3)
    assert near.cache_nice_tries == w.chain[0].cache_nice_tries
