"""Run statistics: per CPU, per task and machine-wide, as the actors record them.

Each CPU actor writes only its own `CpuStats`; a task's counters travel with
the task and are collected when it exits or when the run ends.  The sampler
actor (`sampler`) records the imbalance score against a greedy ideal that
respects cpus_allowed (`topology.placement.imbalance_score`, kept up to date
by the board's `PlacementTally`) every ``sample_ms``.  `SchedStatistics` is
the frozen summary a run returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from actors.context import Context
from actors.messages import Sample
from actors.shared import Shared
from topology import CpuMask

__all__ = ["CpuStats", "RunStats", "SchedStatistics", "TaskStats", "sampler"]


@dataclass(slots=True)
class CpuStats:
    """One CPU's counters (schedstat-like)."""

    cpu: int
    busy_ns: int = 0
    """a task made progress"""
    balance_ns: int = 0
    """balance passes (periodic and newly idle): stolen from the current task"""
    idle_ns: int = 0
    """neither (filled in by the summary: duration - busy - balance)"""
    passes: int = 0
    newidle_passes: int = 0
    balanced: int = 0
    imbalanced: int = 0
    failed: int = 0
    """imbalance found, nothing moved (nr_balance_failed++)"""
    tasklet_refusals: int = 0
    serialize_skips: int = 0
    active_balances: int = 0
    aborted: int = 0
    """balance work dropped because its domain generation was retired"""
    migrations_in: dict[str, int] = field(default_factory=dict)
    migrations_out: dict[str, int] = field(default_factory=dict)
    lb: dict[str, list[int]] = field(default_factory=dict)
    """schedstat load_balance counters per "LEVEL:idle" (idle, busy, newidle):
    [lb_count, lb_balanced, lb_failed, lb_imbalance, lb_gained, lb_hot_gained,
    lb_nobusyq, lb_nobusyg] (2.6.14 show_schedstat order)"""
    alb: dict[str, list[int]] = field(default_factory=dict)
    """per level of this CPU's domains, active balances that pushed to it (the kernel
    counts on the target's domain): [alb_count, alb_failed, alb_pushed]"""
    latency_max_ns: int = 0
    latency_sum_ns: int = 0
    latency_count: int = 0
    """balance latency: from the jiffy next_balance fell due to the pass start"""

    def count_in(self, level: str) -> None:
        self.migrations_in[level] = self.migrations_in.get(level, 0) + 1

    def count_out(self, level: str) -> None:
        self.migrations_out[level] = self.migrations_out.get(level, 0) + 1

    def lb_counts(self, level: str, idle: str) -> list[int]:
        key = f"{level}:{idle}"
        counts = self.lb.get(key)
        if counts is None:
            counts = self.lb[key] = [0] * 8
        return counts

    def alb_counts(self, level: str) -> list[int]:
        counts = self.alb.get(level)
        if counts is None:
            counts = self.alb[level] = [0] * 3
        return counts

    def latency(self, ns: int) -> None:
        self.latency_max_ns = max(self.latency_max_ns, ns)
        self.latency_sum_ns += ns
        self.latency_count += 1


@dataclass(frozen=True, slots=True)
class TaskStats:
    pid: int
    name: str
    cpuset: str
    cpu: int
    """the CPU it ended on (or exited on)"""
    runtime_ns: int
    wait_ns: int
    migrations: int
    locality: float | None
    """share of runtime whose pages were on the CPU's node (None: no pages)"""
    pages: int
    exited: bool
    stale_allocations: int


@dataclass(slots=True)
class RunStats:
    """What the actors write during a run."""

    cpus: list[CpuStats]
    tasks: list[TaskStats] = field(default_factory=list)
    samples: list[tuple[int, int]] = field(default_factory=list)
    """(vtime_ns, imbalance score)"""
    rebuilds: int = 0
    retired: int = 0
    step_errors: list[str] = field(default_factory=list)
    ran_on: dict[str, int] = field(default_factory=dict)
    """cpuset path -> mask bits of every CPU its tasks ran on"""
    ran_on_task: dict[str, int] = field(default_factory=dict)
    """task name -> mask bits of every CPU it ran on"""

    def ran(self, cpuset: str, name: str, cpu: int) -> None:
        bit = 1 << cpu
        self.ran_on[cpuset] = self.ran_on.get(cpuset, 0) | bit
        self.ran_on_task[name] = self.ran_on_task.get(name, 0) | bit


@dataclass(frozen=True, slots=True)
class SchedStatistics:
    """The summary of one run."""

    duration_ns: int
    cpus: tuple[CpuStats, ...]
    tasks: tuple[TaskStats, ...]
    imbalance_avg: float
    imbalance_final: int
    converged_at_ns: int | None
    """first sample from which the score stayed 0 to the end (None: never)"""
    rebuilds: int
    retired: int
    step_errors: tuple[str, ...]
    ran_on: dict[str, CpuMask]
    ran_on_task: dict[str, CpuMask]
    samples: tuple[tuple[int, int], ...] = ()
    """(vtime_ns, imbalance score) every sample_ms"""

    def total(self, counter: str) -> int:
        """A per-CPU counter summed over CPUs (e.g. "tasklet_refusals", "passes")."""
        return sum(int(getattr(c, counter)) for c in self.cpus)

    def imbalance_after(self, t_ns: int) -> float:
        """The mean score of the samples taken at or after *t_ns* (0.0 if none)."""
        tail = [score for when, score in self.samples if when >= t_ns]
        return sum(tail) / len(tail) if tail else 0.0


def summarize(stats: RunStats, duration_ns: int) -> SchedStatistics:
    samples = stats.samples
    scores = [score for _, score in samples]
    converged: int | None = None
    for when, score in reversed(samples):
        if score:
            break
        converged = when
    cpus = tuple(
        replace(c, idle_ns=max(0, duration_ns - c.busy_ns - c.balance_ns)) for c in stats.cpus
    )
    return SchedStatistics(
        duration_ns=duration_ns,
        cpus=cpus,
        tasks=tuple(sorted(stats.tasks, key=lambda t: t.pid)),
        imbalance_avg=sum(scores) / len(scores) if scores else 0.0,
        imbalance_final=scores[-1] if scores else 0,
        converged_at_ns=converged,
        rebuilds=stats.rebuilds,
        retired=stats.retired,
        step_errors=tuple(stats.step_errors),
        ran_on={k: CpuMask(v) for k, v in sorted(stats.ran_on.items())},
        ran_on_task={k: CpuMask(v) for k, v in sorted(stats.ran_on_task.items())},
        samples=tuple(samples),
    )


async def sampler(ctx: Context, shared: Shared, stats: RunStats, period_ns: int) -> None:
    """Every *period_ns*: the imbalance score of the published runqueues."""
    t = 0
    while True:
        ctx.tell(ctx.name, Sample(), at_ns=t)
        await ctx.receive()
        stats.samples.append((t, shared.board.tally.score(shared.online)))
        t += period_ns
