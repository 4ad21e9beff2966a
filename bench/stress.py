"""Stress-sweep throughput: seeds per minute of a serial `actors.stress.sweep`.

The sweep is the one ``schedsim stress`` runs by default (`StressOptions()`:
the ``numa-2x2`` machine, 12 random operations, 100 ms of virtual time per
seed, each seed drawing its balancer mode), in this process, one seed after
another, for seeds 0..N-1.  Each repetition sweeps the same seeds, so the
repetitions do the same work.  A benchmark prints; it never asserts.

    python bench/stress.py               # 50 seeds, 3 repetitions
    python bench/stress.py --seeds 15    # shorter
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from actors.stress import StressOptions, SweepReport, sweep

SEEDS = 50
QUICK_SEEDS = 15
REPEATS = 3


def sweeps(
    seeds: int,
    repeats: int = REPEATS,
    opts: StressOptions | None = None,
    done: Callable[[int, SweepReport], None] | None = None,
) -> list[SweepReport]:
    """*repeats* serial sweeps of seeds 0..*seeds*-1; *done(i, report)* after each."""
    reports = []
    for i in range(repeats):
        report = sweep(range(seeds), opts if opts is not None else StressOptions(), jobs=1)
        reports.append(report)
        if done is not None:
            done(i, report)
    return reports


def seeds_per_minute(report: SweepReport) -> float:
    return len(report.outcomes) * 60 / report.elapsed_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=SEEDS)
    parser.add_argument("--repeats", type=int, default=REPEATS)
    args = parser.parse_args()
    reports = sweeps(args.seeds, args.repeats, done=lambda i, r: print(r.summary(), flush=True))
    rates = [seeds_per_minute(report) for report in reports]
    print(f"median {statistics.median(rates):.0f} seeds/min ({min(rates):.0f}-{max(rates):.0f})")


if __name__ == "__main__":
    main()
