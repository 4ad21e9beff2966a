"""Sched-domain build time at 64, 512 and 4096 CPUs (64 nodes), eras 2.6.14 and modern.

    python bench/domains.py

Prints the median of three builds per size and era, and the 4096/512 ratio
(targets from issue 2: 4096 CPUs <= 2 s, ratio <= 10).  A benchmark prints;
it does not assert.  `build_samples` gives every build's time (bench/run.py).
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from topology.domains import build_sched_domains
from topology.machine import Machine
from topology.synthetic import parse_synthetic

SIZES = {64: "node:64 core:1 pu:1", 512: "node:64 core:4 pu:2", 4096: "node:64 core:32 pu:2"}
ERAS = ("2.6.14", "modern")
RUNS = 3
TARGET_4096_S = 2.0
TARGET_RATIO = 10.0


def build_seconds(machine: Machine, era: str) -> float:
    """One build's wall time.  The previous builds' rings are cyclic garbage: they are
    collected first, untimed, so that no build pays for an earlier one."""
    gc.collect()
    start = time.perf_counter()
    build_sched_domains(machine, era=era)
    return time.perf_counter() - start


def build_samples(spec: str, era: str, runs: int = RUNS) -> list[float]:
    """Seconds of each of *runs* builds of the machine *spec* (parsed once, not timed)."""
    machine = parse_synthetic(spec)
    return [build_seconds(machine, era) for _ in range(runs)]


def interleaved_samples(cpus: Sequence[int], era: str, runs: int = RUNS) -> dict[int, list[float]]:
    """`build_samples` of several sizes, one build of each per round, after one warm-up.

    The i-th builds of two sizes ran one after the other, so their ratio sees the
    same load; the untimed warm-up build keeps first-call costs out of round one.
    """
    machines = {n: parse_synthetic(SIZES[n]) for n in cpus}
    build_seconds(machines[min(cpus)], era)
    times: dict[int, list[float]] = {n: [] for n in cpus}
    for _ in range(runs):
        for n in cpus:
            times[n].append(build_seconds(machines[n], era))
    return times


def median_build_seconds(spec: str, era: str) -> float:
    return statistics.median(build_samples(spec, era))


def main() -> None:
    print(f"{'CPUs':>5}  {'topology':<22}" + "".join(f"  {era:>10}" for era in ERAS))
    results: dict[tuple[int, str], float] = {}
    for cpus, spec in SIZES.items():
        row = f"{cpus:>5}  {spec:<22}"
        for era in ERAS:
            results[cpus, era] = median_build_seconds(spec, era)
            row += f"  {results[cpus, era]:>9.3f}s"
        print(row)
    ratios = "".join(f"  {results[4096, era] / results[512, era]:>10.1f}" for era in ERAS)
    print(f"{'':>5}  {'4096/512 ratio':<22}{ratios}")


if __name__ == "__main__":
    main()
