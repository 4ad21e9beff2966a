"""Re-running a run from its log: `replay` (compare record by record) and `inspect_at`.

A log's header holds everything a run needs (DESIGN.md): the scenario text,
the seed, the duration (``until_ns``), the log level, and ``params`` with the
scenario's path (for relative machine files).  Because a run is deterministic,
the state at any virtual time is obtained exactly by running the same scenario
again up to that time: `inspect_at` does that and reads the actors' state
(runqueues, current tasks, sleepers, cpusets, partitions, the domain
generation, every task's policy).
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from actors.log import LogFormat, LogLevel, LogSpec
from actors.logread import Divergence, LogReader, compare
from actors.scenario import Scenario, parse_scenario
from actors.sched import SchedRun
from actors.task import Task

__all__ = [
    "CpuState",
    "ReplayOutcome",
    "RunState",
    "TaskState",
    "inspect_at",
    "read_header",
    "render_state",
    "replay",
    "run_params",
    "scenario_of",
]


def run_params(scenario: Scenario) -> dict[str, Any]:
    """The ``params`` a run puts in its log header so that replay and inspect can re-run it."""
    path = Path(scenario.path)
    return {"scenario_path": str(path), "base_dir": str(path.parent.resolve())}


def read_header(path: str | os.PathLike[str]) -> dict[str, Any]:
    reader = LogReader(path)
    for record in reader:
        if record.get("k") == "H" or "scenario" in record:
            return record
        break
    raise ValueError(f"{os.fspath(path)}: no run header (not a schedsim log)")


def scenario_of(header: dict[str, Any]) -> tuple[Scenario, int]:
    """The scenario (with the logged duration) and seed of a log header."""
    params = header.get("params") or {}
    text = header.get("scenario")
    if not isinstance(text, str) or not text:
        raise ValueError("the log header holds no scenario text (not a scheduler run)")
    scenario = parse_scenario(
        text, path=str(params.get("scenario_path", "<log>")), base_dir=params.get("base_dir")
    )
    until = header.get("until_ns")
    if isinstance(until, int):
        config = dataclasses.replace(scenario.config, duration_ns=until)
        scenario = dataclasses.replace(scenario, config=config)
    seed = header.get("seed")
    if not isinstance(seed, int):
        raise ValueError(f"the log header's seed {seed!r} is not an int")
    return scenario, seed


@dataclass(frozen=True, slots=True)
class ReplayOutcome:
    records: int
    divergence: Divergence | None

    @property
    def identical(self) -> bool:
        return self.divergence is None


def _format_of(path: str | os.PathLike[str]) -> LogFormat:
    with open(path, "rb") as f:
        first = f.read(1)
    return LogFormat.JSONL if first == b"{" else LogFormat.MSGPACK


def replay(path: str | os.PathLike[str]) -> ReplayOutcome:
    """Run the logged scenario again into a temporary log and compare the two."""
    header = read_header(path)
    scenario, seed = scenario_of(header)
    fmt = _format_of(path)
    with tempfile.TemporaryDirectory(prefix="schedsim-replay-") as tmp:
        again = Path(tmp) / f"replay.{fmt.value}"
        log = LogSpec(
            path=again,
            level=LogLevel(header.get("level", "events")),
            format=fmt,
            event_level=str(header.get("event_level", "info")),
        )
        run = SchedRun(
            scenario.config,
            seed=seed,
            log=log,
            scenario=scenario.text,
            params=dict(header.get("params") or {}),
        )
        run.run()
        divergence = compare(path, again)
        records = sum(1 for _ in LogReader(path))
    return ReplayOutcome(records, divergence)


@dataclass(frozen=True, slots=True)
class TaskState:
    pid: int
    name: str
    cpuset: str
    cpus_allowed: str
    state: str
    """running | queued | sleeping"""
    policy: str
    mems_allowed: str
    rebind_pending: str | None
    runtime_ns: int


@dataclass(frozen=True, slots=True)
class CpuState:
    cpu: int
    online: bool
    generation: int
    domains: tuple[str, ...]
    current: int | None
    queue: tuple[int, ...]
    sleeping: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class RunState:
    at_ns: int
    generation: int
    partitions: tuple[str, ...]
    cpusets: tuple[tuple[str, str, str, tuple[int, ...]], ...]
    """(path, cpus, mems, pids)"""
    cpus: tuple[CpuState, ...]
    tasks: tuple[TaskState, ...]


def inspect_at(path: str | os.PathLike[str], at_ns: int) -> RunState:
    """The state of the logged run at virtual time *at_ns* (every delta at *at_ns* included)."""
    scenario, seed = scenario_of(read_header(path))
    if at_ns < 0 or at_ns > scenario.config.duration_ns:
        raise ValueError(
            f"--at {at_ns} ns lies outside the run (0 .. {scenario.config.duration_ns})"
        )
    run = SchedRun(dataclasses.replace(scenario.config, duration_ns=at_ns), seed=seed)
    run.run()
    return _state(run, at_ns)


def _task_state(task: Task, state: str) -> TaskState:
    policy = task.policy
    text = policy.mode.name.lower()
    if policy.nodes:
        text += f" {policy.nodes}"
    if policy.flags.value:
        text += f" ({policy.flags.name.lower()})"  # type: ignore[union-attr]
    pending = None if task.rebind_to is None else str(task.rebind_to)
    return TaskState(
        pid=task.pid,
        name=task.name,
        cpuset=task.cpuset,
        cpus_allowed=str(task.cpus_allowed),
        state=state,
        policy=text,
        mems_allowed=str(task.mems_allowed),
        rebind_pending=pending,
        runtime_ns=task.runtime_ns,
    )


def _state(run: SchedRun, at_ns: int) -> RunState:
    env = run.env
    cpus: list[CpuState] = []
    tasks: list[TaskState] = []
    for actor in env.cpus:
        if actor is None:
            continue
        cpus.append(
            CpuState(
                cpu=actor.cpu,
                online=actor.online,
                generation=actor.generation,
                domains=tuple(f"{sd.name} {sd.span}" for sd in actor.chain),
                current=None if actor.curr is None else actor.curr.pid,
                queue=tuple(t.pid for t in actor.queue),
                sleeping=tuple(sorted(actor.sleepers)),
            )
        )
        if actor.curr is not None:
            tasks.append(_task_state(actor.curr, "running"))
        tasks += [_task_state(t, "queued") for t in actor.queue]
        tasks += [_task_state(actor.sleepers[p], "sleeping") for p in sorted(actor.sleepers)]
    controller = env.controller_state
    assert controller is not None
    tree = controller.fs.tree
    cpusets = tuple(
        (cs.path, str(cs.config.cpus), str(cs.config.mems), tuple(sorted(cs.tasks)))
        for cs in tree.walk()
    )
    return RunState(
        at_ns=at_ns,
        generation=controller.generation,
        partitions=tuple(str(p) for p in tree.partitions.doms),
        cpusets=cpusets,
        cpus=tuple(cpus),
        tasks=tuple(sorted(tasks, key=lambda t: t.pid)),
    )


def render_state(state: RunState, cpu: int | None = None) -> str:
    """The state for people: CPUs (or one CPU), then cpusets, then tasks."""
    lines = [f"at {state.at_ns} ns: domain generation {state.generation}, "
             f"partitions {' '.join(state.partitions) or '(none)'}"]  # fmt: skip
    names = {t.pid: t.name for t in state.tasks}
    shown = [c for c in state.cpus if cpu is None or c.cpu == cpu]
    for c in shown:
        curr = "idle" if c.current is None else f"{names.get(c.current, c.current)}"
        queue = " ".join(names.get(p, str(p)) for p in c.queue) or "-"
        status = "" if c.online else " (offline)"
        lines.append(f"cpu{c.cpu}{status}: running {curr}; queue {queue}; "
                     f"sleeping {len(c.sleeping)}; gen {c.generation}; "
                     f"domains {' > '.join(c.domains) or 'NULL'}")  # fmt: skip
    if cpu is None:
        lines.append("cpusets:")
        for path, cpus, mems, pids in state.cpusets:
            lines.append(f"  {path}: cpus {cpus or '-'} mems {mems or '-'} tasks {len(pids)}")
    lines.append("tasks:")
    wanted = {c.cpu for c in shown}
    on = {p: c.cpu for c in state.cpus for p in (c.current, *c.queue, *c.sleeping) if p is not None}
    for t in state.tasks:
        if cpu is not None and on.get(t.pid) not in wanted:
            continue
        pending = f", rebind to {t.rebind_pending} pending" if t.rebind_pending else ""
        where = f"[{t.state} on cpu{on.get(t.pid)}]"
        lines.append(f"  {t.pid} {t.name} {where} cpuset {t.cpuset} cpus {t.cpus_allowed} "
                     f"policy {t.policy} mems {t.mems_allowed}{pending}")  # fmt: skip
    return "\n".join(lines)
