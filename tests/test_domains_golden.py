"""Golden dmesg printouts of ``schedsim topo`` (tests/golden/topo/*.txt).

Each case is a command line; its stdout must equal the golden file byte for
byte.  After a deliberate change, regenerate and review the diff:

    SCHEDSIM_REGEN_GOLDEN=1 python -m pytest tests/test_domains_golden.py
    git diff tests/golden/topo/
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import runner

GOLDEN = Path(__file__).parent / "golden" / "topo"
REGEN = os.environ.get("SCHEDSIM_REGEN_GOLDEN") == "1"

CASES: dict[str, tuple[list[str], int]] = {
    "smt-numa-8_2.6.14": ([], 0),
    "smt-numa-8_modern": (["--era", "modern"], 0),
    "smt-numa-8_2.6.14_as_2.6.32": (["--format", "dmesg-2.6.32"], 0),
    "quad-node_2.6.14": (["--machine", "quad-node"], 0),
    "quad-node_modern": (["--machine", "quad-node", "--era", "modern"], 0),
    "quad-node_modern_split": (
        ["--machine", "quad-node", "--era", "modern", "--partition", "0-5", "--partition", "6-15"],
        0,
    ),
    "dual-socket_2.6.20": (["--machine", "dual-socket", "--era", "2.6.20"], 0),
    "node20_2.6.14_allnodes": (["--machine", "node:20 core:1 pu:1"], 0),
    "numa-2x2_2.6.13_bug13w": (
        ["--machine", "numa-2x2", "--era", "2.6.13", "--partition", "1-3", "--partition", "0"],
        1,
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_topo_printout_matches_the_golden_file(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv, code = CASES[name]
    assert runner.main(["topo", *argv]) == code
    out = capsys.readouterr().out
    path = GOLDEN / f"{name}.txt"
    if REGEN:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(out)
        pytest.skip(f"regenerated {path.name}")
    assert out == path.read_text()


def test_every_golden_file_has_a_case() -> None:
    assert sorted(p.stem for p in GOLDEN.glob("*.txt")) == sorted(CASES)
