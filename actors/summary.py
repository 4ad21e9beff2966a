"""The end-of-run summary of ``schedsim run``: tables for people, one JSON object for machines.

Pure formatting over a finished `SchedResult` and its checked expectations
(actors/expect.py); nothing here runs a simulation.  `summary_sections` gives
headings and `SummaryTable` values in plain text -- runner.py draws them with
rich, which the actors layer does not import (tests/test_layering.py) -- and
`summary_json` the same figures as one JSON-ready dict.

What is shown:

* per CPU: utilization (busy_ns / run length), balance passes, newly idle
  passes (§2.9), tasklet refusals (LB-T2), SD_SERIALIZE skips (LB-T3), active
  balances (§2.10), migrations in per domain level, passes aborted because
  their generation was retired (invariant 6);
* per cpuset (the cpuset each task ended in): tasks, the CPUs its tasks ran
  on, their mean NUMA locality (share of runtime on the node of their pages);
* per task group (``[[tasks]]`` name; ``name+`` its fork children): tasks,
  cpusets, CPUs, summed run and wait time, migrations, locality;
* machine-wide: the imbalance score (mean, final, convergence time), domain
  rebuilds, step errors, and each expectation with PASS or FAIL.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from actors.config import SimConfig
from actors.expect import COUNTERS, ExpectOutcome
from actors.sched import SchedResult
from actors.stats import CpuStats, SchedStatistics, TaskStats
from topology import CpuMask

__all__ = ["SummaryTable", "summary_json", "summary_sections", "task_group"]

_LEVEL_ORDER = ("SIBLING", "SMT", "CLS", "MC", "CPU", "PKG", "DIE", "NODE", "NUMA", "ALLNODES")
"""Domain level names, innermost first (2.6 builder names, then the modern ones)."""


@dataclass(frozen=True, slots=True)
class SummaryTable:
    """A titled table of text cells; *numeric* columns are right-aligned."""

    title: str
    columns: tuple[str, ...]
    numeric: tuple[bool, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str = ""
    """a legend printed under the table"""


Section = str | SummaryTable


# -- shared figures ------------------------------------------------------------------


def _levels(cpus: Iterable[CpuStats]) -> list[str]:
    """Every level some migration came in through, innermost first."""
    seen = {level for c in cpus for level in c.migrations_in}
    known = [level for level in _LEVEL_ORDER if level in seen]
    return known + sorted(seen - set(_LEVEL_ORDER))


def _utilization(cpu: CpuStats, duration_ns: int) -> float:
    return cpu.busy_ns / duration_ns if duration_ns else 0.0


def _cpusets(stats: SchedStatistics) -> list[tuple[str, list[TaskStats], CpuMask | None]]:
    """(path, its tasks, CPUs its tasks ran on) for every cpuset with a task or a run."""
    paths = sorted({t.cpuset for t in stats.tasks} | set(stats.ran_on))
    return [
        (path, [t for t in stats.tasks if t.cpuset == path], stats.ran_on.get(path))
        for path in paths
    ]


def task_group(name: str) -> str:
    """The ``[[tasks]]`` group of a task name: ``hog.3`` -> ``hog``, fork children -> ``hog+``."""
    group, _, rest = name.partition(".")
    return f"{group}+" if "+" in rest else group


def _groups(stats: SchedStatistics) -> list[tuple[str, list[TaskStats], CpuMask]]:
    """(group, its tasks, CPUs they ran on) for every task group, sorted by name."""
    groups: dict[str, list[TaskStats]] = {}
    for task in stats.tasks:
        groups.setdefault(task_group(task.name), []).append(task)
    out = []
    for group, tasks in sorted(groups.items()):
        ran_on = CpuMask()
        for task in tasks:
            ran_on |= stats.ran_on_task.get(task.name, CpuMask())
        out.append((group, tasks, ran_on))
    return out


def _mean_locality(tasks: Sequence[TaskStats]) -> float | None:
    values = [t.locality for t in tasks if t.locality is not None]
    return sum(values) / len(values) if values else None


def _ms(ns: int | None) -> str:
    return "never" if ns is None else f"{ns / 1_000_000:g} ms"


def _heading(name: str, result: SchedResult, seed: int | None, config: SimConfig | None) -> str:
    """Two lines: the scenario and its machine; the seed, run length and how it ended."""
    first = name
    if config is not None:
        machine = config.machine
        first += (
            f": {config.machine_desc or machine.name} ({machine.nr_cpus} CPUs), cpuset era "
            f"{config.cpuset_era}, domains {config.chosen_domain_era}, "
            f"balancer {config.balance.value}"
        )
    seeded = "" if seed is None else f"seed {seed}, "
    return f"{first}\n{seeded}{_ms(result.now_ns)} of virtual time, ended {result.status}"


# -- tables ------------------------------------------------------------------------------


def _cpu_table(stats: SchedStatistics) -> SummaryTable:
    levels = _levels(stats.cpus)
    head = ("cpu", "util%", "passes", "newidle", "refused", "skips", "active")
    columns = (*head, *levels, "aborted")
    rows = [_cpu_row(str(c.cpu), [c], stats.duration_ns, levels) for c in stats.cpus]
    if len(stats.cpus) > 1:
        rows.append(_cpu_row("all", stats.cpus, stats.duration_ns, levels))
    numeric = (False, *(True for _ in columns[1:]))
    note = "passes: periodic balance passes, newidle: newly idle passes, refused: tasklet "
    note += "refusals, skips: SD_SERIALIZE skips, active: active balances"
    if levels:
        note += f", {'/'.join(levels)}: migrations in through that domain level"
    return SummaryTable("CPUs", columns, numeric, tuple(rows), note)


def _cpu_row(
    label: str, cpus: Sequence[CpuStats], duration_ns: int, levels: Sequence[str]
) -> tuple[str, ...]:
    util = sum(_utilization(c, duration_ns) for c in cpus) / len(cpus)

    def total(counter: str) -> str:
        return str(sum(int(getattr(c, counter)) for c in cpus))

    counters = ("passes", "newidle_passes", "tasklet_refusals", "serialize_skips")
    migrations = (str(sum(c.migrations_in.get(level, 0) for c in cpus)) for level in levels)
    return (
        label,
        f"{100 * util:.1f}",
        *(total(counter) for counter in counters),
        total("active_balances"),
        *migrations,
        total("aborted"),
    )


def _cpuset_table(stats: SchedStatistics) -> SummaryTable:
    rows = []
    for path, tasks, ran_on in _cpusets(stats):
        locality = _mean_locality(tasks)
        shown = "-" if locality is None else f"{100 * locality:.1f} %"
        rows.append((path, str(len(tasks)), "-" if ran_on is None else str(ran_on), shown))
    columns = ("cpuset", "tasks", "ran on", "locality")
    return SummaryTable("cpusets", columns, (False, True, False, True), tuple(rows))


def _group_table(stats: SchedStatistics) -> SummaryTable:
    rows = []
    for group, tasks, ran_on in _groups(stats):
        locality = _mean_locality(tasks)
        rows.append(
            (
                group,
                str(len(tasks)),
                ",".join(sorted({t.cpuset for t in tasks})),
                str(ran_on) or "-",
                f"{sum(t.runtime_ns for t in tasks) / 1e6:.1f}",
                f"{sum(t.wait_ns for t in tasks) / 1e6:.1f}",
                str(sum(t.migrations for t in tasks)),
                "-" if locality is None else f"{100 * locality:.1f} %",
            )
        )
    columns = ("group", "tasks", "cpuset", "ran on", "run ms", "wait ms", "moved", "locality")
    numeric = (False, True, False, False, True, True, True, True)
    note = "group+: its fork children; run/wait ms: summed over the group; moved: migrations"
    return SummaryTable("task groups", columns, numeric, tuple(rows), note)


def _expect_table(outcomes: Sequence[ExpectOutcome]) -> SummaryTable:
    rows = tuple(
        (str(o.expectation.line), o.expectation.text.strip(), "pass" if o.ok else "FAIL", o.detail)
        for o in outcomes
    )
    columns = ("line", "expectation", "result", "detail")
    return SummaryTable("expectations", columns, (True, False, False, False), rows)


def _latency(stats: SchedStatistics) -> tuple[int, float]:
    """Balance latency over every pass: (max ns, mean ns)."""
    count = stats.total("latency_count")
    worst = max((c.latency_max_ns for c in stats.cpus), default=0)
    return worst, stats.total("latency_sum_ns") / count if count else 0.0


def _machine_lines(stats: SchedStatistics) -> str:
    worst, mean = _latency(stats)
    return (
        f"imbalance score: mean {stats.imbalance_avg:.3f}, final {stats.imbalance_final}, "
        f"converged {_ms(stats.converged_at_ns)}\n"
        f"balance latency (next_balance due -> pass): mean {mean / 1e6:.3f} ms, "
        f"max {worst / 1e6:g} ms\n"
        f"domain rebuilds {stats.rebuilds} (generations retired {stats.retired})"
    )


def summary_sections(
    name: str,
    result: SchedResult,
    outcomes: Sequence[ExpectOutcome],
    *,
    seed: int | None = None,
    config: SimConfig | None = None,
) -> list[Section]:
    """The summary, top to bottom: a heading, tables and paragraphs of text."""
    stats = result.statistics
    sections: list[Section] = [_heading(name, result, seed, config), _cpu_table(stats)]
    sections += [_cpuset_table(stats), _group_table(stats), _machine_lines(stats)]
    if result.error is not None:
        sections.append(f"error: {result.error}")
    if stats.step_errors:
        lines = [f"step errors ({len(stats.step_errors)}):", *stats.step_errors]
        sections.append("\n  ".join(lines))
    if outcomes:
        sections.append(_expect_table(outcomes))
    return sections


# -- JSON --------------------------------------------------------------------------------


def _cpu_json(cpu: CpuStats, duration_ns: int) -> dict[str, object]:
    record: dict[str, object] = {counter: getattr(cpu, counter) for counter in COUNTERS}
    record |= {
        "cpu": cpu.cpu,
        "utilization": round(_utilization(cpu, duration_ns), 6),
        "migrations_in": dict(sorted(cpu.migrations_in.items())),
        "migrations_out": dict(sorted(cpu.migrations_out.items())),
    }
    return record


def _groups_json(stats: SchedStatistics) -> list[dict[str, object]]:
    """Per task group (fork children apart): counts, sums, the CPUs they ran on."""
    out: list[dict[str, object]] = []
    for group, tasks, ran_on in _groups(stats):
        locality = _mean_locality(tasks)
        out.append(
            {
                "group": group,
                "tasks": len(tasks),
                "exited": sum(t.exited for t in tasks),
                "cpusets": sorted({t.cpuset for t in tasks}),
                "ran_on": str(ran_on),
                "runtime_ns": sum(t.runtime_ns for t in tasks),
                "wait_ns": sum(t.wait_ns for t in tasks),
                "migrations": sum(t.migrations for t in tasks),
                "pages": sum(t.pages for t in tasks),
                "stale_allocations": sum(t.stale_allocations for t in tasks),
                "locality": None if locality is None else round(locality, 6),
            }
        )
    return out


def _config_json(config: SimConfig) -> dict[str, object]:
    return {
        "machine": config.machine_desc or config.machine.name,
        "nr_cpus": config.machine.nr_cpus,
        "era": config.cpuset_era,
        "domain_era": config.chosen_domain_era,
        "balancer": config.balance.value,
        "hz": config.hz,
        "duration_ns": config.duration_ns,
    }


def summary_json(
    name: str,
    result: SchedResult,
    outcomes: Sequence[ExpectOutcome],
    *,
    seed: int | None = None,
    config: SimConfig | None = None,
) -> dict[str, object]:
    """The summary as one JSON-ready dict (dump it with ``sort_keys=True``)."""
    stats = result.statistics
    cpusets = [
        {
            "path": path,
            "tasks": len(tasks),
            "ran_on": "" if ran_on is None else str(ran_on),
            "locality": None if (loc := _mean_locality(tasks)) is None else round(loc, 6),
        }
        for path, tasks, ran_on in _cpusets(stats)
    ]
    expectations = [
        {
            "line": o.expectation.line,
            "kind": o.expectation.kind,
            "text": o.expectation.text.strip(),
            "ok": o.ok,
            "detail": o.detail,
        }
        for o in outcomes
    ]
    return {
        "scenario": name,
        "seed": seed,
        "config": None if config is None else _config_json(config),
        "status": result.status,
        "vtime_ns": result.now_ns,
        "error": None if result.error is None else str(result.error),
        "cpus": [_cpu_json(c, stats.duration_ns) for c in stats.cpus],
        "totals": {counter: stats.total(counter) for counter in COUNTERS}
        | {"latency_max_ns": _latency(stats)[0]},
        "cpusets": cpusets,
        "task_groups": _groups_json(stats),
        "imbalance": {
            "mean": round(stats.imbalance_avg, 6),
            "final": stats.imbalance_final,
            "converged_at_ns": stats.converged_at_ns,
        },
        "rebuilds": stats.rebuilds,
        "retired": stats.retired,
        "step_errors": list(stats.step_errors),
        "expectations": expectations,
        "expectations_ok": all(o.ok for o in outcomes),
    }
