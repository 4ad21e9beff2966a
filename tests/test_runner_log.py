"""schedsim replay / inspect / log: the log commands of the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import runner
from actors.sched import SchedRun


@pytest.fixture(scope="module")
def demo_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    log = tmp_path_factory.mktemp("log") / "demo.msgpack"
    assert runner.main(["run", "demo", "--log", str(log), "--no-progress", "--json"]) == 0
    return log


def test_replay_of_a_fresh_log_says_identical(
    demo_log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert runner.main(["replay", str(demo_log)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("identical (")
    assert out.endswith(" records)\n")


def test_replay_of_a_tampered_log_names_the_first_divergence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "demo.jsonl"
    assert runner.main(["run", "demo", "--log", str(log), "--json"]) == 0
    lines = log.read_text().splitlines(keepends=True)
    record = json.loads(lines[5])
    record["delta"] = record["delta"] + 1000
    lines[5] = json.dumps(record) + "\n"
    log.write_text("".join(lines))
    capsys.readouterr()
    assert runner.main(["replay", str(log)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("diverged at record 5 (virtual time ")
    assert out[1].startswith("  logged:   {")
    assert out[2].startswith("  replayed: {")


def test_inspect_shows_one_cpu_at_a_time(
    demo_log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert runner.main(["inspect", str(demo_log), "--at", "120ms", "--cpu", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("at 120000000 ns: domain generation 0, partitions 0-3")
    assert out[1].startswith("cpu1: running ")
    assert not any(line.startswith("cpu0") for line in out)


def test_inspect_outside_the_run_is_one_line_and_exit_2(
    demo_log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert runner.main(["inspect", str(demo_log), "--at", "5s"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "outside the run" in err


def test_log_filters_events_as_json_lines(
    demo_log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert runner.main(["log", str(demo_log), "--jsonl", "--filter", "task_migrated"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert records
    assert {r["event"] for r in records} == {"task_migrated"}
    assert all({"pid", "src", "dst", "reason", "domain"} <= r.keys() for r in records)


def test_log_for_people_has_one_line_per_event(
    demo_log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert runner.main(["log", str(demo_log)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("header: seed 1, until 400000000 ns")
    assert lines[-1].endswith("end: deadline")
    assert any(" ms  controller: domains_rebuilt generation=0" in line for line in lines)


def test_a_missing_log_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert runner.main(["replay", str(tmp_path / "nope.msgpack")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("schedsim replay: ")
    assert err.count("\n") == 1


def test_ctrl_c_closes_the_log_and_prints_the_partial_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A KeyboardInterrupt mid-run: exit 130, the summary so far, a log with its end record."""

    def interrupt_at_100ms(run: SchedRun, name: str, progress: bool) -> object:
        def report(now_ns: int) -> None:
            if now_ns >= 100_000_000:
                raise KeyboardInterrupt

        run.set_progress(report)
        return run.run()

    monkeypatch.setattr(runner, "_run_quietly_or_not", interrupt_at_100ms)
    log = tmp_path / "cut.jsonl"
    assert runner.main(["run", "demo", "--log", str(log), "--json"]) == runner.EXIT_INTERRUPTED
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert summary["status"] == "interrupted"
    assert captured.err.startswith("interrupted at 10")
    last = json.loads(log.read_text().splitlines()[-1])
    assert (last["k"], last["status"]) == ("X", "interrupted")
