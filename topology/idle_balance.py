"""Newly-idle balancing (SPEC §2.9): kernel/sched.c idle_balance, load_balance_newidle.

schedule() calls idle_balance when the runqueue just became empty.  For each
domain bottom-up with SD_BALANCE_NEWIDLE it runs the newidle variant of
load_balance (find_busiest_group with NEWLY_IDLE, i.e. the newidle_idx load
index, `topology.loadbalance.load_idx`) and stops at the first level whose call
returned nonzero.  Newidle balancing never kicks active balancing and never
touches balance_interval; it only resets nr_balance_failed (`newidle_outcome`).
2.6.24 (`idle_balance_2624`, the softirq-serialize mode) also folds ``last_balance
+ msecs_to_jiffies(balance_interval)`` of the visited SD_LOAD_BALANCE levels into
a new rq->next_balance, written when it pulled or the old one had passed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from topology.loadbalance import DomainRuntime, msecs_to_jiffies

__all__ = ["NewidleLevel", "idle_balance", "idle_balance_2624", "newidle_outcome"]


@dataclass(frozen=True, slots=True)
class NewidleLevel:
    """The fields idle_balance reads of one domain level."""

    balance_newidle: bool
    """SD_BALANCE_NEWIDLE"""
    load_balance: bool = True
    """SD_LOAD_BALANCE (2.6.20+ skips levels without it)"""
    last_balance: int = 0
    """jiffies"""
    balance_interval: int = 1
    """ms"""


LoadBalanceNewidle = Callable[[int], int]
"""load_balance_newidle(level) -> tasks moved (or -1 on a busy SMT level, LBO-4)."""


def idle_balance(levels: Sequence[NewidleLevel], lb: LoadBalanceNewidle) -> tuple[int, ...]:
    """2.6.14 idle_balance: the levels tried, bottom-up, stopping at the first nonzero."""
    tried: list[int] = []
    for i, level in enumerate(levels):
        if level.balance_newidle:
            tried.append(i)
            if lb(i):
                break
    return tuple(tried)


def idle_balance_2624(
    levels: Sequence[NewidleLevel],
    lb: LoadBalanceNewidle,
    jiffies: int,
    hz: int,
    next_balance: int,
) -> tuple[tuple[int, ...], int | None]:
    """2.6.24 idle_balance: (levels tried, the new rq->next_balance or None to keep it).

    Over the SD_LOAD_BALANCE levels bottom-up: run load_balance_newidle where
    SD_BALANCE_NEWIDLE is set, fold ``last_balance + interval`` into a deadline that
    starts at ``jiffies + HZ``, stop once ``pulled_task`` is nonzero.  It starts at
    -1, so a first balancing level without SD_BALANCE_NEWIDLE stops the walk at
    once, and a -1 (busy SMT level, LBO-4) counts as pulled.  The deadline is
    written when something was pulled or *next_balance* (the current
    rq->next_balance) has passed.
    """
    tried: list[int] = []
    deadline, pulled = jiffies + hz, -1
    for i, level in enumerate(levels):
        if not level.load_balance:
            continue
        if level.balance_newidle:
            tried.append(i)
            pulled = lb(i)
        deadline = min(deadline, level.last_balance + msecs_to_jiffies(level.balance_interval, hz))
        if pulled:
            break
    if pulled or jiffies > next_balance:
        return tuple(tried), deadline
    return tuple(tried), None


def newidle_outcome(
    state: DomainRuntime, *, imbalanced: bool, nr_moved: int, smt_sibling_busy: bool = False
) -> DomainRuntime:
    """load_balance_newidle bookkeeping (2.6.14, LBO-2): nr_balance_failed only, no backoff.

    Moved -> 0; balanced -> 0 unless the level is SD_SHARE_CPUPOWER with a busy
    sibling (*smt_sibling_busy*: the early ``return -1`` skips the reset); a
    failed attempt leaves the count alone (only periodic balancing counts).
    """
    if nr_moved or (not imbalanced and not smt_sibling_busy):
        return replace(state, nr_balance_failed=0)
    return state
