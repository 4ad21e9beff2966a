"""Stress sweeps (SPEC §6): clean programs stay clean, every injected bug is caught and shrunk.

The detection bounds are the seeds a sweep from 0 needs for each bug with the
default options (numa-2x2, 2.6.14, mixed balancers, 12 operations, 100 ms);
a generator change that stops exercising a bug fails its test here.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.config import BUGS, AttachStep, HotplugStep, RebindMode, ShellStep, SimConfig
from actors.replay import replay
from actors.scenario import load_scenario, parse_scenario
from actors.sched import SchedRun
from actors.stress import (
    SeedOutcome,
    _ddmin,
    add_stress_arguments,
    run_config,
    run_seed,
    shrink,
    stress_main,
    sweep,
    sweep_dask,
    violates_like,
)
from actors.stress_ops import OP_KINDS, StressOptions, generate, scenario_toml
from cpuset import DOMAIN_ERAS, ERAS

MS = 1_000_000
DEFAULT = StressOptions()


def first_failure(opts: StressOptions, limit: int) -> SeedOutcome | None:
    for seed in range(limit):
        outcome = run_seed(seed, opts)
        if not outcome.ok:
            return outcome
    return None


def without_lines(config: SimConfig) -> SimConfig:
    """The parser fills in ``line``; generated configs have 0."""
    return replace(
        config,
        tasks=tuple(replace(spec, line=0) for spec in config.tasks),
        steps=tuple(replace(step, line=0) for step in config.steps),
    )


def round_trip(config: SimConfig, seed: int, description: str) -> SimConfig:
    parsed = parse_scenario(scenario_toml(config, seed, description))
    assert parsed.seed == seed
    # a comment line keeps no trailing blanks, so neither does the description
    expected = "\n".join(line.rstrip() for line in description.split("\n")).strip("\n")
    assert parsed.description == expected
    assert parsed.expects == ()
    machine = parsed.config.machine
    assert (machine.cpus, machine.distances) == (config.machine.cpus, config.machine.distances)
    return without_lines(replace(parsed.config, machine=config.machine))  # Machine: eq=False


# -- clean programs ----------------------------------------------------------------------


def test_a_clean_sweep_of_twenty_seeds_finds_no_violation() -> None:
    report = sweep(range(20), DEFAULT)
    assert [outcome.violation for outcome in report.failures] == []
    assert [outcome.seed for outcome in report.outcomes] == list(range(20))
    assert sum(outcome.ops for outcome in report.outcomes) >= 20 * 12
    assert min(outcome.deltas for outcome in report.outcomes) > 50
    assert "20 seeds" in report.summary()
    assert "0 violations" in report.summary()


PLANS = st.lists(
    st.tuples(st.sampled_from(sorted(OP_KINDS)), st.integers(1, 39).map(lambda ms: ms * MS)),
    max_size=8,
)


@given(seed=st.integers(0, 1 << 16), plan=PLANS, era=st.sampled_from(sorted(ERAS)))
def test_random_short_programs_never_violate_without_bugs(
    seed: int, plan: list[tuple[str, int]], era: str
) -> None:
    """Op-list test: any operations, at any times, in any era, keep invariants 1-6."""
    config = generate(seed, StressOptions(era=era, duration_ns=40 * MS), plan)
    assert run_config(config, seed).violation == ""


def test_programs_exercise_every_operation_kind() -> None:
    configs = [generate(seed, StressOptions(era="2.6.24")) for seed in range(30)]
    steps = [step for config in configs for step in config.steps]
    shell = " ".join(step.text for step in steps if isinstance(step, ShellStep))
    words = ("mkdir", "rmdir", "/cpus", "/mems", "cpu_exclusive", "sched_load_balance")
    assert [word for word in (*words, "memory_migrate") if word not in shell] == []
    kinds = {type(step).__name__ for step in steps}
    wanted = {"AttachStep", "AffinityStep", "MempolicyStep", "HotplugStep", "SpawnStep"}
    assert wanted | {"KillStep", "ShellStep"} <= kinds
    assert {config.balance.value for config in configs} == {
        "percpu",
        "tasklet",
        "softirq-serialize",
    }


def test_programs_only_write_files_their_era_has() -> None:
    shell = " ".join(
        step.text
        for seed in range(30)
        for step in generate(seed, DEFAULT).steps
        if isinstance(step, ShellStep)
    )
    assert "sched_load_balance" not in shell
    assert "memory_migrate" not in shell
    v2 = [generate(seed, StressOptions(era="v2")).steps[0] for seed in range(10)]
    assert all(isinstance(s, ShellStep) and s.text.startswith("echo +cpuset") for s in v2)


@given(seed=st.integers(0, 1 << 20))
def test_programs_never_take_a_machine_below_two_online_cpus(seed: int) -> None:
    config = generate(seed, StressOptions(ops=30))
    online = set(config.machine.all_cpus)
    for step in config.steps:
        if isinstance(step, HotplugStep):
            (online.add if step.online else online.discard)(step.cpu)
            assert len(online) >= 2


def test_a_seed_names_one_program() -> None:
    first, again, other = generate(7, DEFAULT), generate(7, DEFAULT), generate(8, DEFAULT)
    assert replace(again, machine=first.machine) == first  # Machine compares by identity
    assert other.steps != first.steps


# -- injected bugs -----------------------------------------------------------------------

DETECTION = [
    # (bug, the violated invariant, seeds from 0 within which a sweep finds it)
    ("legacy-2.6.13-groups", 3, 3),  # SPEC §6.1 / §1.9
    ("no-grace-period", 6, 3),  # SPEC §6.3
    ("no-generation-check", 6, 10),  # SPEC §6.3, via late mailboxes (actors/stress_ops.py)
    ("rebind-outside-task-context", 4, 15),  # SPEC §6.9
    ("no-requeue-check", 1, 3),  # SPEC §6.10
]


def test_every_bug_switch_has_a_detection_test() -> None:
    assert sorted(bug for bug, _, _ in DETECTION) == sorted(BUGS)


@pytest.mark.parametrize(("bug", "invariant", "within"), DETECTION)
def test_a_sweep_catches_the_injected_bug(bug: str, invariant: int, within: int) -> None:
    found = first_failure(StressOptions(bugs=frozenset({bug})), within)
    assert found is not None, f"{bug}: no violation in seeds 0..{within - 1}"
    assert (found.invariant, found.crash) == (invariant, "")
    assert run_seed(found.seed, DEFAULT).ok  # the same program is clean without the bug


def test_a_crash_is_recorded_as_a_failure_of_its_seed(monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(self: SchedRun) -> None:
        raise ExceptionGroup("actors", [KeyError(7)])

    monkeypatch.setattr(SchedRun, "run", crash)
    outcome = run_seed(3, DEFAULT)
    assert (outcome.ok, outcome.invariant, outcome.signature) == (False, None, "crash KeyError")
    assert outcome.violation == "KeyError: 7"


def test_a_parallel_sweep_equals_the_serial_one() -> None:
    opts = StressOptions(bugs=frozenset({"no-requeue-check"}))
    serial = sweep(range(12), opts)
    assert serial.failures  # the comparison covers violations too
    assert sweep(range(11, -1, -1), opts, jobs=2).outcomes == serial.outcomes


def test_a_dask_sweep_equals_the_serial_one() -> None:
    distributed = pytest.importorskip(
        "distributed", reason="dask.distributed is not installed (extra: cluster)"
    )
    opts = StressOptions(bugs=frozenset({"no-requeue-check"}))
    with distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
    ) as cluster:
        remote = sweep_dask(cluster.scheduler_address, range(8), opts, chunk=3)
    assert remote.outcomes == sweep(range(8), opts).outcomes


# -- shrinking and reproducers -------------------------------------------------------------


def test_shrinking_keeps_the_violation_with_fewer_steps() -> None:
    """The minimal scenario, parsed back from its TOML, still violates invariant 4 (§6.9)."""
    opts = StressOptions(bugs=frozenset({"rebind-outside-task-context"}))
    found = first_failure(opts, 15)
    assert found is not None
    config = generate(found.seed, opts)
    minimal = shrink(config, found.seed, violates_like(found))
    assert 0 < len(minimal.steps) < len(config.steps)
    assert len(minimal.tasks) <= len(config.tasks)
    assert minimal.duration_ns <= config.duration_ns
    scenario = parse_scenario(scenario_toml(minimal, found.seed, "minimal"))
    result = SchedRun(scenario.config, seed=scenario.seed).run()
    assert getattr(result.error, "invariant", None) == 4
    assert shrink(config, found.seed, violates_like(found)) == minimal  # deterministic


def test_shrinking_refuses_a_program_that_does_not_fail() -> None:
    with pytest.raises(ValueError, match="does not fail"):
        shrink(generate(0, DEFAULT), 0, violates_like(run_seed(0, DEFAULT)))


@given(needed=st.sets(st.integers(0, 19), max_size=4), size=st.integers(0, 20))
def test_ddmin_finds_exactly_the_items_a_failure_needs(needed: set[int], size: int) -> None:
    items = list(range(size))
    wanted = needed & set(items)
    kept = _ddmin(items, lambda subset: wanted <= set(subset))
    assert sorted(kept) == sorted(wanted)


@given(
    seed=st.integers(0, 1 << 16),
    era=st.sampled_from(sorted(ERAS)),
    bugs=st.frozensets(st.sampled_from(sorted(BUGS))),
    hz=st.sampled_from([100, 250, 1000]),
    flags=st.tuples(st.booleans(), st.booleans(), st.booleans(), st.booleans()),
    setup=st.text(st.characters(exclude_categories=["Cs"]), max_size=30),
    description=st.text(st.characters(min_codepoint=32, max_codepoint=0x7E), max_size=40),
    domain=st.booleans(),
)
def test_scenario_toml_parses_back_into_the_same_config(
    seed: int,
    era: str,
    bugs: frozenset[str],
    hz: int,
    flags: tuple[bool, bool, bool, bool],
    setup: str,
    description: str,
    domain: bool,
) -> None:
    exact, newidle, active, direct = flags
    config = replace(
        generate(seed, StressOptions(era=era, bugs=bugs)),
        hz=hz,
        exact_ticks=exact,
        newidle=newidle,
        active_balance=active,
        rebind=RebindMode.DIRECT if direct else RebindMode.LAZY,
        domain_era=DOMAIN_ERAS[era][-1] if domain else None,
        sample_ms=3 if exact else 1,
        check=not newidle,
        setup=setup,
    )
    assert round_trip(config, seed, f"stress seed {seed}\n{description}") == config


# -- the command --------------------------------------------------------------------------


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_stress_arguments(parser)
    return parser.parse_args(argv)


def test_stress_main_prints_one_summary_line_and_exits_0_when_clean(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert stress_main(parse("--seeds", "3", "--out", str(tmp_path / "out"))) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1
    assert out[0].startswith("schedsim stress: 3 seeds, ")
    assert "0 violations" in out[0]
    assert "seeds/min" in out[0]
    assert not (tmp_path / "out").exists()


def test_stress_main_keeps_a_replayable_log_and_a_minimal_scenario(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import runner

    found = first_failure(StressOptions(bugs=frozenset({"no-requeue-check"})), 3)
    assert found is not None
    seed, out = found.seed, tmp_path / "out"
    argv = ["--seed-range", f"{seed}:{seed + 1}", "--inject", "no-requeue-check"]
    args = parse(*argv, "--out", str(out))
    assert stress_main(args) == 1
    printed = capsys.readouterr().out
    log, minimal = out / f"seed-{seed}.msgpack", out / f"seed-{seed}-minimal.toml"
    assert f"schedsim replay {log}" in printed
    assert f"schedsim run {minimal}" in printed
    assert replay(log).identical
    scenario = load_scenario(minimal)
    assert (scenario.expects, scenario.config.bugs) == ((), frozenset({"no-requeue-check"}))
    assert runner.main(["run", str(minimal), "--no-progress"]) == 1
    assert "invariant 1 violated" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [["--seed-range", "5:2"], ["--seed-range", "x"], ["--seeds", "0"], ["--duration", "0.5ms"]],
)
def test_stress_arguments_refuse_bad_values(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        parse(*argv)


def test_the_legacy_builder_needs_the_2614_cpuset_era(capsys: pytest.CaptureFixture[str]) -> None:
    args = parse("--seeds", "1", "--era", "v2", "--inject", "legacy-2.6.13-groups")
    assert stress_main(args) == 2
    assert "needs --era 2.6.14" in capsys.readouterr().err


def test_attach_steps_name_groups_that_exist() -> None:
    """Every task a step names is a group of the program (the scenario parser insists)."""
    for seed in range(20):
        config = generate(seed, DEFAULT)
        names = {spec.name for spec in config.tasks}
        for step in config.steps:
            if isinstance(step, AttachStep):
                assert step.task.partition(".")[0] in names
