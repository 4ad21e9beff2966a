"""Replay and inspect: a log re-runs to the same records, and shows the state at any time."""

from __future__ import annotations

from pathlib import Path

import pytest

from actors.log import LogFormat, LogLevel, LogSpec
from actors.replay import inspect_at, render_state, replay, run_params
from actors.scenario import parse_scenario
from actors.sched import SchedRun

SCENARIO = """\
# replay-test: a small run with a mems change
[machine]
topology = "numa-2x2"
[run]
duration = "60ms"
setup = \"\"\"
mkdir /dev/cpuset/a
echo 2-3 > /dev/cpuset/a/cpus
echo 1 > /dev/cpuset/a/mems
\"\"\"
[[tasks]]
name = "hog"
count = 5
cpu = 0
[[tasks]]
name = "p"
kind = "periodic"
run = "4ms"
sleep = "20ms"
cpuset = "/a"
mempolicy = { mode = "bind", nodes = "1" }
pages_per_ms = 1
[[at]]
time = "10ms"
shell = "echo 0 > /dev/cpuset/a/mems"
"""


def record(
    tmp_path: Path, level: LogLevel, fmt: LogFormat, text: str = SCENARIO, events: str = "info"
) -> Path:
    source = tmp_path / "replay-test.toml"
    source.write_text(text)
    scenario = parse_scenario(text, str(source), base_dir=str(tmp_path))
    log = tmp_path / f"run.{fmt.value}"
    SchedRun(
        scenario.config,
        seed=scenario.seed,
        log=LogSpec(path=log, level=level, format=fmt, event_level=events),
        scenario=scenario.text,
        params=run_params(scenario),
    ).run()
    return log


@pytest.mark.parametrize(
    ("level", "fmt", "events"),
    [
        (LogLevel.EVENTS, LogFormat.MSGPACK, "info"),
        (LogLevel.EVENTS, LogFormat.MSGPACK, "debug"),
        (LogLevel.MESSAGES, LogFormat.JSONL, "info"),
    ],
    ids=["events-msgpack", "debug-events", "messages-jsonl"],
)
def test_replay_of_a_log_is_identical(
    tmp_path: Path, level: LogLevel, fmt: LogFormat, events: str
) -> None:
    outcome = replay(record(tmp_path, level, fmt, events=events))
    assert outcome.identical
    assert outcome.records > 50


def test_replay_names_the_first_divergence_of_a_tampered_log(tmp_path: Path) -> None:
    log = record(tmp_path, LogLevel.MESSAGES, LogFormat.JSONL)
    lines = log.read_text().splitlines(keepends=True)
    lines[40] = lines[40].replace('"delta":', '"delta": 9', 1).replace(": 9 ", ": 9", 1)
    log.write_text("".join(lines))
    outcome = replay(log)
    assert not outcome.identical
    assert outcome.divergence is not None
    assert outcome.divergence.index == 40


def test_inspect_shows_a_sleeping_task_with_its_rebind_pending(tmp_path: Path) -> None:
    """Seed 002: asleep from 4 ms to 24 ms, the task still binds node 1 at 15 ms."""
    state = inspect_at(record(tmp_path, LogLevel.EVENTS, LogFormat.MSGPACK), 15_000_000)
    (task,) = [t for t in state.tasks if t.name == "p.0"]
    assert (task.state, task.policy, task.rebind_pending) == ("sleeping", "bind 1", "0")
    assert sum(len(c.queue) + (c.current is not None) for c in state.cpus) == 5
    text = render_state(state)
    assert "rebind to 0 pending" in text
    assert "/a: cpus 2-3 mems 0 tasks 1" in text
    later = inspect_at(record(tmp_path, LogLevel.EVENTS, LogFormat.MSGPACK), 30_000_000)
    (task,) = [t for t in later.tasks if t.name == "p.0"]
    assert (task.policy, task.rebind_pending) == ("bind 0", None)


def test_inspect_refuses_a_time_outside_the_run(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="outside the run"):
        inspect_at(record(tmp_path, LogLevel.EVENTS, LogFormat.MSGPACK), 61_000_000)
