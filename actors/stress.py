"""Concurrency stress sweeps: many seeds of random programs, checked, shrunk when they fail.

    report = sweep(range(100), StressOptions(bugs=frozenset({"no-grace-period"})), jobs=2)
    bad = report.failures[0]
    minimal = shrink(generate(bad.seed, opts), bad.seed, violates_like(bad))

Each seed's program comes from `actors.stress_ops.generate` and runs with the
same seed for the bus (``SchedRun(config, seed=seed)``) and the invariant
checker on (actors/checker.py), so an outcome is a pure function of (seed,
options): a sweep gives the same report serially, in a process pool
(`sweep` with ``jobs > 1``) or on a dask.distributed cluster (`sweep_dask`).

A failing seed is shrunk by delta debugging (Zeller's ddmin) over its steps,
then over its task groups, keeping each removal only while the run still
fails the same way (`violates_like`: the same invariant, or a crash of the
same exception type); then the run is cut short after the failure.  The
result is written as a scenario without expectations, so ``schedsim run`` of
it exits 1 with the violation (`stress_main`).

The seeds-per-minute figure of the summary is the only use of the wall clock;
outcomes never depend on it.
"""

from __future__ import annotations

import argparse
import importlib
import multiprocessing
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from itertools import repeat
from pathlib import Path
from typing import Any, TypeVar

from actors.checker import InvariantViolation
from actors.config import BUGS, BalanceMode, SimConfig, SpawnStep, Step
from actors.log import LogLevel, LogSpec
from actors.scenario import parse_duration, parse_scenario
from actors.sched import SchedRun
from actors.stress_ops import (
    DEFAULT_DURATION_NS,
    DEFAULT_MACHINE,
    DEFAULT_OPS,
    StressOptions,
    generate,
    scenario_toml,
)
from cpuset import ERAS
from topology.presets import PRESETS

__all__ = [
    "ClusterError",
    "SeedOutcome",
    "StressOptions",
    "SweepReport",
    "add_stress_arguments",
    "generate",
    "run_seed",
    "scenario_toml",
    "shrink",
    "stress_main",
    "sweep",
    "sweep_dask",
    "violates_like",
]

T = TypeVar("T")
MS = 1_000_000


@dataclass(frozen=True, slots=True)
class SeedOutcome:
    """What one seed's run showed."""

    seed: int
    ok: bool
    violation: str
    """the violation (or crash) in words; "" when ok"""
    invariant: int | None
    """the violated invariant's number (None when ok or on a crash)"""
    ops: int
    """steps in the program"""
    deltas: int
    crash: str = ""
    """the exception type of a crash (an actor raised something that is no violation)"""

    @property
    def signature(self) -> str:
        """How the seed failed, for shrinking: ``invariant N``, ``crash T``, or ""."""
        if self.crash:
            return f"crash {self.crash}"
        return "" if self.invariant is None else f"invariant {self.invariant}"


@dataclass(frozen=True, slots=True)
class SweepReport:
    """The outcomes of a sweep, in seed order, and how long it took (wall clock)."""

    outcomes: tuple[SeedOutcome, ...]
    elapsed_s: float

    @property
    def failures(self) -> tuple[SeedOutcome, ...]:
        return tuple(outcome for outcome in self.outcomes if not outcome.ok)

    def summary(self) -> str:
        n = len(self.outcomes)
        ops = sum(outcome.ops for outcome in self.outcomes)
        deltas = sum(outcome.deltas for outcome in self.outcomes)
        rate = n * 60 / self.elapsed_s if self.elapsed_s > 0 else 0.0
        return (
            f"{n} seeds, {ops} operations, {deltas} deltas, "
            f"{len(self.failures)} violations, {rate:.0f} seeds/min"
        )


# -- one seed ---------------------------------------------------------------------------


def run_config(config: SimConfig, seed: int, log: LogSpec | None = None) -> SeedOutcome:
    """Run *config* with *seed*; an exception other than a violation is recorded as a crash.

    With a *log*, the run is that of the program's scenario text, which the log's
    header carries, so ``schedsim replay`` runs exactly the same thing again.
    """
    text = ""
    if log is not None:
        text = scenario_toml(config, seed, f"stress seed {seed}")
        config = parse_scenario(text).config
    params = {"seed": seed, "duration_ns": config.duration_ns}
    run = SchedRun(config, seed=seed, log=log, scenario=text, params=params)
    try:
        result = run.run()
    except Exception as exc:  # a crash is a finding of the sweep, reported like a violation
        while isinstance(exc, ExceptionGroup) and len(exc.exceptions) == 1:
            exc = exc.exceptions[0]
        crash = type(exc).__name__
        return SeedOutcome(seed, False, f"{crash}: {exc}", None, len(config.steps), 0, crash)
    error = result.error
    invariant = error.invariant if isinstance(error, InvariantViolation) else None
    return SeedOutcome(
        seed=seed,
        ok=error is None,
        violation="" if error is None else str(error),
        invariant=invariant,
        ops=len(config.steps),
        deltas=result.simulation.deltas,
    )


def run_seed(seed: int, opts: StressOptions) -> SeedOutcome:
    """Generate the program of *seed* and run it."""
    return run_config(generate(seed, opts), seed)


def run_chunk(seeds: Sequence[int], opts: StressOptions) -> list[SeedOutcome]:
    """`run_seed` for each of *seeds* (one task of a process pool or dask worker)."""
    return [run_seed(seed, opts) for seed in seeds]


# -- sweeps -------------------------------------------------------------------------------


def sweep(seeds: Iterable[int], opts: StressOptions, jobs: int = 1) -> SweepReport:
    """Run every seed, serially or in *jobs* processes; outcomes in seed order.

    The processes are spawned, so a script calling this with ``jobs > 1`` needs
    the ``if __name__ == "__main__":`` guard (the workers import the script).
    """
    todo = sorted(seeds)
    start = time.perf_counter()
    if jobs <= 1:
        outcomes = [run_seed(seed, opts) for seed in todo]
    else:
        chunks = _chunks(todo, max(jobs * 4, len(todo) // 50))
        # spawn, not fork: a fork of a process that runs trio or threads is unsafe.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            outcomes = [o for chunk in pool.map(run_chunk, chunks, repeat(opts)) for o in chunk]
    return _report(outcomes, start)


class ClusterError(RuntimeError):
    """`sweep_dask` cannot start: dask.distributed is missing or its scheduler unreachable."""


def sweep_dask(
    address: str, seeds: Iterable[int], opts: StressOptions, chunk: int = 25
) -> SweepReport:
    """Run every seed on the dask.distributed cluster at *address* (extra ``cluster``)."""
    try:
        # distributed is the optional, untyped `cluster` extra (not installed by the
        # test gate): loaded by name only when a sweep goes to a cluster.
        distributed: Any = importlib.import_module("distributed")
    except ImportError:
        raise ClusterError(
            "sweep_dask needs dask.distributed: pip install 'schedsim[cluster]'"
        ) from None
    todo = sorted(seeds)
    start = time.perf_counter()
    try:
        client = distributed.Client(address)
    except (ValueError, OSError) as exc:  # an address it cannot parse or reach
        raise ClusterError(f"no dask scheduler at {address!r}: {exc}") from None
    with client:
        chunks = [todo[i : i + chunk] for i in range(0, len(todo), chunk)]
        futures = client.map(run_chunk, chunks, opts=opts, pure=False)
        outcomes = [o for part in client.gather(futures) for o in part]
    return _report(outcomes, start)


def _chunks(items: list[int], parts: int) -> list[list[int]]:
    size = max(1, -(-len(items) // parts))
    return [items[i : i + size] for i in range(0, len(items), size)]


def _report(outcomes: list[SeedOutcome], start: float) -> SweepReport:
    ordered = tuple(sorted(outcomes, key=lambda outcome: outcome.seed))
    return SweepReport(ordered, time.perf_counter() - start)


# -- shrinking ----------------------------------------------------------------------------

Violates = Callable[[SimConfig, int], bool]


def violates_like(outcome: SeedOutcome) -> Violates:
    """A `shrink` predicate: the run fails with the same signature as *outcome*."""
    wanted = outcome.signature

    def violates(config: SimConfig, seed: int) -> bool:
        return wanted != "" and run_config(config, seed).signature == wanted

    return violates


def shrink(config: SimConfig, seed: int, violates: Violates) -> SimConfig:
    """A smaller program that still *violates*: fewer steps and task groups, a shorter run.

    Deterministic: ddmin over the steps, then over the task groups (a group's
    steps go with it; a group whose spawn step is removed goes too), until
    neither shrinks; then the shortest whole-ms duration that still fails.
    """
    if not violates(config, seed):
        raise ValueError(f"seed {seed}: the program does not fail, nothing to shrink")
    while True:
        steps = _ddmin(list(range(len(config.steps))), _by_steps(config, seed, violates))
        smaller = _keep(config, steps, range(len(config.tasks)))
        groups = _ddmin(list(range(len(smaller.tasks))), _by_groups(smaller, seed, violates))
        smaller = _keep(smaller, range(len(smaller.steps)), groups)
        if (len(smaller.steps), len(smaller.tasks)) == (len(config.steps), len(config.tasks)):
            return _shorten(smaller, seed, violates)
        config = smaller


def _by_steps(config: SimConfig, seed: int, violates: Violates) -> Callable[[list[int]], bool]:
    groups = range(len(config.tasks))
    return lambda kept: violates(_keep(config, kept, groups), seed)


def _by_groups(config: SimConfig, seed: int, violates: Violates) -> Callable[[list[int]], bool]:
    steps = range(len(config.steps))
    return lambda kept: violates(_keep(config, steps, kept), seed)


def _keep(config: SimConfig, steps: Iterable[int], groups: Iterable[int]) -> SimConfig:
    """*config* with only the given steps and task groups, made consistent."""
    kept_steps = [config.steps[i] for i in steps]
    wanted = set(groups)
    spawned = {step.task for step in config.steps if isinstance(step, SpawnStep)}
    still = {step.task for step in kept_steps if isinstance(step, SpawnStep)}
    tasks = tuple(
        spec
        for i, spec in enumerate(config.tasks)
        if i in wanted and (spec.name not in spawned or spec.name in still)
    )
    names = {spec.name for spec in tasks}
    consistent = tuple(step for step in kept_steps if _task_of(step) in (*names, None))
    return replace(config, tasks=tasks, steps=consistent)


def _task_of(step: Step) -> str | None:
    task: str | None = getattr(step, "task", None)
    return None if task is None else task.partition(".")[0]


def _ddmin(items: list[T], fails: Callable[[list[T]], bool]) -> list[T]:
    """Zeller's ddmin: a 1-minimal sublist of *items* for which *fails* holds."""
    if items and fails([]):
        return []
    n = 2
    while len(items) >= 2:
        size = -(-len(items) // n)
        chunks = [items[i : i + size] for i in range(0, len(items), size)]
        for k in range(len(chunks)):
            rest = [item for j, chunk in enumerate(chunks) if j != k for item in chunk]
            if fails(chunks[k]):
                items, n = chunks[k], 2
                break
            if len(chunks) > 2 and fails(rest):
                items, n = rest, max(n - 1, 2)
                break
        else:
            if n >= len(items):
                return items
            n = min(len(items), 2 * n)
    return items


def _shorten(config: SimConfig, seed: int, violates: Violates) -> SimConfig:
    """The shortest whole-ms duration that still fails (bisection; steps after it dropped)."""
    low, high = 0, -(-config.duration_ns // MS)
    while high - low > 1:
        mid = (low + high) // 2
        if violates(_until(config, mid * MS), seed):
            high = mid
        else:
            low = mid
    return _until(config, min(high * MS, config.duration_ns))


def _until(config: SimConfig, duration_ns: int) -> SimConfig:
    """*config* run for *duration_ns*, without the steps (and spawned groups) after it."""
    steps = [i for i, step in enumerate(config.steps) if step.at_ns <= duration_ns]
    cut = _keep(config, steps, range(len(config.tasks)))
    return replace(cut, duration_ns=duration_ns)


# -- the command line -----------------------------------------------------------------------


def add_stress_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``schedsim stress`` (the caller sets ``func``)."""
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--seeds", type=_positive, default=100, metavar="N", help="seeds 0..N-1")
    which.add_argument("--seed-range", type=_seed_range, metavar="A:B", help="seeds A..B-1")
    parser.add_argument("--machine", default=DEFAULT_MACHINE, help="preset or synthetic string")
    parser.add_argument("--era", choices=list(ERAS), default="2.6.14", help="cpuset era")
    modes = [mode.value for mode in BalanceMode]
    parser.add_argument(
        "--balancer",
        choices=[*modes, "mixed"],
        default="mixed",
        help="balancer mode (default mixed: each seed draws one)",
    )
    parser.add_argument("--ops", type=_positive, default=DEFAULT_OPS, metavar="K")
    parser.add_argument(
        "--duration", type=_duration, default=DEFAULT_DURATION_NS, metavar="T",
        help='virtual time per seed ("100ms")',
    )  # fmt: skip
    parser.add_argument(
        "--inject", action="append", choices=sorted(BUGS), default=[], metavar="BUG",
        help=f"switch a historic bug back on (repeatable): {', '.join(sorted(BUGS))}",
    )  # fmt: skip
    parser.add_argument("--jobs", type=_positive, default=1, metavar="J", help="processes")
    parser.add_argument("--dask", metavar="ADDRESS", help="run on a dask.distributed scheduler")
    parser.add_argument("--out", default="stress-out", metavar="DIR", help="where failures go")


def stress_options(args: argparse.Namespace) -> StressOptions:
    """The sweep options of parsed ``schedsim stress`` arguments.

    A machine file or directory is made absolute: the kept log and minimal
    scenario name it, and are read from other directories (the scenario's own,
    the shell's at replay time).
    """
    machine = args.machine
    if machine not in PRESETS and Path(machine).exists():
        machine = str(Path(machine).resolve())
    return StressOptions(
        machine=machine,
        era=args.era,
        balance=None if args.balancer == "mixed" else BalanceMode(args.balancer),
        ops=args.ops,
        duration_ns=args.duration,
        bugs=frozenset(args.inject),
    )


def stress_main(args: argparse.Namespace) -> int:
    """``schedsim stress``: 0 when every seed is clean, 1 on a violation (kept in --out).

    --out is made before the sweep, so a bad one is refused (exit 2) before
    any time is spent; it is removed again if nothing was kept in it.
    """
    opts = stress_options(args)
    if "legacy-2.6.13-groups" in opts.bugs and opts.era != "2.6.14":
        print("schedsim stress: legacy-2.6.13-groups needs --era 2.6.14", file=sys.stderr)
        return 2
    generate(0, opts)  # a bad --machine fails here, once, not in every worker
    out = Path(args.out)
    made = [d for d in (out, *out.parents) if not d.exists()]  # innermost first
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"schedsim stress: --out {args.out}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        return _sweep_and_keep(args, opts, out)
    finally:
        for directory in made:
            if any(directory.iterdir()):
                break
            directory.rmdir()


def _sweep_and_keep(args: argparse.Namespace, opts: StressOptions, out: Path) -> int:
    seeds = args.seed_range if args.seed_range is not None else range(args.seeds)
    if args.dask:
        try:
            report = sweep_dask(args.dask, seeds, opts)
        except ClusterError as exc:
            print(f"schedsim stress: --dask: {exc}", file=sys.stderr)
            return 2
    else:
        report = sweep(seeds, opts, jobs=args.jobs)
    print(f"schedsim stress: {report.summary()}")
    failures = report.failures
    if not failures:
        return 0
    try:
        keep_failure(failures[0], opts, out)
    except OSError as exc:  # the violation stands (exit 1) even if its files cannot be kept
        print(f"schedsim stress: cannot keep seed {failures[0].seed} in {out}: {exc}",
              file=sys.stderr)  # fmt: skip
    if len(failures) > 1:
        others = ", ".join(str(outcome.seed) for outcome in failures[1:21])
        print(f"other failing seeds: {others}{' ...' if len(failures) > 21 else ''}")
    return 1


def keep_failure(outcome: SeedOutcome, opts: StressOptions, out: Path) -> tuple[Path, Path]:
    """Re-run *outcome*'s seed into OUT/seed-N.msgpack, shrink it into OUT/seed-N-minimal.toml."""
    out.mkdir(parents=True, exist_ok=True)
    seed, config = outcome.seed, generate(outcome.seed, opts)
    log_path = out / f"seed-{seed}.msgpack"
    log_path.unlink(missing_ok=True)
    again = run_config(config, seed, LogSpec(path=str(log_path), level=LogLevel.EVENTS))
    print(f"seed {seed}: {outcome.violation}")
    if again.signature != outcome.signature:
        print(f"seed {seed}: the logged re-run showed {again.signature or 'no violation'}")
    minimal = shrink(config, seed, violates_like(outcome))
    toml_path = out / f"seed-{seed}-minimal.toml"
    summary = (
        f"seed-{seed}-minimal: stress seed {seed} shrunk to {len(minimal.steps)} of "
        f"{len(config.steps)} steps; {outcome.signature}\n\nThe full program, "
        f"{_command(seed, opts)}, showed:\n{outcome.violation}"
    )
    toml_path.write_text(scenario_toml(minimal, seed, summary), encoding="utf-8")
    print(f"  replay the run:   schedsim replay {log_path}")
    print(f"  minimal scenario: schedsim run {toml_path}")
    return log_path, toml_path


def _command(seed: int, opts: StressOptions) -> str:
    """The ``schedsim stress`` command line that runs the program of *seed* again."""
    words = [f"schedsim stress --seed-range {seed}:{seed + 1} --machine {opts.machine!r}"]
    words.append(f"--era {opts.era} --balancer {opts.balance.value if opts.balance else 'mixed'}")
    words.append(f"--ops {opts.ops} --duration {opts.duration_ns}ns")
    words += [f"--inject {bug}" for bug in sorted(opts.bugs)]
    return " ".join(words)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, not {value}")
    return value


def _seed_range(text: str) -> range:
    first, colon, last = text.partition(":")
    try:
        seeds = range(int(first), int(last))
    except ValueError:
        seeds = range(0)
    if not colon or not seeds or seeds.start < 0:
        raise argparse.ArgumentTypeError(f"a seed range is A:B with 0 <= A < B, not {text!r}")
    return seeds


def _duration(text: str) -> int:
    try:
        ns = parse_duration(text, "--duration")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if ns < MS:
        raise argparse.ArgumentTypeError(f"--duration must be at least 1ms, not {text!r}")
    return ns
