"""The Perfetto / Chrome timeline (actors/trace.py) and ``schedsim trace`` / ``run --trace``.

Every shipped scenario's trace is checked against the Trace Event Format:
the fields each phase needs, non-decreasing timestamps per track, slices
that nest on their thread, both ends of every migration flow (each bound to
a marker slice), every task slice on a CPU the task was allowed on
(cpus_allowed, SPEC §3.5), and ftrace lines in the kernel's format.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import runner
from actors.recorder import RunTrace
from actors.scenario import load_scenario
from actors.trace import (
    BALANCER_PID,
    CPUS_PID,
    TraceMeta,
    chrome_trace,
    cpu_tid,
    ftrace_text,
    run_traced,
)
from topology import CpuMask

MS = 1_000_000
SHIPPED = runner.shipped_scenarios()
REQUIRED = {
    "X": {"dur"},
    "i": {"s"},
    "C": {"args"},
    "s": {"id", "cat"},
    "f": {"id", "cat", "bp"},
    "M": {"args"},
}
SWITCH = re.compile(
    r"\S+-\d+ \[\d{3}\] d\.\.3 \d+\.\d{6}: sched_switch: prev_comm=\S+ prev_pid=\d+ "
    r"prev_prio=120 prev_state=[RSX] ==> next_comm=\S+ next_pid=\d+ next_prio=120"
)
MIGRATE = re.compile(
    r"\S+-\d+ \[\d{3}\] d\.\.3 \d+\.\d{6}: sched_migrate_task: comm=\S+ pid=\d+ prio=120 "
    r"orig_cpu=\d+ dest_cpu=\d+"
)


def format_problems(doc: dict[str, Any]) -> list[str]:
    """What breaks the Trace Event Format (or proper nesting) in *doc*."""
    problems: list[str] = []
    last: dict[tuple[object, ...], float] = {}
    open_ends: dict[tuple[int, int], list[float]] = {}
    for k, ev in enumerate(doc["traceEvents"]):
        if not (isinstance(ev.get("pid"), int) and isinstance(ev.get("tid"), int)):
            problems.append(f"{k}: pid/tid not ints")
        if not isinstance(ev.get("name"), str) or ev.get("ph") not in REQUIRED:
            problems.append(f"{k}: no name or unknown phase {ev.get('ph')!r}")
            continue
        ph = ev["ph"]
        if missing := REQUIRED[ph] - ev.keys():
            problems.append(f"{k}: {ph} event without {sorted(missing)}")
            continue
        if ph == "M":
            continue
        track = (ev["pid"], ev["tid"]) if ph != "C" else (ev["pid"], "C", ev["name"])
        if ev["ts"] < last.get(track, -math.inf):
            problems.append(f"{k}: ts {ev['ts']} goes back on track {track}")
        last[track] = ev["ts"]
        problems += _phase_problems(k, ev, open_ends)
    return problems


def _phase_problems(k: int, ev: dict[str, Any], open_ends: dict[Any, list[float]]) -> list[str]:
    ph = ev["ph"]
    if ph == "X":
        stack = open_ends.setdefault((ev["pid"], ev["tid"]), [])
        while stack and stack[-1] <= ev["ts"] + 1e-6:
            stack.pop()
        end = ev["ts"] + ev["dur"]
        if ev["dur"] < 0 or (stack and end > stack[-1] + 1e-6):
            return [f"{k}: slice [{ev['ts']}, {end}] overlaps its enclosing slice"]
        stack.append(end)
    if ph == "i" and ev["s"] not in ("g", "p", "t"):
        return [f"{k}: instant scope {ev['s']!r}"]
    if ph == "f" and ev["bp"] != "e":
        return [f"{k}: flow end not bound to its enclosing slice"]
    if ph == "C" and not all(isinstance(v, int | float) for v in ev["args"].values()):
        return [f"{k}: counter args not numbers"]
    return []


def flow_problems(doc: dict[str, Any]) -> list[str]:
    """Every flow id has one start and one end, later or equal, each on a marker slice."""
    events = doc["traceEvents"]
    markers = {(e["pid"], e["tid"], e["ts"]) for e in events if e.get("cat") == "migration"}
    ends: dict[int, dict[str, dict[str, Any]]] = {}
    problems: list[str] = []
    for ev in events:
        if ev["ph"] in ("s", "f"):
            if ev["ph"] in ends.setdefault(ev["id"], {}):
                problems.append(f"flow {ev['id']}: two {ev['ph']} events")
            ends[ev["id"]][ev["ph"]] = ev
            if (ev["pid"], ev["tid"], ev["ts"]) not in markers:
                problems.append(f"flow {ev['id']}: no slice to bind {ev['ph']} to")
    for flow, pair in ends.items():
        if set(pair) != {"s", "f"} or pair["s"]["ts"] > pair["f"]["ts"]:
            problems.append(f"flow {flow}: ends {sorted(pair)} out of order or missing")
        elif (pair["s"]["name"], pair["s"]["cat"]) != (pair["f"]["name"], pair["f"]["cat"]):
            problems.append(f"flow {flow}: ends differ in name/cat")
    return problems


def affinity_problems(doc: dict[str, Any], recorder_lag: bool = True) -> list[str]:
    """Task slices on a CPU outside the task's cpus_allowed.

    With *recorder_lag*, a slice that ends as its task is moved away for affinity
    ("affinity" migration from that CPU at that time) is let pass: actors/cpu.py sets
    the new mask before it accounts the running task, so the recorder stamps the last
    slice under the old mask with the new one.
    """
    moved = {
        (e["args"]["pid"], e["args"]["src"], e["ts"])
        for e in doc["traceEvents"]
        if e["ph"] == "X" and e["cat"] == "migration" and e["args"]["reason"] == "affinity"
    }
    problems = []
    for ev in doc["traceEvents"]:
        if ev["ph"] == "X" and ev["cat"] == "task":
            cpu, pid = ev["tid"] - cpu_tid(0), ev["args"]["pid"]
            if cpu in CpuMask.parse(ev["args"]["cpus_allowed"]):
                continue
            if recorder_lag and (pid, cpu, ev["ts"] + ev["dur"]) in moved:
                continue
            problems.append(f"pid {pid} ran on cpu{cpu} outside its mask")
    return problems


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_trace_of_every_shipped_scenario_follows_the_trace_event_format(name: str) -> None:
    scenario = load_scenario(SHIPPED[name])
    config = replace(scenario.config, duration_ns=min(scenario.config.duration_ns, 150 * MS))
    traced = run_traced(replace(scenario, config=config), scenario.seed)
    samples = traced.result.statistics.samples
    doc = json.loads(json.dumps(chrome_trace(traced.trace, traced.meta, samples)))
    assert format_problems(doc) == []
    assert flow_problems(doc) == []
    assert affinity_problems(doc) == []
    stats = traced.result.statistics
    flows = sum(1 for ev in doc["traceEvents"] if ev["ph"] == "s")
    assert flows == sum(task.migrations for task in stats.tasks)
    refusals = [ev for ev in doc["traceEvents"] if ev["name"] == "tasklet_refused"]
    assert len(refusals) == stats.total("tasklet_refusals")
    tasks = [ev for ev in doc["traceEvents"] if ev["ph"] == "X" and ev["cat"] == "task"]
    busy_us = sum(ev["dur"] for ev in tasks)
    assert busy_us == pytest.approx(sum(c.busy_ns for c in stats.cpus) / 1000)
    meta = doc["metadata"]
    assert (meta["scenario"], meta["seed"], meta["era"]) == (name, scenario.seed, config.cpuset_era)
    lines = doc["systemTraceEvents"].splitlines()
    assert lines[0] == "# tracer: nop"
    bad = [line for line in lines[2:] if not (SWITCH.fullmatch(line) or MIGRATE.fullmatch(line))]
    assert bad == []


def test_recorded_slices_carry_the_mask_the_task_ran_under() -> None:
    """At 100 ms seed 002 moves /job to CPUs 8-15: the hog that ran on cpu6 till then did so
    under 0-7 (cpu.py accounts the current task before changing its mask)."""
    scenario = load_scenario(SHIPPED["seed002-rebind"])
    config = replace(scenario.config, duration_ns=101 * MS)
    traced = run_traced(replace(scenario, config=config), scenario.seed)
    doc = chrome_trace(traced.trace, traced.meta)
    assert affinity_problems(doc, recorder_lag=False) == []


def small_trace() -> RunTrace:
    """cpu1: a runs, a balance pass stalls it, a again, b; b moves to cpu0 and exits there."""
    trace = RunTrace()
    trace.runs += [
        (1, 0, MS, 2, "a", "hog", 0b11),
        (1, MS + 2000, 2 * MS, 2, "a", "hog", 0b11),
        (1, 2 * MS, 3 * MS, 3, "b", "periodic", 0b11),
        (0, 3 * MS, 4 * MS, 3, "b", "periodic", 0b11),
    ]
    trace.passes.append((1, MS, MS + 2000, "tasklet", (("CPU", "moved 1 from cpu0"),)))
    trace.passes.append((0, MS + 1000, MS + 5000, "tasklet", (("CPU", "balanced"),)))
    trace.sends += [(2, -1, 1, 0, "fork", ""), (3, -1, 1, 0, "fork", "")]
    trace.sends.append((3, 1, 0, 3 * MS, "balance", "CPU"))
    trace.arrivals += [(2, 1, 0), (3, 1, 0), (3, 0, 3 * MS)]
    trace.instant(0, -1, "domains_rebuilt", generation=1, partitions="0-1")
    trace.instant(MS + 500_000, 0, "tasklet_refused")
    trace.instant(4 * MS, 0, "task_exited", pid=3, name="b")
    trace.nr_running += [(0, 1, 2), (3 * MS, 1, 0), (3 * MS, 0, 1), (4 * MS, 0, 0)]
    return trace


META = TraceMeta(
    scenario="small", seed=7, era="2.6.14", domain_era="2.6.14", balancer="tasklet",
    machine="2 CPUs", nr_cpus=2, duration_ns=5 * MS,
)  # fmt: skip


def test_ftrace_text_switches_tasks_in_the_kernel_format() -> None:
    """A balance pass inside a task's run is no switch; a task that exits leaves as X."""
    switch = "sched_switch: prev_comm={} prev_pid={} prev_prio=120 prev_state={} ==> " \
        "next_comm={} next_pid={} next_prio=120"  # fmt: skip
    expected = [
        "# tracer: nop",
        "#",
        "<idle>-0 [001] d..3 0.000000: " + switch.format("swapper/1", 0, "R", "a", 2),
        "a-2 [001] d..3 0.002000: " + switch.format("a", 2, "R", "b", 3),
        "<idle>-0 [000] d..3 0.003000: " + switch.format("swapper/0", 0, "R", "b", 3),
        "b-3 [001] d..3 0.003000: " + switch.format("b", 3, "R", "swapper/1", 0),
        "<idle>-0 [001] d..3 0.003000: sched_migrate_task: comm=b pid=3 prio=120 "
        "orig_cpu=1 dest_cpu=0",
        "b-3 [000] d..3 0.004000: " + switch.format("b", 3, "X", "swapper/0", 0),
    ]
    assert ftrace_text(small_trace()).splitlines() == expected


def test_chrome_trace_draws_runs_passes_flows_and_counters() -> None:
    doc = chrome_trace(small_trace(), META, [(0, 3), (MS, 0)])
    events = doc["traceEvents"]
    assert format_problems(doc) == []
    assert flow_problems(doc) == []
    tasks = [(e["tid"] - cpu_tid(0), e["ts"], e["dur"], e["name"])
             for e in events if e["ph"] == "X" and e["cat"] == "task"]  # fmt: skip
    assert tasks == [
        (1, 0.0, 1000.0, "pid 2 (hog)"),
        (1, 1002.0, 998.0, "pid 2 (hog)"),
        (1, 2000.0, 1000.0, "pid 3 (periodic)"),
        (0, 3000.0, 1000.0, "pid 3 (periodic)"),
    ]
    flows = [(e["ph"], e["tid"] - cpu_tid(0), e["ts"]) for e in events if e["ph"] in "sf"]
    assert flows == [("s", 1, 3000.0), ("f", 0, 3000.0)]
    counters = {(e["name"], e["ts"]): e["args"] for e in events if e["ph"] == "C"}
    assert counters[("cpu0", 3000.0)] == {"nr_running": 1}
    assert counters[("imbalance", 0.0)] == {"score": 3}
    (rebuild,) = [e for e in events if e["name"] == "domains_rebuilt"]
    assert (rebuild["s"], rebuild["args"]["generation"]) == ("g", 1)
    assert doc["metadata"]["migrations"] == 1


def test_overlapping_passes_spill_into_a_second_balancer_lane() -> None:
    """cpu0's pass starts while cpu1's runs: two lanes; the tasklet's passes need one."""
    events = chrome_trace(small_trace(), META)["traceEvents"]
    lanes = {e["args"]["name"] for e in events if e["name"] == "thread_name"}
    assert {"passes", "passes 2"} <= lanes
    passes = sorted((e["ts"], e["tid"], e["args"]["cpu"], e["args"]["levels"])
                    for e in events if e["ph"] == "X" and e["cat"] == "balance")  # fmt: skip
    assert [(p[2], p[3]) for p in passes] == [
        (1, {"CPU": "moved 1 from cpu0"}),
        (0, {"CPU": "balanced"}),
    ]
    assert passes[0][1] != passes[1][1]
    assert all(e["pid"] == BALANCER_PID for e in events if e.get("cat") == "balance")
    assert any(e["pid"] == CPUS_PID for e in events if e.get("cat") == "task")


def test_trace_of_a_run_is_the_same_whatever_order_trio_ran_the_actors() -> None:
    """Actors append to the trace in trio's (shuffled) order; the timeline is sorted."""
    scenario = load_scenario(SHIPPED["seed004-softirq"])
    config = replace(scenario.config, duration_ns=40 * MS)
    scenario = replace(scenario, config=config)
    docs = []
    for _ in range(2):
        traced = run_traced(scenario, scenario.seed)
        docs.append(chrome_trace(traced.trace, traced.meta, traced.result.statistics.samples))
    assert json.dumps(docs[0]) == json.dumps(docs[1])


# -- the command line ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    log = tmp_path_factory.mktemp("trace") / "demo.msgpack"
    assert runner.main(["run", "demo", "--log", str(log), "--json", "--no-progress"]) == 0
    return log


def test_trace_command_writes_the_same_timeline_as_run_with_trace(
    demo_log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``schedsim trace LOG`` re-runs the log's scenario: the timeline of the run itself."""
    during = tmp_path / "during.json"
    args = ["run", "demo", "--json", "--no-progress", "--trace", str(during)]
    assert runner.main(args) == 0
    after = tmp_path / "after.json"
    capsys.readouterr()
    assert runner.main(["trace", str(demo_log), "-o", str(after)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{after}: ")
    assert "demo seed 1, 400 ms" in out
    assert json.loads(after.read_text()) == json.loads(during.read_text())


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "No such file"), (b"garbage\x00\x01", "not a log record")],
    ids=["missing", "corrupt"],
)
def test_trace_of_a_bad_log_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes | None, message: str
) -> None:
    log = tmp_path / "run.msgpack"
    if content is not None:
        log.write_bytes(content)
    assert runner.main(["trace", str(log), "-o", str(tmp_path / "t.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("schedsim trace: ")
    assert message in err
    assert err.count("\n") == 1
    assert not (tmp_path / "t.json").exists()


def test_run_trace_into_a_missing_directory_is_refused_before_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "nowhere" / "t.json"
    assert runner.main(["run", "demo", "--json", "--trace", str(target)]) == 2
    captured = capsys.readouterr()
    assert (captured.out, captured.err.count("\n")) == ("", 1)
    assert "no directory" in captured.err


def test_format_checks_catch_a_broken_trace() -> None:
    """The checks above can fail: a dropped flow end, a slice poking out of its parent,
    a timestamp going back, a missing field."""
    doc = chrome_trace(small_trace(), META)
    events = doc["traceEvents"]
    broken = [e for e in events if e["ph"] != "f"]
    assert flow_problems({"traceEvents": broken}) != []
    (task,) = [e for e in events if e.get("cat") == "task" and e["ts"] == 3000.0]
    poke = {**task, "ts": 3500.0, "dur": 1000.0, "name": "poke"}
    assert format_problems({"traceEvents": [task, poke]}) != []
    assert format_problems({"traceEvents": [poke, task]}) != []
    assert format_problems({"traceEvents": [{k: v for k, v in task.items() if k != "dur"}]})
    wrong = {**task, "tid": cpu_tid(1)}
    wrong["args"] = {**task["args"], "cpus_allowed": "0"}
    assert affinity_problems({"traceEvents": [wrong]}) == ["pid 3 ran on cpu1 outside its mask"]
