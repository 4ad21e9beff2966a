"""A task as the scheduler actors hold it: owned by exactly one CPU actor, or in one message.

`Task` is mutable because exactly one actor owns it at a time (its CPU, like
the kernel's ``task_rq(p)`` under its lock); it crosses actors only as a
`TaskRecord` value (`Task.record` / `Task.from_record`), so the receiver
gets a fresh copy and the sender keeps nothing.

What a task does is its *kind* (`actors.config.TaskKind`): the CPU actor asks
`Task.event_left_ns` how much more running time it needs before something
happens (its burst ends, it forks, it exits) and calls `Task.advance` with
the time it ran.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from operator import attrgetter

from actors.config import TaskKind
from actors.messages import TaskRecord
from cpuset.mempolicy import MemPolicy
from topology import CpuMask, NodeMask
from topology.loadbalance import MovableTask

__all__ = ["FOREVER_NS", "Task"]

FOREVER_NS = 1 << 62
"""A burst that never ends (hogs)."""

MS = 1_000_000


@dataclass(slots=True, kw_only=True, eq=False)
class Task:
    """One task's state (see the module docstring); compared by identity, like a task_struct."""

    pid: int
    name: str
    kind: str
    cpus_allowed: CpuMask
    cpuset: str
    policy: MemPolicy
    mems_allowed: NodeMask
    pages_per_ms: int = 0
    run_ms: int = 0
    sleep_ms: int = 0
    lifetime_ms: int = 0
    children: int = 0
    fork_every_ms: int = 0
    burst_left_ns: int = FOREVER_NS
    """running time left before the current burst ends (periodic: sleep; exiting: exit)"""
    next_fork_ns: int = FOREVER_NS
    """runtime at which a fork-burst task forks next"""
    runtime_ns: int = 0
    wait_ns: int = 0
    local_ns: int = 0
    """running time weighted by the share of the task's pages on the CPU's node"""
    migrations: int = 0
    pages_allocated: int = 0
    pages: tuple[tuple[int, int], ...] = ()
    """(node, pages) sorted by node"""
    last_ran_ns: int = -(1 << 62)
    """when it last stopped running (cache-hot test, MIG-1)"""
    queued_at_ns: int = 0
    wake_at_ns: int = 0
    rebind_to: NodeMask | None = None
    """lazy rebind pending: the mems the task will remap to when it next runs or allocates"""
    pending_policy: tuple[str, NodeMask, str] | None = None
    """set_mempolicy(mode, nodes, flags) to apply in the task's own context"""
    stale_allocations: int = 0
    """pages allocated while a lazy rebind was pending (seed 002's window)"""

    # -- travelling -------------------------------------------------------------------

    def record(self) -> TaskRecord:
        return TaskRecord(values=_values_of(self))

    @classmethod
    def from_record(cls, record: TaskRecord) -> Task:
        return cls(**dict(zip(_FIELDS, record.values, strict=True)))  # type: ignore[arg-type]

    # -- what it does when it runs --------------------------------------------------------

    @property
    def task_kind(self) -> TaskKind:
        return TaskKind(self.kind)

    def start_burst(self) -> None:
        """A new burst (at fork and at each wakeup)."""
        kind = self.task_kind
        if kind is TaskKind.PERIODIC:
            self.burst_left_ns = self.run_ms * MS
        elif kind is TaskKind.EXITING:
            self.burst_left_ns = max(0, self.lifetime_ms * MS - self.runtime_ns)
        else:
            self.burst_left_ns = FOREVER_NS
        if kind is TaskKind.FORK_BURST and self.next_fork_ns == FOREVER_NS:
            self.next_fork_ns = self.runtime_ns + self.fork_every_ms * MS

    def event_left_ns(self) -> int:
        """Running time until the next thing this task does (burst end or fork)."""
        return min(self.burst_left_ns, self.next_fork_ns - self.runtime_ns)

    def advance(self, ran_ns: int) -> None:
        self.runtime_ns += ran_ns
        if self.burst_left_ns != FOREVER_NS:
            self.burst_left_ns -= ran_ns

    def movable(self, running: bool) -> MovableTask:
        return MovableTask(
            pid=self.pid,
            cpus_allowed=self.cpus_allowed,
            running=running,
            last_ran_ns=self.last_ran_ns,
        )

    def pages_on(self, node: int) -> int:
        for n, count in self.pages:
            if n == node:
                return count
        return 0

    def add_pages(self, node: int, count: int) -> None:
        table = dict(self.pages)
        table[node] = table.get(node, 0) + count
        self.pages = tuple(sorted((n, c) for n, c in table.items() if c))


_FIELDS = tuple(f.name for f in fields(Task))
_values_of = attrgetter(*_FIELDS)
"""every field of a task, in declaration order, as one tuple"""
