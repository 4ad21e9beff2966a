"""One CPU's load_balance over the load board: the glue between the pure decisions and messages.

A pass (`BalanceWork`) is what one CPU does in its softirq or tasklet: for
each level the walk visits (`topology.rebalance.rebalance_domains`) it runs
2.6.14's load_balance -- `find_busiest_group` and `find_busiest_queue` over
the board snapshot, `move_tasks` over the busiest CPU's published queue, the
`balance_outcome` bookkeeping -- and collects the messages to send when the
pass has taken its virtual time: `MigrateTasks` to the busiest CPU (which
re-checks every task, CS-CPU-2) and `ActiveBalance` kicks (LBO-1).  Newly
idle balancing (§2.9) is the same with NEWLY_IDLE and `newidle_outcome`.

Nothing here awaits; the CPU actor sleeps for `BalanceWork.cost_ns` and then
sends `BalanceWork.actions`.
"""

# SIMPLIFIED: the puller picks the tasks from the busiest CPU's published
# queue (a lockless read) and counts them as moved; the busiest CPU re-checks
# each one when the request arrives and drops those that ran, left or lost
# the destination from their affinity (the kernel holds both runqueue locks
# instead, so its nr_moved is exact).
# SIMPLIFIED: the passes of one delta are concurrent, so two CPUs that kick the
# same busiest CPU in one delta both book a started kick (interval doubled); in
# the kernel the second finds rq->active_balance set under the runqueue lock and
# goes back to min_interval.  The busiest CPU serves only the first kick
# (`Shared.serve_active_balance`), as the kernel's migration thread does.

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from actors.messages import ActiveBalance, MigrateTasks
from actors.shared import BoardView, Shared
from actors.stats import CpuStats
from topology.active_balance import ActiveLevel, active_balance_domain
from topology.domains import DomainBuild, SchedDomain, SchedGroup
from topology.idle_balance import newidle_outcome
from topology.loadbalance import (
    BalanceOutcome,
    Busiest,
    DomainRuntime,
    IdleType,
    balance_outcome,
    find_busiest_group,
    find_busiest_queue,
    move_tasks,
)
from topology.rebalance import LbReport
from topology.sched_domain import ring
from topology.sd_flags import SdFlag

__all__ = ["BalanceWork"]

LB_COUNT, LB_BALANCED, LB_FAILED, LB_IMBALANCE, LB_GAINED, LB_HOT_GAINED = range(6)
LB_NOBUSYQ, LB_NOBUSYG = 6, 7
"""Indices of `CpuStats.lb` counters (2.6.14 show_schedstat order)."""

_IDLE = {IdleType.SCHED_IDLE: "idle", IdleType.NOT_IDLE: "busy", IdleType.NEWLY_IDLE: "newidle"}


@dataclass(slots=True)
class BalanceWork:
    """The state of one pass of *cpu* at jiffy *jiffy* (see the module docstring)."""

    cpu: int
    now_ns: int
    shared: Shared
    build: DomainBuild
    chain: tuple[SchedDomain, ...]
    runtime: list[DomainRuntime]
    stats: CpuStats
    view: BoardView
    designated: bool = False
    """2.6.20+ LB-SER-3: only the group's designated CPU balances a level (and the 2.6.20+
    load_balance: sd_idle tests rq->nr_running instead of idle_cpu, LBO-4)"""
    active_balance: bool = True
    scanned: int = 0
    actions: list[tuple[int, MigrateTasks | ActiveBalance]] = field(default_factory=list)
    moves: list[tuple[int, int]] = field(default_factory=list)
    """(src, dst) of every balance move, for the partition check"""
    outcomes: list[tuple[str, str]] = field(default_factory=list)
    """(level, what load_balance found) for the trace"""

    rings: Sequence[Sequence[SchedGroup]] = ()
    """per level, the domain's groups in ring order (the CPU lists them once per generation)"""

    def groups(self, level: int) -> Sequence[SchedGroup]:
        if self.rings:
            return self.rings[level]
        sd = self.chain[level]
        return list(ring(sd.groups, self.build.machine.nr_cpus + 1))  # the whole ring

    def load_balance(self, level: int, idle: IdleType) -> LbReport:
        """2.6.14 load_balance for chain[level] (the rebalance walk's callback)."""
        sd, state = self.chain[level], self.runtime[level]
        groups = self.groups(level)
        self.scanned += len(sd.span)
        counts = self.stats.lb_counts(sd.name, _IDLE[idle])
        counts[LB_COUNT] += 1
        if self.designated and not self._is_designated(groups, idle):
            # 2.6.20+: find_busiest_group stops after the local group (the ring's
            # first) with *balance = 0, and load_balance goes to out_balanced.
            outcome = self._out_balanced(sd, state, counts)
            self.runtime[level] = outcome.state
            result = -1 if self._smt_busy(sd, idle, groups[:1]) else 0
            return LbReport(result, outcome.state.balance_interval, balance=False)
        found = find_busiest_group(groups, self.cpu, self.view, idle, sd)
        src = None if found is None else self._busiest_queue(groups, found)
        moved: tuple[int, ...] = ()
        if found is None or src is None:
            counts[LB_NOBUSYG if found is None else LB_NOBUSYQ] += 1
            self.outcomes.append((sd.name, "balanced"))
            outcome = self._out_balanced(sd, state, counts)
        else:
            counts[LB_IMBALANCE] += found.imbalance
            moved, all_pinned = self._pick(src, found.imbalance, sd, state)
            counts[LB_GAINED] += len(moved)
            entry = self.shared.board.entries[src]
            curr_ok = all(self.cpu in t.cpus_allowed for t in entry.queue if t.running)
            outcome = balance_outcome(
                state, min_interval=sd.min_interval, max_interval=sd.max_interval,
                cache_nice_tries=sd.cache_nice_tries, imbalanced=True, nr_moved=len(moved),
                all_pinned=all_pinned, busiest_curr_allowed=curr_ok,
                busiest_active_balance=src in self.shared.alb_pending,
            )  # fmt: skip
            self.stats.imbalanced += 1
            self.stats.failed += 0 if moved else 1
            counts[LB_BALANCED if all_pinned else LB_FAILED] += 0 if moved else 1
            self._request(src, moved, sd, "balance")
            kicked = outcome.kick_active and self.active_balance
            if kicked:
                self._kick(src, level, outcome.state)
            what = (
                f"moved {len(moved)} from cpu{src}"
                if moved
                else "pinned"
                if all_pinned
                else "failed"
            )
            self.outcomes.append((sd.name, what + (", active balance" if kicked else "")))
        self.runtime[level] = outcome.state
        result = len(moved) if moved or not self._smt_busy(sd, idle, groups) else -1
        return LbReport(result, outcome.state.balance_interval)

    def _out_balanced(
        self, sd: SchedDomain, state: DomainRuntime, counts: list[int]
    ) -> BalanceOutcome:
        """load_balance's out_balanced: counted as balanced, failures reset, backoff."""
        counts[LB_BALANCED] += 1
        self.stats.balanced += 1
        return balance_outcome(
            state, min_interval=sd.min_interval, max_interval=sd.max_interval,
            cache_nice_tries=sd.cache_nice_tries, imbalanced=False, nr_moved=0,
            all_pinned=False,
        )  # fmt: skip

    def load_balance_newidle(self, level: int) -> int:
        """2.6.14 load_balance_newidle for chain[level]: tasks pulled (no backoff, no kick)."""
        sd, state = self.chain[level], self.runtime[level]
        groups = self.groups(level)
        self.scanned += len(sd.span)
        counts = self.stats.lb_counts(sd.name, "newidle")
        counts[LB_COUNT] += 1
        found = find_busiest_group(groups, self.cpu, self.view, IdleType.NEWLY_IDLE, sd)
        moved: tuple[int, ...] = ()
        src = None if found is None else self._busiest_queue(groups, found)
        if found is None or src is None:
            counts[LB_NOBUSYG if found is None else LB_NOBUSYQ] += 1
            counts[LB_BALANCED] += 1
            self.outcomes.append((sd.name, "balanced"))
        else:
            counts[LB_IMBALANCE] += found.imbalance
            moved, _ = self._pick(src, found.imbalance, sd, state)
            counts[LB_GAINED] += len(moved)
            counts[LB_FAILED] += 0 if moved else 1
            self._request(src, moved, sd, "newidle")
            self.outcomes.append(
                (sd.name, f"moved {len(moved)} from cpu{src}" if moved else "failed")
            )
        smt_busy = not moved and self._smt_busy(sd, IdleType.NEWLY_IDLE, groups)
        self.runtime[level] = newidle_outcome(
            state, imbalanced=src is not None, nr_moved=len(moved), smt_sibling_busy=smt_busy
        )
        return -1 if smt_busy else len(moved)

    def _smt_busy(self, sd: SchedDomain, idle: IdleType, groups: Sequence[SchedGroup]) -> bool:
        """Does load_balance(_newidle) return -1 here when it moves nothing (LBO-4)?

        On an SD_SHARE_CPUPOWER level of the 2.6 eras, unless ``sd_idle`` survived:
        it starts set only when this CPU balances as idle, and find_busiest_group
        clears it for any CPU of the groups it scanned that is not idle.  2.6.14 asks
        idle_cpu() (curr == idle), which is false for this CPU when newly idle: the
        task going to sleep is still current; 2.6.20+ asks rq->nr_running.  The -1
        makes the levels above balance as NOT_IDLE, and stops idle_balance.
        """
        if self.build.era == "modern" or SdFlag.SHARE_CPUPOWER not in sd.flags:
            return False
        if idle is IdleType.NOT_IDLE:
            return True
        if idle is IdleType.NEWLY_IDLE and not self.designated:
            return True
        view = self.view
        return any(view[cpu].nr_running for group in groups for cpu in group.span)

    def _is_designated(self, groups: Sequence[SchedGroup], idle: IdleType) -> bool:
        """LB-SER-3: the first idle CPU of the local group, else its first CPU, balances."""
        if idle is IdleType.NEWLY_IDLE:
            return True
        local = next(g for g in groups if self.cpu in g.span)
        for cpu in local.span:
            if self.view[cpu].nr_running == 0:
                return cpu == self.cpu
        return local.span.first() == self.cpu

    def _busiest_queue(self, groups: Sequence[SchedGroup], found: Busiest) -> int | None:
        return find_busiest_queue(groups[found.group].span, self.view)

    def _pick(
        self, src: int, imbalance: int, sd: SchedDomain, state: DomainRuntime
    ) -> tuple[tuple[int, ...], bool]:
        """move_tasks over *src*'s published queue, only if it runs more than one task (MIG-2)."""
        entry = self.shared.board.entries[src]
        if entry.nr_running <= 1:
            return (), False
        return move_tasks(
            entry.queue, imbalance, self.cpu, self.now_ns, state.nr_balance_failed,
            sd.cache_nice_tries, sd.cache_hot_time_ns,
        )  # fmt: skip

    def _request(self, src: int, pids: tuple[int, ...], sd: SchedDomain, reason: str) -> None:
        if not pids:
            return
        self.moves.append((src, self.cpu))
        msg = MigrateTasks(
            dst=self.cpu, pids=pids, generation=self.build.generation, level=sd.name, reason=reason
        )
        self.actions.append((src, msg))

    def _kick(self, src: int, level: int, state: DomainRuntime) -> None:
        """Kick *src*'s migration thread from *level* (whose bookkeeping is *state*).

        active_load_balance moves the task within push_cpu's lowest load-balancing
        domain spanning the busiest CPU (§2.10), with that domain's failure count and
        cache-hot settings: the kicking level unless a lower one spans *src* too.
        """
        modern = self.build.era == "modern"
        levels = [
            ActiveLevel(sd.span, modern or SdFlag.LOAD_BALANCE in sd.flags) for sd in self.chain
        ]
        found = active_balance_domain(levels, src)
        use = level if found is None else found
        sd = self.chain[use]
        failed = state.nr_balance_failed if use == level else self.runtime[use].nr_balance_failed
        msg = ActiveBalance(
            push_cpu=self.cpu,
            generation=self.build.generation,
            level=sd.name,
            nr_balance_failed=failed,
            cache_nice_tries=sd.cache_nice_tries,
            cache_hot_time_ns=sd.cache_hot_time_ns,
        )
        self.actions.append((src, msg))


def _moved(pids: tuple[int, ...], src: int) -> str:
    return f"moved {len(pids)} from cpu{src}"
