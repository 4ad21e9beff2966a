"""Active load balancing, 2.6.14 (SPEC §2.10): kernel/sched.c active_load_balance.

load_balance kicks the busiest CPU's migration thread (LBO-1) with
``push_cpu = this_cpu``.  The thread runs *on* the busiest CPU, so the task that
was running there has been preempted and is merely queued: the caller passes
the busiest queue with ``running=False`` for every task.  It does nothing when
the busiest CPU has no task besides that thread (the kernel's nr_running <= 1
counts it); otherwise it searches push_cpu's domains
bottom-up for the first with SD_LOAD_BALANCE whose span contains the busiest
CPU and moves one task through the normal move_tasks/can_migrate_task path
(idle type SCHED_IDLE, which 2.6.14 can_migrate_task does not consult).
Cache-hotness is bypassed only because LBO-1 left nr_balance_failed at
cache_nice_tries + 1; the caller passes that domain's current count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from topology.cpumask import CpuMask
from topology.loadbalance import MovableTask, move_tasks

__all__ = ["ActiveLevel", "active_balance_domain", "active_load_balance"]


@dataclass(frozen=True, slots=True)
class ActiveLevel:
    """One of push_cpu's domain levels: its span and SD_LOAD_BALANCE."""

    span: CpuMask
    load_balance: bool = True


def active_balance_domain(push_cpu_levels: Sequence[ActiveLevel], busiest_cpu: int) -> int | None:
    """The lowest SD_LOAD_BALANCE level of push_cpu spanning *busiest_cpu*, or None."""
    for i, level in enumerate(push_cpu_levels):
        if level.load_balance and busiest_cpu in level.span:
            return i
    return None


def active_load_balance(
    busiest_queue: Sequence[MovableTask],
    target_cpu: int,
    now_ns: int,
    nr_balance_failed: int,
    cache_nice_tries: int,
    cache_hot_time_ns: int,
) -> int | None:
    """The pid pushed to *target_cpu* (move_tasks with max_nr_move = 1), or None.

    *busiest_queue* is every task on the busiest runqueue, none of them running: the
    migration thread runs this on the busiest CPU and has preempted its task.  The
    kernel's ``if (busiest_rq->nr_running <= 1) return;`` counts that thread too, so
    it gives up only when the thread is alone: one task is pushed (the case active
    balancing exists for, a busy CPU's only task and an idle sibling or node).
    """
    if not busiest_queue:
        return None
    moved, _ = move_tasks(
        busiest_queue, 1, target_cpu, now_ns, nr_balance_failed, cache_nice_tries, cache_hot_time_ns
    )
    return moved[0] if moved else None
