"""Golden shell transcripts: the kernel documentation's recipes and the seed-000 recipe.

Each ``tests/golden/cpuset/NAME.sh`` starts with the ``schedsim cpuset``
options it runs with; ``NAME.out`` is the session transcript followed by the
report.  Regenerate deliberately with ``SCHEDSIM_REGEN_GOLDEN=1`` and review
the diff.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import pytest

from cpuset import CpusetFS, render_report, run_shell
from topology.presets import load_machine

GOLDEN = Path(__file__).resolve().parent / "golden" / "cpuset"
SCRIPTS = sorted(GOLDEN.glob("*.sh"))


def options(script: str) -> dict[str, str | bool]:
    """The ``# schedsim cpuset --opt value ...`` header as a dict."""
    header = script.splitlines()[0]
    assert header.startswith("# schedsim cpuset "), header
    words = shlex.split(header[len("# schedsim cpuset ") :])
    out: dict[str, str | bool] = {}
    while words:
        word = words.pop(0)
        if word == "--domains":
            out["domains"] = True
        else:
            out[word.lstrip("-")] = words.pop(0)
    return out


def render(path: Path) -> str:
    script = path.read_text()
    opts = options(script)
    fs = CpusetFS(load_machine(str(opts["machine"])), era=str(opts["era"]))
    result = run_shell(fs, script, name=path.name)
    era = opts.get("domain-era")
    report = render_report(
        fs, domains=bool(opts.get("domains")), domain_era=None if era is None else str(era)
    )
    return result.transcript() + "\n" + report


def test_golden_scripts_exist() -> None:
    assert [p.stem for p in SCRIPTS] == [
        "doc-charlie",
        "doc-sched-load-balance",
        "doc-usage",
        "era-2.6.24",
        "hotplug-v1",
        "seed000-2.6.13",
        "seed000-2.6.14",
        "v2-partitions",
    ]


@pytest.mark.parametrize("path", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_transcript_matches_golden(path: Path) -> None:
    actual = render(path)
    golden = path.with_suffix(".out")
    if os.environ.get("SCHEDSIM_REGEN_GOLDEN") == "1":
        golden.write_text(actual)
    assert actual == golden.read_text()


def test_seed_000_golden_shows_the_2613_oops_and_the_2614_fix() -> None:
    oops = (GOLDEN / "seed000-2.6.13.out").read_text()
    fixed = (GOLDEN / "seed000-2.6.14.out").read_text()
    assert "ERROR: domain->groups does not contain CPU1" in oops
    assert "debug errors: none" in fixed
    assert "CPU0 attaching NULL sched-domain." in fixed
