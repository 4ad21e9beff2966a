"""What the kernel lets every CPU read without a lock, published between deltas.

Actors never share mutable state, with one kind of exception the kernel has
too: values that one owner writes and everybody may read locklessly, stale by
a moment -- ``cpu_rq(i)->nr_running`` and ``cpu_load[]`` (find_busiest_group's
reads), ``task_cpu(p)``, the RCU-published ``rq->sd`` pointers, the online
map, a cpuset's CPUs for select_fallback_rq.  `Shared` holds them:

* every entry has exactly one writer (a CPU writes its own board slot and the
  directory entries of the tasks it sends; the controller writes the rest);
* writes are *staged* and become visible only when the bus calls `commit`
  between two deltas, so what an actor reads never depends on the order in
  which trio ran the actors of one delta (determinism, DESIGN.md);
* nobody decides anything by asking every CPU: a balance pass reads the
  board, like the kernel's lockless remote reads.

The load board is lazy in time: a slot stores the ``cpu_load[]`` of the last
tick its owner accounted (its *anchor* jiffy) and the current nr_running; a
reader at jiffy J gets the decay of LOAD-1 applied for the ticks since, which
is exactly what a CPU ticking every jiffy would have published.  A tick at
jiffy J samples nr_running as it stood at the start of instant ``J*tick``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import overload

from topology import CpuMask
from topology.domains import DomainBuild, SchedDomain, SchedGroup
from topology.loadbalance import SCHED_LOAD_SCALE, CpuLoad, MovableTask
from topology.placement import PlacementTally, cpu_load_after
from topology.sched_domain import ring

__all__ = ["BoardEntry", "BoardView", "Domains", "LoadBoard", "PlacementView", "Shared"]


@dataclass(frozen=True, slots=True)
class BoardEntry:
    """One CPU's published slot."""

    anchor: int = 0
    """the last jiffy whose tick is folded into cpu_load"""
    cpu_load: tuple[int, int, int] = (0, 0, 0)
    nr_running: int = 0
    queue: tuple[MovableTask, ...] = ()
    """every runnable task, the running one flagged (what move_tasks examines)"""

    def at(self, jiffy: int) -> tuple[int, int, int]:
        """cpu_load[] after the ticks up to *jiffy* (LOAD-1, lazily)."""
        if jiffy <= self.anchor:
            return self.cpu_load
        return cpu_load_after(
            self.cpu_load, self.nr_running * SCHED_LOAD_SCALE, jiffy - self.anchor
        )

    def advanced(self, jiffy: int) -> BoardEntry:
        """The same slot with its anchor moved to *jiffy* (before nr_running changes)."""
        if jiffy <= self.anchor:
            return self
        return BoardEntry(jiffy, self.at(jiffy), self.nr_running, self.queue)


class BoardView(Sequence[CpuLoad]):
    """The board as `find_busiest_group` reads it at one jiffy: ``view[cpu] -> CpuLoad``.

    It memoizes what it computed: each CPU's decayed load and each group's
    load sum (`span_load`).  `LoadBoard.view` hands one view to every reader
    and keeps it across deltas: `forget` drops what a commit changed, and a
    new jiffy drops only the CPUs whose cpu_load[] is still decaying (a slot
    at its fixpoint reads the same at every jiffy).  A cache, so it changes
    no result: the sums are the loops the kernel runs, done once
    (tests/test_board.py compares them with the loop).
    """

    __slots__ = (
        "_by_bits",
        "_canon",
        "_entries",
        "_jiffy",
        "_members",
        "_memo",
        "_moving",
        "_sums",
    )

    def __init__(self, entries: Sequence[BoardEntry], jiffy: int) -> None:
        self._entries = entries
        self._jiffy = jiffy
        self._memo: dict[int, CpuLoad] = {}
        self._moving: set[int] = set()
        """memoized CPUs whose load changes with the jiffy"""
        self._sums: dict[tuple[int, int, bool], tuple[CpuMask, int]] = {}
        """(span number, load index, high) -> (span, its summed target/source load)"""
        self._members: dict[int, dict[tuple[int, int, bool], None]] = {}
        """cpu -> the cached sums it is part of (a sum recomputed after another member
        changed is listed again: a set, or the lists of quiet CPUs grow for ever)"""
        self._canon: dict[int, tuple[CpuMask, int, tuple[int, ...]]] = {}
        """id(span) -> (span, its number, its CPUs).  Every node's NUMA domain has its own
        group objects for the same node spans, so equal spans share one number (and
        so one sum); the span is held so that its id stays its own, and a mask's int
        (hashing a thousand-CPU one costs more than the lookup) is hashed once."""
        self._by_bits: dict[int, int] = {}
        """span bits -> span number"""

    def __len__(self) -> int:
        return len(self._entries)

    @overload
    def __getitem__(self, cpu: int) -> CpuLoad: ...
    @overload
    def __getitem__(self, cpu: slice) -> Sequence[CpuLoad]: ...
    def __getitem__(self, cpu: int | slice) -> CpuLoad | Sequence[CpuLoad]:
        if isinstance(cpu, slice):
            return [self[i] for i in range(len(self))[cpu]]
        hit = self._memo.get(cpu)
        if hit is None:
            entry = self._entries[cpu]
            load = entry.at(self._jiffy)
            hit = self._memo[cpu] = CpuLoad(entry.nr_running, load)
            now = entry.nr_running * SCHED_LOAD_SCALE
            if load[0] != now or load[1] != now or load[2] != now:
                self._moving.add(cpu)
        return hit

    def __iter__(self) -> Iterator[CpuLoad]:
        return (self[i] for i in range(len(self)))

    def span_load(self, span: CpuMask, idx: int, high: bool) -> int:
        """The sum over *span* of target_load (*high*) or source_load at *idx* (LOAD-2)."""
        known = self._canon.get(id(span))
        if known is None:
            known = self.canon(span)
        key = (known[1], idx, high)
        hit = self._sums.get(key)
        if hit is not None:
            return hit[1]
        total = 0
        memo, members = self._memo, self._members
        for cpu in known[2]:
            load = memo.get(cpu)
            if load is None:
                load = self[cpu]
            now = load.nr_running * SCHED_LOAD_SCALE
            if idx:  # _pick, inlined: this loop is the kernel's per-group sum
                old = load.cpu_load[idx - 1]
                now = (old if old > now else now) if high else (old if old < now else now)
            total += now
            keys = members.get(cpu)
            if keys is None:
                members[cpu] = {key: None}
            else:
                keys[key] = None
        self._sums[key] = (span, total)
        return total

    def canon(self, span: CpuMask) -> tuple[CpuMask, int, tuple[int, ...]]:
        """(span, its number, its CPUs), numbered on first sight (see ``_canon``)."""
        known = self._canon.get(id(span))
        if known is None:
            number = self._by_bits.setdefault(span.bits, len(self._by_bits))
            known = self._canon[id(span)] = (span, number, tuple(span))
        return known

    def forget(self, cpus: Iterable[int]) -> None:
        """Drop what was read of *cpus* (their slots changed)."""
        memo, sums, members = self._memo, self._sums, self._members
        for cpu in cpus:
            memo.pop(cpu, None)
            for key in members.pop(cpu, ()):
                sums.pop(key, None)

    def advance(self, jiffy: int) -> None:
        """Read at *jiffy* from now on: forget the loads that decay between jiffies."""
        if jiffy != self._jiffy:
            self._jiffy = jiffy
            moving, self._moving = self._moving, set()
            self.forget(moving)

    def clear(self) -> None:
        """Drop every memo and sum (domain generations retired: their groups' sums go)."""
        self._memo.clear()
        self._moving.clear()
        self._sums.clear()
        self._members.clear()
        self._canon.clear()
        self._by_bits.clear()


def _pick(load: CpuLoad, idx: int, high: bool) -> int:
    """target_load (high) or source_load (low) of LOAD-2, inlined for the group sums."""
    now = load.nr_running * SCHED_LOAD_SCALE
    if idx == 0:
        return now
    old = load.cpu_load[idx - 1]
    return (old if old > now else now) if high else (old if old < now else now)


class PlacementView(Sequence[CpuLoad]):
    """The shared view plus the tasks a fork burst placed so far (`add`), private to it.

    Reads fall through to the shared view (and its cached group sums); a sum
    over a span holding added tasks is corrected by their difference, and kept
    up to date as more are added.
    """

    __slots__ = ("_base", "_extra", "_sums")

    def __init__(self, base: BoardView) -> None:
        self._base = base
        self._extra: dict[int, int] = {}
        self._sums: dict[tuple[int, int, bool], tuple[CpuMask, int]] = {}
        """as `BoardView._sums`, with the added tasks counted"""

    def __len__(self) -> int:
        return len(self._base)

    @overload
    def __getitem__(self, cpu: int) -> CpuLoad: ...
    @overload
    def __getitem__(self, cpu: slice) -> Sequence[CpuLoad]: ...
    def __getitem__(self, cpu: int | slice) -> CpuLoad | Sequence[CpuLoad]:
        if isinstance(cpu, slice):
            return [self[i] for i in range(len(self))[cpu]]
        load = self._base[cpu]
        more = self._extra.get(cpu)
        return load if more is None else CpuLoad(load.nr_running + more, load.cpu_load)

    def __iter__(self) -> Iterator[CpuLoad]:
        return (self[i] for i in range(len(self)))

    def span_load(self, span: CpuMask, idx: int, high: bool) -> int:
        key = (self._base.canon(span)[1], idx, high)
        hit = self._sums.get(key)
        if hit is not None:
            return hit[1]
        total = self._base.span_load(span, idx, high)
        for cpu in self._extra:
            if cpu in span:
                total += _pick(self[cpu], idx, high) - _pick(self._base[cpu], idx, high)
        self._sums[key] = (span, total)
        return total

    def add(self, cpu: int) -> None:
        """One more task on *cpu* (the cached sums over spans holding it follow)."""
        old = self[cpu]
        self._extra[cpu] = self._extra.get(cpu, 0) + 1
        new = self[cpu]
        sums = self._sums
        for key, (span, total) in sums.items():
            if (span.bits >> cpu) & 1:
                _, idx, high = key
                sums[key] = (span, total + _pick(new, idx, high) - _pick(old, idx, high))


class LoadBoard:
    """Per-CPU load slots (committed, and staged for the next delta)."""

    def __init__(self, nr_cpus: int) -> None:
        self.entries: list[BoardEntry] = [BoardEntry() for _ in range(nr_cpus)]
        self._staged: dict[int, BoardEntry] = {}
        self.tally = PlacementTally(nr_cpus)
        """the committed runqueues as the imbalance sampler reads them"""
        self._view: BoardView | None = None

    def stage(self, cpu: int, entry: BoardEntry) -> None:
        self._staged[cpu] = entry

    def commit(self) -> None:
        entries, tally = self.entries, self.tally
        for cpu, entry in self._staged.items():
            if entry.queue is not entries[cpu].queue:
                tally.update(cpu, tuple((t.cpus_allowed.bits, t.running) for t in entry.queue))
            entries[cpu] = entry
        if self._view is not None:
            self._view.forget(self._staged)
        self._staged.clear()

    def retired(self) -> None:
        """Domain generations were retired: the view forgets their groups' sums."""
        if self._view is not None:
            self._view.clear()

    def view(self, jiffy: int) -> BoardView:
        """The shared, read-only view at *jiffy* (readers must not `add` to it)."""
        view = self._view
        if view is None:
            view = self._view = BoardView(self.entries, jiffy)
        else:
            view.advance(jiffy)
        return view

    def placement_view(self, jiffy: int) -> PlacementView:
        """A private view a fork burst places its children on (`PlacementView.add`)."""
        return PlacementView(self.view(jiffy))


class Domains:
    """Published domain generations (RCU-style): the live ones and the retired ones."""

    def __init__(self) -> None:
        self.builds: dict[int, DomainBuild] = {}
        self.retired_below = 0
        """every generation < this is retired"""
        self._stage_retire: int | None = None
        self._rings: dict[tuple[int, int], tuple[SchedGroup, ...]] = {}
        self._alike: dict[tuple[int, int, int], SchedGroup] = {}
        """(generation, span bits, power) -> the group object that stands for all alike"""

    def publish(self, build: DomainBuild) -> None:
        self.builds[build.generation] = build

    def ring(self, generation: int, sd: SchedDomain) -> tuple[SchedGroup, ...]:
        """*sd*'s groups in ring order, listed once per generation for all CPUs sharing them.

        What the balancer reads of a group is its span and its power, so groups alike
        in both are listed as one object: every node of a NUMA machine builds its own
        copies of the node groups (2.6.14 sched_group_nodes), and a 1024-CPU machine's
        balance passes read 128 of them instead of 2048 private copies.
        """
        key = (generation, id(sd.groups))
        groups = self._rings.get(key)
        if groups is None:
            # The whole ring, as the kernel's do/while walks it: a broken build's ring
            # can hold more groups than the domain spans CPUs (2.6.13 partitions).
            limit = self.builds[generation].machine.nr_cpus + 1
            alike = self._alike
            groups = self._rings[key] = tuple(
                alike.setdefault((generation, g.span.bits, g.power), g)
                for g in ring(sd.groups, limit)
            )
        return groups

    def rings_of(self, generation: int) -> Callable[[SchedDomain], tuple[SchedGroup, ...]]:
        """`ring` for the domains of *generation*."""
        return functools.partial(self.ring, generation)

    def retire_below(self, generation: int) -> None:
        self._stage_retire = max(generation, self._stage_retire or 0)

    def is_retired(self, generation: int) -> bool:
        return generation < self.retired_below

    def commit(self) -> tuple[int, ...]:
        """Apply a staged retirement; the generations retired now."""
        if self._stage_retire is None or self._stage_retire <= self.retired_below:
            self._stage_retire = None
            return ()
        gone = tuple(g for g in sorted(self.builds) if g < self._stage_retire)
        for g in gone:
            del self.builds[g]
        self._rings = {key: v for key, v in self._rings.items() if key[0] >= self._stage_retire}
        self._alike = {key: g for key, g in self._alike.items() if key[0] >= self._stage_retire}
        self.retired_below, self._stage_retire = self._stage_retire, None
        return gone


class Shared:
    """Everything lockless-readable (see the module docstring)."""

    def __init__(self, nr_cpus: int, online: CpuMask) -> None:
        self.board = LoadBoard(nr_cpus)
        self.domains = Domains()
        self.directory: dict[int, int] = {}
        """pid -> the CPU that owns it or that it travels to (task_cpu)"""
        self.online = online
        self.cpuset_cpus: dict[str, CpuMask] = {}
        """cpuset path -> its CPUs (select_fallback_rq's cpuset step)"""
        self.alb_pending: set[int] = set()
        """CPUs with an active-balance kick their migration thread has not served yet
        (rq->active_balance, LBO-1): a pass that finds one does not kick again"""
        self._dir_staged: dict[int, int | None] = {}
        self._alb_kicked: set[int] = set()
        self._alb_served: set[int] = set()
        self._online_staged: CpuMask | None = None
        self._cpusets_staged: dict[str, CpuMask] | None = None

    def set_task_cpu(self, pid: int, cpu: int | None) -> None:
        """Stage task_cpu(pid) = cpu (None: the task is gone)."""
        self._dir_staged[pid] = cpu

    def task_cpu_of_mine(self, pid: int, me: int) -> int | None:
        """task_cpu(pid) as CPU *me* knows it: what it staged this delta if the committed
        owner is *me* (only the owner moves a task, so no one else writes that entry and
        the answer cannot depend on the order the delta's actors run in); else the
        committed owner."""
        owner = self.directory.get(pid)
        if owner == me and pid in self._dir_staged:
            return self._dir_staged[pid]
        return owner

    def kick_active_balance(self, cpu: int) -> None:
        """Stage rq->active_balance = 1 on *cpu* (the kicker sets it, under that
        runqueue's lock in the kernel, when it sends the kick)."""
        self._alb_kicked.add(cpu)

    def serve_active_balance(self, cpu: int) -> bool:
        """*cpu*'s migration thread takes a kick and clears rq->active_balance; False for
        a further kick of the same delta (the flag was set: only the first counts).
        A kick staged in the delta of a serve stays pending: it is a later one."""
        if cpu in self._alb_served:
            return False
        self._alb_served.add(cpu)
        return True

    def set_online(self, online: CpuMask) -> None:
        self._online_staged = online

    def set_cpusets(self, table: dict[str, CpuMask]) -> None:
        self._cpusets_staged = table

    def commit(self) -> tuple[int, ...]:
        """Make the staged writes visible; returns the domain generations retired now."""
        self.board.commit()
        for pid, cpu in self._dir_staged.items():
            if cpu is None:
                self.directory.pop(pid, None)
            else:
                self.directory[pid] = cpu
        self._dir_staged.clear()
        if self._alb_served or self._alb_kicked:
            self.alb_pending -= self._alb_served
            self.alb_pending |= self._alb_kicked
            self._alb_served.clear()
            self._alb_kicked.clear()
        if self._online_staged is not None:
            self.online, self._online_staged = self._online_staged, None
        if self._cpusets_staged is not None:
            self.cpuset_cpus, self._cpusets_staged = self._cpusets_staged, None
        retired = self.domains.commit()
        if retired:
            self.board.retired()
        return retired
