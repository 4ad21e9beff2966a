"""The serializing primitive: run at most one job at a time, refusing what does not fit.

Models the two ways the kernel serialized load balancing (SPEC.md §2.1, §2.11):

* `SerialMode.TASKLET` — ``tasklet_schedule`` semantics (include/linux/
  interrupt.h, kernel/softirq.c ``tasklet_action``; the 2.6.19-rc4-mm2 balancing
  tasklet, LB-T2, LB-SER-2).  Scheduling is a no-op while an instance is
  already *pending* (TASKLET_STATE_SCHED), so that request is refused
  ("absorbed").  SCHED is cleared just before the function runs, so one
  request is accepted while a job runs; it waits for the running one
  (TASKLET_STATE_RUN trylock, re-raised until free).  At most one job runs and
  one waits.
* `SerialMode.TRYLOCK` — ``spin_trylock(&balancing)`` (2.6.20
  ``run_rebalance_domains``; ``sched_balance_running`` cmpxchg in 6.x; LB-T3,
  LB-T4, LB-SER-1): refused unless nothing is running; nothing ever waits.

How it sits on the bus: the owner actor opens it (`Context.open_serializer`)
and calls `Serializer.start_soon` while handling its messages, so every
accept/refuse decision is taken in canonical order.  Jobs run in a worker
actor named ``"<owner>/<name>"``, one after another, so the owner keeps
receiving (and refusing) while a job runs.  A job is an async function
``job(ctx, *args)`` that may tell, ask and sleep_until with the worker's
context (not receive).  The worker reports each end with a `JobDone`
message, which the owner's `receive` consumes before handing out the rest of
its batch.  Invariant 5 (DESIGN.md) holds by construction: one worker, one
job at a time.
"""

# SIMPLIFIED: an accepted job starts at once (the worker is woken in the next
# delta at the same instant); the kernel's window between tasklet_schedule and
# tasklet_action, where a second request is also absorbed, is zero virtual time.
# SIMPLIFIED: the kernel runs the tasklet on the CPU whose list it was queued on
# and balances smp_processor_id(); here the job receives the submitter's
# arguments (e.g. its CPU number) instead.

from __future__ import annotations

import enum
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVarTuple

from actors.messages import JobDone, JobQueued

if TYPE_CHECKING:
    from actors.context import Context

__all__ = ["SerialMode", "SerialStatistics", "Serializer"]

Ts = TypeVarTuple("Ts")


class SerialMode(enum.Enum):
    TASKLET = "tasklet"
    TRYLOCK = "trylock"


@dataclass(frozen=True, slots=True, kw_only=True)
class SerialStatistics:
    """Counters of one serializer; *refused_by* counts refusals per job label."""

    name: str
    mode: str
    submitted: int
    accepted: int
    refused: int
    completed: int
    in_flight: int
    busy_ns: int
    max_wait_ns: int
    refused_by: tuple[tuple[str, int], ...]


class Serializer:
    """At most one job at a time, in a worker actor (see the module docstring)."""

    def __init__(self, owner: Context, name: str, mode: SerialMode) -> None:
        if not isinstance(mode, SerialMode):
            raise TypeError(f"mode must be a SerialMode, not {mode!r}")
        self.name = name
        self.mode = mode
        self.owner_name = owner.name
        self.worker = f"{owner.name}/{name}"
        self._owner = owner
        self._limit = 2 if mode is SerialMode.TASKLET else 1
        self._queue: deque[int] = deque()  # accepted, not yet done; [0] is running
        self._jobs: dict[int, tuple[Callable[..., Awaitable[None]], tuple[Any, ...], int]] = {}
        self._next_job = 0
        self._submitted = self._accepted = self._completed = 0
        self._busy_ns = self._max_wait_ns = 0
        self._refused_by: Counter[str] = Counter()
        owner.adopt_serializer(self)
        owner.spawn(self.worker, _run_jobs, self)

    @property
    def busy(self) -> bool:
        """A job is running (or about to, at this instant)."""
        return bool(self._queue)

    @property
    def pending(self) -> bool:
        """A job waits behind the running one (TASKLET mode only)."""
        return len(self._queue) > 1

    def start_soon(
        self,
        job: Callable[[Context, *Ts], Awaitable[None]],
        *args: *Ts,
        label: str | None = None,
    ) -> bool:
        """Queue ``job(worker_ctx, *args)``; False (and counted) if the mode refuses it."""
        if label is None:
            label = getattr(job, "__qualname__", repr(job))
        self._submitted += 1
        if len(self._queue) >= self._limit:
            self._refused_by[label] += 1
            return False
        self._next_job += 1
        job_id = self._next_job
        self._jobs[job_id] = (job, args, self._owner.now_ns)
        self._queue.append(job_id)
        self._accepted += 1
        self._owner.tell(self.worker, JobQueued(serial=self.name, job=job_id, label=label))
        return True

    def job_done(self, done: JobDone) -> None:
        """The owner's receive hands over the worker's report of a finished job."""
        if not self._queue or self._queue[0] != done.job:
            raise RuntimeError(f"serializer {self.worker}: unexpected {done!r}")
        self._queue.popleft()
        self._completed += 1
        self._busy_ns += done.finished_ns - done.started_ns
        self._max_wait_ns = max(self._max_wait_ns, done.started_ns - done.submitted_ns)

    def take(self, job_id: int) -> tuple[Callable[..., Awaitable[None]], tuple[Any, ...], int]:
        """The worker collects job *job_id* (queued by the owner in an earlier delta)."""
        return self._jobs.pop(job_id)

    def statistics(self) -> SerialStatistics:
        return SerialStatistics(
            name=self.worker,
            mode=self.mode.value,
            submitted=self._submitted,
            accepted=self._accepted,
            refused=self._submitted - self._accepted,
            completed=self._completed,
            in_flight=len(self._queue),
            busy_ns=self._busy_ns,
            max_wait_ns=self._max_wait_ns,
            refused_by=tuple(sorted(self._refused_by.items())),
        )


async def _run_jobs(ctx: Context, serial: Serializer) -> None:
    """The worker actor: run each queued job to its end, then report it to the owner."""
    while True:
        for env in await ctx.receive():
            queued = env.msg
            if not isinstance(queued, JobQueued):
                raise TypeError(f"serializer worker got {queued!r}")
            job, args, submitted_ns = serial.take(queued.job)
            started_ns = ctx.now_ns
            with ctx.running_job():
                await job(ctx, *args)
            done = JobDone(
                serial=serial.name,
                job=queued.job,
                submitted_ns=submitted_ns,
                started_ns=started_ns,
                finished_ns=ctx.now_ns,
            )
            ctx.tell(serial.owner_name, done)
