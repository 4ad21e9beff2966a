"""What an actor holds on the bus: its mailbox, what it is waiting for, and its counters.

`Envelope` is what `Context.receive` hands out: a decoded copy of the message,
its sender, and the ask id when the sender awaits a reply.  `Batch` is the
sequence of envelopes of one wakeup; iterating it records which message the
actor is handling, so a crash can name it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, overload

from actors.log import EventSink

if TYPE_CHECKING:
    from actors.serial import Serializer

__all__ = [
    "W_ASK",
    "W_CRASHED",
    "W_DONE",
    "W_RECEIVE",
    "W_RUNNING",
    "W_START",
    "W_TIMER",
    "ActorState",
    "Batch",
    "Envelope",
]

# What a parked actor waits for (ActorState.waiting); >= W_DONE means it is gone.
W_RUNNING, W_START, W_RECEIVE, W_ASK, W_TIMER, W_DONE, W_CRASHED = range(7)
WAIT_NAMES = ("running", "starting", "receiving", "asking", "sleeping", "finished", "crashed")


class Envelope(NamedTuple):
    """One delivered message: *msg* (a fresh decoded copy), *sender*, *ask_id* (0 for a tell)."""

    msg: object
    sender: str
    ask_id: int = 0

    def describe(self) -> str:
        kind = f"ask #{self.ask_id}" if self.ask_id else "tell"
        return f"{self.msg!r} ({kind} from {self.sender!r})"


class ActorState:
    """The bus's record of one actor (the actor itself only sees its `Context`)."""

    __slots__ = (
        "counter",
        "ctx",
        "handling",
        "in_job",
        "mailbox",
        "name",
        "open_asks",
        "received",
        "salt",
        "serials",
        "sink",
        "task",
        "wait_corr",
        "wait_info",
        "waiting",
        "wake",
    )

    def __init__(self, name: str, salt: int, dirty_sinks: list[EventSink]) -> None:
        self.name = name
        self.salt = salt
        self.counter = 0  # messages sent, asks and timers set: the canonical-order counter
        self.task: Any = None
        self.ctx: Any = None
        self.waiting = W_START
        self.wait_corr = 0
        self.wait_info = ""  # for deadlock reports: whom an ask waits on
        self.wake: object = None  # a reply, delivered with the wakeup
        self.mailbox: list[Envelope] = []
        self.open_asks: set[tuple[str, int]] = set()
        self.sink = EventSink(dirty_sinks)
        self.handling: object = "its start"
        self.received = 0
        self.serials: dict[str, Serializer] = {}
        self.in_job = False

    def describe_handling(self) -> str:
        handling = self.handling
        if isinstance(handling, Envelope):
            return handling.describe()
        if isinstance(handling, Batch):
            return f"a batch of {len(handling)}: " + ", ".join(e.describe() for e in handling._envs)
        return str(handling)


class Batch(Sequence[Envelope]):
    """The envelopes of one wakeup, in canonical order (all this actor's messages of one delta)."""

    __slots__ = ("_actor", "_envs")

    def __init__(self, envs: list[Envelope], actor: ActorState) -> None:
        self._envs = envs
        self._actor = actor
        actor.handling = self

    def __iter__(self) -> Iterator[Envelope]:
        actor = self._actor
        for env in self._envs:
            actor.handling = env
            yield env

    def __len__(self) -> int:
        return len(self._envs)

    @overload
    def __getitem__(self, index: int) -> Envelope: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Envelope]: ...
    def __getitem__(self, index: int | slice) -> Envelope | Sequence[Envelope]:
        return self._envs[index]

    def messages(self) -> list[object]:
        """Just the messages, in order."""
        return [env.msg for env in self._envs]

    def __repr__(self) -> str:
        return f"Batch({self._envs!r})"
