"""Sched-domain build time at 64, 512 and 4096 CPUs (64 nodes), eras 2.6.14 and modern.

    python bench/domains.py

Prints the median of three builds per size and era, and the 4096/512 ratio
(targets from issue 2: 4096 CPUs <= 2 s, ratio <= 10).  A benchmark prints;
it does not assert.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from topology.domains import build_sched_domains
from topology.synthetic import parse_synthetic

SIZES = {64: "node:64 core:1 pu:1", 512: "node:64 core:4 pu:2", 4096: "node:64 core:32 pu:2"}
ERAS = ("2.6.14", "modern")
RUNS = 3


def median_build_seconds(spec: str, era: str) -> float:
    machine = parse_synthetic(spec)
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        build_sched_domains(machine, era=era)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


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
