"""``schedsim stress`` on bad options and paths: refused before the sweep, artefacts that reproduce.

A bad --out or --dask is one line and exit 2 before any seed runs; a violation
found is exit 1 even when its files cannot be written; a machine given as a
relative file works from the directories the artefacts are used in.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

import runner
from actors import stress
from actors.replay import replay
from actors.scenario import load_scenario
from actors.stress import SeedOutcome, SweepReport, add_stress_arguments, stress_main
from topology.presets import load_machine

Capture = pytest.CaptureFixture[str]
LSCPU = "# CPU,Core,Socket,Node\n0,0,0,0\n1,1,0,0\n2,2,1,1\n3,3,1,1\n"


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_stress_arguments(parser)
    return parser.parse_args(argv)


def no_sweep(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*_: object, **__: object) -> None:
        pytest.fail("the sweep ran")

    monkeypatch.setattr(stress, "sweep", fail)
    monkeypatch.setattr(stress, "sweep_dask", fail)


@pytest.mark.parametrize("kind", ["file", "under-a-file"])
def test_an_unusable_out_is_refused_before_the_sweep(
    tmp_path: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    no_sweep(monkeypatch)
    blocker = tmp_path / "afile"
    blocker.write_text("")
    out = blocker if kind == "file" else blocker / "out"
    assert stress_main(parse("--seeds", "2", "--out", str(out))) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"schedsim stress: --out {out}: ")
    assert err.count("\n") == 1


def test_a_violation_whose_files_cannot_be_kept_is_still_exit_1(
    tmp_path: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = SeedOutcome(7, False, "invariant 6 violated", 6, 3, 10)
    monkeypatch.setattr(stress, "sweep", lambda *_, **__: SweepReport((bad,), 1.0))

    def disk_full(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(stress, "keep_failure", disk_full)
    out = tmp_path / "out"
    assert stress_main(parse("--seeds", "1", "--out", str(out))) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"schedsim stress: cannot keep seed 7 in {out}: ")
    assert not out.exists()  # made for the sweep, empty: removed again


def test_a_bad_dask_address_is_one_line_and_exit_2(tmp_path: Path, capsys: Capture) -> None:
    """Without dask.distributed installed the message says how to install it; exit 2 as well."""
    argv = ["stress", "--seeds", "2", "--dask", "notanaddress", "--out", str(tmp_path / "o")]
    assert runner.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("schedsim stress: --dask: ")
    assert err.count("\n") == 1


def test_a_relative_machine_file_is_kept_absolute(
    tmp_path: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kept log replays and the minimal scenario runs from any directory."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "box.lscpu").write_text(LSCPU)
    load_machine(str(work / "box.lscpu"))
    monkeypatch.chdir(work)
    args = parse("--machine", "box.lscpu", "--inject", "no-grace-period", "--seeds", "20")
    args.out = "out"
    assert stress.stress_options(args).machine == str(work / "box.lscpu")
    assert stress_main(args) == 1
    kept = sorted((work / "out").iterdir())
    log = next(p for p in kept if p.suffix == ".msgpack")
    minimal = next(p for p in kept if p.suffix == ".toml")
    monkeypatch.chdir(tmp_path)
    assert replay(log).identical
    assert load_scenario(minimal).config.machine.nr_cpus == 4
    capsys.readouterr()
    assert runner.main(["run", str(minimal.relative_to(tmp_path)), "--no-progress"]) == 1
    assert "invariant 6 violated" in capsys.readouterr().err
