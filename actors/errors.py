"""Errors a run can end with.  Each one names the virtual time, so a log can be read up to it.

An actor's own exception never escapes bare: the run stops at the end of that
delta and `Simulation.run` raises one `ActorCrashed` (the original exception is
its ``__cause__``).  Bus-level failures (`Deadlock`, `DeadLetter`, `Livelock`)
stop the run the same way.  Misuse detected inside an actor (`UnknownActor`,
`ProtocolError`) is raised in that actor, so it surfaces as its crash.
"""

from __future__ import annotations

__all__ = [
    "ActorCrashed",
    "DeadLetter",
    "Deadlock",
    "Livelock",
    "ProtocolError",
    "SimulationError",
    "UnknownActor",
]


class SimulationError(Exception):
    """Base of the errors that end a run; *vtime_ns* and *delta* say when."""

    def __init__(self, text: str, *, vtime_ns: int, delta: int) -> None:
        super().__init__(f"{text} (vtime {vtime_ns} ns, delta {delta})")
        self.vtime_ns = vtime_ns
        self.delta = delta


class ActorCrashed(SimulationError):
    """An actor raised: which one, when, and the message it was handling."""

    def __init__(
        self, *, actor: str, handling: str, error: BaseException, vtime_ns: int, delta: int
    ) -> None:
        super().__init__(
            f"actor {actor!r} crashed while handling {handling}: {error!r}",
            vtime_ns=vtime_ns,
            delta=delta,
        )
        self.actor = actor
        self.handling = handling
        self.error = error


class Deadlock(SimulationError):
    """Nothing is scheduled but actors wait for replies that can never come."""

    def __init__(self, *, waiting: tuple[str, ...], vtime_ns: int, delta: int) -> None:
        super().__init__("deadlock: " + "; ".join(waiting), vtime_ns=vtime_ns, delta=delta)
        self.waiting = waiting


class DeadLetter(SimulationError):
    """A message was due for an actor that has already finished or crashed."""


class Livelock(SimulationError):
    """Too many deltas at one instant: actors keep messaging without time advancing."""


class UnknownActor(LookupError):
    """A message addressed to a name that no actor has."""


class ProtocolError(RuntimeError):
    """Misuse of the bus inside an actor (a reply to a tell, a second reply, a wrong reply type)."""
