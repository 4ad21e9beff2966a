"""The run trace (actors/recorder.py) records what the actors did, consistently."""

from __future__ import annotations

import itertools
from collections import defaultdict

from actors.config import BalanceMode, CostModel, SimConfig, TaskKind, TaskSpec
from actors.recorder import RunTrace
from actors.sched import SchedRun
from topology.presets import load_machine

MS = 1_000_000


def traced(mode: BalanceMode) -> tuple[RunTrace, SchedRun]:
    trace = RunTrace()
    config = SimConfig(
        machine=load_machine("numa-2x2"),
        balance=mode,
        tasks=(
            TaskSpec(name="hog", count=7, cpu=0),
            TaskSpec(name="p", kind=TaskKind.PERIODIC, count=2, run_ms=3, sleep_ms=5),
        ),
        cost=CostModel(base_ns=200_000, per_cpu_ns=100_000),
        duration_ns=120 * MS,
    )
    run = SchedRun(config, seed=2, trace=trace)
    assert run.run().error is None
    return trace, run


def test_task_runs_never_overlap_on_a_cpu_and_stay_within_affinity() -> None:
    trace, _ = traced(BalanceMode.PERCPU)
    per_cpu: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for cpu, start, end, _pid, _name, _kind, allowed in trace.runs:
        assert start < end
        assert allowed >> cpu & 1
        per_cpu[cpu].append((start, end))
    assert len(per_cpu) == 4
    for spans in per_cpu.values():
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))


def test_every_send_of_a_task_is_followed_by_its_arrival() -> None:
    trace, _ = traced(BalanceMode.PERCPU)
    arrivals: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for pid, cpu, t in trace.arrivals:
        arrivals[pid].append((cpu, t))
    seen: dict[int, int] = defaultdict(int)
    for pid, _src, dst, t, _reason, _level in trace.sends:
        cpu, when = arrivals[pid][seen[pid]]
        seen[pid] += 1
        assert (cpu, when >= t) == (dst, True)
    assert any(reason == "balance" for *_, reason, _ in trace.sends)


def test_tasklet_passes_never_overlap_and_refusals_are_instants() -> None:
    trace, run = traced(BalanceMode.TASKLET)
    spans = sorted((start, end) for _cpu, start, end, kind, _ in trace.passes if kind == "tasklet")
    assert spans
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
    refusals = [i for i in trace.instants if i[2] == "tasklet_refused"]
    assert len(refusals) == run.statistics().total("tasklet_refusals") > 0


def test_schedstat_counters_add_up() -> None:
    """lb_count = lb_balanced + lb_failed + (moved at least one) per level and idle type."""
    _, run = traced(BalanceMode.PERCPU)
    checked = 0
    for cpu in run.statistics().cpus:
        for counts in cpu.lb.values():
            count, balanced, failed = counts[0], counts[1], counts[2]
            assert balanced + failed <= count
            assert counts[6] + counts[7] <= balanced
            checked += count
    assert checked > 0
