"""What ``schedsim plot`` draws: each figure as plain data, ready for any plotting library.

The figures of one traced run (actors/trace.py `TracedRun`):

* ``runqueue-heatmap``: nr_running of every CPU over virtual time, averaged
  over time bins (the recorder's ``nr_running`` changes, a step function);
* ``imbalance``: the imbalance score (`topology.placement.imbalance_score`)
  the sampler took every ``sample_ms``;
* ``migrations-per-level``: balance migrations per sched-domain level,
  innermost first, stacked by what moved them (periodic balance, newly idle
  balance, active balance);
* ``balance-latency``: a histogram over balance passes of how long the CPU
  had been asking for one: for a CPU refused by the busy tasklet (LB-T2),
  from the first refusal of the streak to that CPU's next tasklet pass;
  0 for every other pass;
* ``balancer-modes`` (seed004-tasklet only): the three balancer modes of
  seed 004 side by side (runs of seed004-tasklet, -percpu and -softirq).

The actors layer does not import matplotlib (tests/test_layering.py), so the
figures are values here -- titles, axis labels with units, numbers -- and
runner.py renders them as PNG.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from actors.recorder import RunTrace
from actors.trace import TracedRun

__all__ = [
    "Figure",
    "Panel",
    "Series",
    "balance_latencies",
    "balance_latency",
    "balancer_modes",
    "figures",
    "imbalance",
    "level_order",
    "migrations_per_level",
    "runqueue_heatmap",
    "step_means",
]

MS = 1_000_000
HEATMAP_BINS = 400
LATENCY_BINS = 40
REFUSED = "tasklet_refused"
BALANCE_REASONS = ("balance", "newidle", "active")


@dataclass(frozen=True, slots=True)
class Series:
    label: str
    x: tuple[float, ...]
    y: tuple[float, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Panel:
    """One set of axes.  *kind*: "line" (series), "bar" (series over *categories*,
    stacked or grouped), "hist" (counts of series 0 between *edges*) or "heatmap"
    (*matrix* rows over *extent* = x0, x1, y0, y1, coloured by *zlabel*)."""

    kind: str
    title: str
    xlabel: str
    ylabel: str
    series: tuple[Series, ...] = ()
    categories: tuple[str, ...] = ()
    stacked: bool = False
    edges: tuple[float, ...] = ()
    matrix: tuple[tuple[float, ...], ...] = ()
    extent: tuple[float, float, float, float] = (0.0, 1.0, 0.0, 1.0)
    zlabel: str = ""
    log_y: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Figure:
    name: str
    """the PNG's file name without .png"""
    title: str
    panels: tuple[Panel, ...]


def _title(what: str, traced: TracedRun) -> str:
    meta = traced.meta
    return f"{what}: {meta.scenario} (seed {meta.seed}, era {meta.era}, {meta.balancer} balancer)"


def _ms(t_ns: int) -> float:
    return t_ns / MS


# -- runqueue heatmap -----------------------------------------------------------------


def step_means(changes: Sequence[tuple[int, int]], duration_ns: int, nbins: int) -> list[float]:
    """The time-weighted mean per bin of a step function (*value* from each change on)."""
    width = duration_ns / nbins
    out = [0.0] * nbins
    ends = [t for t, _ in changes[1:]] + [duration_ns]
    for (start, value), end in zip(changes, ends, strict=True):
        if not value or end <= start:
            continue
        for k in range(min(int(start / width), nbins - 1), min(int(end / width), nbins - 1) + 1):
            overlap = min(end, (k + 1) * width) - max(start, k * width)
            out[k] += value * max(0.0, overlap) / width
    return out


def runqueue_heatmap(traced: TracedRun, nbins: int = HEATMAP_BINS) -> Figure:
    nr_cpus, duration = traced.meta.nr_cpus, max(1, traced.meta.duration_ns)
    changes: list[list[tuple[int, int]]] = [[(0, 0)] for _ in range(nr_cpus)]
    for t, cpu, nr in sorted(traced.trace.nr_running, key=lambda c: (c[1], c[0])):
        changes[cpu].append((t, nr))
    nbins = max(1, min(nbins, duration // 100_000))
    matrix = tuple(tuple(step_means(c, duration, nbins)) for c in changes)
    panel = Panel(
        kind="heatmap",
        title="runqueue length per CPU",
        xlabel="virtual time (ms)",
        ylabel="CPU",
        matrix=matrix,
        extent=(0.0, _ms(duration), -0.5, nr_cpus - 0.5),
        zlabel="nr_running (tasks, mean per bin)",
    )
    return Figure(name="runqueue-heatmap", title=_title("Runqueues", traced), panels=(panel,))


# -- imbalance over time --------------------------------------------------------------


def _imbalance_series(traced: TracedRun, label: str) -> Series:
    samples = traced.result.statistics.samples
    return Series(label, tuple(_ms(t) for t, _ in samples), tuple(float(s) for _, s in samples))


def imbalance(traced: TracedRun) -> Figure:
    panel = Panel(
        kind="line",
        title=f"imbalance score, sampled every {traced.run.config.sample_ms} ms",
        xlabel="virtual time (ms)",
        ylabel="imbalance score (tasks)",
        series=(_imbalance_series(traced, "score"),),
    )
    return Figure(name="imbalance", title=_title("Imbalance", traced), panels=(panel,))


# -- migrations per domain level ------------------------------------------------------


def level_order(traced: TracedRun, extra: Sequence[str] = ()) -> list[str]:
    """Domain level names as the CPUs' chains order them (innermost first), then *extra*."""
    order: list[str] = []
    for actor in traced.run.env.cpus:
        for sd in actor.chain if actor is not None else ():
            if sd.name not in order:
                order.append(sd.name)
    return order + sorted(set(extra) - set(order))


def migrations_per_level(traced: TracedRun) -> Figure:
    counts: dict[tuple[str, str], int] = {}
    for _pid, src, dst, _t, reason, level in traced.trace.sends:
        if level and src != dst:
            counts[level, reason] = counts.get((level, reason), 0) + 1
    levels = level_order(traced, [level for level, _ in counts])
    reasons = [r for r in BALANCE_REASONS if any(k[1] == r for k in counts)]
    reasons += sorted({r for _, r in counts} - set(BALANCE_REASONS))
    xs = tuple(float(i) for i in range(len(levels)))
    series = tuple(
        Series(r, xs, tuple(float(counts.get((level, r), 0)) for level in levels)) for r in reasons
    )
    panel = Panel(
        kind="bar",
        title="balance migrations per sched-domain level (innermost first)",
        xlabel="sched-domain level",
        ylabel="migrations (tasks)",
        series=series,
        categories=tuple(levels),
        stacked=True,
    )
    return Figure(name="migrations-per-level", title=_title("Migrations", traced), panels=(panel,))


# -- balance latency ------------------------------------------------------------------


def balance_latencies(trace: RunTrace) -> list[int]:
    """Per balance pass (newly idle ones aside), in ns: from the first tasklet refusal of
    the CPU's streak to this pass; 0 when the CPU was not refused since its last pass."""
    # SIMPLIFIED: only tasklet refusals make a pass late; a CPU whose SD_SERIALIZE level
    # was skipped (LB-T3) balances its other levels in the same pass, which counts 0.
    events: list[tuple[int, int, int]] = []  # (cpu, t, 0 refusal | 1 pass)
    events += [(cpu, t, 0) for t, cpu, what, _ in trace.instants if what == REFUSED]
    events += [(p[0], p[1], 1) for p in trace.passes if p[3] != "newidle"]
    latencies: list[int] = []
    streak: dict[int, int] = {}
    for cpu, t, is_pass in sorted(events):
        if not is_pass:
            streak.setdefault(cpu, t)
        else:
            latencies.append(t - streak.pop(cpu, t))
    return latencies


def _histogram(values: Sequence[float], nbins: int) -> tuple[tuple[float, ...], list[int]]:
    top = max(values, default=0.0) or 1.0
    edges = tuple(top * k / nbins for k in range(nbins + 1))
    counts = [0] * nbins
    for v in values:
        counts[min(int(v / top * nbins), nbins - 1)] += 1
    return edges, counts


def balance_latency(traced: TracedRun) -> Figure:
    latencies = [_ms(ns) for ns in balance_latencies(traced.trace)]
    edges, counts = _histogram(latencies, LATENCY_BINS)
    refused = sum(1 for v in latencies if v > 0)
    panel = Panel(
        kind="hist",
        title=f"{len(latencies)} balance passes, {refused} after tasklet refusals",
        xlabel="balance latency: first refusal to the CPU's next pass (ms)",
        ylabel="balance passes",
        series=(Series("passes", edges[:-1], tuple(float(c) for c in counts)),),
        edges=edges,
        log_y=True,
    )
    return Figure(name="balance-latency", title=_title("Balance latency", traced), panels=(panel,))


# -- the three balancer modes of seed 004 ---------------------------------------------


def balancer_modes(runs: Sequence[TracedRun]) -> Figure:
    """seed004-tasklet/-percpu/-softirq compared: imbalance over time, and counters."""
    labels = tuple(f"{r.meta.scenario} ({r.meta.balancer})" for r in runs)
    lines = Panel(
        kind="line",
        title="imbalance score over time",
        xlabel="virtual time (ms)",
        ylabel="imbalance score (tasks)",
        series=tuple(_imbalance_series(r, label) for r, label in zip(runs, labels, strict=True)),
    )
    counters = (
        ("balance passes", lambda r: r.result.statistics.total("passes")),
        ("tasklet refusals", lambda r: r.result.statistics.total("tasklet_refusals")),
        ("serialize skips", lambda r: r.result.statistics.total("serialize_skips")),
        ("balance migrations", lambda r: sum(1 for s in r.trace.sends if s[5])),
    )
    xs = tuple(float(i) for i in range(len(runs)))
    bars = Panel(
        kind="bar",
        title="what each mode did (log scale)",
        xlabel="scenario (balancer mode)",
        ylabel="count (events)",
        series=tuple(Series(name, xs, tuple(float(f(r)) for r in runs)) for name, f in counters),
        categories=tuple(r.meta.balancer for r in runs),
        log_y=True,
    )
    first = runs[0].meta
    title = (f"Balancer modes of seed 004 (seed {first.seed}, era {first.era}, "
             f"{first.duration_ns // MS} ms each)")  # fmt: skip
    return Figure(name="balancer-modes", title=title, panels=(lines, bars))


def figures(traced: TracedRun, modes: Sequence[TracedRun] = ()) -> list[Figure]:
    """Every figure of *traced*; with *modes* (seed 004's runs) the comparison as well."""
    out = [runqueue_heatmap(traced), imbalance(traced), migrations_per_level(traced)]
    out.append(balance_latency(traced))
    if modes:
        out.append(balancer_modes(modes))
    return out
