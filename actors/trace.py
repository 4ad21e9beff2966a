"""A run as a Perfetto / Chrome timeline (the Trace Event Format, JSON).

`chrome_trace` turns a `RunTrace` (actors/recorder.py) into the JSON object
that ui.perfetto.dev and chrome://tracing open; `rerun_traced` re-runs a
logged scenario with a trace attached, exactly as `actors.replay.inspect_at`
re-runs one.  Times are the simulation's virtual times (``ts``/``dur`` in
microseconds, as the format wants; nanosecond precision kept as decimals).

The tracks:

* process "CPUs": one thread per CPU, a complete ("X") slice per stretch a
  task ran (name ``pid N (kind)``; args: task name, cpus_allowed), instants
  ("i") for tasklet refusals (LB-T2), SD_SERIALIZE skips (LB-T3), rebinds
  (SPEC §4.4), hotplug and exits, and a counter ("C") per CPU for
  nr_running;
* process "balancer": one slice per balance pass (args: CPU, kind, and what
  load_balance found at each domain level) on thread "passes"; passes that
  overlap (per-CPU and softirq modes balance in parallel) spill into lanes
  "passes 2", "passes 3", ... so slices never overlap on a thread; and the
  imbalance-score counter;
* global instants for domain rebuilds (with the generation) and retirements;
* flow arrows ("s" -> "f", ``bp: "e"``) for every migration, from a zero-
  length "migrate" slice on the source CPU to an "arrive" slice on the
  destination CPU (a v1 flow binds to the slice enclosing its end points).

``systemTraceEvents`` carries the same run as ftrace text (`ftrace_text`:
``sched_switch`` and ``sched_migrate_task`` lines), from which Perfetto draws
its own CPU scheduling tracks and thread states.
"""

from __future__ import annotations

import bisect
import dataclasses
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from actors.recorder import RunTrace
from actors.replay import logged_run
from actors.scenario import Scenario
from actors.sched import SchedResult, SchedRun
from topology import CpuMask

__all__ = [
    "BALANCER_PID",
    "CPUS_PID",
    "TraceMeta",
    "TracedRun",
    "chrome_trace",
    "cpu_tid",
    "ftrace_text",
    "merged_runs",
    "migrations",
    "rerun_traced",
    "run_traced",
    "write_chrome_trace",
]

CPUS_PID = 1_000_001
BALANCER_PID = 1_000_002
"""Synthetic pids, far above the simulated tasks' pids, which the ftrace part uses."""
_CPU_TID = 1_100_000
_LANE_TID = 1_200_000
_FLOW = "migration"

Event = dict[str, Any]


def cpu_tid(cpu: int) -> int:
    return _CPU_TID + cpu


def _lane_tid(lane: int) -> int:
    return _LANE_TID + lane


def _us(t_ns: int) -> float:
    return t_ns / 1000


@dataclass(frozen=True, slots=True, kw_only=True)
class TraceMeta:
    """What the trace's ``metadata`` says about the run."""

    scenario: str
    seed: int
    era: str
    domain_era: str
    balancer: str
    machine: str
    nr_cpus: int
    duration_ns: int

    @classmethod
    def of(cls, scenario: Scenario, seed: int, duration_ns: int) -> TraceMeta:
        config = scenario.config
        return cls(
            scenario=scenario.name,
            seed=seed,
            era=config.cpuset_era,
            domain_era=config.chosen_domain_era,
            balancer=config.balance.value,
            machine=config.machine_desc or config.machine.name,
            nr_cpus=config.machine.nr_cpus,
            duration_ns=duration_ns,
        )


@dataclass(frozen=True, slots=True)
class TracedRun:
    scenario: Scenario
    seed: int
    run: SchedRun
    result: SchedResult
    trace: RunTrace

    @property
    def meta(self) -> TraceMeta:
        return TraceMeta.of(self.scenario, self.seed, self.result.now_ns)


def run_traced(scenario: Scenario, seed: int) -> TracedRun:
    """Run *scenario* (its config as given) with a `RunTrace` attached."""
    trace = RunTrace()
    run = SchedRun(scenario.config, seed=seed, trace=trace)
    return TracedRun(scenario, seed, run, run.run(), trace)


def rerun_traced(path: str | os.PathLike[str], until_ns: int | None = None) -> TracedRun:
    """Re-run the logged scenario (its seed, its duration or *until_ns*) with a trace."""
    scenario, seed = logged_run(path)
    if until_ns is not None:
        config = dataclasses.replace(scenario.config, duration_ns=until_ns)
        scenario = dataclasses.replace(scenario, config=config)
    return run_traced(scenario, seed)


# -- slices ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunSlice:
    """A stretch a task ran on a CPU without interruption."""

    cpu: int
    start_ns: int
    end_ns: int
    pid: int
    name: str
    kind: str
    allowed: int


def merged_runs(trace: RunTrace) -> dict[int, list[RunSlice]]:
    """Per CPU, the task runs in time order, adjacent pieces of one task joined."""
    out: dict[int, list[RunSlice]] = {}
    for cpu, start, end, pid, name, kind, allowed in sorted(trace.runs, key=lambda r: r[:3]):
        slices = out.setdefault(cpu, [])
        last = slices[-1] if slices else None
        if last is not None and (last.pid, last.end_ns, last.allowed) == (pid, start, allowed):
            slices[-1] = dataclasses.replace(last, end_ns=end)
        else:
            slices.append(RunSlice(cpu, start, end, pid, name, kind, allowed))
    return dict(sorted(out.items()))


def _lanes(passes: Sequence[tuple[int, int, int, str, Any]]) -> list[int]:
    """The lowest free lane of each pass (passes sorted by start): interval partitioning."""
    ends: list[int] = []
    lanes: list[int] = []
    for _cpu, start, end, _kind, _outcomes in passes:
        lane = next((i for i, busy_until in enumerate(ends) if busy_until <= start), len(ends))
        if lane == len(ends):
            ends.append(end)
        ends[lane] = end
        lanes.append(lane)
    return lanes


# -- the Chrome trace -----------------------------------------------------------------


_RANK = {"C": 0, "X": 1, "i": 2, "s": 3, "f": 3}


class _Events:
    """Events with their virtual time, sorted at the end by time, then by track and content.

    Actors append to a `RunTrace` in the order trio runs them within a delta, which is
    not deterministic (only each actor's own order is): the content decides the order
    of events at one time, a longer slice before the slices it encloses, and flow ends
    after the flow starts (Perfetto drops an end it reads before its start).
    """

    def __init__(self) -> None:
        self.timed: list[tuple[int, Event]] = []

    def add(self, t_ns: int, event: Event) -> None:
        self.timed.append((t_ns, event))

    def slice(self, t_ns: int, dur_ns: int, where: tuple[int, int], name: str, **args: Any) -> None:
        """A complete event on thread *where* (pid, tid); ``args["cat"]`` is its category."""
        ev = {"name": name, "cat": args.pop("cat"), "ph": "X", "ts": _us(t_ns), "dur": _us(dur_ns)}
        self.add(t_ns, {**ev, "pid": where[0], "tid": where[1], "args": args})

    def sorted(self) -> list[Event]:
        def key(timed: tuple[int, Event]) -> tuple[int, bool, int, int, int, float, str]:
            t, ev = timed
            text = json.dumps(ev, sort_keys=True)
            flow_end = ev["ph"] == "f"  # after every flow start of its time
            return (t, flow_end, ev["pid"], ev["tid"], _RANK[ev["ph"]], -ev.get("dur", 0.0), text)

        return [event for _, event in sorted(self.timed, key=key)]


def _metadata(meta: TraceMeta, lanes: int) -> list[Event]:
    def m(name: str, pid: int, tid: int, value: object) -> Event:
        key = "sort_index" if name.endswith("sort_index") else "name"
        return {"name": name, "ph": "M", "ts": 0, "pid": pid, "tid": tid, "args": {key: value}}

    what = f"{meta.scenario} seed {meta.seed}, era {meta.era}"
    events = [
        m("process_name", CPUS_PID, cpu_tid(0), f"CPUs ({what})"),
        m("process_sort_index", CPUS_PID, cpu_tid(0), 0),
        m("process_name", BALANCER_PID, _lane_tid(0), f"balancer ({meta.balancer})"),
        m("process_sort_index", BALANCER_PID, _lane_tid(0), 1),
    ]
    for cpu in range(meta.nr_cpus):
        events.append(m("thread_name", CPUS_PID, cpu_tid(cpu), f"cpu{cpu}"))
        events.append(m("thread_sort_index", CPUS_PID, cpu_tid(cpu), cpu))
    for lane in range(max(lanes, 1)):
        name = "passes" if lane == 0 else f"passes {lane + 1}"
        events.append(m("thread_name", BALANCER_PID, _lane_tid(lane), name))
        events.append(m("thread_sort_index", BALANCER_PID, _lane_tid(lane), lane))
    return events


def _add_runs(out: _Events, trace: RunTrace) -> None:
    for slices in merged_runs(trace).values():
        for s in slices:
            out.slice(
                s.start_ns, s.end_ns - s.start_ns, (CPUS_PID, cpu_tid(s.cpu)),
                f"pid {s.pid} ({s.kind})", cat="task", pid=s.pid, task=s.name,
                kind=s.kind, cpus_allowed=str(CpuMask(s.allowed)),
            )  # fmt: skip


def _add_passes(out: _Events, trace: RunTrace) -> int:
    passes = sorted(trace.passes, key=lambda p: (p[1], p[0]))
    lanes = _lanes(passes)
    for (cpu, start, end, kind, outcomes), lane in zip(passes, lanes, strict=True):
        out.slice(
            start, end - start, (BALANCER_PID, _lane_tid(lane)), f"cpu{cpu} {kind}",
            cat="balance", cpu=cpu, kind=kind, levels=dict(outcomes),
        )  # fmt: skip
    return max(lanes, default=0) + 1


def _add_instants(out: _Events, trace: RunTrace) -> None:
    for t, cpu, what, args in trace.instants:
        event: Event = {"name": what, "cat": "event", "ph": "i", "ts": _us(t)}
        if cpu < 0:  # the controller: machine-wide notices
            event |= {"pid": BALANCER_PID, "tid": _lane_tid(0), "s": "g"}
        else:
            event |= {"pid": CPUS_PID, "tid": cpu_tid(cpu), "s": "t"}
        out.add(t, event | {"args": {"cpu": cpu, **args}})


def migrations(trace: RunTrace) -> list[tuple[int, int, int, int, int, str, str]]:
    """(t_sent, src, pid, t_arrived, dst, reason, level) of every CPU-to-CPU move whose task
    arrived, in time order: the i-th send of a pid pairs with its i-th arrival."""
    arrivals: dict[int, list[tuple[int, int]]] = {}
    for pid, cpu, t in trace.arrivals:
        arrivals.setdefault(pid, []).append((cpu, t))
    seen: dict[int, int] = {}
    out: list[tuple[int, int, int, int, int, str, str]] = []
    for pid, src, dst, t, reason, level in trace.sends:
        k = seen[pid] = seen.get(pid, -1) + 1
        if src >= 0 and src != dst and k < len(arrivals.get(pid, ())):
            cpu, t_arrived = arrivals[pid][k]
            out.append((t, src, pid, t_arrived, cpu, reason, level))
    return sorted(out)


def _add_migrations(out: _Events, trace: RunTrace) -> int:
    """A flow per migration, from a "migrate" marker on the source to an "arrive" marker."""
    moves = migrations(trace)
    for flow, (t, src, pid, t_arrived, dst, reason, level) in enumerate(moves, start=1):
        args = {"pid": pid, "src": src, "dst": dst, "reason": reason, "level": level}
        for when, where, name, ph in ((t, src, "migrate", "s"), (t_arrived, dst, "arrive", "f")):
            out.slice(when, 0, (CPUS_PID, cpu_tid(where)), f"{name} pid {pid}", cat=_FLOW, **args)
            event = {"name": _FLOW, "cat": _FLOW, "ph": ph, "id": flow, "ts": _us(when)}
            out.add(when, event | {"pid": CPUS_PID, "tid": cpu_tid(where)} | _bind(ph))
    return len(moves)


def _bind(ph: str) -> Event:
    return {"bp": "e"} if ph == "f" else {}


def _add_counters(out: _Events, trace: RunTrace, samples: Sequence[tuple[int, int]]) -> None:
    for t, cpu, nr in trace.nr_running:
        counter = {"name": f"cpu{cpu}", "ph": "C", "ts": _us(t), "pid": CPUS_PID}
        out.add(t, counter | {"tid": cpu_tid(cpu), "args": {"nr_running": nr}})
    for t, score in samples:
        counter = {"name": "imbalance", "ph": "C", "ts": _us(t), "pid": BALANCER_PID}
        out.add(t, counter | {"tid": _lane_tid(0), "args": {"score": score}})


def chrome_trace(
    trace: RunTrace, meta: TraceMeta, samples: Sequence[tuple[int, int]] = ()
) -> dict[str, Any]:
    """The Trace Event Format object of a run (*samples*: the imbalance score over time)."""
    out = _Events()
    _add_runs(out, trace)
    lanes = _add_passes(out, trace)
    _add_instants(out, trace)
    flows = _add_migrations(out, trace)
    _add_counters(out, trace, samples)
    return {
        "traceEvents": _metadata(meta, lanes) + out.sorted(),
        "displayTimeUnit": "ns",
        "systemTraceEvents": ftrace_text(trace),
        "metadata": {
            **dataclasses.asdict(meta),
            "time": "virtual (simulated) time",
            "migrations": flows,
            "source": "schedsim",
        },
    }


def write_chrome_trace(path: str | os.PathLike[str], traced: TracedRun) -> int:
    """Write the run's trace as JSON; the number of trace events."""
    doc = chrome_trace(traced.trace, traced.meta, traced.result.statistics.samples)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    return len(doc["traceEvents"])


# -- ftrace text ----------------------------------------------------------------------

TASK_COMM_LEN = 16


def _comm(name: str) -> str:
    return name.replace(" ", "_")[: TASK_COMM_LEN - 1]


# SIMPLIFIED: every task is nice 0 (prio 120) and every line carries the flags "d..3"
# (irqs off, runqueue lock held), as sched_switch prints them from __schedule.
def _line(cpu: int, t_ns: int, who: tuple[str, int], event: str, body: str) -> str:
    usecs = t_ns // 1000
    stamp = f"{usecs // 1_000_000}.{usecs % 1_000_000:06d}"
    return f"{who[0]}-{who[1]} [{cpu:03d}] d..3 {stamp}: {event}: {body}"


def _switch(cpu: int, t: int, prev: RunSlice | None, state: str, nxt: RunSlice | None) -> str:
    def task(s: RunSlice | None) -> tuple[str, int]:
        return (f"swapper/{cpu}", 0) if s is None else (_comm(s.name), s.pid)

    (pc, pp), (nc, np) = task(prev), task(nxt)
    body = (f"prev_comm={pc} prev_pid={pp} prev_prio=120 prev_state={state} ==> "
            f"next_comm={nc} next_pid={np} next_prio=120")  # fmt: skip
    who = ("<idle>", 0) if prev is None else (_comm(prev.name), prev.pid)
    return _line(cpu, t, who, "sched_switch", body)


def _cpu_switches(slices: list[RunSlice], trace: RunTrace) -> list[tuple[int, str]]:
    """sched_switch lines of one CPU: a balance pass between two pieces of one task is
    softirq work in that task's context, not a switch."""
    passes = {(cpu, start): end for cpu, start, end, _, _ in trace.passes}
    exits = {(cpu, int(str(args["pid"])), t) for t, cpu, what, args in trace.instants
             if what == "task_exited"}  # fmt: skip
    sends = {(src, pid, t) for pid, src, _dst, t, _, _ in trace.sends}
    lines: list[tuple[int, str]] = []
    prev: RunSlice | None = None
    for s in slices:
        cpu = s.cpu
        if prev is not None and prev.end_ns < s.start_ns:
            bridged = passes.get((cpu, prev.end_ns)) == s.start_ns and prev.pid == s.pid
            if not bridged:
                state = _state(prev, exits, sends, (cpu, prev.end_ns) in passes)
                lines.append((prev.end_ns, _switch(cpu, prev.end_ns, prev, state, None)))
                prev = None
        if prev is None or prev.pid != s.pid:
            state = "R" if prev is None else _state(prev, exits, sends, True)
            lines.append((s.start_ns, _switch(cpu, s.start_ns, prev, state, s)))
        prev = s
    if prev is not None:
        state = _state(prev, exits, sends, False)
        lines.append((prev.end_ns, _switch(prev.cpu, prev.end_ns, prev, state, None)))
    return lines


def _state(
    s: RunSlice, exits: set[tuple[int, int, int]], sends: set[tuple[int, int, int]], runnable: bool
) -> str:
    """prev_state of a task switched out: dead, still runnable (preempted, balanced away,
    or stalled by a balance pass), or asleep."""
    if (s.cpu, s.pid, s.end_ns) in exits:
        return "X"
    if runnable or (s.cpu, s.pid, s.end_ns) in sends:
        return "R"
    # SIMPLIFIED: a task that leaves the CPU to nobody is taken to have blocked (a sleeper,
    # or the end of the run); the recorder does not say which.
    return "S"


def _current(slices: list[RunSlice], starts: list[int], t: int) -> tuple[str, int]:
    """The task running at *t* on the CPU of *slices* (``<idle>``: none)."""
    k = bisect.bisect_right(starts, t) - 1
    if k >= 0 and t < slices[k].end_ns:
        return (_comm(slices[k].name), slices[k].pid)
    return ("<idle>", 0)


def ftrace_text(trace: RunTrace) -> str:
    """The run as ``trace`` file text (sched_switch, sched_migrate_task), as Perfetto reads
    it from ``systemTraceEvents``.  Times are truncated to microseconds, as ftrace prints."""
    runs = merged_runs(trace)
    lines: list[tuple[int, int, str]] = []
    for cpu, slices in runs.items():
        lines += [(t, cpu, text) for t, text in _cpu_switches(slices, trace)]
    names = {r[3]: r[4] for r in trace.runs}
    starts = {cpu: [s.start_ns for s in slices] for cpu, slices in runs.items()}
    for pid, src, dst, t, _reason, _level in trace.sends:
        if src < 0 or src == dst:
            continue
        body = f"comm={_comm(names.get(pid, str(pid)))} pid={pid} prio=120 " \
            f"orig_cpu={src} dest_cpu={dst}"  # fmt: skip
        who = _current(runs.get(src, []), starts.get(src, []), t)
        lines.append((t, src, _line(src, t, who, "sched_migrate_task", body)))
    lines.sort(key=lambda line: (line[0], line[1]))
    return "# tracer: nop\n#\n" + "".join(text + "\n" for _, _, text in lines)
