"""`Context`: everything an actor can do.  The bus primitives are its only awaits.

    async def pinger(ctx: Context, peer: str) -> None:
        reply = await ctx.ask(peer, Ping(n=1), Pong)    # blocks until the reply's delta
        ctx.tell(peer, Ping(n=2))                       # delivered in the next delta
        await ctx.sleep_until(ctx.now_ns + 1_000)       # a timer: a message to oneself
        for env in await ctx.receive():                 # every message of one delta
            if env.ask_id:
                ctx.reply(env, Pong(n=env.msg.n))

Messages are encoded when sent (`actors.codec`); the receiver gets a decoded
copy in an `Envelope`.  ``ctx.rng`` is ``random.Random(f"{seed}:{name}")``, one
stream per actor, so adding an actor never changes what the others draw.
``ctx.log`` is a structlog logger bound to the actor; records carry
``vtime_ns`` and ``delta``.  Messages that arrive while an actor waits in
`ask` or `sleep_until` stay in its mailbox for its next `receive`.
"""

from __future__ import annotations

import random
import types
from collections.abc import Awaitable, Callable, Generator, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar, TypeVarTuple, overload

import trio

from actors.bus import RESUMED, Bus
from actors.clock import ASK, GOLDEN, MASK64, REPLY, TELL, TIMER
from actors.codec import encode_for_delivery
from actors.errors import ProtocolError, UnknownActor
from actors.log import LEVELS, actor_logger
from actors.mailbox import W_ASK, W_RECEIVE, W_TIMER, ActorState, Batch, Envelope
from actors.messages import JobDone
from actors.serial import Serializer, SerialMode

__all__ = ["Context"]

R = TypeVar("R")
Ts = TypeVarTuple("Ts")


class Context:
    """One actor's handle on the bus (see the module docstring)."""

    __slots__ = ("_bus", "_event_level", "_state", "debug", "log", "name", "rng")

    def __init__(self, bus: Bus, state: ActorState, event_level: str) -> None:
        self._bus = bus
        self._state = state
        self._event_level = event_level
        self.name = state.name
        self.rng = random.Random(f"{bus.seed}:{state.name}")
        self.log: Any = actor_logger(state.name, state.sink, bus.log, bus.stamp, event_level)
        self.debug = bus.log is not None and LEVELS[event_level] <= LEVELS["debug"]
        """True when debug events are recorded: guard costly ``log.debug`` calls with it."""
        state.ctx = self

    @property
    def now_ns(self) -> int:
        """The virtual time of the current delta."""
        return self._bus.timeline.now

    @property
    def pending(self) -> int:
        """Messages already waiting in this actor's mailbox (its next `receive` returns them)."""
        return len(self._state.mailbox)

    @property
    def delta(self) -> int:
        """The number of the current delta (it grows by one per delta, run-wide)."""
        return self._bus.delta

    # -- sending ------------------------------------------------------------------

    def _target(self, dst: str) -> ActorState:
        target = self._bus.actors.get(dst)
        if target is None:
            raise UnknownActor(f"{self.name!r} addressed {dst!r}, which is not an actor")
        return target

    def tell(self, dst: str, msg: object, *, at_ns: int | None = None) -> None:
        """Send *msg* to *dst*: delivered in the next delta, or at *at_ns* if given (>= now)."""
        target = self._target(dst)
        tag, payload, given = encode_for_delivery(msg, self._bus.log is not None)
        timeline = self._bus.timeline
        if at_ns is None:
            at_ns = timeline.now
        elif at_ns < timeline.now:
            raise ValueError(f"at_ns={at_ns} is in the past (now {timeline.now})")
        state = self._state
        counter = state.counter = state.counter + 1
        key = ((at_ns * GOLDEN) ^ state.salt) & MASK64
        timeline.push(at_ns, (key, state.name, counter, TELL, target, 0, payload, tag, given))

    @overload
    async def ask(self, dst: str, msg: object) -> object: ...
    @overload
    async def ask(self, dst: str, msg: object, expect: type[R]) -> R: ...
    async def ask(self, dst: str, msg: object, expect: type[Any] | None = None) -> Any:
        """Send *msg* to *dst* and wait for its reply (a `ProtocolError` if not an *expect*)."""
        target = self._target(dst)
        tag, payload, given = encode_for_delivery(msg, self._bus.log is not None)
        bus, state = self._bus, self._state
        now = bus.timeline.now
        counter = state.counter = state.counter + 1
        key = ((now * GOLDEN) ^ state.salt) & MASK64
        entry = (key, state.name, counter, ASK, target, counter, payload, tag, given)
        bus.timeline.push(now, entry)
        state.wait_corr = counter
        state.wait_info = f"a reply from {dst!r} to {tag} (ask #{counter})"
        await self._park(W_ASK)
        reply, state.wake = state.wake, None
        if expect is not None and not isinstance(reply, expect):
            raise ProtocolError(f"{dst!r} answered {tag} with {reply!r}, not a {expect.__name__}")
        return reply

    def reply(self, env: Envelope, msg: object) -> None:
        """Answer the ask *env* (exactly once)."""
        state = self._state
        ask = (env.sender, env.ask_id)
        if not env.ask_id or ask not in state.open_asks:
            raise ProtocolError(f"{self.name!r} replied to {env.describe()}, not an open ask")
        target = self._target(env.sender)
        tag, payload, given = encode_for_delivery(msg, self._bus.log is not None)
        state.open_asks.remove(ask)
        now = self._bus.timeline.now
        counter = state.counter = state.counter + 1
        key = ((now * GOLDEN) ^ state.salt) & MASK64
        entry = (key, state.name, counter, REPLY, target, env.ask_id, payload, tag, given)
        self._bus.timeline.push(now, entry)

    # -- waiting --------------------------------------------------------------------

    async def _park(self, waiting: int) -> None:
        await self._bus.park(self._state, waiting)

    @types.coroutine
    def sleep_until(self, t_ns: int) -> Generator[Any, Any, None]:
        """Wait until virtual time *t_ns* (a timer: a delivery to oneself at that instant).

        The runtime's hottest path, so a generator that parks itself like `Bus.park`,
        yielding trio's trap directly.
        """
        bus, state = self._bus, self._state
        timeline = bus.timeline
        if t_ns < timeline.now:
            raise ValueError(f"sleep_until({t_ns}) is in the past (now {timeline.now})")
        counter = state.counter = state.counter + 1
        key = ((t_ns * GOLDEN) ^ state.salt) & MASK64
        timeline.push(t_ns, (key, state.name, counter, TIMER, state, counter, None, "Timer", None))
        # Bus.park, inlined: a lockstep delta wakes every actor here, and the frame of
        # a delegating generator cost a tenth of the 4096-actor engine benchmark.
        state.waiting = W_TIMER
        bus.running -= 1
        if bus.running == 0:
            yield from trio.lowlevel.checkpoint_if_cancelled().__await__()
            if bus.step(state):
                if bus.breathe():
                    yield from trio.lowlevel.cancel_shielded_checkpoint().__await__()
                return  # woke itself: no task switch
        trap = bus.trap
        if trap is None:
            yield from bus.park_public().__await__()
        else:
            resumed = yield trap
            if resumed is not RESUMED:
                resumed.unwrap()  # trio's Error outcome: the cancellation of the run

    @types.coroutine
    def receive(self) -> Generator[Any, Any, Batch]:
        """Wait for messages; returns every message of the delta that woke this actor.

        Like `sleep_until`, a generator delegating to `Bus.park`: every wakeup of
        a CPU actor comes through here.
        """
        state = self._state
        if state.in_job:
            raise ProtocolError("a serializer job cannot receive(); it may tell, ask and sleep")
        bus = self._bus
        while True:
            if not state.mailbox:
                yield from bus.park(state, W_RECEIVE)
            envs, state.mailbox = state.mailbox, []
            if state.serials:
                envs = self._route_job_done(envs)
                if not envs:
                    continue
            return Batch(envs, state)

    def _route_job_done(self, envs: list[Envelope]) -> list[Envelope]:
        rest = []
        serials = self._state.serials
        for env in envs:
            msg = env.msg
            if isinstance(msg, JobDone) and msg.serial in serials:
                serials[msg.serial].job_done(msg)
            else:
                rest.append(env)
        return rest

    # -- children -----------------------------------------------------------------

    def spawn(
        self, name: str, actor: Callable[[Context, *Ts], Awaitable[None]], *args: *Ts
    ) -> None:
        """Start actor *name*; it runs from the next delta (its start is a delivery from us)."""
        bus = self._bus
        state = bus.register(name, self._state)
        Context(bus, state, self._event_level)
        bus.start_actor(state, actor, args)

    def open_serializer(self, name: str, mode: SerialMode) -> Serializer:
        """A one-job-at-a-time runner owned by this actor (see actors/serial.py)."""
        return Serializer(self, name, mode)

    def adopt_serializer(self, serial: Serializer) -> None:
        """Route the `JobDone` reports of *serial* to it (called by `Serializer`)."""
        if serial.name in self._state.serials:
            raise ValueError(f"{self.name!r} already has a serializer named {serial.name!r}")
        self._state.serials[serial.name] = serial

    @contextmanager
    def running_job(self) -> Iterator[None]:
        """While a serializer job runs in this (worker) context, receive() is refused."""
        self._state.in_job = True
        try:
            yield
        finally:
            self._state.in_job = False
