"""Run one scheduler simulation: the actors of a `SimConfig`, on the bus, to its duration.

    from actors.sched import SchedRun
    run = SchedRun(config, seed=1, log=LogSpec(path="run.msgpack", level=LogLevel.EVENTS))
    result = run.run()                    # synchronous; `await run.run_async()` inside trio
    print(result.status, result.statistics.total("tasklet_refusals"))

The actors: ``controller`` (actors/controller.py), ``balancer``
(actors/balancer.py), ``cpu0`` .. ``cpuN-1`` (actors/cpu.py), ``workload``
(actors/workload.py) and ``sampler`` (actors/stats.py).  Between two deltas
the run commits what the actors published (`Shared.commit`) and, with
``check``, runs the invariant checker; a violation ends the run with
`InvariantViolation`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import trio

from actors.balancer import RefusalBook, balancer
from actors.checker import Checker, InvariantViolation
from actors.config import BalanceMode, SimConfig
from actors.controller import CpusetController, controller
from actors.cpu import CpuActor, cpu_actor
from actors.log import LogSpec
from actors.recorder import RunTrace
from actors.shared import Shared
from actors.simulation import Simulation, SimulationStatistics, paused_gc
from actors.stats import CpuStats, RunStats, SchedStatistics, sampler, summarize
from actors.workload import workload

__all__ = ["RunEnv", "SchedResult", "SchedRun"]


@dataclass(slots=True)
class RunEnv:
    """What every actor of one run is started with (configuration and the published state)."""

    config: SimConfig
    shared: Shared
    stats: RunStats
    checker: Checker | None
    cpu_names: tuple[str, ...]
    cpus: list[CpuActor | None]
    interval_cap: int | None
    balancer: str = "balancer"
    controller: str = "controller"
    controller_state: CpusetController | None = None
    trace: RunTrace | None = None
    refusals: RefusalBook | None = None
    """the CPUs waiting for the tasklet, charged when the run ends"""
    skips: RefusalBook | None = None
    """the CPUs waiting for the SD_SERIALIZE lock, charged when the run ends"""


@dataclass(frozen=True, slots=True)
class SchedResult:
    status: str
    now_ns: int
    statistics: SchedStatistics
    simulation: SimulationStatistics
    error: BaseException | None = field(default=None)


class SchedRun:
    """One run of a configuration (see the module docstring)."""

    def __init__(
        self,
        config: SimConfig,
        *,
        seed: int = 1,
        log: LogSpec | None = None,
        scenario: str = "",
        params: dict[str, Any] | None = None,
        progress: Callable[[int], None] | None = None,
        trace: RunTrace | None = None,
    ) -> None:
        """*progress*, if given, is called with the virtual time every 1% of the duration."""
        self.config = config
        self._progress = progress
        self._step_ns = max(1, config.duration_ns // 100)
        self._next_report = 0
        machine = config.machine
        nr = machine.nr_cpus
        checker = None
        if config.check:
            serialized = config.balance in (BalanceMode.TASKLET, BalanceMode.SOFTIRQ_SERIALIZE)
            checker = Checker(nr, self._clock, serialized)
        cap = None
        if config.balance is BalanceMode.SOFTIRQ_SERIALIZE and config.cpuset_era != "2.6.14":
            cap = config.hz * config.kernel_nr_cpus // 10  # LB-IVL-2, 2.6.24+: NR_CPUS
        self.env = RunEnv(
            config=config,
            shared=Shared(nr, machine.all_cpus),
            stats=RunStats(cpus=[CpuStats(cpu) for cpu in range(nr)]),
            checker=checker,
            cpu_names=tuple(f"cpu{cpu}" for cpu in range(nr)),
            cpus=[None] * nr,
            interval_cap=cap,
            trace=trace,
        )
        self.sim = Simulation(
            seed=seed,
            log=log,
            scenario=scenario,
            params=params or {},
            after_delta=self._after_delta,
        )
        env = self.env
        self.sim.spawn(env.controller, controller, env)
        self.sim.spawn(env.balancer, balancer, env)
        for cpu, name in enumerate(env.cpu_names):
            self.sim.spawn(name, cpu_actor, cpu, env)
        self.sim.spawn("workload", workload, env)
        self.sim.spawn("sampler", sampler, env.shared, env.stats, config.sample_ms * 1_000_000)

    def set_progress(self, progress: Callable[[int], None] | None) -> None:
        """Report the virtual time to *progress* every 1% of the duration (None: stop)."""
        self._progress = progress

    def _clock(self) -> tuple[int, int]:
        return self.sim.now_ns, self.sim.delta

    def _after_delta(self) -> None:
        if self._progress is not None and self.sim.now_ns >= self._next_report:
            self._next_report = self.sim.now_ns + self._step_ns
            self._progress(self.sim.now_ns)
        env = self.env
        retired = env.shared.commit()
        if env.checker is not None:
            if retired:
                env.checker.retired(env.shared.domains.retired_below)
            env.checker.after_delta()

    def run(self) -> SchedResult:
        return trio.run(self.run_async)

    async def run_async(self) -> SchedResult:
        error: BaseException | None = None
        try:
            outcome = await self.sim.run(until_ns=self.config.duration_ns)
            status = outcome.status
        except InvariantViolation as exc:  # what the checker found: reported in the result
            error, status = exc, "error"
        for book in (self.env.refusals, self.env.skips):
            if book is not None:
                book.close_all(self.sim.now_ns)
        if error is None and self.env.checker is not None:
            self.env.checker.audit_all()
            if self.env.checker.problems:
                invariant, text = self.env.checker.problems[0]
                error = InvariantViolation(
                    invariant, text, vtime_ns=self.sim.now_ns, delta=self.sim.delta
                )
                status = "error"
        with paused_gc():  # a summary of thousands of tasks, no cycles (see GC_VALVE)
            return SchedResult(
                status=status,
                now_ns=self.sim.now_ns,
                statistics=self.statistics(),
                simulation=self.sim.statistics(),
                error=error,
            )

    def statistics(self) -> SchedStatistics:
        """The summary so far: live tasks are read from their CPUs."""
        stats = self.env.stats
        live = [
            actor.task_stats(task, exited=False)
            for actor in self.env.cpus
            if actor is not None
            for task in actor.all_tasks()
        ]
        merged = RunStats(
            cpus=stats.cpus,
            tasks=stats.tasks + live,
            samples=stats.samples,
            rebuilds=stats.rebuilds,
            retired=stats.retired,
            step_errors=stats.step_errors,
            ran_on=stats.ran_on,
            ran_on_task=stats.ran_on_task,
        )
        return summarize(merged, self.sim.now_ns)
