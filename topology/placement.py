"""Task placement and load bookkeeping for the scheduler actors, as pure functions.

Models two pieces of kernel/sched.c 2.6.14 and adds one yardstick of our own:

* `cpu_load_after` -- rebalance_tick's cpu_load[] update (LOAD-1) applied for
  *ticks* jiffies at a constant load, in O(convergence) rather than O(ticks).
  With a constant load_now every cpu_load[i] moves towards load_now by at least
  one unit per tick and never overshoots, so the sequence reaches the fixpoint
  (load_now, load_now, load_now) within a few dozen ticks and stays there.  A
  CPU actor that sleeps through k ticks with an unchanged nr_running can thus
  catch up lazily and still hold exactly the cpu_load it would have had
  ticking every jiffy.
* `sched_balance_self` -- fork/exec placement (sched_fork, sched_exec): walk
  down from the highest domain carrying SD_BALANCE_FORK (or _EXEC), moving to
  the idlest CPU of the idlest group and continuing on the new CPU's chain
  below the level just balanced.
* `imbalance_score` -- the LinSched-style distance of a placement from a
  greedy ideal that respects cpus_allowed (`greedy_ideal_max`), plus Lozi et
  al.'s "wasted cores" (an idle CPU while a queued task could run on it).  Not
  a kernel function: the statistics use it to say when balancing converged.
"""

from __future__ import annotations

import functools
import heapq
from collections.abc import Callable, Iterable, Sequence

from topology.cpumask import CpuMask
from topology.domains import DomainBuild
from topology.loadbalance import CpuLoad, find_idlest_cpu, find_idlest_group, update_cpu_load
from topology.sched_domain import SchedDomain, SchedGroup, ring
from topology.sd_flags import SdFlag

__all__ = [
    "PlacementTally",
    "cpu_load_after",
    "greedy_assign",
    "greedy_ideal_max",
    "imbalance_score",
    "sched_balance_self",
]


def cpu_load_after(
    cpu_load: tuple[int, int, int], load_now: int, ticks: int
) -> tuple[int, int, int]:
    """LOAD-1 `update_cpu_load` applied *ticks* times at a constant *load_now*.

    Equal to the naive loop; stops at the fixpoint, so ``ticks=10**9`` is cheap.
    The same decays recur across CPUs and passes, so results are memoized.
    """
    if ticks < 0:
        raise ValueError(f"cpu_load_after: ticks must be >= 0, not {ticks}")
    return _cpu_load_after(cpu_load, load_now, ticks)


def _cpu_load_after(
    cpu_load: tuple[int, int, int], load_now: int, ticks: int
) -> tuple[int, int, int]:
    path = _decay_path(cpu_load, load_now)
    return path[ticks] if ticks < len(path) else path[-1]


@functools.lru_cache(maxsize=1 << 14)
def _decay_path(cpu_load: tuple[int, int, int], load_now: int) -> tuple[tuple[int, int, int], ...]:
    """cpu_load[] after 0, 1, 2 ... ticks at *load_now*, up to its fixpoint.

    LOAD-1 moves each index toward load_now by at least one unit per tick until
    it stops, so the path is short (tens of ticks); one path serves every tick
    count, where a cache keyed by the count missed for each new gap.
    """
    path = [cpu_load]
    load = cpu_load
    while True:
        after = update_cpu_load(load, load_now)
        if after == load:
            return tuple(path)
        path.append(after)
        load = after


def _highest_with(
    chain: Iterable[SchedDomain], flag: SdFlag, below_weight: int | None
) -> SchedDomain | None:
    """The last domain of *chain* carrying *flag*, stopping at the first one at
    least *below_weight* CPUs wide (None: walk the whole chain)."""
    found = None
    for sd in chain:
        if below_weight is not None and below_weight <= sd.span_weight:
            break
        if sd.flags & flag:
            found = sd
    return found


def sched_balance_self(
    build: DomainBuild,
    cpu: int,
    allowed: CpuMask,
    board: Sequence[CpuLoad],
    flag: SdFlag = SdFlag.BALANCE_FORK,
    rings: Callable[[SchedDomain], Sequence[SchedGroup]] | None = None,
) -> int:
    """kernel/sched.c 2.6.14 sched_balance_self: the CPU a forked/exec'd task starts on.

    *allowed* is the task's cpus_allowed, *board* the loads by CPU.  A move only
    ever lands on an allowed CPU; if none is found the task stays on *cpu*
    (which the kernel's caller runs on, hence allowed).  NULL domain: *cpu*.
    *rings* lists a domain's groups in ring order (default: walk the ring; the
    actors pass their per-generation cache).
    """
    sd = _highest_with(build.chain(cpu), flag, None)
    limit = build.machine.nr_cpus
    while sd is not None:
        weight = sd.span_weight
        groups = list(ring(sd.groups, limit)) if rings is None else rings(sd)
        idlest = find_idlest_group(groups, cpu, allowed, board, sd.imbalance_pct, sd.forkexec_idx)
        if idlest is not None:
            new_cpu = find_idlest_cpu(groups[idlest].span, allowed, cpu, board)
            if new_cpu not in (-1, cpu):
                cpu = new_cpu
        # nextlevel: the (possibly new) CPU's domains narrower than the one just done
        sd = _highest_with(build.chain(cpu), flag, weight)
    return cpu


def greedy_assign(allowed: Sequence[CpuMask], online: CpuMask) -> tuple[int | None, ...]:
    """The greedy ideal placement: per task (in input order) its CPU, None if it has none.

    Tasks are placed most-constrained first (by popcount of ``allowed & online``,
    then by mask, then input index), each on its usable CPU holding the fewest
    tasks so far (ties: lowest CPU id).  Tasks with the same mask are placed
    together from one heap of that mask's CPUs: O(tasks x log popcount) plus
    one O(popcount) heap per distinct mask.
    """
    usable = [mask & online for mask in allowed]
    groups: dict[CpuMask, list[int]] = {}
    for i, mask in enumerate(usable):
        if mask:
            groups.setdefault(mask, []).append(i)
    counts: dict[int, int] = {}
    out: list[int | None] = [None] * len(usable)
    for mask in sorted(groups, key=lambda m: (len(m), m.bits)):
        heap = [(counts.get(cpu, 0), cpu) for cpu in mask]
        heapq.heapify(heap)
        for i in groups[mask]:
            count, best = heap[0]
            heapq.heapreplace(heap, (count + 1, best))
            counts[best] = count + 1
            out[i] = best
    return tuple(out)


def greedy_ideal_max(allowed: Sequence[CpuMask], online: CpuMask) -> int:
    """Most tasks on one CPU in `greedy_assign`'s placement (0 when no task can run)."""
    by_mask: dict[int, int] = {}
    for mask in allowed:
        usable = mask.bits & online.bits
        if usable:
            by_mask[usable] = by_mask.get(usable, 0) + 1
    return _greedy_max(by_mask)


def _greedy_max(by_mask: dict[int, int]) -> int:
    """`greedy_assign`'s busiest CPU from task counts per usable mask (bits -> tasks)."""
    key = tuple(sorted(by_mask.items()))
    return _greedy_max_of(key)


@functools.lru_cache(maxsize=1 << 12)
def _greedy_max_of(by_mask: tuple[tuple[int, int], ...]) -> int:
    if len(by_mask) == 1:  # one mask (every task in one cpuset): an even spread
        bits, tasks = by_mask[0]
        return -(-tasks // bits.bit_count())
    counts: dict[int, int] = {}
    for bits, tasks in sorted(by_mask, key=lambda item: (item[0].bit_count(), item[0])):
        _water_fill(counts, list(CpuMask(bits)), tasks)
    return max(counts.values(), default=0)


def _water_fill(counts: dict[int, int], cpus: list[int], tasks: int) -> None:
    """Place *tasks* one by one on the least loaded of *cpus* (ties: lowest id), at once.

    The result of the heap loop in `greedy_assign`, in O(cpus log cpus) rather
    than O(tasks log cpus): fill the lowest CPUs up to a common level L, then
    the r < k tasks left go to the k CPUs at level L in ascending id order.
    """
    levels = sorted(counts.get(cpu, 0) for cpu in cpus)
    level, used, k = levels[0], 0, 1
    while k < len(levels) and used + (levels[k] - level) * k <= tasks:
        used += (levels[k] - level) * k
        level = levels[k]
        k += 1
    level += (tasks - used) // k
    extra = (tasks - used) % k
    for cpu in cpus:  # ascending ids
        if counts.get(cpu, 0) <= level:
            counts[cpu] = level + (1 if extra > 0 else 0)
            extra -= 1


class PlacementTally:
    """`imbalance_score` of a changing placement, kept up to date per CPU.

    `update` replaces one CPU's runnable tasks (``(cpus_allowed bits, running)``
    each); `score` then costs O(CPUs) in C plus O(distinct masks), instead of
    O(tasks) per sample, and equals ``imbalance_score`` of the same placement.
    """

    __slots__ = ("_masks", "_nr", "_occupied", "_tasks", "_waiting")

    def __init__(self, nr_cpus: int) -> None:
        self._nr = [0] * nr_cpus
        self._tasks: list[tuple[tuple[int, int, int], ...]] = [()] * nr_cpus
        """cpu -> its runnable tasks as `_runs`"""
        self._masks: dict[int, int] = {}
        """cpus_allowed bits -> runnable tasks with that mask"""
        self._waiting: dict[int, int] = {}
        """cpus_allowed bits -> queued (not running) tasks with that mask"""
        self._occupied = 0

    def update(self, cpu: int, tasks: tuple[tuple[int, bool], ...]) -> None:
        runs = _runs(tasks)
        before = self._tasks[cpu]
        if runs == before:
            return
        masks: dict[int, int] = {}
        waiting: dict[int, int] = {}
        for sign, held in ((-1, before), (1, runs)):
            for bits, count, queued in held:
                masks[bits] = masks.get(bits, 0) + sign * count
                if queued:
                    waiting[bits] = waiting.get(bits, 0) + sign * queued
        for table, delta in ((self._masks, masks), (self._waiting, waiting)):
            for bits, by in delta.items():
                if by:
                    _bump(table, bits, by)
        self._tasks[cpu] = runs
        self._nr[cpu] = len(tasks)
        if tasks:
            self._occupied |= 1 << cpu
        else:
            self._occupied &= ~(1 << cpu)

    def score(self, online: CpuMask) -> int:
        online_bits = online.bits
        by_mask: dict[int, int] = {}
        for bits, count in self._masks.items():
            usable = bits & online_bits
            if usable:
                by_mask[usable] = by_mask.get(usable, 0) + count
        waiting = 0
        for bits in self._waiting:
            waiting |= bits
        excess = max(0, max(self._nr, default=0) - _greedy_max(by_mask))
        return excess + (waiting & online_bits & ~self._occupied).bit_count()


def _runs(tasks: tuple[tuple[int, bool], ...]) -> tuple[tuple[int, int, int], ...]:
    """*tasks* as runs ``(bits, tasks, queued)`` of one mask object.

    Tasks of one cpuset share their mask object, so a runqueue is mostly one run:
    the tally then hashes each mask once per update, not once per task (hashing
    a 1024-CPU mask's int costs as much as the rest of a dict lookup).
    """
    runs: list[tuple[int, int, int]] = []
    last: int | None = None
    count = queued = 0
    for bits, running in tasks:
        if bits is not last:
            if last is not None:
                runs.append((last, count, queued))
            last, count, queued = bits, 0, 0
        count += 1
        if not running:
            queued += 1
    if last is not None:
        runs.append((last, count, queued))
    return tuple(runs)


def _bump(table: dict[int, int], key: int, by: int) -> None:
    count = table.get(key, 0) + by
    if count:
        table[key] = count
    else:
        del table[key]


def imbalance_score(placement: Sequence[tuple[int, CpuMask, bool]], online: CpuMask) -> int:
    """How far *placement* is from balanced; 0 means converged.

    *placement* holds ``(cpu, cpus_allowed, running)`` for every runnable task
    (running: the task on the CPU now; False: queued behind it).  The score is
    the LinSched-style excess of the busiest CPU over a greedy ideal that
    respects cpus_allowed, ``max(0, actual_max - greedy_ideal_max)``, plus the
    wasted CPUs of Lozi et al. ("The Linux Scheduler: a Decade of Wasted
    Cores"): online CPUs with no task while some queued task may run there.
    Tasks pinned away from an idle CPU do not make it wasted.
    """
    counts: dict[int, int] = {}
    by_mask: dict[int, int] = {}
    occupied = waiting = 0
    online_bits = online.bits
    for cpu, cpus_allowed, running in placement:
        counts[cpu] = counts.get(cpu, 0) + 1
        occupied |= 1 << cpu
        bits = cpus_allowed.bits
        if not running:
            waiting |= bits
        usable = bits & online_bits
        if usable:
            by_mask[usable] = by_mask.get(usable, 0) + 1
    # SIMPLIFIED: the ideal is greedy, not optimal; an actual placement that beats
    # it scores 0 on that term rather than a negative number.
    excess = max(0, max(counts.values(), default=0) - _greedy_max(by_mask))
    wasted = (waiting & online_bits & ~occupied).bit_count()
    return excess + wasted
