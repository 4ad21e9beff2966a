"""The command line on bad input, Ctrl-C and the options the README documents.

Bad input is one line on stderr and exit 2; Ctrl-C is one line and exit 130;
a bare number on the command line is milliseconds; an explicit ``--log``
writes a log even when the scenario says ``log_level = "off"``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import runner
from actors.logread import LogReader

Capture = pytest.CaptureFixture[str]
BINARY = bytes(range(256)) * 4
SMALL = '[run]\nduration = "20ms"\n{extra}[[tasks]]\nname = "h"\ncount = 3\n'


def one_line(err: str, command: str) -> str:
    assert err.startswith(f"schedsim {command}: "), err
    assert err.count("\n") == 1, err
    return err


def small(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "small.toml"
    path.write_text(SMALL.format(extra=extra))
    return path


def test_an_lscpu_file_that_is_not_text_is_one_line(tmp_path: Path, capsys: Capture) -> None:
    path = tmp_path / "bin.lscpu"
    path.write_bytes(BINARY)
    assert runner.main(["topo", "--lscpu", str(path)]) == 2
    assert "not UTF-8 text" in one_line(capsys.readouterr().err, "topo")


def test_a_cpuset_script_that_is_not_text_is_one_line(tmp_path: Path, capsys: Capture) -> None:
    path = tmp_path / "bin.sh"
    path.write_bytes(BINARY)
    assert runner.main(["cpuset", str(path)]) == 2
    assert "not UTF-8 text" in one_line(capsys.readouterr().err, "cpuset")


def test_a_bare_number_of_ms_on_the_command_line(tmp_path: Path, capsys: Capture) -> None:
    log = tmp_path / "run.msgpack"
    argv = ["run", str(small(tmp_path)), "--duration", "30", "--json", "--log", str(log)]
    assert runner.main(argv) == 0
    assert json.loads(capsys.readouterr().out)["vtime_ns"] == 30_000_000
    assert runner.main(["inspect", str(log), "--at", "12"]) == 0
    assert capsys.readouterr().out.startswith("at 12000000 ns: ")


def test_an_explicit_log_overrides_log_level_off(tmp_path: Path, capsys: Capture) -> None:
    log = tmp_path / "off.msgpack"
    scenario = small(tmp_path, 'log_level = "off"\n')
    assert runner.main(["run", str(scenario), "--log", str(log), "--json"]) == 0
    reader = LogReader(log)
    records = list(reader)
    assert records[0]["level"] == "events"
    assert reader.ended
    capsys.readouterr()
    assert runner.main(["replay", str(log)]) == 0
    assert capsys.readouterr().out.startswith("identical (")
    assert runner.main(["run", str(scenario), "--json"]) == 0  # no --log: still no file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["off.msgpack", "small.toml"]


@pytest.mark.parametrize(
    ("option", "value", "words"),
    [
        ("--log", "", "needs a file name"),
        ("--log", ".", "is a directory"),
        ("--trace", "", "needs a file name"),
        ("--trace", ".", "is a directory"),
    ],
)
def test_log_and_trace_paths_are_checked_before_the_run(
    tmp_path: Path,
    capsys: Capture,
    monkeypatch: pytest.MonkeyPatch,
    option: str,
    value: str,
    words: str,
) -> None:
    monkeypatch.setattr(runner, "_run_quietly_or_not", lambda *_: pytest.fail("it ran"))
    monkeypatch.chdir(tmp_path)
    assert runner.main(["run", str(small(tmp_path)), option, value]) == 2
    err = one_line(capsys.readouterr().err, "run")
    assert f"{option} {value!r}: {words}" in err


def test_a_negative_seed_is_refused_as_in_a_scenario(capsys: Capture) -> None:
    assert runner.main(["run", "demo", "--seed", "-1"]) == 2
    assert "must be >= 0" in one_line(capsys.readouterr().err, "run")


@pytest.mark.parametrize(
    "interrupt",
    [KeyboardInterrupt(), BaseExceptionGroup("trio", [KeyboardInterrupt()])],
    ids=["bare", "in-a-group"],
)
@pytest.mark.parametrize("command", ["replay", "trace", "stress"])
def test_ctrl_c_is_one_line_and_exit_130(
    capsys: Capture, monkeypatch: pytest.MonkeyPatch, command: str, interrupt: BaseException
) -> None:
    def ctrl_c(*_: object, **__: object) -> None:
        raise interrupt

    target = {"replay": "replay", "trace": "rerun_traced"}.get(command)
    if target is None:
        monkeypatch.setattr("actors.stress.sweep", ctrl_c)
        argv = ["stress", "--seeds", "2", "--out", "unused"]
    else:
        monkeypatch.setattr(runner, target, ctrl_c)
        argv = [command, "some.log", *(["-o", "t.json"] if command == "trace" else [])]
    assert runner.main(argv) == runner.EXIT_INTERRUPTED
    assert one_line(capsys.readouterr().err, command) == f"schedsim {command}: interrupted\n"


def test_an_error_group_without_ctrl_c_is_not_swallowed(monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(*_: object) -> None:
        raise ExceptionGroup("trio", [RuntimeError("bug")])

    monkeypatch.setattr(runner, "replay", crash)
    with pytest.raises(ExceptionGroup):
        runner.main(["replay", "some.log"])


def test_log_as_json_lines_shows_digests_in_hex(tmp_path: Path, capsys: Capture) -> None:
    log = tmp_path / "run.msgpack"
    assert runner.main(["run", str(small(tmp_path)), "--log", str(log), "--json"]) == 0
    capsys.readouterr()
    assert runner.main(["log", str(log), "--jsonl"]) == 0
    digests = [r for r in map(json.loads, capsys.readouterr().out.splitlines()) if r["k"] == "G"]
    assert digests
    assert all(len(r["digest"]) == 32 and int(r["digest"], 16) >= 0 for r in digests)


def test_log_of_an_empty_file_says_so(tmp_path: Path, capsys: Capture) -> None:
    path = tmp_path / "empty.msgpack"
    path.write_bytes(b"")
    assert runner.main(["log", str(path)]) == 2
    err = one_line(capsys.readouterr().err, "log")
    assert err == f"schedsim log: {path}: empty (no run header: not a schedsim log)\n"


def test_a_closed_pipe_is_not_a_failed_expectation(tmp_path: Path) -> None:
    """``schedsim run ... | head -0``: exit 141 (128 + SIGPIPE), not 1, and no traceback."""
    script = f"{sys.executable} runner.py list | head -c 0; echo ${{PIPESTATUS[0]}} >&2"
    done = subprocess.run(
        ["bash", "-c", script], cwd=Path(runner.__file__).parent, capture_output=True, text=True
    )
    assert done.stderr.strip().splitlines() == [str(runner.EXIT_BROKEN_PIPE)]
