"""``/proc/schedstat`` output (actors/schedstat.py, version 12 of kernel/sched.c 2.6.14).

The header, one ``cpuN`` line per online CPU with its 12 runqueue fields,
and one ``domainK MASK`` line per domain of its chain: 3 x 8 load_balance
fields in idle_type order (SCHED_IDLE, NOT_IDLE, NEWLY_IDLE), alb_cnt
alb_failed alb_pushed, then 9 fields the model does not keep (0).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

import runner
from actors.scenario import load_scenario
from actors.sched import SchedRun
from actors.schedstat import schedstat_of_log, show_schedstat
from actors.stats import CpuStats
from topology import CpuMask

MS = 1_000_000
SHIPPED = runner.shipped_scenarios()


def finished(name: str, until_ns: int | None = None) -> SchedRun:
    scenario = load_scenario(SHIPPED[name])
    config = scenario.config
    if until_ns is not None:
        config = replace(config, duration_ns=until_ns)
    run = SchedRun(config, seed=scenario.seed)
    run.run()
    return run


def test_schedstat_lines_carry_the_run_statistics() -> None:
    run = finished("demo")
    stats = run.statistics()
    tick = run.config.tick_ns
    lines = show_schedstat(run).splitlines()
    assert lines[:2] == ["version 12", f"timestamp {400 * MS // tick}"]
    k = 2
    lb_total = 0
    for actor in run.env.cpus:
        assert actor is not None
        cpu = stats.cpus[actor.cpu]
        assert lines[k].split() == [
            f"cpu{actor.cpu}",
            *["0"] * 9,
            str(cpu.busy_ns // tick),
            "0",
            "0",
        ]
        for level, sd in enumerate(actor.chain):
            words = lines[k + 1 + level].split()
            assert words[:2] == [f"domain{level}", sd.span.hex(4)]
            fields = [int(w) for w in words[2:]]
            assert len(fields) == 3 * 8 + 3 + 9
            for i, idle in enumerate(("idle", "busy", "newidle")):
                assert fields[8 * i : 8 * i + 8] == cpu.lb.get(f"{sd.name}:{idle}", [0] * 8)
            assert fields[24:27] == cpu.alb.get(sd.name, [0] * 3)
            assert fields[27:] == [0] * 9
            lb_total += sum(fields[0:24:8])
        k += 1 + len(actor.chain)
    assert k == len(lines)
    assert lb_total > 0


def test_schedstat_domain_fields_follow_the_idle_type_order_of_2_6_14() -> None:
    """SCHED_IDLE (idle), NOT_IDLE (busy), NEWLY_IDLE: 8 fields each, then the alb three."""
    run = finished("demo", 20 * MS)
    stats = run.statistics()
    actor = run.env.cpus[1]
    assert actor is not None
    level = actor.chain[0].name
    cpu = CpuStats(1, busy_ns=7 * run.config.tick_ns)
    cpu.lb = {f"{level}:{idle}": [10 * i + k for k in range(1, 9)] for i, idle in
              enumerate(("idle", "busy", "newidle"))}  # fmt: skip
    cpu.alb = {level: [31, 32, 33]}
    fake = replace(stats, cpus=(stats.cpus[0], cpu, *stats.cpus[2:]))
    lines = show_schedstat(run, fake).splitlines()
    at = lines.index("cpu1 0 0 0 0 0 0 0 0 0 7 0 0")
    fields = " ".join(str(10 * i + k) for i in range(3) for k in range(1, 9))
    assert lines[at + 1] == f"domain0 {actor.chain[0].span.hex(4)} {fields} 31 32 33" + " 0" * 9


def test_schedstat_leaves_out_offline_cpus() -> None:
    """hotplug-churn: cpu5 goes offline at 40 ms, cpu3 at 80 ms (for_each_online_cpu)."""
    run = finished("hotplug-churn", 100 * MS)
    cpus = [line.split()[0] for line in show_schedstat(run).splitlines() if line.startswith("cpu")]
    assert cpus == ["cpu0", "cpu1", "cpu2", "cpu4", "cpu6", "cpu7"]


def test_schedstat_domain_masks_are_the_spans_in_hex_words() -> None:
    run = finished("seed004-tasklet", 2 * MS)
    masks = [line.split()[1] for line in show_schedstat(run).splitlines() if line.startswith("dom")]
    assert masks[:2] == ["00000000,000000ff", "ffffffff,ffffffff"]
    assert all(CpuMask.parse_hex(mask, 64) for mask in masks)


# -- schedsim inspect --schedstat ---------------------------------------------------------


@pytest.fixture(scope="module")
def demo_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    log = tmp_path_factory.mktemp("schedstat") / "demo.msgpack"
    assert runner.main(["run", "demo", "--log", str(log), "--json", "--no-progress"]) == 0
    return log


def test_inspect_schedstat_at_a_time_reruns_to_that_time(
    demo_log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert runner.main(["inspect", str(demo_log), "--schedstat", "--at", "120ms"]) == 0
    out = capsys.readouterr().out
    assert out == schedstat_of_log(demo_log, 120 * MS)
    assert out.splitlines()[1] == "timestamp 120"
    assert runner.main(["inspect", str(demo_log), "--schedstat"]) == 0
    whole = capsys.readouterr().out
    assert whole.splitlines()[1] == "timestamp 400"
    assert whole == show_schedstat(finished("demo"))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--schedstat", "--at", "5s"], "outside the run"),
        (["--schedstat", "--cpu", "1"], "--cpu does not go with --schedstat"),
        ([], "required: --at"),
    ],
    ids=["outside", "cpu", "no-at"],
)
def test_inspect_schedstat_bad_arguments_are_one_line_and_exit_2(
    demo_log: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    capsys.readouterr()
    assert runner.main(["inspect", str(demo_log), *extra]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("schedsim inspect: ")
    assert message in captured.err
    assert captured.err.count("\n") == 1
