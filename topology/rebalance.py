"""The periodic balance walk over a CPU's domains, in three eras (SPEC §2.1-2.2).

kernel/sched.c has one loop that changed shape twice:

* ``TICK_2614`` -- 2.6.14 ``rebalance_tick`` (LB-T1, LB-IVL-1): runs every tick
  with ``j = jiffies + CPU_OFFSET(cpu)``, ``CPU_OFFSET(cpu) = HZ*cpu/NR_CPUS``;
  a level is due when ``j - last_balance >= interval`` (unsigned long
  arithmetic) and then ``last_balance += interval`` (catch-up: after a stall
  the level runs on consecutive ticks until it has caught up).
* ``TASKLET_MM`` -- 2.6.19-rc4-mm2 ``rebalance_domains`` (LB-T2, seed 004): the
  stagger moved to build time (patch 4/7 sets each domain's initial
  last_balance to ``jiffies + cpu*HZ/NR_CPUS``, see `cpu_offset`), so the test
  is ``jiffies - last_balance >= interval``, still unsigned and still with
  catch-up; ``next_balance`` starts at ``jiffies + 60*HZ`` and takes
  ``min(next_balance, last_balance + balance_interval)`` over every
  SD_LOAD_BALANCE level -- balance_interval in *ms* added to jiffies, without
  busy_factor (the unit quirk of the -mm version).
* ``SOFTIRQ_2620`` -- 2.6.20+ ``rebalance_domains`` (LB-T3, LB-IVL-2): the test
  is ``time_after_eq(jiffies, last_balance + interval)``, then
  ``last_balance = jiffies``; the interval may be capped (``HZ*NR_CPUS/10``
  from the 2.6.2x series on, passed as *interval_cap*); SD_SERIALIZE levels are
  behind one machine-wide try-lock and a failed try-lock skips the level but
  still folds its deadline (``goto out``); ``next_balance`` is the min of
  ``last_balance + interval`` over visited levels and is reported only if some
  level was visited; the walk stops after a level whose load_balance cleared
  ``balance`` (LB-SER-3).

In every era a level whose load_balance returned nonzero switches the idle type
to NOT_IDLE for the levels above it.

load_balance itself is a callback: the pass is pure as long as the callback is
(tests pass a table; the actors pass a function over the load-board snapshot).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from enum import Enum

from topology.loadbalance import IdleType, balance_interval_jiffies

__all__ = [
    "BITS_PER_LONG",
    "BalanceEra",
    "LbReport",
    "LevelClock",
    "RebalancePass",
    "cpu_offset",
    "idle_from_nr_running",
    "rebalance_domains",
]

BITS_PER_LONG = 64
"""Width of ``unsigned long`` for the unsigned jiffies subtraction of 2.6.14 and -mm."""


class BalanceEra(Enum):
    """Which kernel's balance walk to model (module docstring)."""

    TICK_2614 = "2.6.14"
    TASKLET_MM = "2.6.19-mm"
    SOFTIRQ_2620 = "2.6.20"


@dataclass(frozen=True, slots=True)
class LevelClock:
    """One domain level's balance clock: the sched_domain fields the walk reads and writes."""

    last_balance: int
    """jiffies"""
    balance_interval: int
    """ms"""
    busy_factor: int
    load_balance: bool = True
    """SD_LOAD_BALANCE"""
    serialize: bool = False
    """SD_SERIALIZE"""


@dataclass(frozen=True, slots=True)
class LbReport:
    """What load_balance reported for one level.

    *result* is its return value (tasks moved; 2.6.14 returns -1 on an SMT level
    whose sibling is busy, LBO-4); *balance_interval* the domain's interval in ms
    after its backoff bookkeeping (None: unchanged); *balance* the 2.6.20
    designated-balancer flag (False stops the walk, LB-SER-3).
    """

    result: int
    balance_interval: int | None = None
    balance: bool = True


@dataclass(frozen=True, slots=True)
class RebalancePass:
    """The outcome of one walk over a CPU's levels (bottom-up indices)."""

    levels: tuple[LevelClock, ...]
    """The levels with their new last_balance and balance_interval."""
    balanced: tuple[tuple[int, IdleType], ...]
    """(level, idle type passed to load_balance), in walk order."""
    serialize_skipped: tuple[int, ...]
    """Levels skipped because the SD_SERIALIZE try-lock failed (LB-T3)."""
    next_balance: int | None
    """New rq->next_balance, or None when the era leaves it alone."""
    idle: IdleType
    """The idle type after the walk."""
    overdue_skipped: bool = False
    """SOFTIRQ_2620: a level skipped for the try-lock was already due (the CPU will
    try again at its next tick)."""
    next_unskipped: int | None = None
    """SOFTIRQ_2620: next_balance over the visited levels that were not skipped."""


LoadBalance = Callable[[int, IdleType], LbReport]
TrySerialize = Callable[[int], bool]


def cpu_offset(cpu: int, hz: int, nr_cpus: int) -> int:
    """CPU_OFFSET(cpu) = HZ*cpu/NR_CPUS (2.6.14; the -mm build-time stagger).

    *nr_cpus* is the kernel's compile-time NR_CPUS, not the online count.
    """
    return hz * cpu // nr_cpus


def idle_from_nr_running(nr_running: int) -> IdleType:
    """-mm and 2.6.20: ``idle = !this_rq->nr_running ? SCHED_IDLE : NOT_IDLE``."""
    return IdleType.SCHED_IDLE if nr_running == 0 else IdleType.NOT_IDLE


def _interval(level: LevelClock, idle: IdleType, hz: int) -> int:
    """msecs_to_jiffies(balance_interval [x busy_factor]), at least 1 (LB-IVL-1)."""
    return balance_interval_jiffies(level.balance_interval, level.busy_factor, idle, hz)


def _unsigned_due(now: int, last_balance: int, interval: int) -> bool:
    """``now - last_balance >= interval`` in unsigned long arithmetic."""
    return (now - last_balance) % (1 << BITS_PER_LONG) >= interval


@dataclass(frozen=True, slots=True)
class _Walk:
    """Mutable-by-replacement state of a walk in progress."""

    levels: tuple[LevelClock, ...]
    idle: IdleType
    balanced: tuple[tuple[int, IdleType], ...] = ()
    skipped: tuple[int, ...] = ()
    next_balance: int | None = None
    overdue_skipped: bool = False
    next_unskipped: int | None = None


def rebalance_domains(
    levels: Sequence[LevelClock],
    *,
    era: BalanceEra,
    jiffies: int,
    cpu: int,
    hz: int,
    nr_cpus: int,
    idle: IdleType,
    load_balance: LoadBalance,
    try_serialize: TrySerialize | None = None,
    interval_cap: int | None = None,
) -> RebalancePass:
    """One balance walk of *cpu*'s levels, bottom-up, in the given *era*.

    *try_serialize(level)* is the SD_SERIALIZE try-lock (SOFTIRQ_2620 only;
    None: always acquired); *interval_cap* the SOFTIRQ_2620 cap in jiffies.
    """
    walk = _Walk(tuple(levels), idle)
    if era is BalanceEra.SOFTIRQ_2620:
        walk = _walk_2620(walk, jiffies, hz, load_balance, try_serialize, interval_cap)
    else:
        now = jiffies + cpu_offset(cpu, hz, nr_cpus) if era is BalanceEra.TICK_2614 else jiffies
        walk = _walk_catch_up(walk, now, hz, load_balance)
        if era is BalanceEra.TASKLET_MM:
            walk = replace(walk, next_balance=_tasklet_next_balance(walk.levels, jiffies, hz))
    return RebalancePass(
        walk.levels,
        walk.balanced,
        walk.skipped,
        walk.next_balance,
        walk.idle,
        walk.overdue_skipped,
        walk.next_unskipped,
    )


def _balance_level(walk: _Walk, i: int, lb: LoadBalance, last_balance: int) -> tuple[_Walk, bool]:
    """Run load_balance on level *i*; record it, switch idle, store the new clock."""
    report = lb(i, walk.idle)
    level = walk.levels[i]
    interval_ms = level.balance_interval
    if report.balance_interval is not None:
        interval_ms = report.balance_interval
    # Built field by field: dataclasses.replace costs several times more, once per
    # balanced level of every pass.
    new_level = LevelClock(
        last_balance, interval_ms, level.busy_factor, level.load_balance, level.serialize
    )
    walk = _Walk(
        (*walk.levels[:i], new_level, *walk.levels[i + 1 :]),
        IdleType.NOT_IDLE if report.result else walk.idle,
        (*walk.balanced, (i, walk.idle)),
        walk.skipped,
        walk.next_balance,
        walk.overdue_skipped,
        walk.next_unskipped,
    )
    return walk, report.balance


def _walk_catch_up(walk: _Walk, now: int, hz: int, lb: LoadBalance) -> _Walk:
    """2.6.14 rebalance_tick, -mm rebalance_domains: unsigned test, catch-up."""
    for i, level in enumerate(walk.levels):
        if not level.load_balance:
            continue
        interval = _interval(level, walk.idle, hz)
        if _unsigned_due(now, level.last_balance, interval):
            walk, _ = _balance_level(walk, i, lb, level.last_balance + interval)
    return walk


def _tasklet_next_balance(levels: Sequence[LevelClock], jiffies: int, hz: int) -> int:
    """LB-T2: min(jiffies + 60*HZ, last_balance + balance_interval[ms]) over balanced levels."""
    nxt = jiffies + 60 * hz
    for level in levels:
        if level.load_balance:
            nxt = min(nxt, level.last_balance + level.balance_interval)
    return nxt


def _walk_2620(
    walk: _Walk,
    jiffies: int,
    hz: int,
    lb: LoadBalance,
    try_serialize: TrySerialize | None,
    interval_cap: int | None,
) -> _Walk:
    """2.6.20+ rebalance_domains: time_after_eq, ``last_balance = jiffies``, serialize skips."""
    next_balance, visited = jiffies + 60 * hz, False
    unskipped: int | None = None
    overdue = False
    for i, level in enumerate(walk.levels):
        if not level.load_balance:
            continue
        interval = _interval(level, walk.idle, hz)
        if interval_cap is not None:
            interval = min(interval, interval_cap)
        balance = True
        skip = level.serialize and try_serialize is not None and not try_serialize(i)
        if skip:
            walk = replace(walk, skipped=(*walk.skipped, i))
            overdue = overdue or jiffies >= level.last_balance + interval
        elif jiffies >= level.last_balance + interval:
            walk, balance = _balance_level(walk, i, lb, jiffies)
        deadline = walk.levels[i].last_balance + interval
        if next_balance > deadline:
            next_balance, visited = deadline, True
        if not skip and (unskipped is None or deadline < unskipped):
            unskipped = deadline
        if not balance:
            break
    return replace(
        walk,
        next_balance=next_balance if visited else None,
        overdue_skipped=overdue,
        next_unskipped=unskipped,
    )
