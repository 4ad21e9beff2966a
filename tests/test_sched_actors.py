"""The scheduler actors end to end: balancing, serialization, backoff, cpusets, rebinding.

Every test runs real actors on the bus (actors/sched.py) and asserts on the
run's statistics or on the state the actors hold when the run stops.
"""

from __future__ import annotations

import dataclasses

import pytest

from actors.checker import InvariantViolation
from actors.config import (
    AffinityStep,
    BalanceMode,
    CostModel,
    HotplugStep,
    MempolicySpec,
    ShellStep,
    SimConfig,
    TaskKind,
    TaskSpec,
)
from actors.cpu import CpuActor
from actors.sched import SchedResult, SchedRun
from actors.task import Task
from cpuset.mempolicy import MpolMode
from topology import CpuMask
from topology.presets import load_machine

MS = 1_000_000
MODES = list(BalanceMode)


def two_cpus(mode: BalanceMode, *specs: TaskSpec, **kw: object) -> SimConfig:
    return SimConfig(
        machine=load_machine("core:2"),
        balance=mode,
        tasks=specs,
        **kw,  # type: ignore[arg-type]
    )


def run(config: SimConfig, seed: int = 1) -> tuple[SchedRun, SchedResult]:
    sim = SchedRun(config, seed=seed)
    result = sim.run()
    assert result.error is None, result.error
    return sim, result


def nr_running(sim: SchedRun) -> list[int]:
    return [len(actor.queue) + (actor.curr is not None) for actor in cpus(sim)]


def cpus(sim: SchedRun) -> list[CpuActor]:
    return [actor for actor in sim.env.cpus if actor is not None]


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.value)
def test_three_hogs_on_one_of_two_cpus_converge_in_one_move(mode: BalanceMode) -> None:
    """§2.5 worked example: 3:0 moves one task, and the 2:1 split that follows is stable."""
    config = two_cpus(mode, TaskSpec(name="hog", count=3, cpu=0), duration_ns=1000 * MS)
    sim, result = run(config)
    stats = result.statistics
    assert sorted(nr_running(sim)) == [1, 2]
    assert sum(t.migrations for t in stats.tasks) == 1
    assert stats.cpus[1].migrations_in == {"CPU": 1}
    assert stats.imbalance_final == 0
    assert stats.converged_at_ns is not None
    assert stats.converged_at_ns < 200 * MS


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.value)
def test_two_to_one_split_stays_put(mode: BalanceMode) -> None:
    config = two_cpus(
        mode,
        TaskSpec(name="a", count=2, cpu=0),
        TaskSpec(name="b", count=1, cpu=1),
        duration_ns=1000 * MS,
    )
    sim, result = run(config)
    assert nr_running(sim) == [2, 1]
    assert sum(t.migrations for t in result.statistics.tasks) == 0
    assert all(cpu.passes >= 3 for cpu in result.statistics.cpus)


def test_tasklet_refuses_the_second_cpu_of_a_tick_and_passes_never_overlap() -> None:
    """LB-T2: both CPUs reach next_balance at the first tick; one is absorbed."""
    config = SimConfig(
        machine=load_machine("numa-2x2"),
        balance=BalanceMode.TASKLET,
        tasks=(TaskSpec(name="hog", count=6, cpu=0),),
        cost=CostModel(base_ns=300_000, per_cpu_ns=100_000),
        duration_ns=300 * MS,
    )
    sim, result = run(config)
    assert result.statistics.total("tasklet_refusals") > 0
    assert sim.env.checker is not None
    assert sim.env.checker.max_concurrent_passes == 1


def test_percpu_passes_overlap() -> None:
    config = SimConfig(
        machine=load_machine("numa-2x2"),
        balance=BalanceMode.PERCPU,
        tasks=(TaskSpec(name="hog", count=6, cpu=0),),
        cost=CostModel(base_ns=300_000, per_cpu_ns=100_000),
        duration_ns=300 * MS,
    )
    sim, result = run(config)
    assert sim.env.checker is not None
    assert sim.env.checker.max_concurrent_passes >= 2
    assert result.statistics.total("tasklet_refusals") == 0


def test_all_pinned_backoff_reaches_512_ms() -> None:
    """LB-IVL-4: every candidate pinned doubles balance_interval up to MAX_PINNED_INTERVAL."""
    config = two_cpus(
        BalanceMode.PERCPU,
        TaskSpec(name="pin", kind=TaskKind.PINNED, count=3, cpus=CpuMask.of([0])),
        duration_ns=3000 * MS,
    )
    sim, result = run(config)
    idle_cpu = cpus(sim)[1]
    assert [state.balance_interval for state in idle_cpu.runtime] == [512]
    assert nr_running(sim) == [3, 0]
    assert result.statistics.cpus[1].imbalanced > 0


EXCLUSIVE = """\
mkdir /dev/cpuset/rt
echo 0 > /dev/cpuset/rt/cpus
echo 0 > /dev/cpuset/rt/mems
echo 1 > /dev/cpuset/rt/cpu_exclusive
"""


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.value)
def test_cpus_of_an_exclusive_cpuset_never_exchange_tasks_with_the_rest(mode: BalanceMode) -> None:
    """Seed 000: an exclusive cpuset on CPU 0 is its own partition (DYN-6, SD-INV-11).

    2.6.24 partitions by sched_load_balance (§1.10): the top cpuset stops balancing and a
    sibling cpuset holds the other CPUs.
    """
    era = "2.6.24" if mode is BalanceMode.SOFTIRQ_SERIALIZE else "2.6.14"
    setup = EXCLUSIVE
    if era == "2.6.24":
        setup += "mkdir /dev/cpuset/rest\necho 1-3 > /dev/cpuset/rest/cpus\n"
        setup += "echo 0-1 > /dev/cpuset/rest/mems\necho 0 > /dev/cpuset/sched_load_balance\n"
    config = SimConfig(
        machine=load_machine("numa-2x2"),
        cpuset_era=era,
        balance=mode,
        setup=setup,
        tasks=(
            TaskSpec(name="rt", count=3, cpuset="/rt"),
            TaskSpec(name="rest", count=6, cpu=1),
        ),
        duration_ns=500 * MS,
    )
    _, result = run(config)
    stats = result.statistics
    assert stats.ran_on["/rt"] == CpuMask.of([0])
    assert 0 not in stats.ran_on_task["rest.0"] | stats.ran_on_task["rest.5"]
    rest = CpuMask()
    for name, mask in stats.ran_on_task.items():
        if name.startswith("rest."):
            rest = rest | mask
    assert rest == CpuMask.of([1, 2, 3])
    assert stats.cpus[0].migrations_in == {}
    assert stats.cpus[0].migrations_out == {}


REBIND = """\
mkdir /dev/cpuset/a
echo 0-3 > /dev/cpuset/a/cpus
echo 0 > /dev/cpuset/a/mems
"""


def rebind_config(duration_ms: int, rebind: str = "lazy") -> SimConfig:
    from actors.config import RebindMode

    return SimConfig(
        machine=load_machine("numa-2x2"),
        setup=REBIND,
        rebind=RebindMode(rebind),
        tasks=(
            TaskSpec(
                name="sleeper",
                kind=TaskKind.PERIODIC,
                cpuset="/a",
                run_ms=5,
                sleep_ms=50,
                pages_per_ms=1,
                mempolicy=MempolicySpec(mode="bind", nodes=CpuMask.of([0])),
            ),
        ),
        steps=(ShellStep(at_ns=20 * MS, text="echo 1 > /dev/cpuset/a/mems\n"),),
        duration_ns=duration_ms * MS,
    )


def sleeper(sim: SchedRun) -> Task:
    (task,) = [t for actor in cpus(sim) for t in actor.all_tasks()]
    return task


def test_a_sleeping_task_keeps_its_old_policy_until_it_runs() -> None:
    """Seed 002 / MP-HIST-1: the rebind is applied in the task's own context, lazily."""
    sim, _ = run(rebind_config(40))  # asleep from 5 ms to 55 ms; mems changed at 20 ms
    task = sleeper(sim)
    assert task.policy.mode is MpolMode.BIND
    assert task.policy.nodes == CpuMask.of([0])
    assert task.rebind_to == CpuMask.of([1])
    sim, _ = run(rebind_config(60))  # it woke at 55 ms and ran
    task = sleeper(sim)
    assert task.policy.nodes == CpuMask.of([1])
    assert task.mems_allowed == CpuMask.of([1])
    assert task.rebind_to is None


def test_direct_rebind_rewrites_a_sleeping_task_at_once() -> None:
    """MP-HIST-4 (2.6.31+): the writer updates every task, asleep or not."""
    sim, _ = run(rebind_config(40, rebind="direct"))
    task = sleeper(sim)
    assert task.policy.nodes == CpuMask.of([1])
    assert task.rebind_to is None


def task_in_a(task: TaskSpec, shell: str, at_ms: int, duration_ms: int, **kw: object) -> SimConfig:
    """numa-2x2 with cpuset /a (CPUs 0-3, node 0) holding *task*; *shell* runs at *at_ms*."""
    setup = str(kw.pop("setup", REBIND))
    return SimConfig(
        machine=load_machine("numa-2x2"),
        setup=setup,
        tasks=(task,),
        steps=(ShellStep(at_ns=at_ms * MS, text=shell),),
        duration_ns=duration_ms * MS,
        **kw,  # type: ignore[arg-type]
    )


def test_a_rebind_follows_a_task_moved_off_its_cpu_in_the_same_step() -> None:
    """Seed 002's step: cpus then mems.  The cpus write sends the running task to the new
    CPUs; the rebind notice, handled by the old CPU in the same delta, must follow it
    there (it was dropped, so no task of seed 002 was ever rebound)."""
    config = task_in_a(
        TaskSpec(
            name="t",
            cpuset="/a",
            pages_per_ms=1,
            mempolicy=MempolicySpec(mode="bind", nodes=CpuMask.of([0])),
        ),
        "echo 2-3 > /dev/cpuset/a/cpus\necho 1 > /dev/cpuset/a/mems\n",
        at_ms=20,
        duration_ms=60,
        cpuset_era="2.6.24",  # a cpus write updates the tasks' cpus_allowed (2.6.14 did not)
        slice_ms=10,
    )
    sim, _ = run(config)
    task = sleeper(sim)
    assert task.cpus_allowed == CpuMask.of([2, 3])
    assert task.policy.nodes == CpuMask.of([1])
    assert task.mems_allowed == CpuMask.of([1])
    assert task.rebind_to is None


def test_a_rebound_preferred_policy_may_keep_a_node_outside_the_new_mems() -> None:
    """MP-REB-3 (5.14+): the preferred node is a hint; invariant 4 does not apply to it."""
    config = task_in_a(
        TaskSpec(
            name="t",
            cpuset="/a",
            pages_per_ms=1,
            mempolicy=MempolicySpec(mode="preferred", nodes=CpuMask.of([0])),
        ),
        "echo 1 > /dev/cpuset/a/mems\n",
        at_ms=20,
        duration_ms=60,
        cpuset_era="v1",  # modern mempolicy rebinding
        slice_ms=10,  # a lone task picks a lazy rebind up at its slice's end
    )
    sim, _ = run(config)  # run() asserts that the checker found no violation
    task = sleeper(sim)
    assert task.policy.nodes == CpuMask.of([0])
    assert task.mems_allowed == CpuMask.of([1])


TOGGLE = "echo 1 > /dev/cpuset/x/cpu_exclusive\n"


def rebuild_during_passes(bugs: frozenset[str]) -> SimConfig:
    steps = tuple(
        ShellStep(at_ns=t * MS + 100_000, text=TOGGLE.replace("1", str(i % 2)))
        for i, t in enumerate(range(20, 200, 7))
    )
    return SimConfig(
        machine=load_machine("numa-2x2"),
        balance=BalanceMode.PERCPU,
        setup="mkdir /dev/cpuset/x\necho 2-3 > /dev/cpuset/x/cpus\necho 1 > /dev/cpuset/x/mems\n",
        tasks=(TaskSpec(name="hog", count=8, cpu=0),),
        steps=steps,
        cost=CostModel(base_ns=400_000, per_cpu_ns=200_000),
        duration_ns=220 * MS,
        bugs=bugs,
    )


def test_a_rebuild_during_a_pass_waits_for_the_pass_before_retiring_domains() -> None:
    """Invariant 6 / SPEC §6.3: the grace period outlasts every pass on the old generation."""
    sim, result = run(rebuild_during_passes(frozenset()))
    assert result.statistics.rebuilds >= 20
    assert result.statistics.retired >= 10
    assert sim.env.checker is not None
    assert sim.env.checker.max_concurrent_passes >= 2


def test_without_the_grace_period_a_pass_runs_on_retired_domains() -> None:
    """The same run with domains retired at once is caught by the checker (invariant 6)."""
    result = SchedRun(rebuild_during_passes(frozenset({"no-grace-period"})), seed=1).run()
    assert isinstance(result.error, InvariantViolation)
    assert result.error.invariant == 6


def test_the_same_seed_gives_the_same_statistics() -> None:
    config = SimConfig(
        machine=load_machine("smt-numa-8"),
        tasks=(
            TaskSpec(name="hog", count=10, cpu=0),
            TaskSpec(name="p", kind=TaskKind.PERIODIC, count=4, run_ms=3, sleep_ms=7),
        ),
        duration_ns=200 * MS,
    )
    first = run(config, seed=5)[1].statistics
    second = run(config, seed=5)[1].statistics
    assert first == second


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.value)
def test_lazy_ticks_give_the_same_run_as_exact_ticks(mode: BalanceMode) -> None:
    config = SimConfig(
        machine=load_machine("numa-2x2"),
        cpuset_era="2.6.24" if mode is BalanceMode.SOFTIRQ_SERIALIZE else "2.6.14",
        balance=mode,
        setup="mkdir /dev/cpuset/a\necho 2-3 > /dev/cpuset/a/cpus\necho 1 > /dev/cpuset/a/mems\n",
        tasks=(
            TaskSpec(name="hog", count=5, cpu=0, pages_per_ms=1),
            TaskSpec(name="p", kind=TaskKind.PERIODIC, count=3, run_ms=3, sleep_ms=11),
            TaskSpec(name="fb", kind=TaskKind.FORK_BURST, children=2, fork_every_ms=20),
        ),
        steps=(ShellStep(at_ns=57 * MS, text="echo 0 > /dev/cpuset/a/mems\n"),),
        cost=CostModel(base_ns=150_000, per_cpu_ns=50_000),
        duration_ns=150 * MS,
    )
    lazy = run(config)[1]
    exact = run(dataclasses.replace(config, exact_ticks=True))[1]
    assert exact.simulation.deliveries > lazy.simulation.deliveries
    assert lazy.statistics == exact.statistics


def test_an_offlined_cpu_hands_every_task_away_and_leaves_the_domains() -> None:
    """CS-HP-1/DYN-5: tasks leave the dying CPU; the next generation has no domain for it."""
    config = SimConfig(
        machine=load_machine("numa-2x2"),
        tasks=(
            TaskSpec(name="hog", count=8, cpu=0),
            TaskSpec(name="p", kind=TaskKind.PERIODIC, count=2, cpu=3, run_ms=2, sleep_ms=5),
        ),
        steps=(HotplugStep(at_ns=50 * MS, cpu=3, online=False),),
        duration_ns=120 * MS,
    )
    sim, result = run(config)
    dead = cpus(sim)[3]
    assert dead.held_pids() == []
    assert not dead.online
    assert dead.chain == ()
    assert sum(nr_running(sim)) + len([t for a in cpus(sim) for t in a.sleepers.values()]) == 10
    assert result.statistics.rebuilds == 2


def test_an_affinity_change_moves_the_running_task_off_a_cpu_it_may_not_use() -> None:
    """CS-CPU-2: set_cpus_allowed migrates a task whose CPU left its mask."""
    config = two_cpus(
        BalanceMode.PERCPU,
        TaskSpec(name="hog", count=1, cpu=0),
        steps=(AffinityStep(at_ns=10 * MS, task="hog.0", cpus=CpuMask.of([1])),),
        duration_ns=30 * MS,
    )
    sim, result = run(config)
    assert nr_running(sim) == [0, 1]
    assert result.statistics.ran_on_task["hog.0"] == CpuMask.of([0, 1])
    (task,) = result.statistics.tasks
    assert task.migrations == 1


def test_a_running_task_that_cannot_be_pulled_is_pushed_by_active_balancing() -> None:
    """LBO-1 / §2.10: repeated failures kick the busiest CPU's migration thread."""
    config = two_cpus(
        BalanceMode.PERCPU,
        TaskSpec(name="free", count=1, cpu=0),
        TaskSpec(name="pinned", kind=TaskKind.PINNED, count=1, cpus=CpuMask.of([0])),
        slice_ms=10_000,
        duration_ns=200 * MS,
    )
    sim, result = run(config)
    assert result.statistics.cpus[0].active_balances == 1
    assert result.statistics.cpus[1].migrations_in == {"CPU": 1}
    assert [t.name for t in cpus(sim)[1].all_tasks()] == ["free.0"]


def test_active_balancing_pushes_a_busy_cpus_only_task_to_the_idle_node() -> None:
    """§2.10: the migration thread counts itself in nr_running, so a lone task moves.

    Four hogs forked on CPU 0 of two nodes x two cores x two threads: the plain passes
    spread them until one node holds three (two on one core's siblings) and the other
    one, which no pull can fix (the busiest CPU runs its only task).  Active balancing
    pushes it, leaving two per node, one per core; before, every kick moved nothing.
    """
    config = SimConfig(
        machine=load_machine("node:2 core:2 pu:2 distances=10,20;20,10"),
        balance=BalanceMode.PERCPU,
        tasks=(TaskSpec(name="hog", count=4, cpu=0),),
        duration_ns=500 * MS,
    )
    sim, result = run(config)
    assert sum(c.active_balances for c in result.statistics.cpus) >= 1
    # LBO-1: a CPU that finds a kick pending does not kick again, and the migration
    # thread serves one kick per pending flag (three CPUs of the idle node kicked cpu0
    # in one delta; before the flag was modelled, 340 kicks were served, all but one
    # finding nothing to push)
    served = sum(counts[0] for actor in cpus(sim) for counts in actor.stats.alb.values())
    assert served == sum(c.active_balances for c in result.statistics.cpus)
    running = nr_running(sim)
    assert running[:4].count(1) == 2, running
    assert running[4:].count(1) == 2, running
    assert all(running[2 * core] + running[2 * core + 1] == 1 for core in range(4)), running


def test_a_tasklet_queued_on_a_cpu_that_goes_offline_runs_on_an_online_cpu() -> None:
    """takeover_tasklets: CPU 0 queues the tasklet while CPU 1 runs it (1-6 ms) and goes
    offline at 2 ms; the tasklet moves to an online CPU's list and runs there (before,
    the dead CPU 0 ran a 5 ms pass at 6 ms)."""
    from actors.config import CostModel, HotplugStep

    config = two_cpus(
        BalanceMode.TASKLET,
        TaskSpec(name="hog", count=4, cpu=0),
        cost=CostModel(base_ns=5 * MS, per_cpu_ns=0),
        steps=(HotplugStep(at_ns=2 * MS, cpu=0, online=False),),
        duration_ns=30 * MS,
    )
    _, result = run(config)
    passes = [c.passes for c in result.statistics.cpus]
    assert passes[0] == 0, passes
    assert passes[1] >= 2, passes


def test_memory_migrate_moves_the_pages_with_the_rebind() -> None:
    """CS-MEM-2: with memory_migrate the pages follow node_remap; without, they stay."""

    def pages(migrate: bool) -> tuple[tuple[int, int], ...]:
        flag = "echo 1 > /dev/cpuset/a/memory_migrate\n" if migrate else ""
        config = SimConfig(
            machine=load_machine("numa-2x2"),
            cpuset_era="2.6.24",  # memory_migrate appeared in 2.6.16
            setup=REBIND + flag,
            tasks=(TaskSpec(name="t", cpuset="/a", pages_per_ms=10),),
            steps=(ShellStep(at_ns=50 * MS, text="echo 1 > /dev/cpuset/a/mems\n"),),
            slice_ms=20,
            duration_ns=100 * MS,
        )
        sim, _ = run(config)
        return sleeper(sim).pages

    moved = pages(migrate=True)
    kept = pages(migrate=False)
    assert dict(moved).get(0, 0) == 0
    assert dict(kept)[0] > 0
    assert sum(c for _, c in moved) == sum(c for _, c in kept) > 900


def test_memory_migrate_moves_a_sleeping_tasks_pages_at_the_write() -> None:
    """MP-HIST-2 / CS-MEM-1: cpuset_migrate_mm runs in the writer's context, so the pages
    move at the mems write even though the task sleeps; only its policy waits (lazy)."""
    config = task_in_a(
        TaskSpec(
            name="t",
            kind=TaskKind.PERIODIC,
            cpuset="/a",
            run_ms=5,
            sleep_ms=200,
            pages_per_ms=10,
            mempolicy=MempolicySpec(mode="bind", nodes=CpuMask.of([0])),
        ),
        "echo 1 > /dev/cpuset/a/mems\n",
        at_ms=50,
        duration_ms=150,
        cpuset_era="2.6.24",
        setup=REBIND + "echo 1 > /dev/cpuset/a/memory_migrate\n",
    )
    sim, _ = run(config)
    task = sleeper(sim)
    assert task.pages == ((1, 50),)
    assert task.rebind_to == CpuMask.of([1])
    assert task.policy.nodes == CpuMask.of([0])


def test_modern_domains_balance_without_sd_load_balance() -> None:
    """5.10 dropped SD_LOAD_BALANCE: every attached modern domain balances."""
    config = SimConfig(
        machine=load_machine("numa-2x2"),
        cpuset_era="v1",
        balance=BalanceMode.PERCPU,
        tasks=(TaskSpec(name="hog", count=4, cpu=0),),
        duration_ns=300 * MS,
    )
    sim, result = run(config)
    assert nr_running(sim) == [1, 1, 1, 1]
    assert result.statistics.total("passes") > 0


def test_the_checker_catches_overlapping_serialized_passes_in_softirq_mode(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Invariant 5 / LB-SER-1: with the SD_SERIALIZE lock broken (every try-lock
    succeeds), two passes holding it overlap and the checker says so."""
    import actors.balancer as balancer_mod
    from actors.messages import SerializeGranted, TrySerializeReply

    def broken_try(ctx, env, locks, holder, asked, cpu, jiffy):  # type: ignore[no-untyped-def]
        if cpu in asked:
            ctx.reply(asked[cpu], TrySerializeReply(acquired=True))
        else:
            ctx.tell(env.cpu_names[cpu], SerializeGranted())
        return cpu

    monkeypatch.setattr(balancer_mod, "_try", broken_try)
    config = SimConfig(
        machine=load_machine("node:2 core:2 pu:1"),
        cpuset_era="2.6.24",
        balance=BalanceMode.SOFTIRQ_SERIALIZE,
        tasks=(TaskSpec(name="hog", count=8, cpu=0),),
        duration_ns=200 * MS,
    )
    result = SchedRun(config, seed=1).run()
    assert result.error is not None
    assert "invariant 5" in str(result.error)


def test_nr_cpus_is_the_kernels_and_sets_the_balance_stagger() -> None:
    """CPU_OFFSET = HZ*cpu/NR_CPUS with the kernel's NR_CPUS: built for 64 CPUs, CPU 15
    of a 16-CPU machine starts balancing at 234 ms, not 937 ms (-mm tasklet stagger)."""

    def passes(nr: int | None) -> int:
        config = SimConfig(
            machine=load_machine("node:4 core:4 pu:1"),
            nr_cpus=nr,
            tasks=(TaskSpec(name="hog", count=32, cpu=0),),
            duration_ns=500 * MS,
        )
        _, result = run(config)
        return result.statistics.cpus[15].passes

    assert passes(None) == 1  # the first pass after the build, then silence until 937 ms
    assert passes(64) > 10
    with pytest.raises(ValueError, match="NR_CPUS"):
        SimConfig(machine=load_machine("node:4 core:4 pu:1"), nr_cpus=8)


def test_active_balance_schedstat_counts_on_the_target_cpus_domain() -> None:
    """show_schedstat alb_*: active_load_balance counts on the domain of push_cpu
    (for_each_domain(target_cpu, sd)) and its move_tasks adds to that domain's idle
    lb_gained; the pushing (busiest) CPU counts nothing."""
    config = SimConfig(
        machine=load_machine("node:2 core:2 pu:2 distances=10,20;20,10"),
        balance=BalanceMode.PERCPU,
        tasks=(TaskSpec(name="hog", count=4, cpu=0),),
        duration_ns=500 * MS,
    )
    sim, result = run(config)
    pushers = [c.cpu for c in result.statistics.cpus if c.active_balances]
    assert pushers
    actors = cpus(sim)
    pushed = {cpu: sum(c[2] for c in actors[cpu].stats.alb.values()) for cpu in range(8)}
    assert sum(pushed.values()) == sum(c.active_balances for c in result.statistics.cpus)
    for cpu in pushers:
        assert pushed[cpu] == 0
