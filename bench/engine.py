"""Engine benchmark: the schedsim bus against SimPy and plain trio on two timer models.

Models (N actors, each waking on a timer and counting the wakeup):

* lockstep:  every actor wakes every 1 ns: N simultaneous events per instant;
* staggered: actor i wakes at i, i + N, i + 2N ...: one event per instant.

Engines: SimPy 4 (generator processes, ``env.timeout``), plain trio tasks
sleeping under ``trio.testing.MockClock(autojump_threshold=0)``, and the bus
(``ctx.sleep_until``) without a log and with the default log (msgpack,
``messages`` level) written to a temporary file.  Throughput is counted from
each run's first wakeup to its end (actor creation is excluded), as the
median of 3 interleaved repetitions.  Prints; never asserts.

    python bench/engine.py           # ~3 minutes
    python bench/engine.py --quick   # ~20 seconds, same table, noisier

`samples` returns every repetition (bench/run.py tabulates them with the rest
of the suite); `measure` their medians.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import tempfile
import time
from collections.abc import Callable, Generator
from pathlib import Path

import simpy
import trio
import trio.testing

from actors import Context, LogSpec, Simulation

MODELS = ("lockstep", "staggered")
SIZES = (64, 1024, 4096)
EVENTS = 300_000
QUICK_EVENTS = 20_000
ENGINES = ("simpy", "trio", "bus", "bus+log")
TARGETS = "targets: bus >= 0.35x SimPy (lockstep), >= 3x trio MockClock, log cost <= 1.3x"


class Meter:
    """Counts wakeups and notes the wall time of the first one."""

    def __init__(self) -> None:
        self.events = 0
        self.start = 0.0

    def tick(self) -> None:
        if self.events == 0:
            self.start = time.perf_counter()
        self.events += 1

    def rate(self) -> float:
        return (self.events - 1) / (time.perf_counter() - self.start)


def schedule(model: str, n: int, i: int) -> tuple[int, int]:
    """(first wakeup, period) of actor *i* in integer time units."""
    return (1, 1) if model == "lockstep" else (i + 1, n)


def horizon(model: str, n: int, events: int) -> int:
    return max(2, events // n) if model == "lockstep" else max(2 * n, events)


def run_simpy(model: str, n: int, events: int) -> float:
    env = simpy.Environment()
    meter = Meter()

    def actor(i: int) -> Generator[simpy.Event, object, None]:
        first, period = schedule(model, n, i)
        yield env.timeout(first)
        while True:
            meter.tick()
            yield env.timeout(period)

    for i in range(n):
        env.process(actor(i))
    env.run(until=horizon(model, n, events) + 0.5)
    return meter.rate()


def run_trio(model: str, n: int, events: int) -> float:
    meter = Meter()
    end = horizon(model, n, events)

    async def actor(i: int) -> None:
        first, period = schedule(model, n, i)
        t = first
        while t <= end:
            await trio.sleep_until(t)
            meter.tick()
            t += period

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            for i in range(n):
                nursery.start_soon(actor, i)

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    return meter.rate()


def run_bus(model: str, n: int, events: int, log: Path | None = None) -> float:
    meter = Meter()

    async def actor(ctx: Context, i: int) -> None:
        first, period = schedule(model, n, i)
        t = first
        while True:
            await ctx.sleep_until(t)
            meter.tick()
            t += period

    sim = Simulation(seed=1, log=LogSpec(path=log) if log is not None else None)
    for i in range(n):
        sim.spawn(f"a{i}", actor, i)
    sim.run_sync(until_ns=horizon(model, n, events))
    return meter.rate()


def samples(model: str, n: int, events: int, repeats: int, tmp: Path) -> dict[str, list[float]]:
    """Events/s of every repetition per engine; repetitions interleave the engines.

    Interleaving shares the box's noise between the engines, so the ratio of the
    i-th samples of two engines compares runs made at about the same time.
    """
    runs: dict[str, Callable[[], float]] = {
        "simpy": lambda: run_simpy(model, n, events),
        "trio": lambda: run_trio(model, n, events // 5),
        "bus": lambda: run_bus(model, n, events),
        "bus+log": lambda: run_bus(model, n, events, tmp / "bench.msgpack"),
    }
    rates: dict[str, list[float]] = {engine: [] for engine in ENGINES}
    for _ in range(repeats):
        for engine, run in runs.items():
            # Each engine starts from a collected heap: the previous run's garbage (a
            # few thousand finished tasks) must not be traced during the next one's.
            gc.collect()
            rates[engine].append(run())
    return rates


def measure(model: str, n: int, events: int, repeats: int, tmp: Path) -> dict[str, float]:
    """Median events/s per engine (of `samples`)."""
    rates = samples(model, n, events, repeats, tmp)
    return {engine: statistics.median(values) for engine, values in rates.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer events per run")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    events = QUICK_EVENTS if args.quick else EVENTS
    header = (
        f"{'model':<10}{'N':>6}{'simpy ev/s':>12}{'trio ev/s':>11}{'bus ev/s':>10}"
        f"{'bus+log':>10}{'bus/simpy':>11}{'bus/trio':>10}{'log cost':>10}"
    )
    print(header)
    with tempfile.TemporaryDirectory() as tmp:
        for model in MODELS:
            for n in SIZES:
                r = measure(model, n, events, args.repeats, Path(tmp))
                print(
                    f"{model:<10}{n:>6}{r['simpy']:>12,.0f}{r['trio']:>11,.0f}{r['bus']:>10,.0f}"
                    f"{r['bus+log']:>10,.0f}{r['bus'] / r['simpy']:>10.2f}x"
                    f"{r['bus'] / r['trio']:>9.1f}x{r['bus'] / r['bus+log']:>9.2f}x",
                    flush=True,
                )
    print(TARGETS)


if __name__ == "__main__":
    main()
