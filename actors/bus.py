"""The bus: actors park on it, and it runs the delta cycle that decides every order.

Design
------
Every actor is a trio task.  An actor only ever blocks in a bus primitive
(receive, ask, sleep_until), and blocking means *parking*: the task suspends
itself with trio's lowest-level trap and the bus counts it as not running.
When the count of running actors reaches zero, the delta that was running is
over, and the actor that parked last runs `Bus.step` before it suspends:

1. write out the ended delta's actor events (canonical order, see actors/log.py);
2. take the next delta from the `Timeline`: everything due at the earliest
   pending instant, sorted canonically (see actors/clock.py);
3. log and dispatch it: tells and asks go to mailboxes, replies and timers
   resume the one actor waiting for them; every actor woken gets *all* its
   messages of the delta in one wakeup;
4. reschedule the woken actors (if the stepping actor woke itself it just
   carries on: no task switch at all) and set the running count to their number.

No polling, no `wait_all_tasks_blocked`, no trio clock: virtual time jumps
straight to the next pending instant.  When nothing is pending the run is
*quiescent* (every actor waits in receive) or *deadlocked* (someone waits for
a reply that cannot come): the bus ends the run instead of spinning.

Speed: a trio task switch is most of the cost of an event, so the bus yields
trio's `WaitTaskRescheduled` trap directly (what `trio.lowlevel.
wait_task_rescheduled` does inside its own coroutine) and resumes tasks with
one shared sentinel instead of a fresh `outcome.Value` per wakeup; only our
own suspend ever receives it, and a cancellation still arrives as trio's
`Error` outcome and is raised.  Measured 2x on this machine (bench/engine.py).
If trio's private trap moves, the public API is used instead.
"""

from __future__ import annotations

import gc
import types
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass
from typing import Any

import trio

from actors.clock import ASK, REPLY, START, TIMER, Timeline, actor_salt, tiebreak
from actors.codec import DECODE, decode
from actors.errors import ActorCrashed, DeadLetter, Deadlock, Livelock
from actors.log import EventSink, LogLevel, RunLog
from actors.mailbox import (
    W_ASK,
    W_CRASHED,
    W_DONE,
    W_RECEIVE,
    W_RUNNING,
    W_START,
    ActorState,
    Envelope,
)

__all__ = ["SIM_SENDER", "Bus", "RunOutcome"]

SIM_SENDER = "<sim>"
"""The sender of the start deliveries of the actors spawned before the run."""

BREATHE = 1024
"""Self-wakeups between two passes through trio's run loop (`Bus.breathe`)."""


def _abort(_: object) -> trio.lowlevel.Abort:
    return trio.lowlevel.Abort.SUCCEEDED


_RESUMED: Any = object()
RESUMED = _RESUMED
"""the value a parked actor is resumed with (anything else is trio's cancellation)"""
try:
    from trio._core._run import GLOBAL_RUN_CONTEXT
    from trio._core._traps import WaitTaskRescheduled

    _TRAP: object = WaitTaskRescheduled(_abort)
except ImportError:  # pragma: no cover - only if trio reorganises its internals
    _TRAP = None


_STATUS: dict[type[BaseException], str] = {
    Deadlock: "deadlock",
    DeadLetter: "dead letter",
    Livelock: "livelock",
    KeyboardInterrupt: "interrupted",
}


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """How the run ended: *status* is quiescent, deadline, crashed, deadlock, error ..."""

    status: str
    error: BaseException | None = None


class Bus:
    """Actor states, parking and the delta cycle (see the module docstring)."""

    def __init__(
        self, seed: int | str, max_deltas_per_instant: int, public_trio_api: bool = False
    ) -> None:
        self.seed = seed
        fast = _TRAP is not None and not public_trio_api
        self.trap: object | None = _TRAP if fast else None
        """what `park` yields to trio itself (None: trio's public wait_task_rescheduled)"""
        self.timeline = Timeline()
        self.actors: dict[str, ActorState] = {}
        self.running = 0
        self.delta = 0
        self.woken: list[ActorState] = []
        self.log: RunLog | None = None
        self.until: int | None = None
        self.nursery: trio.Nursery | None = None
        self.outcome: RunOutcome | None = None
        self.crashes: list[tuple[ActorState, BaseException]] = []
        self.max_deltas_per_instant = max_deltas_per_instant
        self.same_instant = 0
        self.instants = 0
        self.deliveries = [0, 0, 0, 0, 0]  # by kind
        self.wakeups = 0
        self.self_wakes = 0
        self.dirty_sinks: list[EventSink] = []
        self.after_delta: Callable[[], None] | None = None
        """Called between two deltas (nobody running); what it raises ends the run."""
        self.gc_valve = 0
        """with the collector paused: collect when this many more containers are alive"""
        self._sim = ActorState(SIM_SENDER, actor_salt(seed, SIM_SENDER), self.dirty_sinks)

    @property
    def now(self) -> int:
        return self.timeline.now

    def stamp(self) -> tuple[int, int]:
        return self.timeline.now, self.delta

    # -- actors ---------------------------------------------------------------

    def register(self, name: str, spawner: ActorState | None) -> ActorState:
        """A new actor, started by a start delivery from *spawner* (None: the simulation)."""
        if not isinstance(name, str) or not name or name == SIM_SENDER:
            raise ValueError(f"bad actor name {name!r}")
        if name in self.actors:
            raise ValueError(f"an actor named {name!r} already exists")
        state = ActorState(name, actor_salt(self.seed, name), self.dirty_sinks)
        self.actors[name] = state
        sender = spawner if spawner is not None else self._sim
        sender.counter += 1
        key = tiebreak(sender.salt, self.timeline.now)
        entry = (key, sender.name, sender.counter, START, state, 0, None, "", None)
        self.timeline.push(self.now, entry)
        return state

    async def actor_main(
        self,
        state: ActorState,
        fn: Callable[..., Awaitable[None]],
        args: tuple[Any, ...],
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """The trio task of one actor: park until started, run, report how it ended."""
        state.task = trio.lowlevel.current_task()
        task_status.started()
        try:
            await self.park(state, W_START)
            await fn(state.ctx, *args)
        except Exception as exc:
            state.waiting = W_CRASHED
            self.crashes.append((state, exc))
        else:
            state.waiting = W_DONE
        self.running -= 1
        if self.running == 0:
            self.step(None)

    @staticmethod
    async def park_public() -> None:
        """Parking through trio's public API (``public_trio_api=True``)."""
        await trio.lowlevel.wait_task_rescheduled(_abort)

    @types.coroutine
    def park(self, state: ActorState, waiting: int) -> Generator[Any, Any, None]:
        """Block *state* until the bus wakes it (the only way an actor ever waits).

        A generator that yields trio's trap itself: every wakeup resumes through
        it, and an ``async def`` plus a trap coroutine were two frames more.
        """
        state.waiting = waiting
        self.running -= 1
        if self.running == 0:
            # stop between deltas if cancelled
            yield from trio.lowlevel.checkpoint_if_cancelled().__await__()
            if self.step(state):
                if self.breathe():
                    yield from trio.lowlevel.cancel_shielded_checkpoint().__await__()
                return  # woke itself: no task switch
        trap = self.trap
        if trap is None:
            yield from self.park_public().__await__()
        else:
            resumed = yield trap
            if resumed is not _RESUMED:
                resumed.unwrap()  # trio's Error outcome: the cancellation of the run

    def breathe(self) -> bool:
        """After an actor woke itself: True every `BREATHE` such wakeups, when the actor
        passes once through trio's run loop, so that a deadline around the run
        (``move_on_after``) is processed even when no delta needs a task switch."""
        self.self_wakes += 1
        return self.self_wakes % BREATHE == 0

    def start_actor(
        self, state: ActorState, fn: Callable[..., Awaitable[None]], args: tuple[Any, ...]
    ) -> None:
        """Start the task of an actor spawned during the run (it counts as running at once)."""
        if self.nursery is None:
            raise RuntimeError("actors can spawn actors only while the run is live")
        self.running += 1
        self.nursery.start_soon(self.actor_main, state, fn, args, name=f"actor {state.name}")

    def release_root(self) -> None:
        """The task that spawned the initial actors stops counting as running."""
        self.running -= 1
        if self.running == 0:
            self.step(None)

    # -- the delta cycle ------------------------------------------------------------

    def step(self, me: ActorState | None) -> bool:
        """Between two deltas (nobody running): start the next one.  True if it woke *me*."""
        try:
            while self.outcome is None:
                resumed_me = self._advance(me)
                if self.running:
                    return resumed_me
                # a delta that woke nobody (mail for actors busy asking or sleeping) is over
            return False
        except BaseException as exc:  # a bus error, or the runtime's own failure
            self.finish(_STATUS.get(type(exc), "error"), exc)
            return False

    def _advance(self, me: ActorState | None) -> bool:
        if self.after_delta is not None and self.delta:
            self.after_delta()
        if self.gc_valve and gc.get_count()[0] > self.gc_valve:
            gc.collect()
        if self.dirty_sinks:
            self.flush_events()
        if self.crashes:
            self._finish_crashed()
            return False
        timeline = self.timeline
        t = timeline.next_instant()
        if t is None:
            self._finish_idle()
            return False
        if self.until is not None and t > self.until:
            timeline.now = max(timeline.now, self.until)
            self.finish("deadline")
            return False
        self._count_instant(t)
        batch = timeline.take()
        self.delta += 1
        log = self.log
        if log is not None:
            if log.level is LogLevel.MESSAGES:
                log.deliveries(timeline.now, self.delta, batch)
            else:
                log.digest(timeline.now, self.delta, batch)
        self.woken = woken = self._dispatch(batch)
        self.running = len(woken)
        resumed_me = False
        # With the trap, the trio runner's own reschedule: trio.lowlevel.reschedule is a
        # call layer more, and a lockstep delta resumes thousands of actors.
        reschedule = GLOBAL_RUN_CONTEXT.runner.reschedule if self.trap is not None else None
        for state in woken:
            if state is me:
                resumed_me = True
            elif reschedule is not None:
                reschedule(state.task, _RESUMED)
            else:
                trio.lowlevel.reschedule(state.task)
        self.wakeups += len(woken)
        return resumed_me

    def _count_instant(self, t: int) -> None:
        if t != self.timeline.now or self.delta == 0:
            self.instants += 1
            self.same_instant = 0
            return
        self.same_instant += 1
        if self.same_instant > self.max_deltas_per_instant:
            names = sorted({str(entry[1]) for entry in self.timeline.current})[:8]
            raise Livelock(
                f"more than {self.max_deltas_per_instant} deltas at one instant; "
                f"still sending: {', '.join(map(str, names))}",
                vtime_ns=t,
                delta=self.delta,
            )

    def _dispatch(self, batch: list[tuple[Any, ...]]) -> list[ActorState]:
        """Hand one delta's deliveries over; the actors to wake, in canonical order."""
        woken: list[ActorState] = []
        wake = woken.append
        timers = 0
        for entry in batch:
            dst: ActorState = entry[4]
            dst.received += 1
            if entry[3] == TIMER:  # the hot path: a sleeper's own timer
                timers += 1
                dst.waiting = W_RUNNING
                dst.handling = "its timer"
                wake(dst)
            elif self._deliver(dst, entry):
                wake(dst)
        self.deliveries[TIMER] += timers
        return woken

    def _deliver(self, dst: ActorState, entry: tuple[Any, ...]) -> bool:
        """A start, tell, ask or reply; True if it wakes *dst*."""
        kind = entry[3]
        self.deliveries[kind] += 1
        if kind == START:
            dst.waiting = W_RUNNING
            dst.handling = "its start"
            return True
        if kind == REPLY:
            if dst.waiting != W_ASK or dst.wait_corr != entry[5]:
                raise RuntimeError(f"bus invariant: unexpected reply to {dst.name!r}")
            reply = entry[8]
            dst.wake = reply = decode(entry[6]) if reply is DECODE else reply
            dst.handling = Envelope(reply, entry[1], entry[5])
            dst.waiting = W_RUNNING
            return True
        self._to_mailbox(dst, entry, kind)
        if dst.waiting == W_RECEIVE:
            dst.waiting = W_RUNNING
            return True
        return False

    def _to_mailbox(self, dst: ActorState, entry: tuple[Any, ...], kind: int) -> None:
        if dst.waiting >= W_DONE:
            raise DeadLetter(
                f"{entry[7]} from {entry[1]!r} to {dst.name!r}, which has "
                + ("crashed" if dst.waiting == W_CRASHED else "finished"),
                vtime_ns=self.now,
                delta=self.delta,
            )
        ask_id = entry[5] if kind == ASK else 0
        if ask_id:
            dst.open_asks.add((entry[1], ask_id))
        msg = entry[8]
        if msg is DECODE:
            msg = decode(entry[6])
        dst.mailbox.append(Envelope(msg, entry[1], ask_id))

    # -- the end ------------------------------------------------------------------

    def flush_events(self) -> None:
        """Write the buffered actor events of the current delta, actors in wake order."""
        dirty, log = self.dirty_sinks, self.log
        if not dirty or log is None:
            return
        if len(dirty) > 1:
            rank = {id(state.sink): i for i, state in enumerate(self.woken)}
            if all(id(sink) in rank for sink in dirty):
                dirty.sort(key=lambda sink: rank[id(sink)])
            else:  # actors logging as they are cancelled at the end: after the woken, by name
                names = {id(state.sink): state.name for state in self.actors.values()}
                last = len(rank)
                dirty.sort(key=lambda sink: (rank.get(id(sink), last), names.get(id(sink), "")))
        for sink in dirty:
            log.events(sink.buffer)
            sink.buffer.clear()
        dirty.clear()

    def finish(self, status: str, error: BaseException | None = None) -> None:
        """End the run: remember why (first reason wins) and cancel every actor."""
        if self.outcome is None:
            self.outcome = RunOutcome(status, error)
        if self.nursery is not None:
            self.nursery.cancel_scope.cancel()

    def _finish_crashed(self) -> None:
        rank = {id(state): i for i, state in enumerate(self.woken)}
        state, error = min(self.crashes, key=lambda crash: rank.get(id(crash[0]), len(rank)))
        crash = ActorCrashed(
            actor=state.name,
            handling=state.describe_handling(),
            error=error,
            vtime_ns=self.now,
            delta=self.delta,
        )
        crash.__cause__ = error
        self.finish("crashed", crash)

    def _finish_idle(self) -> None:
        asking = [s for s in self.actors.values() if s.waiting == W_ASK]
        if not asking:
            self.finish("quiescent")
            return
        waits = tuple(sorted(f"{s.name!r} waits for {s.wait_info}" for s in asking))
        self.finish("deadlock", Deadlock(waiting=waits, vtime_ns=self.now, delta=self.delta))
