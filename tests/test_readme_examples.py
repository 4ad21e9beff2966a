"""The README's scenario example parses and runs: the format reference cannot rot."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from actors.scenario import parse_scenario
from actors.sched import SchedRun

README = Path(__file__).resolve().parent.parent / "README.md"


def block_after(heading: str, fence: str) -> str:
    text = README.read_text()
    start = text.index(heading)
    return text[start:].split(f"```{fence}\n", 1)[1].split("```", 1)[0]


def test_the_readme_scenario_example_parses_and_runs() -> None:
    scenario = parse_scenario(block_after("### The scenario format", "toml"), "README.md")
    assert scenario.description == "rt-split: one line summary"
    assert [spec.name for spec in scenario.config.tasks] == ["rt"]
    assert [e.kind for e in scenario.expects] == ["ran_only_on"]
    config = dataclasses.replace(scenario.config, duration_ns=100_000_000)
    result = SchedRun(config, seed=scenario.seed).run()
    assert result.error is None
    assert result.statistics.step_errors == ()
    assert result.statistics.ran_on["/rt"] == scenario.expects[0].args[0][1]
