"""Load-balancing decisions of 2.6.14 (kernel/sched.c), as pure functions.

The actors own runqueues and domain runtime state; every *decision* of the
periodic balancer is made here, over frozen values, with the kernel's exact
integer arithmetic:

* the load metric: `update_cpu_load`, `source_load`, `target_load` (LOAD-1/2);
* `find_busiest_group` (§2.5) and `find_busiest_queue` (§2.6);
* task selection: `can_migrate_task` (MIG-1) and `move_tasks` (MIG-2);
* the bookkeeping after a pass: `balance_outcome` (LBO-1/2, LB-IVL-4);
* the interval rules: `balance_interval_jiffies` (LB-IVL-1/2) and
  `tasklet_next_balance` (LB-T2's unit quirk).

All loads are in SCHED_LOAD_SCALE units (128 per task of nice 0).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Protocol

from topology.cpumask import CpuMask

__all__ = [
    "MAX_PINNED_INTERVAL",
    "SCHED_LOAD_SCALE",
    "BalanceOutcome",
    "Busiest",
    "CpuLoad",
    "DomainRuntime",
    "GroupLike",
    "IdleType",
    "MovableTask",
    "balance_interval_jiffies",
    "balance_outcome",
    "can_migrate_task",
    "find_busiest_group",
    "find_busiest_queue",
    "find_idlest_cpu",
    "find_idlest_group",
    "load_idx",
    "move_tasks",
    "msecs_to_jiffies",
    "source_load",
    "span_load",
    "target_load",
    "tasklet_next_balance",
    "update_cpu_load",
]

SCHED_LOAD_SCALE = 128
MAX_PINNED_INTERVAL = 512
"""ms; the all-pinned backoff cap (LB-IVL-4)."""


class IdleType(IntEnum):
    """2.6.14 `enum idle_type` (§2.3)."""

    SCHED_IDLE = 0
    NOT_IDLE = 1
    NEWLY_IDLE = 2


@dataclass(frozen=True, slots=True)
class CpuLoad:
    """What a CPU publishes on the load board: nr_running and its decayed cpu_load[0..2]."""

    nr_running: int
    cpu_load: tuple[int, int, int] = (0, 0, 0)

    @property
    def load_now(self) -> int:
        return self.nr_running * SCHED_LOAD_SCALE


class GroupLike(Protocol):
    """The two fields of a sched_group the balancer reads."""

    @property
    def span(self) -> CpuMask: ...

    @property
    def power(self) -> int: ...


class DomainParams(Protocol):
    """The sched_domain tunables the balancer reads."""

    @property
    def imbalance_pct(self) -> int: ...

    @property
    def busy_idx(self) -> int: ...

    @property
    def idle_idx(self) -> int: ...

    @property
    def newidle_idx(self) -> int: ...


def update_cpu_load(old: tuple[int, int, int], load_now: int) -> tuple[int, int, int]:
    """LOAD-1: cpu_load[i] = (old*(s-1) + new)/s, s = 2^i, rounding up while load rises."""
    out: list[int] = []
    for i, prev in enumerate(old):
        scale = 1 << i
        new = load_now + (scale - 1 if load_now > prev else 0)
        out.append((prev * (scale - 1) + new) // scale)
    return (out[0], out[1], out[2])


def source_load(cpu: CpuLoad, idx: int) -> int:
    """LOAD-2: a low guess of a source CPU's load (min of decayed and current)."""
    return cpu.load_now if idx == 0 else min(cpu.cpu_load[idx - 1], cpu.load_now)


def target_load(cpu: CpuLoad, idx: int) -> int:
    """LOAD-2: a high guess of a destination CPU's load (max of decayed and current)."""
    return cpu.load_now if idx == 0 else max(cpu.cpu_load[idx - 1], cpu.load_now)


def span_load(board: Sequence[CpuLoad], span: CpuMask, idx: int, *, high: bool) -> int:
    """The sum over *span* of target_load (*high*) or source_load at *idx* (LOAD-2).

    The loop find_busiest_group and find_idlest_group run per group.  A board
    that memoizes group sums offers them as ``span_load(span, idx, high)``
    (actors/shared.py's view); the answer is the same.
    """
    cached = getattr(board, "span_load", None)
    if cached is not None:
        total: int = cached(span, idx, high)
        return total
    pick = target_load if high else source_load
    return sum(pick(board[cpu], idx) for cpu in span)


def _span_loads(board: Sequence[CpuLoad]) -> Callable[[CpuMask, int, bool], int]:
    """`span_load` bound to *board* once per call of a group loop."""
    cached = getattr(board, "span_load", None)
    if cached is not None:
        bound: Callable[[CpuMask, int, bool], int] = cached
        return bound
    return lambda span, idx, high: span_load(board, span, idx, high=high)


def load_idx(sd: DomainParams, idle: IdleType) -> int:
    """The cpu_load index find_busiest_group uses for *idle* (busy/newidle/idle_idx)."""
    if idle is IdleType.NOT_IDLE:
        return sd.busy_idx
    if idle is IdleType.NEWLY_IDLE:
        return sd.newidle_idx
    return sd.idle_idx


@dataclass(frozen=True, slots=True)
class Busiest:
    """find_busiest_group's answer: the group index in ring order and the imbalance in tasks."""

    group: int
    imbalance: int


def find_busiest_group(
    groups: Sequence[GroupLike],
    this_cpu: int,
    board: Sequence[CpuLoad],
    idle: IdleType,
    sd: DomainParams,
) -> Busiest | None:
    """find_busiest_group, 2.6.14 (§2.5): None when the domain counts as balanced."""
    idx = load_idx(sd, idle)
    total_load = total_pwr = max_load = this_load = 0
    this = busiest = -1
    sums = _span_loads(board)
    for i, group in enumerate(groups):
        span = group.span
        local = (span.bits >> this_cpu) & 1 == 1
        load = sums(span, idx, local)
        total_load += load
        total_pwr += group.power
        avg = load * SCHED_LOAD_SCALE // group.power
        if local:
            this_load, this = avg, i
        elif avg > max_load:
            max_load, busiest = avg, i
    if busiest < 0 or this < 0 or this_load >= max_load or max_load <= SCHED_LOAD_SCALE:
        return None
    avg_load = SCHED_LOAD_SCALE * total_load // total_pwr
    if this_load >= avg_load or 100 * max_load <= sd.imbalance_pct * this_load:
        return None
    b_pwr, t_pwr = groups[busiest].power, groups[this].power
    max_pull = min(max_load - avg_load, max_load - SCHED_LOAD_SCALE)
    imbalance = min(max_pull * b_pwr, (avg_load - this_load) * t_pwr) // SCHED_LOAD_SCALE
    if imbalance >= SCHED_LOAD_SCALE:
        return Busiest(busiest, imbalance // SCHED_LOAD_SCALE)
    if max_load - this_load >= 2 * SCHED_LOAD_SCALE:
        return Busiest(busiest, 1)
    if _throughput_gain(max_load, this_load, b_pwr, t_pwr):
        return Busiest(busiest, 1)
    return None


def _throughput_gain(max_load: int, this_load: int, b_pwr: int, t_pwr: int) -> bool:
    """§2.5 step 6: would moving one task raise the CPU power in use (pwr_move > pwr_now)?"""
    scale = SCHED_LOAD_SCALE
    pwr_now = (b_pwr * min(scale, max_load) + t_pwr * min(scale, this_load)) // scale
    pwr_move = 0
    tmp = scale * scale // b_pwr
    if max_load > tmp:
        pwr_move += b_pwr * min(scale, max_load - tmp)
    if max_load * b_pwr < scale * scale:
        tmp = max_load * b_pwr // t_pwr
    else:
        tmp = scale * scale // t_pwr
    pwr_move += t_pwr * min(scale, this_load + tmp)
    return pwr_move // scale > pwr_now


def find_busiest_queue(span: Iterable[int], board: Sequence[CpuLoad]) -> int | None:
    """find_busiest_queue, 2.6.14 (§2.6): the CPU with the largest source_load(i, 0) > 0."""
    best, best_load = None, 0
    for cpu in span:
        load = board[cpu].load_now
        if load > best_load:
            best, best_load = cpu, load
    return best


@dataclass(frozen=True, slots=True)
class MovableTask:
    """What the balancer needs to know of a queued task on the busiest CPU."""

    pid: int
    cpus_allowed: CpuMask
    running: bool = False
    last_ran_ns: int = -(1 << 62)


def can_migrate_task(
    task: MovableTask,
    this_cpu: int,
    now_ns: int,
    nr_balance_failed: int,
    cache_nice_tries: int,
    cache_hot_time_ns: int,
) -> tuple[bool, bool]:
    """MIG-1 in order; returns (may migrate, pinned by affinity)."""
    if this_cpu not in task.cpus_allowed:
        return False, True
    if task.running:
        return False, False
    if nr_balance_failed > cache_nice_tries:
        return True, False
    if now_ns - task.last_ran_ns < cache_hot_time_ns:
        return False, False
    return True, False


def move_tasks(
    queue: Sequence[MovableTask],
    max_nr_move: int,
    this_cpu: int,
    now_ns: int,
    nr_balance_failed: int,
    cache_nice_tries: int,
    cache_hot_time_ns: int,
) -> tuple[tuple[int, ...], bool]:
    """MIG-2: pids to pull, scanning from the tail; and all_pinned (every examined task pinned)."""
    # SIMPLIFIED: one FIFO per CPU instead of the O(1) scheduler's expired/active
    # priority arrays, so "from the tail of each priority list" is "from the tail".
    moved: list[int] = []
    all_pinned = True
    for task in reversed(queue):
        if len(moved) >= max_nr_move:
            break
        ok, pinned = can_migrate_task(
            task, this_cpu, now_ns, nr_balance_failed, cache_nice_tries, cache_hot_time_ns
        )
        all_pinned = all_pinned and pinned
        if ok:
            moved.append(task.pid)
    # move_tasks() jumps to "out" with pinned = 0 when max_nr_move == 0.
    return tuple(moved), all_pinned and bool(queue) and max_nr_move > 0


@dataclass(frozen=True, slots=True)
class DomainRuntime:
    """Per-CPU, per-domain balance state (sched_domain's runtime fields)."""

    last_balance: int
    balance_interval: int
    nr_balance_failed: int = 0


@dataclass(frozen=True, slots=True)
class BalanceOutcome:
    """load_balance's bookkeeping result: the new state and whether to kick active balancing."""

    state: DomainRuntime
    kick_active: bool


def balance_outcome(
    state: DomainRuntime,
    *,
    min_interval: int,
    max_interval: int,
    cache_nice_tries: int,
    imbalanced: bool,
    nr_moved: int,
    all_pinned: bool,
    busiest_curr_allowed: bool = True,
    busiest_active_balance: bool = False,
) -> BalanceOutcome:
    """LBO-1/2 and LB-IVL-4 for a periodic load_balance of 2.6.14.

    *all_pinned* is move_tasks' report; *busiest_curr_allowed* says whether the
    task running on the busiest CPU may run here (checked before kicking the
    migration thread); *busiest_active_balance* whether a kick is already pending.
    """
    interval, failed = state.balance_interval, state.nr_balance_failed
    if not imbalanced or all_pinned:  # out_balanced
        return _backed_off(state.last_balance, interval, 0, max_interval, all_pinned)
    kick = False
    if nr_moved:
        failed = 0
    else:
        failed += 1
        if failed > cache_nice_tries + 2:
            if not busiest_curr_allowed:  # out_one_pinned: keeps the failure count
                return _backed_off(state.last_balance, interval, failed, max_interval, True)
            kick = not busiest_active_balance
            failed = cache_nice_tries + 1
    if kick:
        interval = interval * 2 if interval < max_interval else interval
    else:
        interval = min_interval
    return BalanceOutcome(DomainRuntime(state.last_balance, interval, failed), kick)


def _backed_off(
    last_balance: int, interval: int, failed: int, max_interval: int, all_pinned: bool
) -> BalanceOutcome:
    """LB-IVL-4: double the interval below max_interval, or below 512 ms when all pinned."""
    if (all_pinned and interval < MAX_PINNED_INTERVAL) or interval < max_interval:
        interval *= 2
    return BalanceOutcome(DomainRuntime(last_balance, interval, failed), False)


def balance_interval_jiffies(
    balance_interval_ms: int, busy_factor: int, idle: IdleType, hz: int
) -> int:
    """LB-IVL-1: balance_interval (x busy_factor when busy) in jiffies, at least 1."""
    ms = balance_interval_ms * (busy_factor if idle is not IdleType.SCHED_IDLE else 1)
    return max(1, msecs_to_jiffies(ms, hz))


def msecs_to_jiffies(ms: int, hz: int) -> int:
    """include/linux/jiffies.h msecs_to_jiffies: all three HZ cases round *up*."""
    return -(-ms * hz // 1000)


def tasklet_next_balance(jiffies: int, hz: int, deadlines: Iterable[tuple[int, int]]) -> int:
    """LB-T2: min over domains of last_balance + balance_interval, from jiffies + 60*HZ.

    *deadlines* are (last_balance in jiffies, balance_interval in ms) pairs; the
    2.6.19-mm code adds them as they are, mixing units (its quirk, kept).
    """
    nxt = jiffies + 60 * hz
    for last_balance, interval_ms in deadlines:
        nxt = min(nxt, last_balance + interval_ms)
    return nxt


def find_idlest_group(
    groups: Sequence[GroupLike],
    this_cpu: int,
    allowed: CpuMask,
    board: Sequence[CpuLoad],
    imbalance_pct: int,
    forkexec_idx: int,
) -> int | None:
    """find_idlest_group (2.6.14 SD_BALANCE_FORK/EXEC): index of a clearly idler group, or None.

    Groups with no CPU the task may use are skipped; the idlest remote group wins
    only if it beats the local one by half the domain's imbalance_pct margin.
    """
    margin = 100 + (imbalance_pct - 100) // 2
    min_load, this_load, idlest = -1, 0, None
    sums = _span_loads(board)
    allowed_bits = allowed.bits
    for i, group in enumerate(groups):
        span = group.span
        bits = span.bits
        if not bits & allowed_bits:  # cpus_intersects(group->cpumask, p->cpus_allowed)
            continue
        local = (bits >> this_cpu) & 1 == 1
        avg = sums(span, forkexec_idx, not local)
        avg = avg * SCHED_LOAD_SCALE // group.power
        if local:
            this_load = avg
        elif min_load < 0 or avg < min_load:
            min_load, idlest = avg, i
    if idlest is None or 100 * this_load < margin * min_load:
        return None
    return idlest


def find_idlest_cpu(
    span: CpuMask, allowed: CpuMask, this_cpu: int, board: Sequence[CpuLoad]
) -> int:
    """find_idlest_cpu (2.6.14): least-loaded allowed CPU of *span* (ties: this_cpu); -1 if none."""
    best, best_load = -1, -1
    for cpu in span & allowed:
        load = board[cpu].load_now
        if best_load < 0 or load < best_load or (load == best_load and cpu == this_cpu):
            best, best_load = cpu, load
    return best
