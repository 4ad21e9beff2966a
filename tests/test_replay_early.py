"""Replaying a log that ends early (Ctrl-C, a cut file, a crash) and logs that are not usable.

A run stopped from outside leaves a log that is a prefix of the whole run's:
replay compares the records it has and says so (exit 0), and still reports
a record that differs (exit 1).  A header this version did not write is one
line and exit 2.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import runner
from actors.log import LogFormat, LogLevel, LogSpec
from actors.logread import LogReader
from actors.replay import replay, run_params
from actors.scenario import parse_scenario
from actors.sched import SchedRun

Capture = pytest.CaptureFixture[str]
SCENARIO = """\
# early: hogs and sleepers on four CPUs
[machine]
topology = "numa-2x2"
[run]
duration = "300ms"
[[tasks]]
name = "hog"
count = 6
cpu = 0
[[tasks]]
name = "p"
kind = "periodic"
run = "2ms"
sleep = "3ms"
count = 2
"""


def logged_run(tmp_path: Path, fmt: LogFormat, level: LogLevel) -> tuple[SchedRun, Path]:
    scenario = parse_scenario(SCENARIO, str(tmp_path / "early.toml"), base_dir=str(tmp_path))
    log = tmp_path / f"run.{fmt.value}"
    run = SchedRun(
        scenario.config,
        seed=3,
        log=LogSpec(path=log, level=level, format=fmt),
        scenario=scenario.text,
        params=run_params(scenario),
    )
    return run, log


def interrupted(tmp_path: Path, fmt: LogFormat, level: LogLevel) -> Path:
    """The log of a run stopped by Ctrl-C at about 40 ms, as `schedsim run` leaves it."""
    run, log = logged_run(tmp_path, fmt, level)

    def ctrl_c(now_ns: int) -> None:
        if now_ns >= 40_000_000:
            raise KeyboardInterrupt

    run.set_progress(ctrl_c)
    with pytest.raises((KeyboardInterrupt, BaseExceptionGroup)):
        run.run()
    last = list(LogReader(log))[-1]
    assert (last["k"], last["status"]) == ("X", "interrupted")
    return log


def jsonl_lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def write_jsonl(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records))
    return path


@pytest.mark.parametrize(
    ("fmt", "level"),
    [(LogFormat.MSGPACK, LogLevel.EVENTS), (LogFormat.JSONL, LogLevel.MESSAGES)],
    ids=["msgpack-events", "jsonl-messages"],
)
def test_an_interrupted_log_is_identical_as_far_as_it_goes(
    tmp_path: Path, capsys: Capture, fmt: LogFormat, level: LogLevel
) -> None:
    log = interrupted(tmp_path, fmt, level)
    records = sum(1 for _ in LogReader(log))
    assert runner.main(["replay", str(log)]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert line.startswith("log ends early (interrupted at 4")
    assert f"identical for its {records - 1} records" in line  # all but the end record


def test_a_differing_record_of_an_interrupted_log_still_diverges(
    tmp_path: Path, capsys: Capture
) -> None:
    records = jsonl_lines(interrupted(tmp_path, LogFormat.JSONL, LogLevel.MESSAGES))
    records[30]["tag"] = "Tampered"
    log = write_jsonl(tmp_path / "tampered.jsonl", records)
    assert runner.main(["replay", str(log)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("log ends early (interrupted at ")
    assert out[1].startswith("diverged at record 30 ")
    assert '"tag": "Tampered"' in out[2]


def test_the_interrupted_delta_may_be_logged_in_part(tmp_path: Path) -> None:
    """Ctrl-C mid-delta: the events of only some woken actors were written, not a prefix.

    Made here by dropping an event of a delta and ending the log in that delta.
    """
    records = jsonl_lines(interrupted(tmp_path, LogFormat.JSONL, LogLevel.EVENTS))
    stamp = [(r.get("vtime_ns"), r.get("delta"), r["k"]) for r in records]
    # the second (or later) event of a delta; the delta's first event is dropped
    k = max(i for i in range(len(records) - 1) if stamp[i][2] == "E" and stamp[i - 1] == stamp[i])
    first = next(j for j in range(k) if stamp[j] == stamp[k])
    kept = records[:first] + records[first + 1 : k + 1]
    end = {"k": "X", "vtime_ns": stamp[k][0], "delta": stamp[k][1], "status": "interrupted"}
    log = write_jsonl(tmp_path / "partial.jsonl", [*kept, {**end, "seq": len(kept)}])
    outcome = replay(log)
    assert outcome.identical
    assert (outcome.records, outcome.partial) == (first, len(kept) - first)
    before = max(i for i in range(first) if stamp[i][:2] != stamp[k][:2])
    kept[before]["tampered"] = 1  # a difference before that delta is a divergence
    outcome = replay(write_jsonl(log, [*kept, {**end, "seq": len(kept)}]))
    assert outcome.divergence is not None
    assert outcome.divergence.index == before


def test_a_log_cut_mid_record_is_compared_up_to_the_cut(tmp_path: Path, capsys: Capture) -> None:
    run, whole = logged_run(tmp_path, LogFormat.MSGPACK, LogLevel.EVENTS)
    run.run()
    data = whole.read_bytes()
    reader = LogReader(whole)
    ends = []
    for _ in reader:
        ends.append(reader._whole)  # the offset after each whole record
    cut = tmp_path / "cut.msgpack"
    cut.write_bytes(data[: ends[40] + 3])
    assert runner.main(["replay", str(cut)]) == 0
    line = capsys.readouterr().out
    assert line == f"log ends early (cut at byte {ends[40]}): identical for its 41 records\n"
    cut.write_bytes(data[: ends[40]])  # a whole number of records, no end record
    assert runner.main(["replay", str(cut)]) == 0
    line = capsys.readouterr().out
    assert line == "log ends early (no end record after record 40): identical for its 41 records\n"


def test_a_crash_the_re_run_does_not_repeat_ends_the_log_early(tmp_path: Path) -> None:
    records = jsonl_lines(interrupted(tmp_path, LogFormat.JSONL, LogLevel.MESSAGES))[:50]
    when = records[-1]["vtime_ns"]
    end = {"seq": 50, "k": "X", "vtime_ns": when, "delta": records[-1]["delta"]}
    log = write_jsonl(tmp_path / "crashed.jsonl", [*records, {**end, "status": "crashed"}])
    outcome = replay(log)
    assert outcome.identical
    assert outcome.early == f"crashed at {when} ns; the re-run did not crash there"
    assert outcome.records == 50
    records[20]["tag"] = "Tampered"
    outcome = replay(write_jsonl(log, [*records, {**end, "status": "crashed"}]))
    assert outcome.divergence is not None
    assert outcome.divergence.index == 20


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"params": [1, 2]}, "params [1, 2] are not a map"),
        ({"params": "x"}, "params 'x' are not a map"),
        ({"params": {"base_dir": 5}}, "params.base_dir 5 is not a path"),
        ({"format": 2}, "log format 2: this schedsim reads format 1"),
        ({"until_ns": -1}, "until_ns -1 is not a time"),
        ({"level": "off"}, "level 'off' / 'info' is unknown"),
        ({"event_level": ["x"]}, "level 'events' / ['x'] is unknown"),
    ],
)
def test_a_header_this_version_did_not_write_is_one_line(
    tmp_path: Path, capsys: Capture, change: dict[str, object], words: str
) -> None:
    records = jsonl_lines(interrupted(tmp_path, LogFormat.JSONL, LogLevel.EVENTS))[:5]
    log = write_jsonl(tmp_path / "bad.jsonl", [{**records[0], **change}, *records[1:]])
    assert runner.main(["replay", str(log)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"schedsim replay: {log}: ")
    assert words in err
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty (no run header: not a schedsim log)"),
        (b"\x85", "cut short inside its header (at byte 0)"),
        (b'{"seq":0,"k":"H","x":' + b"[" * 100_000 + b"\n", "a record nested too deeply at byte 0"),
    ],
    ids=["empty", "cut-header", "deep-json"],
)
def test_no_usable_header_is_one_line_naming_the_file_once(
    tmp_path: Path, capsys: Capture, data: bytes, words: str
) -> None:
    log = tmp_path / "x.log"
    log.write_bytes(data)
    assert runner.main(["replay", str(log)]) == 2
    assert capsys.readouterr().err == f"schedsim replay: {log}: {words}\n"


def test_trace_inspect_and_schedstat_of_an_interrupted_log_stop_where_it_ends(
    tmp_path: Path,
) -> None:
    """They re-run the logged scenario: only as far as the log goes (it ends at ~40 ms of
    a 300 ms run), and a time past that end is refused like one past the run's."""
    from actors.replay import LogEnd, inspect_at, logged_run
    from actors.schedstat import schedstat_of_log
    from actors.trace import rerun_traced

    log = interrupted(tmp_path, LogFormat.MSGPACK, LogLevel.EVENTS)
    end = LogEnd.of(log).vtime_ns
    assert 40_000_000 <= end < 300_000_000
    scenario, _ = logged_run(log)
    assert scenario.config.duration_ns == end
    assert rerun_traced(log).result.now_ns == end
    assert schedstat_of_log(log).startswith("version")
    assert inspect_at(log, end).at_ns == end
    with pytest.raises(ValueError, match="outside the run"):
        inspect_at(log, end + 1_000_000)
    with pytest.raises(ValueError, match="outside the run"):
        schedstat_of_log(log, end + 1_000_000)
