"""The one global balance tasklet of 2.6.19-rc4-mm2 (LB-T2, seed 004), as a pure state.

Models kernel/softirq.c (tasklet_schedule, tasklet_action) and
include/linux/interrupt.h (TASKLET_STATE_SCHED, TASKLET_STATE_RUN,
tasklet_trylock/tasklet_unlock) for the single ``DECLARE_TASKLET(rebalance,
...)`` of the -mm patch:

* ``scheduler_tick`` calls ``tasklet_schedule`` when ``jiffies >=
  rq->next_balance`` (`wants_balance`);
* ``tasklet_schedule`` sets SCHED with test_and_set_bit: if it was already set
  (pending on *any* CPU) the call is a no-op -- the requesting CPU is refused
  and retries on its next tick, since its next_balance stays in the past;
  otherwise the tasklet is queued on the calling CPU's list;
* ``tasklet_action`` on the CPU whose list holds it: if RUN is already set
  (another CPU is running it) the tasklet is re-queued on this CPU and the
  softirq re-raised (`TaskletStep.REQUEUED`); else RUN is set, SCHED cleared
  and the function runs -- balancing *this* CPU (smp_processor_id), which is
  the CPU that queued it, not necessarily every CPU that asked;
* because SCHED is cleared before the function runs, any CPU may queue it
  again while it runs; that instance then spins (re-queues) until RUN clears.

Only one pass runs at a time machine-wide (LB-SER-2): RUN is the lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

__all__ = [
    "Tasklet",
    "TaskletError",
    "TaskletStep",
    "tasklet_action",
    "tasklet_schedule",
    "tasklet_takeover",
    "tasklet_unlock",
    "wants_balance",
]


class TaskletError(RuntimeError):
    """A transition the kernel would BUG() on (or that cannot happen)."""


class TaskletStep(Enum):
    """What tasklet_action did on the CPU that ran it."""

    RAN = "ran"
    REQUEUED = "requeued"


@dataclass(frozen=True, slots=True)
class Tasklet:
    """The rebalance tasklet's state bits and where it is queued / running."""

    queued_on: int | None = None
    """CPU whose tasklet_vec holds it; not None iff TASKLET_STATE_SCHED."""
    running_on: int | None = None
    """CPU running the function; not None iff TASKLET_STATE_RUN."""

    @property
    def sched(self) -> bool:
        """TASKLET_STATE_SCHED."""
        return self.queued_on is not None

    @property
    def run(self) -> bool:
        """TASKLET_STATE_RUN."""
        return self.running_on is not None


def wants_balance(jiffies: int, next_balance: int) -> bool:
    """-mm scheduler_tick: ``if (jiffies >= rq->next_balance) tasklet_schedule(...)``."""
    return jiffies >= next_balance


def tasklet_schedule(tasklet: Tasklet, cpu: int) -> tuple[Tasklet, bool]:
    """tasklet_schedule from *cpu*: (new state, accepted); refused iff already SCHED."""
    if tasklet.sched:
        return tasklet, False
    return Tasklet(queued_on=cpu, running_on=tasklet.running_on), True


def tasklet_action(tasklet: Tasklet, cpu: int) -> tuple[Tasklet, TaskletStep]:
    """TASKLET_SOFTIRQ on *cpu*, which must hold the tasklet on its list.

    RAN: the caller now runs rebalance_domains for *cpu* and later calls
    `tasklet_unlock`. REQUEUED: it is running elsewhere; *cpu* keeps it queued
    and tries again on its next softirq.
    """
    if tasklet.queued_on != cpu:
        raise TaskletError(f"tasklet_action on cpu {cpu}: tasklet queued on {tasklet.queued_on}")
    if tasklet.run:
        return tasklet, TaskletStep.REQUEUED
    return Tasklet(queued_on=None, running_on=cpu), TaskletStep.RAN


def tasklet_unlock(tasklet: Tasklet, cpu: int) -> Tasklet:
    """tasklet_unlock after the function returned on *cpu*: clear RUN, keep SCHED."""
    if tasklet.running_on != cpu:
        raise TaskletError(f"tasklet_unlock on cpu {cpu}: running on {tasklet.running_on}")
    return Tasklet(queued_on=tasklet.queued_on, running_on=None)


def tasklet_takeover(tasklet: Tasklet, dead: int, cpu: int) -> Tasklet:
    """takeover_tasklets (CPU_DEAD notifier, kernel/softirq.c): the tasklet queued on the
    dead CPU's list moves to the list of *cpu*, the CPU running the notifier."""
    if tasklet.queued_on != dead:
        return tasklet
    return Tasklet(queued_on=cpu, running_on=tasklet.running_on)
