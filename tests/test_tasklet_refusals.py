"""Lazy tasklet refusals (actors/balancer.py `RefusalBook`, LB-T2, seed 004).

A refused CPU calls tasklet_schedule again at every tick; the simulator keeps
it in the balancer's book instead of sending a message per tick.  These tests
pin down what that must still mean: one refusal per tick of the streak, the
streak ending when the CPU gets in or goes offline, and the contest at the
first tick after SCHED clears (one CPU runs the tasklet, one queues it).
"""

from __future__ import annotations

import itertools
from dataclasses import replace

from actors.balancer import RefusalBook
from actors.config import BalanceMode, CostModel, HotplugStep, ShellStep, SimConfig, TaskSpec
from actors.recorder import RunTrace
from actors.sched import SchedRun
from actors.stats import CpuStats, RunStats
from topology.presets import load_machine

MS = 1_000_000


def busy_tasklet(duration_ms: int, pass_ns: int = 5 * MS, **kw: object) -> SimConfig:
    """Sixteen CPUs, fourteen of them idle and balancing every few ms; a pass takes
    *pass_ns*: the tasklet stays wanted by several CPUs at once."""
    return SimConfig(
        machine=load_machine("node:2 core:8 pu:1"),
        balance=BalanceMode.TASKLET,
        tasks=(TaskSpec(name="hog", count=2, cpu=0),),
        cost=CostModel(base_ns=pass_ns, per_cpu_ns=0),
        duration_ns=duration_ms * MS,
        **kw,  # type: ignore[arg-type]
    )


class _Env:
    """The two things a RefusalBook touches."""

    def __init__(self, nr: int) -> None:
        self.stats = RunStats(cpus=[CpuStats(cpu) for cpu in range(nr)])
        self.trace = RunTrace()
        self.config = SimConfig(machine=load_machine("numa-2x2"))


def test_a_streak_is_one_refusal_per_tick_from_its_first_to_its_last() -> None:
    env = _Env(4)
    book = RefusalBook(env, "tasklet_refusals", "tasklet_refused", 1)  # type: ignore[arg-type]
    book.refuse(2, 10)
    book.refuse(2, 12)  # refused again later in the same streak: still from jiffy 10
    book.close(2, 14)
    assert env.stats.cpus[2].tasklet_refusals == 5
    refused = [(t, cpu) for t, cpu, what, _ in env.trace.instants if what == "tasklet_refused"]
    assert refused == [(j * env.config.tick_ns, 2) for j in range(10, 15)]
    book.refuse(1, 20)
    book.close(1, 19)  # got in at the tick it was first refused from: that one refusal
    assert env.stats.cpus[1].tasklet_refusals == 1
    assert not book.waiting


def test_refusals_come_only_from_ticks_and_match_the_statistics() -> None:
    run = SchedRun(busy_tasklet(60), seed=3, trace=RunTrace())
    result = run.run()
    assert result.error is None
    assert run.env.trace is not None
    instants = [(t, cpu) for t, cpu, what, _ in run.env.trace.instants if what == "tasklet_refused"]
    assert len(instants) == result.statistics.total("tasklet_refusals") > 0
    tick = run.env.config.tick_ns
    assert all(t % tick == 0 for t, _ in instants)
    assert len(set(instants)) == len(instants)  # never twice at one tick


def test_lazy_refusals_equal_a_cpu_waking_at_every_jiffy() -> None:
    lazy = SchedRun(busy_tasklet(60), seed=5).run()
    exact = SchedRun(busy_tasklet(60, exact_ticks=True), seed=5).run()
    per_cpu = [c.tasklet_refusals for c in lazy.statistics.cpus]
    assert per_cpu == [c.tasklet_refusals for c in exact.statistics.cpus]
    assert sum(per_cpu) > 0


def test_a_cpu_that_goes_offline_stops_being_refused() -> None:
    steps = (HotplugStep(at_ns=20 * MS, cpu=3, online=False),)
    short = SchedRun(busy_tasklet(25, steps=steps), seed=1).run()
    long = SchedRun(busy_tasklet(80, steps=steps), seed=1).run()
    assert short.error is None
    assert long.error is None
    assert long.statistics.cpus[3].tasklet_refusals == short.statistics.cpus[3].tasklet_refusals
    assert long.statistics.total("tasklet_refusals") > short.statistics.total("tasklet_refusals")


def test_the_contest_after_sched_clears_runs_one_pass_and_queues_one() -> None:
    # Many CPUs wait; at each contest one runs the tasklet and one queues behind it,
    # so passes come in pairs that never overlap (invariant 5 holds).
    config = busy_tasklet(100, pass_ns=200_000)
    run = SchedRun(config, seed=2, trace=RunTrace())
    result = run.run()
    assert result.error is None
    assert run.env.trace is not None
    starts = sorted(p[1] for p in run.env.trace.passes if p[3] == "tasklet")
    tick = config.tick_ns
    paired = [b for a, b in itertools.pairwise(starts) if a % tick == 0 and b == a + 200_000]
    assert len(paired) >= 5
    assert run.env.checker is not None
    assert run.env.checker.max_concurrent_passes == 1


def test_who_wins_a_contest_depends_on_the_seed() -> None:
    # Simultaneous ticks race: the seed, not the CPU number, decides the order.
    winners = set()
    for seed in range(1, 7):
        run = SchedRun(busy_tasklet(12, pass_ns=200_000), seed=seed, trace=RunTrace())
        run.run()
        assert run.env.trace is not None
        passes = sorted((p[1], p[0]) for p in run.env.trace.passes if p[3] == "tasklet")
        winners.add(tuple(cpu for _, cpu in passes[:6]))
    assert len(winners) > 1


# -- the SD_SERIALIZE try-lock (LB-T3): the same laziness --------------------------------


def contended_lock(duration_ms: int, **kw: object) -> SimConfig:
    """2.6.24 softirq-serialize on four nodes: every idle CPU wants the NODE level."""
    return SimConfig(
        machine=load_machine("node:4 core:4 pu:1"),
        balance=BalanceMode.SOFTIRQ_SERIALIZE,
        cpuset_era="2.6.24",
        tasks=(TaskSpec(name="hog", count=3, cpu=0),),
        cost=CostModel(base_ns=1_500_000, per_cpu_ns=0),
        duration_ns=duration_ms * MS,
        **kw,  # type: ignore[arg-type]
    )


def test_a_lock_streak_charges_every_skipped_level_at_every_tick() -> None:
    env = _Env(4)
    book = RefusalBook(env, "serialize_skips", "serialize_skip", 0)  # type: ignore[arg-type]
    book.refuse(1, 5, ("NODE", "ALLNODES"))
    book.close(1, 7)
    assert env.stats.cpus[1].serialize_skips == 6
    book.refuse(2, 9, ("NODE",))
    book.close(2, 8)  # granted at the very tick it started waiting from: nothing more
    assert env.stats.cpus[2].serialize_skips == 0
    levels = [args["level"] for _, cpu, _, args in env.trace.instants if cpu == 1]
    assert levels == ["NODE", "ALLNODES"] * 3


def test_lock_skips_match_the_statistics_and_fall_on_ticks() -> None:
    run = SchedRun(contended_lock(80), seed=4, trace=RunTrace())
    result = run.run()
    assert result.error is None
    assert run.env.trace is not None
    skips = [(t, cpu) for t, cpu, what, _ in run.env.trace.instants if what == "serialize_skip"]
    assert len(skips) == result.statistics.total("serialize_skips") > 0
    assert len(set(skips)) == len(skips)
    assert run.env.checker is not None


def test_lazy_lock_waiters_equal_cpus_waking_at_every_jiffy() -> None:
    lazy = SchedRun(contended_lock(80), seed=6).run()
    exact = SchedRun(contended_lock(80, exact_ticks=True), seed=6).run()
    skips = [c.serialize_skips for c in lazy.statistics.cpus]
    assert skips == [c.serialize_skips for c in exact.statistics.cpus]
    assert [c.passes for c in lazy.statistics.cpus] == [c.passes for c in exact.statistics.cpus]
    assert sum(skips) > 0


def locked_after(run: SchedRun, t_ns: int, cpus: range) -> int:
    """How often *cpus* took the SD_SERIALIZE lock after *t_ns* (trace instants)."""
    assert run.env.trace is not None
    return sum(
        1
        for t, cpu, what, _ in run.env.trace.instants
        if what == "serialize_locked" and t > t_ns and cpu in cpus
    )


def test_a_grant_that_meets_a_dying_cpu_still_frees_the_lock() -> None:
    # CPU 11 wins the contest at the very tick it goes offline: the grant crosses its
    # withdrawal and reaches it with no domains left; it must hand the lock back.
    steps = (HotplugStep(at_ns=13 * MS, cpu=11, online=False),)
    run = SchedRun(contended_lock(60, steps=steps), seed=4, trace=RunTrace())
    assert run.run().error is None
    assert locked_after(run, 20 * MS, range(16)) > 0


def test_a_rebuild_ends_a_cpus_wait_for_the_lock() -> None:
    # CPUs 0-3 lose their domains while waiting for the lock; the other nodes must
    # still get it afterwards.
    shell = "\n".join(
        [
            "cd /dev/cpuset",
            "mkdir p0 rest",
            "echo 0-3 > p0/cpus",
            "echo 0 > p0/mems",
            "echo 4-15 > rest/cpus",
            "echo 1-3 > rest/mems",
            "echo 0 > p0/sched_load_balance",
            "echo 0 > sched_load_balance",
        ]
    )
    config = contended_lock(120, steps=(ShellStep(at_ns=30 * MS, text=shell),))
    config = replace(config, tasks=(*config.tasks, TaskSpec(name="h2", count=6, cpu=5)))
    run = SchedRun(config, seed=4, trace=RunTrace())
    result = run.run()
    assert result.error is None
    assert not result.statistics.step_errors
    assert locked_after(run, 33 * MS, range(4, 16)) > 0


def test_a_cpu_whose_own_tasklet_is_queued_is_not_refused() -> None:
    # Queued behind a running pass, the CPU goes offline and back and asks again:
    # its own pending instance is what it would get, so it joins no streak.
    import random
    from types import SimpleNamespace

    from actors.balancer import _schedule
    from topology.tasklet import Tasklet

    env = _Env(8)
    env.cpu_names = tuple(f"cpu{i}" for i in range(8))  # type: ignore[attr-defined]
    told: list[tuple[object, ...]] = []
    ctx = SimpleNamespace(rng=random.Random(1), debug=False, tell=lambda *a: told.append(a))
    book = RefusalBook(env, "tasklet_refusals", "tasklet_refused", 1)  # type: ignore[arg-type]
    queued = Tasklet(queued_on=4, running_on=2)
    after = _schedule(ctx, env, book, queued, [4, 5], False, 10)  # type: ignore[arg-type]
    assert after == queued
    assert book.waiting == {5: 10}
    assert told == []
