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

import contextlib
import dataclasses
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from actors.errors import SimulationError
from actors.log import LEVELS, LOG_FORMAT_VERSION, LogFormat, LogLevel, LogSpec
from actors.logread import Divergence, LogReader, compare
from actors.scenario import Scenario, parse_scenario
from actors.sched import SchedRun
from actors.task import Task

__all__ = [
    "EARLY_STATUSES",
    "CpuState",
    "LogEnd",
    "ReplayOutcome",
    "RunState",
    "TaskState",
    "inspect_at",
    "logged_run",
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
    """The header record of the log at *path*; ValueError (without the path) if it has none."""
    reader = LogReader(path)
    for record in reader:
        if record.get("k") == "H" or "scenario" in record:
            return record
        break
    if reader.records == 0 and reader.truncated:
        raise ValueError(f"cut short inside its header (at byte {reader.truncated_at})")
    if reader.records == 0:
        raise ValueError("empty (no run header: not a schedsim log)")
    raise ValueError("no run header (not a schedsim log)")


def scenario_of(header: dict[str, Any]) -> tuple[Scenario, int]:
    """The scenario (with the logged duration) and seed of a log header.

    ValueError when the header is not one this version wrote: another
    ``format``, or fields of the wrong type.
    """
    version = header.get("format")
    if version != LOG_FORMAT_VERSION:
        raise ValueError(
            f"log format {version!r}: this schedsim reads format {LOG_FORMAT_VERSION} "
            f"(the log was written by schedsim {header.get('schedsim')!r})"
        )
    params = header.get("params") or {}
    if not isinstance(params, dict):
        raise ValueError(f"the log header's params {params!r:.60} are not a map")
    for key in ("scenario_path", "base_dir"):
        if not isinstance(params.get(key, ""), str):
            raise ValueError(f"the log header's params.{key} {params[key]!r:.60} is not a path")
    text = header.get("scenario")
    if not isinstance(text, str) or not text:
        raise ValueError("the log header holds no scenario text (not a scheduler run)")
    scenario = parse_scenario(
        text, path=str(params.get("scenario_path", "<log>")), base_dir=params.get("base_dir")
    )
    until = header.get("until_ns")
    if until is not None and (not isinstance(until, int) or isinstance(until, bool) or until < 0):
        raise ValueError(f"the log header's until_ns {until!r:.60} is not a time in ns")
    if until is not None:
        config = dataclasses.replace(scenario.config, duration_ns=until)
        scenario = dataclasses.replace(scenario, config=config)
    seed = header.get("seed")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"the log header's seed {seed!r} is not an int")
    return scenario, seed


def logged_run(path: str | os.PathLike[str]) -> tuple[Scenario, int]:
    """The scenario and seed of the log at *path*, its duration cut to where the log ends
    when it ends early (`LogEnd.early`: interrupted, cut short): what `trace`, `inspect`
    and `plot` re-run (a run past the log's end would show states it never reached)."""
    scenario, seed = scenario_of(read_header(path))
    end = LogEnd.of(path)
    if end.early() is not None and end.vtime_ns < scenario.config.duration_ns:
        config = dataclasses.replace(scenario.config, duration_ns=end.vtime_ns)
        scenario = dataclasses.replace(scenario, config=config)
    return scenario, seed


EARLY_STATUSES = frozenset({"interrupted", "cancelled"})
"""End-record statuses of a run stopped from outside (Ctrl-C): the log ends early."""


@dataclass(frozen=True, slots=True)
class LogEnd:
    """How a log file ends: its whole records, the last of them, and where it was cut."""

    records: int
    last: dict[str, Any] | None
    cut_at: int | None
    """the byte offset of a record cut in half (None: the file ends at a record boundary)"""

    @classmethod
    def of(cls, path: str | os.PathLike[str]) -> LogEnd:
        reader = LogReader(path)
        last = None
        for record in reader:
            last = record
        return cls(reader.records, last, reader.truncated_at if reader.truncated else None)

    @property
    def status(self) -> str | None:
        """The end record's status (None: the log has no end record)."""
        if self.last is None or self.last.get("k") != "X":
            return None
        return str(self.last.get("status"))

    @property
    def vtime_ns(self) -> int:
        """The virtual time of the last whole record (0 for a header only)."""
        when = (self.last or {}).get("vtime_ns")
        return when if isinstance(when, int) and when >= 0 else 0

    def early(self) -> str | None:
        """Why the log stops before its run ended, in words; None when the run closed it."""
        if self.cut_at is not None:
            return f"cut at byte {self.cut_at}"
        status = self.status
        if status is None:
            return f"no end record after record {self.records - 1}"
        if status in EARLY_STATUSES:
            return f"{status} at {self.vtime_ns} ns"
        return None


@dataclass(frozen=True, slots=True)
class ReplayOutcome:
    """*records* compared (all of the log's when it ended normally) and the first divergence.

    *early* says why a log ends before its run did (`LogEnd.early`; then only the
    records it has are compared); *partial* counts the records of an interrupted
    delta that were logged only in part and so were not compared.
    """

    records: int
    divergence: Divergence | None
    early: str | None = None
    partial: int = 0

    @property
    def identical(self) -> bool:
        return self.divergence is None


def _format_of(path: str | os.PathLike[str]) -> LogFormat:
    with open(path, "rb") as f:
        first = f.read(1)
    return LogFormat.JSONL if first == b"{" else LogFormat.MSGPACK


def replay(path: str | os.PathLike[str]) -> ReplayOutcome:
    """Run the logged scenario again into a temporary log and compare the two.

    A log that ends early (`LogEnd.early`: interrupted, cut short, or without
    its end record) is compared as far as it goes: the run is repeated only up
    to its last virtual time, and the header's ``until_ns`` and the end record
    are left out of the comparison.  A log that ends with a crash is compared
    whole; if the re-run does not crash there, the log is reported as ending
    early too (`_crash_not_repeated`).  A re-run that crashes (the logged run
    did too) closes its log like any other run and is compared.
    """
    header = read_header(path)
    scenario, seed = scenario_of(header)
    end = LogEnd.of(path)
    early = end.early()
    config = scenario.config
    if early is not None:
        config = dataclasses.replace(config, duration_ns=min(config.duration_ns, end.vtime_ns))
    fmt = _format_of(path)
    level, event_level = header.get("level", "events"), header.get("event_level", "info")
    if level not in ("events", "messages") or event_level not in tuple(LEVELS):
        raise ValueError(f"the log header's level {level!r:.30} / {event_level!r:.30} is unknown")
    with tempfile.TemporaryDirectory(prefix="schedsim-replay-") as tmp:
        again = Path(tmp) / f"replay.{fmt.value}"
        log = LogSpec(path=again, level=LogLevel(level), format=fmt, event_level=event_level)
        run = SchedRun(
            config,
            seed=seed,
            log=log,
            scenario=scenario.text,
            params=dict(header.get("params") or {}),
        )
        # a re-run that crashes closes its log: the comparison says whether the logged one did
        with contextlib.suppress(SimulationError):
            run.run()
        if early is not None:
            return _compare_prefix(path, again, end, early)
        divergence = compare(path, again)
        if divergence is not None and end.status == "crashed":
            return _crash_not_repeated(end, divergence)
    return ReplayOutcome(end.records, divergence)


def _crash_not_repeated(end: LogEnd, divergence: Divergence) -> ReplayOutcome:
    """A crashed run's log: identical up to its end record, where the re-run went on."""
    again = divergence.b or {}
    if divergence.index != end.records - 1 or again.get("k") == "X":
        return ReplayOutcome(end.records, divergence)
    early = f"crashed at {end.vtime_ns} ns; the re-run did not crash there"
    return ReplayOutcome(end.records - 1, None, early)


def _compare_prefix(
    logged: str | os.PathLike[str], again: Path, end: LogEnd, early: str
) -> ReplayOutcome:
    """Compare the records of a log that ends early with the re-run's, as far as they go.

    The end record and the header's ``until_ns`` (the re-run stopped early) are
    not compared.  Ctrl-C can stop a delta in the middle, with the events of
    only some of its woken actors written: from the first difference inside the
    delta an interrupted log ends in, its records count as *partial*.
    """
    stop = None
    if end.status in EARLY_STATUSES and end.last is not None:
        stop = (end.last.get("vtime_ns"), end.last.get("delta"))
    whole = end.records - (1 if end.status is not None else 0)
    replayed = iter(LogReader(again))
    for index, record in enumerate(LogReader(logged)):
        if index >= whole:
            break
        other = next(replayed, None)
        if index == 0 and other is not None:
            record, other = _without_until(record), _without_until(other)
        if record == other:
            continue
        if stop is not None and (record.get("vtime_ns"), record.get("delta")) == stop:
            return ReplayOutcome(index, None, early, partial=whole - index)
        vtime = record.get("vtime_ns")
        return ReplayOutcome(index, Divergence(index, record, other, vtime), early)
    return ReplayOutcome(whole, None, early)


def _without_until(header: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in header.items() if key != "until_ns"}


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
    scenario, seed = logged_run(path)
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
