"""The benchmark suite in one command: one table, medians, ranges, ratios, target verdicts.

    python bench/run.py                    # everything (~30 minutes on the 2-core box)
    python bench/run.py --quick            # shorter runs, same rows (~3 minutes)
    python bench/run.py --big              # and the 4096-CPU, 64-node run (one run, long)
    python bench/run.py --only engine,domains --quick
    python bench/run.py --json out.json    # the table, and every sample as JSON in out.json
    python bench/run.py --json             # JSON on stdout, the table on stderr

Sections (`--only` takes their names): ``engine`` (bench/engine.py: bus vs
SimPy vs plain trio), ``domains`` (bench/domains.py), ``simulate``
(bench/simulate.py's `measure`, one fresh interpreter per run), ``logging``
and ``replay`` (the same, with a log), ``stress`` (bench/stress.py), and
``big`` (only with ``--big`` or ``--only big``).

Every row is the median of its runs (at least 3, but the ``big`` row), with
the smallest and largest run beside it.  A ratio row divides the i-th run of
one measurement by the i-th run of the other (the runs are interleaved, so
the i-th runs shared the box's load) and shows the median and range of those
quotients.  Targets are judged on the median: "ok" or "MISSED".  Progress goes
to stderr.  A benchmark prints; it never asserts and exits 0 on a missed target.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from actors.stress import StressOptions, SweepReport
from bench import domains, simulate
from bench import stress as stress_bench


@dataclass(frozen=True, slots=True)
class Plan:
    """Sizes and durations of one invocation (`FULL` or `QUICK`)."""

    repeats: int
    engine_sizes: tuple[int, ...]
    engine_events: int
    domain_sizes: tuple[int, ...]
    sim_modes: tuple[str, ...]
    sim_cpus: tuple[int, ...]
    sim_ms: int
    scaling: tuple[int, int]
    """(large, small) CPU counts of the wall-per-simulated-second ratio row"""
    scaling_target: float | None
    log_cpus: int
    log_ms: int
    stress_seeds: int


FULL = Plan(
    repeats=3,
    engine_sizes=(64, 1024, 4096),
    engine_events=300_000,
    domain_sizes=(64, 512, 4096),
    sim_modes=simulate.MODES,
    sim_cpus=(64, 128, 256, 1024),
    sim_ms=1000,
    scaling=(1024, 128),
    scaling_target=9.0,
    log_cpus=128,
    log_ms=1000,
    stress_seeds=stress_bench.SEEDS,
)
# SIMPLIFIED: --quick judges no scaling target: 9x is the target for 8x the CPUs.
QUICK = Plan(
    repeats=3,
    engine_sizes=(64, 1024),
    engine_events=60_000,
    domain_sizes=(64, 512, 4096),
    sim_modes=simulate.MODES,
    sim_cpus=(64, 128),
    sim_ms=200,
    scaling=(128, 64),
    scaling_target=None,
    log_cpus=128,
    log_ms=200,
    stress_seeds=stress_bench.QUICK_SEEDS,
)
BIG = {"mode": "tasklet", "cpus": 4096, "nodes": 64, "duration_ms": 1000}
BIG_WALL_S = 600.0
BIG_RSS_MIB = 2048.0
SECTIONS = ("engine", "domains", "simulate", "logging", "replay", "stress", "big")
DEFAULT_SECTIONS = SECTIONS[:-1]


# -- rows and the table -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    """A bound the median should keep: ``op`` is "<=" or ">="."""

    op: str
    value: float
    unit: str = ""

    def met(self, measured: float) -> bool:
        return measured <= self.value if self.op == "<=" else measured >= self.value

    def __str__(self) -> str:
        return f"{self.op} {self.value:g}{self.unit}"


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the table: a measurement's runs, or a failure (no samples, a note)."""

    section: str
    name: str
    unit: str
    samples: tuple[float, ...]
    target: Target | None = None
    note: str = ""

    @property
    def median(self) -> float | None:
        return statistics.median(self.samples) if self.samples else None

    @property
    def verdict(self) -> str:
        median = self.median
        if self.target is None or median is None:
            return ""
        return "ok" if self.target.met(median) else "MISSED"

    def as_dict(self) -> dict[str, Any]:
        return {
            "section": self.section,
            "name": self.name,
            "unit": self.unit,
            "samples": list(self.samples),
            "median": self.median,
            "min": min(self.samples, default=None),
            "max": max(self.samples, default=None),
            "target": None if self.target is None else str(self.target),
            "verdict": self.verdict,
            "note": self.note,
        }


def ratios(top: Sequence[float | None], bottom: Sequence[float | None]) -> tuple[float, ...]:
    """top[i] / bottom[i] for the runs where both exist (None: a failed run)."""
    return tuple(t / b for t, b in zip(top, bottom, strict=False) if t is not None and b)


def format_value(value: float, unit: str = "") -> str:
    """Three or so significant digits, thousands separated; ratios with three decimals."""
    size = abs(value)
    if unit == "x":  # three decimals, so a MISSED 1.302 does not show as 1.30
        return f"{value:.3f}" if size < 10 else f"{value:.2f}"
    if size >= 1000:
        return f"{value:,.0f}"
    if size >= 100:
        return f"{value:.0f}"
    if size >= 10:
        return f"{value:.1f}"
    if size >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def row_cells(row: Row) -> list[str]:
    """name, median, (min-max), unit, runs, target, verdict, note."""
    if not row.samples:
        median, spread = "-", ""
    else:
        median = format_value(statistics.median(row.samples), row.unit)
        low, high = min(row.samples), max(row.samples)
        spread = (
            "(1 run)"
            if len(row.samples) == 1
            else f"({format_value(low, row.unit)}-{format_value(high, row.unit)})"
        )
    target = "" if row.target is None else f"target {row.target}"
    cells = [row.name, median, spread, row.unit, str(len(row.samples)), target, row.verdict]
    return [*cells, row.note]


RIGHT = (False, True, True, False, True, False, False, False)


def format_table(rows: Sequence[Row]) -> str:
    """Rows under their section names, every column aligned."""
    header = ["", "median", "(min-max)", "unit", "runs", "", "", ""]
    table = [header] + [row_cells(row) for row in rows]
    widths = [max(len(cells[i]) for cells in table) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        text = "  ".join(
            cell.rjust(width) if right else cell.ljust(width)
            for cell, width, right in zip(cells, widths, RIGHT, strict=True)
        )
        return "  " + text.rstrip()

    lines = [line(header)]
    section = None
    for row, cells in zip(rows, table[1:], strict=True):
        if row.section != section:
            section = row.section
            lines.append(section)
        lines.append(line(cells))
    return "\n".join(lines)


# -- progress -------------------------------------------------------------------------------


@dataclass
class Progress:
    """Progress lines on stderr, stamped with the seconds since the suite started."""

    start: float = field(default_factory=time.perf_counter)
    stream: TextIO = sys.stderr

    def __call__(self, section: str, text: str) -> None:
        elapsed = time.perf_counter() - self.start
        print(f"[{elapsed:7.1f}s] {section}: {text}", file=self.stream, flush=True)


Section = Callable[[Plan, Progress, list[dict[str, Any]]], list[Row]]


# -- sections ---------------------------------------------------------------------------


def engine_section(plan: Plan, say: Progress, raw: list[dict[str, Any]]) -> list[Row]:
    """Events/s of SimPy, trio, the bus and the bus with its default log; their ratios."""
    try:
        from bench import engine
    except ImportError as exc:  # simpy is the `bench` extra, which the test gate lacks
        return [Row("engine", "engine", "", (), note=f"{exc}: pip install -e '.[bench]'")]
    rows = []
    with tempfile.TemporaryDirectory(prefix="schedsim-bench-") as tmp:
        for model in engine.MODELS:
            for n in plan.engine_sizes:
                say("engine", f"{model} N={n}, {plan.engine_events:,} events x {plan.repeats}")
                runs = engine.samples(model, n, plan.engine_events, plan.repeats, Path(tmp))
                raw.append({"section": "engine", "model": model, "n": n, **runs})
                rows += engine_rows(model, n, runs)
    return rows


def engine_rows(model: str, n: int, runs: dict[str, list[float]]) -> list[Row]:
    name = f"{model} N={n}"
    rows = [Row("engine", f"{name} {e}", "ev/s", tuple(runs[e])) for e in runs]
    simpy_target = Target(">=", 0.35, "x") if model == "lockstep" else None
    for label, top, bottom, target in (
        ("bus/simpy", "bus", "simpy", simpy_target),
        ("bus/trio", "bus", "trio", Target(">=", 3.0, "x")),
        ("log cost bus/bus+log", "bus", "bus+log", Target("<=", 1.3, "x")),
    ):
        rows.append(Row("engine", f"{name} {label}", "x", ratios(runs[top], runs[bottom]), target))
    return rows


def domains_section(plan: Plan, say: Progress, raw: list[dict[str, Any]]) -> list[Row]:
    """Sched-domain build seconds per size and era; the largest/second-largest ratio."""
    rows = []
    for era in domains.ERAS:
        sizes = ", ".join(f"{n} CPUs ({domains.SIZES[n]})" for n in plan.domain_sizes)
        say("domains", f"era {era}: {plan.repeats} rounds of {sizes}")
        times = domains.interleaved_samples(plan.domain_sizes, era, plan.repeats)
        raw.append({"section": "domains", "era": era, "seconds": times})
        for cpus in plan.domain_sizes:
            target = Target("<=", domains.TARGET_4096_S, " s") if cpus == 4096 else None
            rows.append(Row("domains", f"{era} {cpus} CPUs build", "s", tuple(times[cpus]), target))
        if 4096 in times and 512 in times:
            target = Target("<=", domains.TARGET_RATIO, "x")
            quotients = ratios(times[4096], times[512])
            rows.append(Row("domains", f"{era} 4096/512 build", "x", quotients, target))
    return rows


def measure_or_none(say: Progress, section: str, tag: str, **kwargs: Any) -> dict[str, Any] | None:
    """`simulate.measure(**kwargs)`, or None (and a progress line) when the run failed."""
    label = f"{tag}{kwargs['mode']} {kwargs['cpus']} CPUs {kwargs['duration_ms']} ms"
    label += f" log={kwargs.get('log', 'off')}" + (" +replay" if kwargs.get("replay") else "")
    try:
        result = simulate.measure(**kwargs)
    except RuntimeError as exc:  # the child failed: a row says so, the suite goes on
        say(section, f"{label}: FAILED {exc}")
        return None
    extra = f", replay {result['replay_s']:.2f} s" if result.get("replay_s") is not None else ""
    say(section, f"{label}: {result['wall_s']:.2f} s wall{extra}, status {result['status']}")
    return result


SIM_TARGETS = {"events_per_s": Target(">=", 50_000, " ev/s")}
"""Issue 8: the full simulation at >= 50k simulated events (bus deliveries) per second."""

METRICS = (
    ("wall", "wall_s", "s"),
    ("events/s", "events_per_s", "ev/s"),
    ("wall per sim s", "wall_per_sim_s", "s/sim-s"),
    ("peak RSS", "peak_rss_mib", "MiB"),
)


def values(runs: Sequence[dict[str, Any] | None], key: str) -> list[float | None]:
    """runs[i][key] per run, None for a failed run (paired up by `ratios`)."""
    return [None if run is None or run.get(key) is None else float(run[key]) for run in runs]


def present(samples: Sequence[float | None]) -> tuple[float, ...]:
    return tuple(sample for sample in samples if sample is not None)


def problems(runs: Sequence[dict[str, Any] | None]) -> str:
    """A note on failed runs and runs whose simulation ended in an error."""
    failed = sum(run is None for run in runs)
    errors = [run for run in runs if run is not None and run.get("error")]
    notes = [f"{failed} run(s) FAILED (see stderr)"] if failed else []
    if errors:
        notes.append(f"status {errors[0]['status']}: {str(errors[0]['error'])[:60]}")
    return "; ".join(notes)


def run_rows(
    section: str, name: str, runs: Sequence[dict[str, Any] | None], targets: dict[str, Target]
) -> list[Row]:
    """One row per metric of *runs*; the first carries the note on failures."""
    note = problems(runs)
    rows = []
    for i, (label, key, unit) in enumerate(METRICS):
        samples = present(values(runs, key))
        rows.append(
            Row(section, f"{name} {label}", unit, samples, targets.get(key), note * (i == 0))
        )
    return rows


def simulate_section(plan: Plan, say: Progress, raw: list[dict[str, Any]]) -> list[Row]:
    """The scaled seed004 workload per balancer mode and size; the scaling ratio per mode."""
    runs: dict[tuple[str, int], list[dict[str, Any] | None]] = {}
    for rep in range(plan.repeats):
        for mode in plan.sim_modes:
            for cpus in plan.sim_cpus:
                tag = f"{rep + 1}/{plan.repeats} "
                kwargs = {"mode": mode, "cpus": cpus, "duration_ms": plan.sim_ms}
                result = measure_or_none(say, "simulate", tag, **kwargs)
                runs.setdefault((mode, cpus), []).append(result)
                raw.append({"section": "simulate", "mode": mode, "cpus": cpus, "result": result})
    rows = []
    large, small = plan.scaling
    for mode in plan.sim_modes:
        for cpus in plan.sim_cpus:
            rows += run_rows("simulate", f"{mode} {cpus} CPUs", runs[mode, cpus], SIM_TARGETS)
        if (mode, large) in runs and (mode, small) in runs:
            top = values(runs[mode, large], "wall_per_sim_s")
            bottom = values(runs[mode, small], "wall_per_sim_s")
            target = None if plan.scaling_target is None else Target("<=", plan.scaling_target, "x")
            name = f"{mode} wall per sim s {large}/{small} CPUs"
            rows.append(Row("simulate", name, "x", ratios(top, bottom), target))
    return rows


def logging_section(plan: Plan, say: Progress, raw: list[dict[str, Any]]) -> list[Row]:
    """The tasklet run without a log, with the default (events) log and the messages log."""
    levels = ("off", "events", "messages")
    runs: dict[str, list[dict[str, Any] | None]] = {level: [] for level in levels}
    for rep in range(plan.repeats):
        for level in levels:
            kwargs = {"mode": "tasklet", "cpus": plan.log_cpus, "duration_ms": plan.log_ms}
            result = measure_or_none(
                say, "logging", f"{rep + 1}/{plan.repeats} ", log=level, **kwargs
            )
            runs[level].append(result)
            raw.append({"section": "logging", "log": level, "result": result})
    name = f"tasklet {plan.log_cpus} CPUs"
    rows = []
    for level in levels:
        samples = present(values(runs[level], "wall_s"))
        rows.append(
            Row("logging", f"{name} log={level} wall", "s", samples, note=problems(runs[level]))
        )
    off = values(runs["off"], "wall_s")
    for level, target in (("events", Target("<=", 1.3, "x")), ("messages", None)):
        quotients = ratios(values(runs[level], "wall_s"), off)
        rows.append(Row("logging", f"{name} wall {level}/off", "x", quotients, target))
    return rows


def replay_section(plan: Plan, say: Progress, raw: list[dict[str, Any]]) -> list[Row]:
    """Replaying a run's events log (re-run and compare) against the logged run itself."""
    runs = []
    for rep in range(plan.repeats):
        kwargs = {"mode": "tasklet", "cpus": plan.log_cpus, "duration_ms": plan.log_ms}
        tag = f"{rep + 1}/{plan.repeats} "
        result = measure_or_none(say, "replay", tag, log="events", replay=True, **kwargs)
        runs.append(result)
        raw.append({"section": "replay", "result": result})
    name = f"tasklet {plan.log_cpus} CPUs log=events"
    wall, replay = values(runs, "wall_s"), values(runs, "replay_s")
    note = problems(runs)
    return [
        Row("replay", f"{name} run wall", "s", present(wall), note=note),
        Row("replay", f"{name} replay", "s", present(replay)),
        Row("replay", f"{name} replay/run", "x", ratios(replay, wall), Target("<=", 1.1, "x")),
    ]


def stress_section(plan: Plan, say: Progress, raw: list[dict[str, Any]]) -> list[Row]:
    """Seeds per minute of a serial sweep on the default stress machine."""
    n = plan.stress_seeds

    def done(i: int, report: SweepReport) -> None:
        say("stress", f"sweep {i + 1}/{plan.repeats}: {report.summary()}")

    reports = stress_bench.sweeps(n, plan.repeats, done=done)
    rates = tuple(stress_bench.seeds_per_minute(report) for report in reports)
    raw.append({"section": "stress", "seeds": n, "elapsed_s": [r.elapsed_s for r in reports]})
    failures = len(reports[-1].failures)
    note = f"{failures} seed(s) violated an invariant" if failures else ""
    machine = StressOptions().machine
    return [Row("stress", f"serial sweep, {n} seeds, {machine}", "seeds/min", rates, note=note)]


def big_section(plan: Plan, say: Progress, raw: list[dict[str, Any]]) -> list[Row]:
    """One 4096-CPU, 64-node tasklet run of one simulated second (long)."""
    result = measure_or_none(say, "big", "1/1 ", **BIG)
    raw.append({"section": "big", **BIG, "result": result})
    targets = {
        "wall_s": Target("<=", BIG_WALL_S, " s"),
        "peak_rss_mib": Target("<=", BIG_RSS_MIB, " MiB"),
    }
    name = f"{BIG['mode']} {BIG['cpus']} CPUs {BIG['nodes']} nodes"
    return run_rows("big", name, [result], targets)


RUNNERS: dict[str, Section] = {
    "engine": engine_section,
    "domains": domains_section,
    "simulate": simulate_section,
    "logging": logging_section,
    "replay": replay_section,
    "stress": stress_section,
    "big": big_section,
}


# -- the command line ------------------------------------------------------------------------


def header(quick: bool) -> dict[str, Any]:
    return {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "loadavg": list(os.getloadavg()),
        "plan": "quick" if quick else "full",
    }


def header_line(info: dict[str, Any]) -> str:
    load = " ".join(f"{x:.2f}" for x in info["loadavg"])
    return (
        f"schedsim bench ({info['plan']})  {info['date']}  Python {info['python']}  "
        f"{info['cpus']} CPUs  load average {load}"
    )


def sections_of(text: str | None, big: bool) -> list[str]:
    """The sections to run, in suite order: --only's, else the default ones (+ big)."""
    if text is None:
        return [*DEFAULT_SECTIONS, "big"] if big else list(DEFAULT_SECTIONS)
    wanted = {word.strip() for word in text.split(",") if word.strip()}
    unknown = wanted - set(SECTIONS)
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown section(s) {', '.join(sorted(unknown))}; choose from {', '.join(SECTIONS)}"
        )
    if big:
        wanted.add("big")
    return [name for name in SECTIONS if name in wanted]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="short runs (~3 minutes)")
    parser.add_argument("--big", action="store_true", help="add the 4096-CPU, 64-node run")
    parser.add_argument("--only", metavar="SECTION[,SECTION]", help=", ".join(SECTIONS))
    parser.add_argument(
        "--json", nargs="?", const="-", metavar="PATH",
        help="write every sample and median as JSON to PATH (no PATH: stdout, table to stderr)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    try:
        names = sections_of(args.only, args.big)
    except argparse.ArgumentTypeError as exc:
        parser.error(str(exc))
    plan = QUICK if args.quick else FULL
    info = header(args.quick)
    say = Progress()
    say("suite", f"{header_line(info)}; sections {', '.join(names)}")
    rows: list[Row] = []
    raw: list[dict[str, Any]] = []
    for name in names:
        rows += RUNNERS[name](plan, say, raw)
    elapsed = time.perf_counter() - say.start
    load_end = " ".join(f"{x:.2f}" for x in os.getloadavg())
    out = sys.stderr if args.json == "-" else sys.stdout
    print(header_line(info), file=out)
    print(format_table(rows), file=out)
    print(f"{elapsed:.0f} s in all; load average at the end {load_end}", file=out, flush=True)
    if args.json is not None:
        document = {**info, "elapsed_s": elapsed, "plan_sizes": asdict(plan)}
        document |= {"rows": [row.as_dict() for row in rows], "raw": raw}
        text = json.dumps(document, indent=1, default=str)
        if args.json == "-":
            print(text)
        else:
            Path(args.json).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
