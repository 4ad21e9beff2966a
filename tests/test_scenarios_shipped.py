"""The shipped scenarios (scenarios/*.toml): each parses, runs, and matches its golden summary.

``schedsim run NAME --json`` must print exactly tests/golden/scenarios/NAME.json
and exit 0: every shipped scenario documents what it shows through its
expectations, and all of them hold (a scenario that shows a historic bug
expects the violation: ``no_violation = false``).  After a deliberate change
to the simulator, regenerate and review the diff:

    SCHEDSIM_REGEN_GOLDEN=1 python -m pytest tests/test_scenarios_shipped.py
    git diff tests/golden/scenarios/
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest

import runner
from actors.scenario import load_scenario

GOLDEN = Path(__file__).parent / "golden" / "scenarios"
REGEN = os.environ.get("SCHEDSIM_REGEN_GOLDEN") == "1"
SHIPPED = runner.shipped_scenarios()

SEED000_RECIPE = (
    "cd /dev/cpuset",
    "mkdir newcpuset",
    "cd newcpuset",
    "echo 0 >cpus",
    "echo 0 >mems",
    "echo 1 >cpu_exclusive",
)
"""The trigger of seed 000, verbatim (John Hawkes, 2.6.13)."""


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_scenario_summary_matches_the_golden_file(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = runner.main(["run", name, "--json", "--no-progress"])
    out = capsys.readouterr().out
    path = GOLDEN / f"{name}.json"
    if REGEN:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(out)
        pytest.skip(f"regenerated {path.name}")
    summary = json.loads(out)
    failed = [e["text"] for e in summary["expectations"] if not e["ok"]]
    assert (code, failed) == (0, [])
    assert out == path.read_text()


def test_every_golden_file_has_a_shipped_scenario() -> None:
    assert sorted(p.stem for p in GOLDEN.glob("*.json")) == sorted(SHIPPED)


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_scenario_describes_itself_and_expects_something(name: str) -> None:
    scenario = load_scenario(SHIPPED[name])
    first, *rest = scenario.description.split("\n")
    assert first.startswith(f"{name}: ")
    assert len(rest) >= 3  # what it shows, the seed or SPEC rules
    assert scenario.expects != ()
    assert scenario.config.duration_ns <= 600_000_000  # shipped runs stay short


def test_the_default_scenario_is_shipped() -> None:
    assert runner.DEFAULT_SCENARIO in SHIPPED


def test_seed000_scenarios_run_the_seed_recipe_verbatim() -> None:
    for name in ("seed000-exclusive-split", "seed000-exclusive-split-2613"):
        text = SHIPPED[name].read_text()
        lines = [line.strip() for line in text.splitlines()]
        start = lines.index(SEED000_RECIPE[0])
        assert tuple(lines[start : start + len(SEED000_RECIPE)]) == SEED000_RECIPE


def test_seed000_2613_differs_from_2614_only_in_the_domain_builder() -> None:
    """SPEC §1.8-1.9: the same cpusets; only 2.6.13's builder breaks invariant 3."""
    fixed = load_scenario(SHIPPED["seed000-exclusive-split"]).config
    broken = load_scenario(SHIPPED["seed000-exclusive-split-2613"]).config
    assert (fixed.chosen_domain_era, broken.chosen_domain_era) == ("2.6.14", "2.6.13")
    same = ("machine_desc", "cpuset_era", "balance", "hz", "duration_ns")
    assert [getattr(fixed, k) for k in same] == [getattr(broken, k) for k in same]


def test_seed004_variants_share_one_workload() -> None:
    configs = {
        name: load_scenario(SHIPPED[name]).config
        for name in ("seed004-tasklet", "seed004-percpu", "seed004-softirq")
    }
    workloads = {tuple(replace(t, line=0) for t in c.tasks) for c in configs.values()}
    assert len(workloads) == 1
    assert [c.balance.value for c in configs.values()] == ["tasklet", "percpu", "softirq-serialize"]
    assert all(c.machine.nr_cpus >= 64 for c in configs.values())
