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
from collections.abc import Iterable, Sequence

from topology.cpumask import CpuMask
from topology.domains import DomainBuild
from topology.loadbalance import CpuLoad, find_idlest_cpu, find_idlest_group, update_cpu_load
from topology.sched_domain import SchedDomain, ring
from topology.sd_flags import SdFlag

__all__ = [
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


@functools.lru_cache(maxsize=1 << 16)
def _cpu_load_after(
    cpu_load: tuple[int, int, int], load_now: int, ticks: int
) -> tuple[int, int, int]:
    load = cpu_load
    for _ in range(ticks):
        after = update_cpu_load(load, load_now)
        if after == load:
            break
        load = after
    return load


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
) -> int:
    """kernel/sched.c 2.6.14 sched_balance_self: the CPU a forked/exec'd task starts on.

    *allowed* is the task's cpus_allowed, *board* the loads by CPU.  A move only
    ever lands on an allowed CPU; if none is found the task stays on *cpu*
    (which the kernel's caller runs on, hence allowed).  NULL domain: *cpu*.
    """
    sd = _highest_with(build.chain(cpu), flag, None)
    limit = build.machine.nr_cpus
    while sd is not None:
        weight = sd.span_weight
        groups = list(ring(sd.groups, limit))
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
    counts: dict[int, int] = {}
    for bits in sorted(by_mask, key=lambda b: (b.bit_count(), b)):
        heap = [(counts.get(cpu, 0), cpu) for cpu in CpuMask(bits)]
        heapq.heapify(heap)
        for _ in range(by_mask[bits]):
            count, best = heap[0]
            heapq.heapreplace(heap, (count + 1, best))
            counts[best] = count + 1
    return max(counts.values(), default=0)


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
