"""Scenario input the parser must refuse up front (``FILE:LINE: message``, exit 2).

Workloads that would keep virtual time standing still, values that crash a
naive reader (unhashable bug names, nesting deeper than tomllib's stack),
expectations that could never be checked, and the duration forms the README
promises (a bare number of ms, also as a string).
"""

from __future__ import annotations

from pathlib import Path

import pytest

import runner
from actors.expect import COUNTERS
from actors.scenario import ScenarioError, parse_scenario
from actors.tomlread import parse_duration

FORK_EVERY_0 = """\
[run]
duration = "200ms"
[[tasks]]
name = "a"
kind = "fork-burst"
fork_every = 0
"""

PERIODIC = """\
[run]
duration = "20ms"
[[tasks]]
name = "p"
kind = "periodic"
run = {run}
sleep = {sleep}
"""


def refused(text: str) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "s.toml")
    return info.value


def test_a_fork_burst_task_must_fork_at_most_once_a_ms() -> None:
    error = refused(FORK_EVERY_0)
    assert error.line == 6
    assert "fork_every" in error.message
    assert "at least 1ms" in error.message
    assert parse_scenario(FORK_EVERY_0.replace("= 0", '= "1ms"')).config.tasks[0].fork_every_ms == 1


def test_a_periodic_task_needs_run_plus_sleep_above_zero() -> None:
    error = refused(PERIODIC.format(run=0, sleep='"0ms"'))
    assert (error.line, "run + sleep" in error.message) == (7, True)
    for run, sleep in ((0, '"1ms"'), ('"1ms"', 0)):  # either alone lets time move on
        spec = parse_scenario(PERIODIC.format(run=run, sleep=sleep)).config.tasks[0]
        assert spec.run_ms + spec.sleep_ms == 1


def test_a_livelocking_scenario_is_exit_2_before_any_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "f.toml"
    path.write_text(FORK_EVERY_0)
    monkeypatch.setattr(runner, "_run_quietly_or_not", lambda *_: pytest.fail("it ran"))
    assert runner.main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{path}:6: fork_every")
    assert err.count("\n") == 1


@pytest.mark.parametrize("value", ["[[1]]", "[{a = 1}]", "[1]", '["no-grace-period", []]'])
def test_bugs_that_are_not_names_are_refused_at_their_line(value: str) -> None:
    error = refused(f"[run]\nduration = '1ms'\nbugs = {value}\n")
    assert error.line == 3
    assert "bug names" in error.message


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("[run]\nbugs = " + "[" * 600 + "]" * 600 + "\n", 2),
        ("x = " + "{a=" * 600 + "1" + "}" * 600 + "\n", 1),
        ("# nested\n[run]\nduration = '1ms'\nsetup = '[[[['\nbugs = [\n" + "[" * 700 + "\n", 6),
    ],
    ids=["arrays", "inline-tables", "multi-line"],
)
def test_nesting_deeper_than_the_parser_can_go_is_one_error(text: str, line: int) -> None:
    error = refused(text)
    assert error.line == line
    assert "nested too deeply" in error.message


def test_an_unknown_counter_is_refused_before_the_run() -> None:
    text = '[[expect]]\ncounter = { name = "nope", op = ">", value = 0 }\n'
    error = refused(text)
    assert (error.line, "unknown counter 'nope' (known: " in error.message) == (2, True)
    good = parse_scenario(text.replace("nope", COUNTERS[0]))
    assert dict(good.expects[0].args)["name"] == COUNTERS[0]


@pytest.mark.parametrize(
    "table",
    [
        "imbalance_below = { value = nan }",
        'counter = { name = "tasklet_refusals", op = "<", value = inf }',
        'counter = { name = "tasklet_refusals", op = ">", value = -inf }',
    ],
)
def test_expectation_values_must_be_finite(table: str) -> None:
    error = refused(f"[[expect]]\n{table}\n")
    assert (error.line, "finite" in error.message) == (2, True)


@pytest.mark.parametrize(
    ("value", "ns"),
    [("300", 300_000_000), (" 1.5 ", 1_500_000), ("2", 2_000_000), (300, 300_000_000)],
)
def test_a_bare_number_is_ms_as_a_string_too(value: object, ns: int) -> None:
    assert parse_duration(value, "--duration") == ns


@pytest.mark.parametrize("value", ["١٠ms", "１０ms", "10\u00a0ms", "", "ms"])
def test_a_duration_has_ascii_digits_and_spaces(value: str) -> None:
    with pytest.raises(ValueError, match="must be a duration"):
        parse_duration(value)
