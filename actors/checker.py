"""The invariant checker: DESIGN.md invariants 1-6, checked while the run goes.

Actors report what they do through probes (a task sent, arrived, exited; a
pass started or ended; a migration acted on a generation; a policy rebound);
the checker keeps a *ledger* of where every live task is and compares it with
what each CPU that changed in the last delta actually holds, after every
delta (`after_delta`).  Each check is O(what changed), so it stays on in tests
and stress runs.  The first violation ends the run with `InvariantViolation`
naming the invariant, the virtual time and the delta.

1. conservation: every live task is on exactly one CPU (queued, running or
   sleeping there) or in exactly one message (the ledger, audited per CPU);
2. affinity: a runnable task sits on a CPU of its cpus_allowed;
3. domains: every published generation passes `sched_domain_debug`, and a
   balance move never crosses two partitions of its generation;
4. memory: a rebound policy's nodes lie within the new mems, and an
   allocation always finds a node;
5. serialization: in tasklet mode at most one balance pass runs at a time;
6. generations: no pass starts on, and no migration acts for, a retired generation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from actors.errors import SimulationError
from cpuset.mempolicy import MemPolicy, MpolFlag, MpolMode, RebindEra
from topology import CpuMask
from topology.debug import sched_domain_debug
from topology.domains import DomainBuild

__all__ = ["Checker", "InvariantViolation", "TaskHolder"]


class InvariantViolation(SimulationError):
    """An invariant of DESIGN.md failed; *invariant* is its number."""

    def __init__(self, invariant: int, text: str, *, vtime_ns: int, delta: int) -> None:
        super().__init__(f"invariant {invariant} violated: {text}", vtime_ns=vtime_ns, delta=delta)
        self.invariant = invariant
        self.text = text


class TaskHolder(Protocol):
    """What the checker reads of a CPU actor between deltas."""

    cpu: int
    online: bool

    def held_pids(self) -> list[int]: ...

    def runnable_affinity(self) -> Iterable[tuple[int, CpuMask]]: ...


class Checker:
    """Probes plus the after-delta audit (see the module docstring)."""

    def __init__(self, nr_cpus: int, clock: Callable[[], tuple[int, int]], serialized: bool):
        self._clock = clock
        self._serialized = serialized
        self.where: dict[int, tuple[str, int]] = {}
        """pid -> ("cpu", c) | ("flight", dst)"""
        self.per_cpu: list[dict[int, None]] = [{} for _ in range(nr_cpus)]
        self.holders: list[TaskHolder | None] = [None] * nr_cpus
        self.dirty: dict[int, None] = {}
        self.passes: dict[int, int] = {}
        """cpu -> generation of its running pass"""
        self.token_passes: dict[int, None] = {}
        self.max_concurrent_passes = 0
        """the most passes (of any kind) ever running at one instant"""
        self.retired_below = 0
        self.problems: list[tuple[int, str]] = []
        self.checked_deltas = 0

    def fail(self, invariant: int, text: str) -> None:
        self.problems.append((invariant, text))

    # -- invariant 1: the ledger ----------------------------------------------------

    def created(self, pid: int, dst: int) -> None:
        if pid in self.where:
            self.fail(1, f"pid {pid} created twice")
        self.where[pid] = ("flight", dst)

    def sent(self, pid: int, src: int, dst: int) -> None:
        if self.where.get(pid) != ("cpu", src):
            self.fail(1, f"cpu {src} sent pid {pid}, which the ledger has at {self.where.get(pid)}")
        self.per_cpu[src].pop(pid, None)
        self.where[pid] = ("flight", dst)
        self.dirty[src] = None

    def arrived(self, pid: int, cpu: int) -> None:
        if self.where.get(pid) != ("flight", cpu):
            self.fail(1, f"pid {pid} arrived at cpu {cpu}; the ledger has {self.where.get(pid)}")
        self.where[pid] = ("cpu", cpu)
        self.per_cpu[cpu][pid] = None
        self.dirty[cpu] = None

    def exited(self, pid: int, cpu: int) -> None:
        if self.where.get(pid) != ("cpu", cpu):
            self.fail(1, f"pid {pid} exited on cpu {cpu}; the ledger has {self.where.get(pid)}")
        self.where.pop(pid, None)
        self.per_cpu[cpu].pop(pid, None)
        self.dirty[cpu] = None

    def touched(self, cpu: int) -> None:
        self.dirty[cpu] = None

    # -- invariants 3-6 -----------------------------------------------------------------

    def published(self, build: DomainBuild) -> None:
        errors = sched_domain_debug(build, text=False).errors
        if errors:
            first = errors[0]
            where = f"cpu {first.cpu}" + (f" level {first.level}" if first.level >= 0 else "")
            self.fail(3, f"generation {build.generation}, {where}: {first.message.strip()}")

    def balance_move(self, src: int, dst: int, build: DomainBuild | None) -> None:
        if build is None:
            return
        part = build.partition_of(src)
        if part is None or part != build.partition_of(dst):
            self.fail(3, f"balance move {src}->{dst} crosses partitions of gen {build.generation}")

    def rebound(
        self, pid: int, policy: MemPolicy, mems: CpuMask, era: RebindEra = "modern"
    ) -> None:
        checked = (MpolMode.BIND, MpolMode.INTERLEAVE, MpolMode.PREFERRED)
        hint = era == "modern" or policy.has_mode_flag
        if policy.mode not in checked or (hint and policy.mode is MpolMode.PREFERRED):
            # 5.14+ mpol_rebind_preferred only records the new mems: the preferred node
            # is a hint that may lie outside them, the cpuset filters at allocation
            # (MP-REB-3; alloc_failed checks that side).
            return
        if policy.flags == MpolFlag.STATIC_NODES and not policy.nodes & mems:
            return  # a static policy with no node left falls back to local (MP-REB-1)
        if not policy.nodes or not policy.nodes <= mems:
            self.fail(4, f"pid {pid} rebound to nodes {policy.nodes} outside mems {mems}")

    def alloc_failed(self, pid: int, policy: MemPolicy, mems: CpuMask) -> None:
        self.fail(4, f"pid {pid} found no node to allocate: policy {policy.nodes}, mems {mems}")

    def pass_started(self, cpu: int, generation: int, token: bool) -> None:
        if generation < self.retired_below:
            self.fail(6, f"cpu {cpu} started a pass on retired generation {generation}")
        self.passes[cpu] = generation
        self.max_concurrent_passes = max(self.max_concurrent_passes, len(self.passes))
        if token:
            self.token_passes[cpu] = None
            if self._serialized and len(self.token_passes) > 1:
                self.fail(5, f"balance passes overlap on cpus {sorted(self.token_passes)}")

    def pass_ended(self, cpu: int) -> None:
        self.passes.pop(cpu, None)
        self.token_passes.pop(cpu, None)

    def acted(self, cpu: int, generation: int, what: str) -> None:
        if generation < self.retired_below:
            self.fail(6, f"cpu {cpu} acted on retired generation {generation} ({what})")

    def retired(self, below: int) -> None:
        self.retired_below = below
        for cpu, generation in sorted(self.passes.items()):
            if generation < below:
                self.fail(6, f"generation {generation} retired while cpu {cpu} balances on it")

    # -- after every delta -----------------------------------------------------------------

    def after_delta(self) -> None:
        self.checked_deltas += 1
        for cpu in self.dirty:
            holder = self.holders[cpu]
            if holder is not None:
                self._audit(holder)
        self.dirty.clear()
        if self.problems:
            invariant, text = self.problems[0]
            vtime, delta = self._clock()
            raise InvariantViolation(invariant, text, vtime_ns=vtime, delta=delta)

    def audit_all(self) -> None:
        for holder in self.holders:
            if holder is not None:
                self._audit(holder)

    def _audit(self, holder: TaskHolder) -> None:
        cpu = holder.cpu
        held = sorted(holder.held_pids())
        expected = sorted(self.per_cpu[cpu])
        if held != expected:
            self.fail(1, f"cpu {cpu} holds pids {held}; the ledger says {expected}")
            return
        for pid, allowed in holder.runnable_affinity():
            if cpu not in allowed:
                self.fail(2, f"pid {pid} is runnable on cpu {cpu}, outside its cpus {allowed}")
            if not holder.online:
                self.fail(2, f"pid {pid} is runnable on offline cpu {cpu}")
