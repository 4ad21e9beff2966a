"""`Simulation`: spawn actors, run them on the bus to a virtual deadline or quiescence, report.

    sim = Simulation(seed=7, log=LogSpec(path="run.msgpack"), scenario=text)
    sim.spawn("server", server)
    sim.spawn("client", client, "server", 10)
    result = sim.run_sync(until_ns=10_000_000)      # or: await sim.run(...) inside trio
    print(result.status, sim.statistics().deliveries)

`run` is trio inside; `run_sync` is the synchronous face used by sweeps.  The
actors spawned here are started with ``nursery.start`` before the first delta,
and their starts are deliveries like any other, so nobody can send before
every actor exists.  The run ends when nothing is pending (``quiescent``),
when the next delivery lies beyond *until_ns* (``deadline``), or with one
error: `ActorCrashed`, `Deadlock`, `DeadLetter`, `Livelock`.  The log is
flushed, given its end record and closed on every path out, including
cancellation and KeyboardInterrupt.
"""

from __future__ import annotations

import gc
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any, TypeVarTuple

import trio

from actors.bus import Bus
from actors.clock import ASK, REPLY, START, TELL, TIMER
from actors.context import Context
from actors.log import LOG_FORMAT_VERSION, LogSpec, open_run_log, schedsim_version
from actors.mailbox import WAIT_NAMES, ActorState
from actors.serial import SerialStatistics

__all__ = ["ActorStatistics", "RunResult", "Simulation", "SimulationStatistics", "paused_gc"]

Ts = TypeVarTuple("Ts")

GC_VALVE = 1_000_000
"""While a run is live the cyclic collector is paused (`paused_gc`): what a delivery
allocates is freed by reference counting, and a run makes no cycles but retired domain
generations (their group rings) and its teardown.  Tracing every object that survives
a while cost 5% of a 1024-CPU run (a fifth of a lockstep one under CPython's default
thresholds), more the larger the heap.  The valve: one full collection whenever this
many more container objects are alive than at the last one."""


class _GcPause:
    """Nested and overlapping pauses (two runs in one trio loop end in any order): the
    collector comes back when the last pause ends, and only if it was on at the first."""

    depth = 0
    was_enabled = False


@contextmanager
def paused_gc() -> Iterator[bool]:
    """Pause the cyclic collector (automatic collections only) for the block.

    Yields whether the collector was on before the outermost pause (the valve
    collects only then: a caller that turned it off keeps it off).
    """
    if _GcPause.depth == 0:
        _GcPause.was_enabled = gc.isenabled()
        gc.disable()
    _GcPause.depth += 1
    try:
        yield _GcPause.was_enabled
    finally:
        _GcPause.depth -= 1
        if _GcPause.depth == 0 and _GcPause.was_enabled:
            if gc.get_freeze_count() == 0:
                # Hand what the run allocated to the oldest generation in one splice:
                # re-enabled as they stand, the collector would trace every one of them
                # at the next allocation (a tenth of a second at 1024 CPUs).  They stay
                # collectable: a full collection looks at them in its own time.
                gc.freeze()
                gc.unfreeze()
            gc.enable()


@dataclass(frozen=True, slots=True, kw_only=True)
class RunResult:
    status: str
    now_ns: int
    deltas: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ActorStatistics:
    name: str
    state: str
    sent: int
    received: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SimulationStatistics:
    """Deterministic counters of a run (no wall-clock figure: see bench/ for speed)."""

    status: str
    now_ns: int
    deltas: int
    instants: int
    deliveries: int
    tells: int
    asks: int
    replies: int
    timers: int
    starts: int
    wakeups: int
    log_records: int
    log_bytes: int
    actors: tuple[ActorStatistics, ...]
    serializers: tuple[SerialStatistics, ...]


class Simulation:
    """One run: a seed, actors, a log (see the module docstring)."""

    def __init__(
        self,
        *,
        seed: int | str = 0,
        log: LogSpec | None = None,
        scenario: str = "",
        params: Mapping[str, object] | None = None,
        max_deltas_per_instant: int = 100_000,
        tune_gc: bool = True,
        public_trio_api: bool = False,
        after_delta: Callable[[], None] | None = None,
    ) -> None:
        self.seed = seed
        self.scenario = scenario
        self.params = dict(params or {})
        self._log_spec = log
        self._bus = Bus(seed, max_deltas_per_instant, public_trio_api)
        self._bus.after_delta = after_delta
        self._tune_gc = tune_gc
        self._spawned: list[tuple[ActorState, Callable[..., Awaitable[None]], tuple[Any, ...]]] = []
        self._ran = False

    def spawn(
        self, name: str, actor: Callable[[Context, *Ts], Awaitable[None]], *args: *Ts
    ) -> None:
        """Add an actor: ``await actor(ctx, *args)`` runs from the first delta."""
        if self._ran:
            raise RuntimeError("spawn before run; during the run, actors spawn with ctx.spawn")
        self._spawned.append((self._bus.register(name, None), actor, args))

    def run_sync(self, until_ns: int | None = None) -> RunResult:
        """`run` in a fresh trio event loop."""
        return trio.run(self.run, until_ns)

    async def run(self, until_ns: int | None = None) -> RunResult:
        """Run to quiescence, or until the next delivery lies beyond *until_ns*."""
        if self._ran:
            raise RuntimeError("a Simulation runs once")
        if until_ns is not None and until_ns < 0:
            raise ValueError("until_ns must be >= 0")
        self._ran = True
        bus = self._bus
        bus.until = until_ns
        bus.log = open_run_log(self._log_spec)
        status = "interrupted"
        try:
            if bus.log is not None:
                bus.log.header(self._header(until_ns))
            event_level = self._log_spec.event_level if self._log_spec else "info"
            with ExitStack() as stack:
                if self._tune_gc and stack.enter_context(paused_gc()):
                    bus.gc_valve = GC_VALVE  # the collector was on: keep cycles bounded
                for state, _, _ in self._spawned:
                    Context(bus, state, event_level)
                await self._run_actors()
            assert bus.outcome is not None
            status = bus.outcome.status
            if bus.outcome.error is not None:
                raise bus.outcome.error
            return RunResult(status=status, now_ns=bus.now, deltas=bus.delta)
        except BaseException as exc:
            if bus.outcome is None or bus.outcome.error is not exc:
                status = _status_of(exc)
            raise
        finally:
            self._close_log(status)

    async def _run_actors(self) -> None:
        bus = self._bus
        try:
            async with trio.open_nursery() as nursery:
                bus.nursery = nursery
                bus.running = 1  # this task, until every actor is parked at its start
                for state, fn, args in self._spawned:
                    bus.running += 1
                    await nursery.start(bus.actor_main, state, fn, args, name=f"actor {state.name}")
                bus.release_root()
        except BaseExceptionGroup as group:
            leaf = _single_error(group)
            if leaf is None:
                raise
            raise leaf from None

    def _header(self, until_ns: int | None) -> dict[str, object]:
        spec = self._log_spec
        assert spec is not None
        return {
            "format": LOG_FORMAT_VERSION,
            "schedsim": schedsim_version(),
            "seed": self.seed,
            "scenario": self.scenario,
            "params": self.params,
            "until_ns": until_ns,
            "level": spec.level.value,
            "event_level": spec.event_level,
        }

    def _close_log(self, status: str) -> None:
        bus = self._bus
        log = bus.log
        if log is None:
            return
        try:
            bus.flush_events()
            error = bus.outcome.error if bus.outcome is not None else None
            info = {
                "error": None if error is None else str(error),
                "deliveries": sum(bus.deliveries),
                "actors": len(bus.actors),
            }
            log.end(bus.now, bus.delta, status, info)
        finally:
            log.close()

    @property
    def now_ns(self) -> int:
        """The virtual time of the current (or last) delta."""
        return self._bus.now

    @property
    def delta(self) -> int:
        return self._bus.delta

    def statistics(self) -> SimulationStatistics:
        bus = self._bus
        counts = bus.deliveries
        states = sorted(bus.actors.values(), key=lambda state: state.name)
        return SimulationStatistics(
            status=bus.outcome.status if bus.outcome is not None else "not finished",
            now_ns=bus.now,
            deltas=bus.delta,
            instants=bus.instants,
            deliveries=sum(counts),
            tells=counts[TELL],
            asks=counts[ASK],
            replies=counts[REPLY],
            timers=counts[TIMER],
            starts=counts[START],
            wakeups=bus.wakeups,
            log_records=bus.log.records if bus.log is not None else 0,
            log_bytes=bus.log.bytes if bus.log is not None else 0,
            actors=tuple(
                ActorStatistics(
                    name=s.name, state=WAIT_NAMES[s.waiting], sent=s.counter, received=s.received
                )
                for s in states
            ),
            serializers=tuple(
                serial.statistics() for s in states for _, serial in sorted(s.serials.items())
            ),
        )


def _status_of(exc: BaseException) -> str:
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    if isinstance(exc, trio.Cancelled):
        return "cancelled"
    if isinstance(exc, BaseExceptionGroup):
        leaves = _leaves(exc)
        if all(isinstance(leaf, trio.Cancelled) for leaf in leaves):
            return "cancelled"
        if any(isinstance(leaf, KeyboardInterrupt) for leaf in leaves):
            return "interrupted"
    return "error"


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    leaves: list[BaseException] = []
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            leaves.extend(_leaves(exc))
        else:
            leaves.append(exc)
    return leaves


def _single_error(group: BaseExceptionGroup[BaseException]) -> BaseException | None:
    """The one real error inside a group of cancellations, if there is exactly one."""
    real = [leaf for leaf in _leaves(group) if not isinstance(leaf, trio.Cancelled)]
    return real[0] if len(real) == 1 else None
