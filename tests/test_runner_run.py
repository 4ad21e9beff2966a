"""``schedsim run`` / ``schedsim list`` (runner.py) and the expectation checks (actors/expect.py).

Every run here is a real simulation, kept short (tens of virtual ms on 4 CPUs).
Exit statuses (runner.py docstring): 0 run ended and every expectation holds;
1 a failed expectation or an unexpected invariant violation; 2 bad input;
130 interrupted.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

import runner
from actors.expect import COUNTERS, ExpectOutcome, check_expectations, task_matches
from actors.scenario import parse_scenario
from actors.sched import SchedResult, SchedRun
from actors.summary import SummaryTable, summary_json, summary_sections

Capture = pytest.CaptureFixture[str]

SMALL = """\
# small: two pinned groups and a forking parent on numa-2x2
[machine]
topology = "numa-2x2"
balancer = "percpu"
slice = "5ms"

[run]
duration = "60ms"

[[tasks]]
name = "left"
kind = "pinned"
cpus = "0-1"
count = 2

[[tasks]]
name = "right"
kind = "pinned"
cpus = "3"

[[tasks]]
name = "burst"
kind = "fork-burst"
cpus = "2"
children = 2
fork_every = "10ms"
lifetime = "3ms"
"""

JSON_KEYS = {
    "scenario",
    "seed",
    "config",
    "status",
    "vtime_ns",
    "error",
    "cpus",
    "totals",
    "cpusets",
    "task_groups",
    "imbalance",
    "rebuilds",
    "retired",
    "step_errors",
    "expectations",
    "expectations_ok",
}


def write(tmp_path: Path, text: str, name: str = "s.toml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def small_result(extra: str = "") -> tuple[SchedResult, list[ExpectOutcome]]:
    scenario = parse_scenario(SMALL + extra, "small.toml")
    result = SchedRun(scenario.config, seed=scenario.seed).run()
    return result, check_expectations(scenario.expects, result)


# -- schedsim run ------------------------------------------------------------------------


def test_run_without_a_scenario_runs_the_demo_and_exits_0(capsys: Capture) -> None:
    assert runner.main(["run", "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("demo: node:2 core:2 pu:1 (4 CPUs), cpuset era 2.6.14")
    assert "converged_by" in captured.out
    assert "FAIL" not in captured.out
    assert "\x1b[" not in captured.out  # no colour when stdout is not a terminal
    assert max(len(line) for line in captured.out.splitlines()) <= runner.CONSOLE_WIDTH
    assert captured.err == ""


def test_run_json_is_one_object_with_the_documented_sorted_keys(capsys: Capture) -> None:
    assert runner.main(["run", "demo", "--json"]) == 0
    out = capsys.readouterr().out
    summary = json.loads(out)
    assert set(summary) == JSON_KEYS
    assert out == json.dumps(summary, indent=2, sort_keys=True) + "\n"
    assert (summary["scenario"], summary["seed"], summary["status"]) == ("demo", 1, "deadline")
    assert [cpu["cpu"] for cpu in summary["cpus"]] == [0, 1, 2, 3]
    assert summary["expectations_ok"] is True


def test_run_overrides_the_scenario_seed_and_duration(capsys: Capture) -> None:
    assert runner.main(["run", "demo", "--json", "--seed", "5", "--duration", "0.1s"]) in (0, 1)
    summary = json.loads(capsys.readouterr().out)
    assert (summary["seed"], summary["vtime_ns"]) == (5, 100_000_000)
    assert summary["config"]["duration_ns"] == 100_000_000


def test_run_bad_scenario_prints_file_line_message_and_exits_2(
    tmp_path: Path, capsys: Capture
) -> None:
    path = write(tmp_path, "# bad\n[machine]\nhz = 999\n")
    assert runner.main(["run", path]) == runner.EXIT_USAGE
    captured = capsys.readouterr()
    assert captured.err == f"{path}:3: hz must divide 1e9 and lie in 100..10000, not 999\n"
    assert captured.out == ""


def test_run_missing_scenario_file_is_reported_at_line_1(tmp_path: Path, capsys: Capture) -> None:
    path = str(tmp_path / "gone.toml")
    assert runner.main(["run", path]) == runner.EXIT_USAGE
    assert capsys.readouterr().err == f"{path}:1: No such file or directory\n"


def test_run_unknown_name_is_a_usage_error(capsys: Capture) -> None:
    assert runner.main(["run", "no-such-scenario"]) == runner.EXIT_USAGE
    err = capsys.readouterr().err
    assert err == "schedsim run: no scenario file or shipped scenario 'no-such-scenario' " + (
        "(see: schedsim list)\n"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--duration", "5x"], "--duration must be a duration like"),
        (["--log-format", "jsonl"], "--log-format needs --log"),
        (["--seed", "x"], "argument --seed: invalid int value: 'x'"),
    ],
)
def test_run_bad_options_give_one_line_and_exit_2(
    argv: list[str], message: str, capsys: Capture
) -> None:
    assert runner.main(["run", "demo", *argv]) == runner.EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith(f"schedsim run: {message}")
    assert err.count("\n") == 1


def test_run_failed_expectation_exits_1_and_says_so(capsys: Capture) -> None:
    # demo converges at 237 ms; cut at 50 ms, converged_by = "300ms" cannot hold
    assert runner.main(["run", "demo", "--duration", "50ms"]) == runner.EXIT_FAILED
    captured = capsys.readouterr()
    assert captured.err == "schedsim run: 1 of 2 expectations failed\n"
    assert "FAIL" in captured.out


def test_run_unexpected_violation_prints_one_line_and_exits_1(
    tmp_path: Path, capsys: Capture
) -> None:
    """SPEC §1.9: the 2.6.13 builder with a split node fails the domain checks (invariant 3)."""
    text = (Path(runner.SCENARIOS) / "seed000-exclusive-split-2613.toml").read_text()
    text = text[: text.index("[[expect]]")]
    assert runner.main(["run", write(tmp_path, text), "--json"]) == runner.EXIT_FAILED
    captured = capsys.readouterr()
    assert captured.err.startswith(
        "schedsim: invariant 3 violated: generation 1, cpu 1 level 0: ERROR: "
    )
    assert captured.err.count("\n") == 1
    assert json.loads(captured.out)["error"].startswith("invariant 3 violated")


def test_run_writes_a_log_whose_header_can_rerun_it(tmp_path: Path, capsys: Capture) -> None:
    scenario = write(tmp_path, SMALL)
    log = tmp_path / "run.jsonl"
    assert runner.main(["run", scenario, "--seed", "3", "--log", str(log)]) == 0
    header = json.loads(log.read_text().splitlines()[0])
    assert (header["k"], header["seed"], header["scenario"]) == ("H", 3, SMALL)
    expected = {
        "scenario_path": scenario,
        "base_dir": str(Path(scenario).parent.resolve()),
        "seed": 3,
        "duration_ns": 60_000_000,
    }
    assert header["params"] == expected
    assert json.loads(log.read_text().splitlines()[-1])["k"] == "X"


def test_run_interrupted_before_it_starts_prints_an_empty_summary_and_exits_130(
    monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    def interrupt(self: SchedRun) -> SchedResult:
        raise KeyboardInterrupt

    monkeypatch.setattr(SchedRun, "run", interrupt)
    assert runner.main(["run", "demo"]) == runner.EXIT_INTERRUPTED
    captured = capsys.readouterr()
    assert captured.err == "interrupted at 0 ms of virtual time\n"
    assert captured.out.startswith("demo: node:2 core:2 pu:1 (4 CPUs)")
    assert "ended interrupted" in captured.out


def test_existing_subcommands_still_parse_after_adding_run() -> None:
    assert runner.build_parser().parse_args(["topo", "--list"]).func is runner.cmd_topo


# -- schedsim list -----------------------------------------------------------------------


def test_list_names_every_shipped_scenario_with_its_summary(capsys: Capture) -> None:
    assert runner.main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    stems = sorted(path.stem for path in Path(runner.SCENARIOS).glob("*.toml"))
    assert [line.split()[0] for line in lines] == stems
    demo = next(line for line in lines if line.startswith("demo "))
    assert demo.endswith("(default)")
    assert "demo:" not in demo  # the "name:" prefix of the description is not repeated


# -- expectations ------------------------------------------------------------------------


def test_task_matches_a_group_its_instances_and_their_fork_children() -> None:
    names = ["hog.0", "hog.1+9", "hog.10", "hog2.0", "hogx", "hog"]
    assert [n for n in names if task_matches("hog", n)] == ["hog.0", "hog.1+9", "hog.10", "hog"]
    assert [n for n in names if task_matches("hog.1", n)] == ["hog.1+9"]


def test_ran_only_on_covers_fork_children_of_the_group() -> None:
    """A fork-burst child runs where the parent's affinity allows (C03-4 at fork)."""
    result, outcomes = small_result(
        '[[expect]]\nran_only_on = { task = "burst", cpus = "2" }\n'
        '[[expect]]\nran_only_on = { task = "burst", cpus = "0-1" }\n'
    )
    children = [name for name in result.statistics.ran_on_task if name.startswith("burst.0+")]
    assert children != []
    assert [o.ok for o in outcomes] == [True, False]
    assert outcomes[0].detail == "task burst ran on 2 (within 2)"
    assert outcomes[1].detail == "burst.0 ran on CPU(s) 2, outside 0-1"


def test_ran_only_on_a_cpuset_and_a_task_that_never_ran() -> None:
    extra = (
        '[[expect]]\nran_only_on = { cpuset = "/", cpus = "0-3" }\n'
        '[[expect]]\nran_only_on = { cpuset = "/", cpus = "0-2" }\n'
        '[[expect]]\nran_only_on = { cpuset = "/nowhere", cpus = "0-3" }\n'
    )
    _, outcomes = small_result(extra)
    assert [(o.ok, o.detail) for o in outcomes] == [
        (True, "cpuset / ran on 0-3 (within 0-3)"),
        (False, "/ ran on CPU(s) 3, outside 0-2"),
        (False, "cpuset /nowhere never ran"),
    ]


def test_counter_compares_a_summed_cpu_counter() -> None:
    """(An unknown counter name is refused when the scenario is parsed:
    tests/test_scenario_progress.py.)"""
    extra = (
        '[[expect]]\ncounter = { name = "tasklet_refusals", op = "==", value = 0 }\n'
        '[[expect]]\ncounter = { name = "busy_ns", op = ">", value = 1e12 }\n'
    )
    result, outcomes = small_result(extra)
    busy = result.statistics.total("busy_ns")
    assert [(o.ok, o.detail) for o in outcomes] == [
        (True, "tasklet_refusals = 0 (expected == 0)"),
        (False, f"busy_ns = {busy} (expected > 1e+12)"),
    ]
    assert "cpu" not in COUNTERS
    assert "tasklet_refusals" in COUNTERS


def test_imbalance_below_uses_the_samples_from_after_ns_on() -> None:
    extra = (
        '[[expect]]\nimbalance_below = { value = 0.5, after = "30ms" }\n'
        '[[expect]]\nimbalance_below = { value = 0.5, after = "1s" }\n'
    )
    result, outcomes = small_result(extra)
    tail = [score for when, score in result.statistics.samples if when >= 30_000_000]
    mean = sum(tail) / len(tail)
    assert outcomes[0].ok is (mean < 0.5)
    assert outcomes[0].detail.startswith(f"mean score {mean:.3f} over {len(tail)} samples")
    no_sample = "no imbalance sample at or after 1000000000 ns"
    assert (outcomes[1].ok, outcomes[1].detail) == (False, no_sample)


def test_no_violation_and_converged_by_read_the_result() -> None:
    extra = (
        "[[expect]]\nno_violation = true\n[[expect]]\nno_violation = false\n"
        '[[expect]]\nconverged_by = "60ms"\n'
    )
    result, outcomes = small_result(extra)
    assert [o.ok for o in outcomes[:2]] == [True, False]
    assert outcomes[1].detail == "no violation"
    never = replace(result, statistics=replace(result.statistics, converged_at_ns=None))
    late = check_expectations([outcomes[2].expectation], never)[0]
    assert (late.ok, late.detail) == (
        False,
        f"never converged (final score {result.statistics.imbalance_final})",
    )


# -- the summary -------------------------------------------------------------------------


def test_summary_sections_show_each_cpu_a_total_row_and_the_expectations() -> None:
    result, outcomes = small_result("[[expect]]\nno_violation = true\n")
    sections = summary_sections("small", result, outcomes, seed=1)
    tables = {s.title: s for s in sections if isinstance(s, SummaryTable)}
    assert sorted(tables) == ["CPUs", "cpusets", "expectations", "task groups"]
    groups = tables["task groups"]
    counts = [(row[0], int(row[1])) for row in groups.rows]
    assert counts == [("burst", 1), ("burst+", 8), ("left", 2), ("right", 1)]
    assert sum(n for _, n in counts) == len(result.statistics.tasks)
    cpus = tables["CPUs"]
    assert [row[0] for row in cpus.rows] == ["0", "1", "2", "3", "all"]
    assert all(len(row) == len(cpus.columns) for row in cpus.rows)
    line = str(outcomes[0].expectation.line)
    assert tables["expectations"].rows == ((line, "no_violation = true", "pass", "no violation"),)
    assert sections[0] == "small\nseed 1, 60 ms of virtual time, ended deadline"


def test_summary_json_counts_tasks_per_cpuset_and_rounds_floats() -> None:
    result, outcomes = small_result()
    summary = summary_json("small", result, outcomes)
    assert summary["cpusets"] == [
        {"path": "/", "tasks": len(result.statistics.tasks), "ran_on": "0-3", "locality": None}
    ]
    assert summary["config"] is None
    json.dumps(summary)  # only JSON-native values
