"""`CpuActor`: one CPU, owning its runqueue, its current task, its sleepers and its domains.

What it models (kernel/sched.c 2.6.14, with the -mm tasklet and 2.6.20 softirq triggers):

* the runqueue is a FIFO; the current task runs for time slices of
  ``slice_ms`` (tick-counted, like task->time_slice); a periodic task sleeps
  when its burst ends and wakes where select_wake_cpu says (CS-CPU-4); an
  exiting task exits; a fork-burst task asks the controller to fork children;
* at each tick it decides whether to balance (`SimConfig.balance`): percpu
  runs rebalance_tick's walk itself (LB-T1, LB-IVL-1); tasklet asks the
  balancer to tasklet_schedule when ``jiffies >= rq->next_balance`` and runs
  the pass when granted (LB-T2); softirq-serialize runs 2.6.20's walk with the
  SD_SERIALIZE try-lock (LB-T3).  A pass takes virtual time
  (`CostModel`), during which the current task makes no progress;
* when the runqueue runs dry it balances newly idle (§2.9);
* it answers migration requests (re-checking each task, CS-CPU-2), active
  balance kicks (§2.10), affinity changes, rebind notices, hotplug;
* it attaches each new domain generation and acknowledges it; it cannot
  acknowledge in the middle of a pass, which is what makes the controller's
  grace period an RCU grace period.

Ticks are lazy: the actor sleeps until the next instant at which something
can happen (`_plan`).  With ``exact_ticks`` it wakes at every jiffy; tick
work happens at jiffy boundaries (and once after a pass that crossed one)
in both modes, and a tick at which nothing is due changes nothing, so both
modes give the same run (tests/test_cpu_actor.py compares the logs).
"""

# SIMPLIFIED: every task has nice 0 (load 128, the 100 ms DEF_TIMESLICE); no
# priority arrays, no interactivity bonus, no wakeup preemption: a woken task
# queues behind the others.  Every switch-in starts a full slice (2.6.14 keeps
# what is left of it across sleep and migration, and sched_fork halves the
# parent's between parent and child).
# SIMPLIFIED: pages are allocated in bulk at accounting points (switch-out, slice
# end, burst end, a pass), not one at a time, so a lazy rebind is picked up there.
# SIMPLIFIED: softirq-serialize holds the `balancing` try-lock for the whole pass
# (the kernel holds it around each SD_SERIALIZE level's load_balance only).
# SIMPLIFIED: a newly idle CPU's pull arrives a delta later (a message), not
# inside schedule(); it stays idle until then.
# SIMPLIFIED: every CPU ticks at the jiffy boundary (x86_64 starts its local APIC
# timers on the PIT edge); ia64 staggers them across the jiffy
# (ia64_cpu_local_tick), which seed 004's "timer interrupts are staggered" means.

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterator
from typing import TYPE_CHECKING

from actors.balance import LB_GAINED, BalanceWork
from actors.config import BalanceMode, MempolicySpec, RebindMode, TaskKind
from actors.context import Context
from actors.messages import (
    ActiveBalance,
    BalanceRequest,
    CpusetMoved,
    DomainsAttached,
    DomainsRebuilt,
    ForkTasks,
    KillTask,
    MigrateTasks,
    PassDone,
    RebindNotice,
    ReleaseSerialize,
    RunPass,
    SerializeGranted,
    SetCpusAllowed,
    SetMempolicy,
    SetOnline,
    TaskExited,
    TaskMoved,
    Tick,
    TrySerialize,
    TrySerializeReply,
    WaitSerialize,
    WithdrawRequest,
)
from actors.shared import BoardEntry
from actors.stats import TaskStats
from actors.task import FOREVER_NS, MS, Task
from cpuset.mempolicy import (
    MpolMode,
    RebindEra,
    alloc_interleaved,
    alloc_node,
    migrate_pages_plan,
    policy_era,
    rebind,
)
from cpuset.tree import CpusetError
from topology import CpuMask
from topology.active_balance import active_load_balance
from topology.domains import DomainBuild, SchedDomain, SchedGroup
from topology.idle_balance import NewidleLevel, idle_balance, idle_balance_2624
from topology.loadbalance import (
    DomainRuntime,
    IdleType,
    MovableTask,
    balance_interval_jiffies,
)
from topology.rebalance import (
    BalanceEra,
    LevelClock,
    cpu_offset,
    idle_from_nr_running,
    rebalance_domains,
)
from topology.sd_flags import SdFlag
from topology.select_rq import WakePlacement, select_wake_cpu

if TYPE_CHECKING:
    from actors.sched import RunEnv

__all__ = ["CpuActor", "cpu_actor"]

_ERA = {
    BalanceMode.PERCPU: BalanceEra.TICK_2614,
    BalanceMode.TASKLET: BalanceEra.TASKLET_MM,
    BalanceMode.SOFTIRQ_SERIALIZE: BalanceEra.SOFTIRQ_2620,
}


async def cpu_actor(ctx: Context, cpu: int, env: RunEnv) -> None:
    await CpuActor(ctx, cpu, env).run()


class CpuActor:
    """One CPU (see the module docstring)."""

    def __init__(self, ctx: Context, cpu: int, env: RunEnv) -> None:
        cfg = env.config
        self.ctx, self.cpu, self.env, self.cfg = ctx, cpu, env, cfg
        self.shared, self.checker, self.trace = env.shared, env.checker, env.trace
        self.stats = env.stats.cpus[cpu]
        self.tick_ns = cfg.tick_ns
        self.slice_jiffies = max(1, cfg.slice_ms * cfg.hz // 1000)
        self.mode = cfg.balance
        self.node = cfg.machine.cpus[cpu].node
        self.node_cpus = cfg.machine.node_mask(self.node)
        self.rebind_era: RebindEra = policy_era(cfg.cpuset_era)
        self.queue: deque[Task] = deque()
        self.curr: Task | None = None
        self.sleepers: dict[int, Task] = {}
        self.wakeups: list[tuple[int, int]] = []
        self.online = True
        self.generation = -1
        self.build: DomainBuild | None = None
        self.chain: tuple[SchedDomain, ...] = ()
        self.rings: tuple[tuple[SchedGroup, ...], ...] = ()
        """per level of the chain, its groups in ring order"""
        self.balances: tuple[bool, ...] = ()
        """per level: does it balance (SD_LOAD_BALANCE, or any modern domain)"""
        self.runtime: list[DomainRuntime] = []
        self.due_memo: list[int | None] = [None, None]
        """percpu: `_balance_due` when busy / idle, until the runtime changes"""
        self.next_balance = 0
        self.due_since: int | None = None
        self.run_start_ns = 0
        self.slice_end = 0
        self.entry = BoardEntry()
        self.movables: dict[int, MovableTask] = {}
        """pid -> what the last `_publish` put on the board for it (reused while unchanged)"""
        self.ticks_pending: dict[int, None] = {}
        self.want_pass = False
        self.requested = False
        """tasklet mode: my tasklet_schedule is in (queued, or refused and retrying each tick)"""
        self.lock_wait = False
        """softirq-serialize: refused the lock while a level was due, retrying at each tick"""
        self.lock_granted = False
        """softirq-serialize: the balancer says my tick's try-lock succeeded"""
        self.next_unskipped: int | None = None
        """softirq-serialize, while lock_wait: when a level outside the lock falls due"""
        self.dirty = True
        self.went_idle = False
        env.cpus[cpu] = self
        if env.checker is not None:
            env.checker.holders[cpu] = self

    # -- the loop -----------------------------------------------------------------------

    async def run(self) -> None:
        while True:
            batch = await self.ctx.receive()
            now = self.ctx.now_ns
            for env in batch:
                self._handle(env.msg, now)
            await self._settle()

    async def _settle(self) -> None:
        """After handling a wakeup: run what is due (passes may take time), publish, plan."""
        while True:
            now = self.ctx.now_ns
            if self.curr is None and self.queue and self.online:
                self._switch_in(self.queue.popleft(), now)
            if self.want_pass:
                self.want_pass = False
                await self._balance_pass()
                if self.ctx.pending:
                    break  # what arrived during the pass first (a rebuild's ack must not starve)
                continue
            if self.went_idle and self.curr is None and not self.queue:
                self.went_idle = False
                if self.cfg.newidle and self.online and self.chain:
                    await self._newidle()
                    if self.ctx.pending:
                        break
                    continue
            self.went_idle = False
            break
        self._publish(self.ctx.now_ns)
        self._plan(self.ctx.now_ns)

    def _handle(self, msg: object, now: int) -> None:
        if isinstance(msg, Tick):
            self.ticks_pending.pop(msg.at_ns, None)
            if msg.at_ns == now:
                self._on_time(now, tick=now % self.tick_ns == 0)
        elif isinstance(msg, TaskMoved):
            self._arrive(Task.from_record(msg.task), msg, now)
        elif isinstance(msg, MigrateTasks):
            self._migrate(msg, now)
        elif isinstance(msg, ActiveBalance):
            self._active_balance(msg, now)
        elif isinstance(msg, RunPass):
            self.want_pass, self.requested = True, False
        elif isinstance(msg, SerializeGranted):
            self.want_pass, self.lock_granted = True, True
        elif isinstance(msg, DomainsRebuilt):
            self._attach(msg.generation, now)
        elif isinstance(msg, SetOnline):
            self._set_online(msg.online, now)
        elif isinstance(msg, (SetCpusAllowed, CpusetMoved, SetMempolicy, KillTask)):
            self._task_notice(msg, now)
        elif isinstance(msg, RebindNotice):
            self._rebind_notice(msg, now)
        else:
            raise TypeError(f"cpu {self.cpu} got {msg!r}")

    # -- time ---------------------------------------------------------------------------

    def _on_time(self, now: int, *, tick: bool) -> None:
        """Everything due at *now*: the current task's event, wakeups, and the tick's work."""
        curr = self.curr
        if curr is not None and now - self.run_start_ns >= curr.event_left_ns():
            self._account(now)
            self._curr_event(curr, now)
        while self.wakeups and self.wakeups[0][0] <= now:
            _, pid = heapq.heappop(self.wakeups)
            self._wake(self.sleepers.pop(pid), now)
        if tick and self.online:
            self._tick(now // self.tick_ns, now)

    def _tick(self, jiffy: int, now: int) -> None:
        curr = self.curr
        if curr is not None and jiffy >= self.slice_end:
            self._account(now)
            if self.queue:
                self._switch_out(curr, now)
                self._enqueue(curr, now)
                self._switch_in(self.queue.popleft(), now)
            else:
                self.slice_end = jiffy + self.slice_jiffies
        if jiffy < self._balance_due():
            return
        if self.due_since is None:
            self.due_since = jiffy
        if self.mode is BalanceMode.TASKLET:
            self.requested = True  # the balancer retries it at every tick (RefusalBook)
            self.ctx.tell(self.env.balancer, BalanceRequest(cpu=self.cpu))
        else:
            self.want_pass = True

    def _balance_due(self) -> int:
        """The first jiffy at which this CPU's tick starts balancing."""
        if self.mode is BalanceMode.TASKLET and self.requested:
            return FOREVER_NS  # asked already: no tick of mine needs waking for it
        if self.lock_wait:  # the balancer retries the lock for me; only other levels wake me
            return FOREVER_NS if self.next_unskipped is None else self.next_unskipped
        if self.mode is not BalanceMode.PERCPU:
            return self.next_balance
        idle = IdleType.SCHED_IDLE if self.curr is None else IdleType.NOT_IDLE
        known = self.due_memo[idle is IdleType.SCHED_IDLE]
        if known is not None:
            return known
        offset = cpu_offset(self.cpu, self.cfg.hz, self.cfg.kernel_nr_cpus)
        due = FOREVER_NS
        for sd, state, balances in zip(self.chain, self.runtime, self.balances, strict=True):
            if balances:
                interval = balance_interval_jiffies(
                    state.balance_interval, sd.busy_factor, idle, self.cfg.hz
                )
                due = min(due, state.last_balance + interval - offset)
        self.due_memo[idle is IdleType.SCHED_IDLE] = due
        return due

    def _plan(self, now: int) -> None:
        """Ask for a Tick at the next instant something can happen (every jiffy if exact)."""
        if not self.online and not self.wakeups:
            return
        jiffy = now // self.tick_ns
        when = FOREVER_NS
        curr = self.curr
        if curr is not None:
            when = min(when, self.run_start_ns + curr.event_left_ns())
        if self.wakeups:
            when = min(when, self.wakeups[0][0])
        if self.online:
            if self.cfg.exact_ticks:
                due = jiffy + 1
            else:
                due = self._balance_due()
                if curr is not None:
                    due = min(due, self.slice_end)
            when = min(when, max(due, jiffy + 1) * self.tick_ns)
        when = max(when, now + 1) if when <= now else when
        if when < FOREVER_NS and when not in self.ticks_pending:
            self.ticks_pending[when] = None
            self.ctx.tell(self.ctx.name, Tick(at_ns=when), at_ns=when)

    # -- running tasks --------------------------------------------------------------------

    def _switch_in(self, task: Task, now: int) -> None:
        self.curr = task
        task.wait_ns += now - task.queued_at_ns
        self.run_start_ns = now
        self.slice_end = now // self.tick_ns + self.slice_jiffies
        if task.rebind_to is not None:
            self._apply_rebind(task)
        if task.pending_policy is not None:
            self._set_mempolicy(task)
        self.env.stats.ran(task.cpuset, task.name, self.cpu)
        self.dirty = True

    def _switch_out(self, task: Task, now: int) -> None:
        self._account(now)
        task.last_ran_ns = now
        self.curr = None
        self.dirty = True
        if not self.queue:
            self.went_idle = True

    def _account(self, now: int) -> None:
        """Charge the current task for [run_start, now): runtime, locality, pages."""
        task = self.curr
        start, ran = self.run_start_ns, now - self.run_start_ns
        self.run_start_ns = now
        if task is None or ran <= 0:
            return
        if self.trace is not None:
            allowed = task.cpus_allowed.bits
            self.trace.runs.append((self.cpu, start, now, task.pid, task.name, task.kind, allowed))
        task.advance(ran)
        self.stats.busy_ns += ran
        total = sum(count for _, count in task.pages)
        if total:
            task.local_ns += ran * task.pages_on(self.node) // total
        due = task.runtime_ns * task.pages_per_ms // MS - task.pages_allocated
        if due > 0:
            self._allocate(task, due)

    def _allocate(self, task: Task, count: int) -> None:
        """*count* pages on the nodes the policy picks within mems_allowed (after a lazy rebind).

        With the ``rebind-outside-task-context`` bug the writer already rewrote the
        policy (`_rebind_notice`) and the task allocates with its stale mems first:
        the empty-nodemask class of SPEC §6.9.
        """
        careless = "rebind-outside-task-context" in self.cfg.bugs
        if task.rebind_to is not None and not careless:
            self._apply_rebind(task)
        self._alloc_pages(task, count)
        if task.rebind_to is not None:
            self._apply_rebind(task)

    def _alloc_pages(self, task: Task, count: int) -> None:
        if task.rebind_to is not None:
            task.stale_allocations += count
        task.pages_allocated += count
        machine = self.cfg.machine
        if task.policy.mode is MpolMode.INTERLEAVE:
            spread = alloc_interleaved(task.policy, task.mems_allowed, count)
            if spread is None:
                self._alloc_failed(task)
                return
            pages, task.policy = spread
            for where, n in pages:
                task.add_pages(where, n)
            return
        node, task.policy = alloc_node(
            task.policy, task.mems_allowed, self.node, machine, era=self.rebind_era
        )
        if node is None:
            self._alloc_failed(task)
            return
        task.add_pages(node, count)

    def _alloc_failed(self, task: Task) -> None:
        if self.checker is not None:
            self.checker.alloc_failed(task.pid, task.policy, task.mems_allowed)
        self.ctx.log.warning("alloc_failed", pid=task.pid, nodes=str(task.policy.nodes))

    def _curr_event(self, task: Task, now: int) -> None:
        """The current task's burst ended, or it forks."""
        if task.burst_left_ns <= 0:
            if task.task_kind is TaskKind.PERIODIC:
                self._switch_out(task, now)
                task.wake_at_ns = now + task.sleep_ms * MS
                self.sleepers[task.pid] = task
                heapq.heappush(self.wakeups, (task.wake_at_ns, task.pid))
            else:
                self._switch_out(task, now)
                self._exit(task, now)
            return
        if task.runtime_ns >= task.next_fork_ns:
            task.next_fork_ns += task.fork_every_ms * MS
            msg = ForkTasks(parent=task.record(), cpu=self.cpu, count=task.children)
            self.ctx.tell(self.env.controller, msg)

    def _exit(self, task: Task, now: int) -> None:
        if self.trace is not None:
            self.trace.instant(now, self.cpu, "task_exited", pid=task.pid, name=task.name)
        self.env.stats.tasks.append(self.task_stats(task, exited=True))
        if self.checker is not None:
            self.checker.exited(task.pid, self.cpu)
        self.shared.set_task_cpu(task.pid, None)
        self.ctx.tell(self.env.controller, TaskExited(pid=task.pid))
        self.ctx.log.info("task_exited", pid=task.pid, name=task.name)
        self.dirty = True

    def _wake(self, task: Task, now: int) -> None:
        task.start_burst()
        self._place(task, now, "wake")

    def _place(self, task: Task, now: int, reason: str) -> None:
        """try_to_wake_up's placement (select_wake_cpu), here or on another CPU."""
        placed = self._wake_target(task, self.cpu if self.online else -1)
        if placed.cpus_allowed is not None:
            task.cpus_allowed = placed.cpus_allowed
            self.ctx.log.info("affinity_fallback", pid=task.pid, cpus=str(placed.cpus_allowed))
        if placed.cpu == self.cpu:
            self._enqueue(task, now)
        else:
            self._send(task, placed.cpu, reason, "")

    def _enqueue(self, task: Task, now: int) -> None:
        task.queued_at_ns = now
        self.queue.append(task)
        self.dirty = True

    def _send(self, task: Task, dst: int, reason: str, level: str) -> None:
        """The task leaves this CPU inside a TaskMoved (DESIGN.md invariant 1)."""
        if self.checker is not None:
            self.checker.sent(task.pid, self.cpu, dst)
        self.shared.set_task_cpu(task.pid, dst)
        if self.trace is not None:
            self.trace.sends.append((task.pid, self.cpu, dst, self.ctx.now_ns, reason, level))
        if reason not in ("wake", "sleeper"):
            self.ctx.log.info(
                "task_migrated", pid=task.pid, src=self.cpu, dst=dst, reason=reason, domain=level
            )
        self.ctx.tell(
            self.env.cpu_names[dst],
            TaskMoved(task=task.record(), src=self.cpu, reason=reason, level=level),
        )
        self.dirty = True

    def _arrive(self, task: Task, msg: TaskMoved, now: int) -> None:
        if self.checker is not None:
            self.checker.arrived(task.pid, self.cpu)
        if self.trace is not None:
            self.trace.arrivals.append((task.pid, self.cpu, now))
        if msg.reason == "fork":
            task.start_burst()
        if msg.src not in (-1, self.cpu):
            task.migrations += 1
            if msg.level:
                self.stats.count_in(msg.level)
        if self.cfg.rebind is RebindMode.DIRECT and task.rebind_to is not None:
            self._apply_rebind(task)
        if msg.reason == "sleeper" and task.wake_at_ns > now:
            self.sleepers[task.pid] = task  # a sleeper moved off a dying CPU still sleeps
            heapq.heappush(self.wakeups, (task.wake_at_ns, task.pid))
            return
        if msg.reason == "sleeper":
            task.start_burst()
        if not self.online:
            self._place(task, now, "hotplug")
            return
        self._enqueue(task, now)
        if self.ctx.debug:
            self.ctx.log.debug("task_arrived", pid=task.pid, src=msg.src, reason=msg.reason)

    # -- balancing ----------------------------------------------------------------------

    def _work(self, now: int) -> BalanceWork:
        assert self.build is not None
        self.due_memo = [None, None]  # the pass rewrites the runtime
        return BalanceWork(
            cpu=self.cpu,
            now_ns=now,
            shared=self.shared,
            build=self.build,
            chain=self.chain,
            runtime=self.runtime,
            stats=self.stats,
            view=self.shared.board.view(now // self.tick_ns),
            designated=self.mode is BalanceMode.SOFTIRQ_SERIALIZE,
            active_balance=self.cfg.active_balance,
            rings=self.rings,
        )

    async def _balance_pass(self) -> None:
        """One periodic pass in this CPU's softirq / tasklet (see the module docstring)."""
        now = self.ctx.now_ns
        jiffy = now // self.tick_ns
        token = self.mode is BalanceMode.TASKLET
        if not self.online:  # a RunPass or lock grant that crossed the CPU going down
            # SIMPLIFIED: the kernel's dying CPU still runs its pending softirqs; here
            # it hands the tasklet / lock straight back (the balancer moves a tasklet
            # still queued on it to an online CPU, takeover_tasklets).
            if token:
                self.ctx.tell(self.env.balancer, PassDone(cpu=self.cpu))
            if self.lock_granted:
                self.lock_granted = False
                self.ctx.tell(self.env.balancer, ReleaseSerialize(cpu=self.cpu))
            return
        serialized = False
        locking = self.mode is BalanceMode.SOFTIRQ_SERIALIZE and any(
            SdFlag.SERIALIZE in sd.flags and balances
            for sd, balances in zip(self.chain, self.balances, strict=True)
        )
        waiting = self.lock_wait
        if self.lock_granted and not locking:  # the levels behind the lock went away meanwhile
            self.lock_wait = waiting = False
            self.ctx.tell(self.env.balancer, ReleaseSerialize(cpu=self.cpu))
        elif locking and self.lock_granted:
            serialized = True
        elif locking:
            reply = await self.ctx.ask(
                self.env.balancer, TrySerialize(cpu=self.cpu), TrySerializeReply
            )
            serialized = reply.acquired
            now = self.ctx.now_ns
        self.lock_granted = False
        if serialized:
            self.lock_wait = False
            if self.trace is not None:
                self.trace.instant(now, self.cpu, "serialize_locked")
        if self.build is None:
            if token:
                self.next_balance = jiffy + 60 * self.cfg.hz
                self.ctx.tell(self.env.balancer, PassDone(cpu=self.cpu))
            return
        work = self._work(now)
        nr_running = len(self.queue) + (self.curr is not None)
        idle = (
            (IdleType.SCHED_IDLE if self.curr is None else IdleType.NOT_IDLE)
            if self.mode is BalanceMode.PERCPU
            else idle_from_nr_running(nr_running)
        )
        levels = [
            LevelClock(
                state.last_balance,
                state.balance_interval,
                sd.busy_factor,
                load_balance=balances,
                serialize=SdFlag.SERIALIZE in sd.flags,
            )
            for sd, state, balances in zip(self.chain, self.runtime, self.balances, strict=True)
        ]
        walk = rebalance_domains(
            levels,
            era=_ERA[self.mode],
            jiffies=jiffy,
            cpu=self.cpu,
            hz=self.cfg.hz,
            nr_cpus=self.cfg.kernel_nr_cpus,
            idle=idle,
            load_balance=work.load_balance,
            try_serialize=(lambda _level: serialized)
            if self.mode is BalanceMode.SOFTIRQ_SERIALIZE
            else None,
            interval_cap=self.env.interval_cap,
        )
        for i, level in enumerate(walk.levels):
            state = self.runtime[i]
            self.due_memo = [None, None]
            self.runtime[i] = DomainRuntime(
                level.last_balance, level.balance_interval, state.nr_balance_failed
            )
        if walk.next_balance is not None:
            self.next_balance = walk.next_balance
        self.next_unskipped = walk.next_unskipped
        if not waiting:  # a waiting CPU's skips are the balancer's to count (RefusalBook)
            self.stats.serialize_skips += len(walk.serialize_skipped)
            if self.trace is not None:
                for skipped in walk.serialize_skipped:
                    name = self.chain[skipped].name
                    self.trace.instant(now, self.cpu, "serialize_skip", level=name)
        if locking and not serialized and walk.overdue_skipped and not waiting:
            self.lock_wait = True
            names = tuple(self.chain[i].name for i in walk.serialize_skipped)
            self.ctx.tell(self.env.balancer, WaitSerialize(cpu=self.cpu, levels=names))
        if self.due_since is not None:
            self.stats.latency(now - self.due_since * self.tick_ns)
            self.due_since = None
        if not walk.balanced and not token:
            if serialized:
                self.ctx.tell(self.env.balancer, ReleaseSerialize(cpu=self.cpu))
            return
        self.stats.passes += 1
        await self._spend(
            work, now, token, "tasklet" if token else "periodic", exclusive=token or serialized
        )
        if serialized:
            self.ctx.tell(self.env.balancer, ReleaseSerialize(cpu=self.cpu))
        if token:
            self.ctx.tell(self.env.balancer, PassDone(cpu=self.cpu))

    async def _newidle(self) -> None:
        """idle_balance: newly idle, pull from the busiest group level by level (§2.9)."""
        now = self.ctx.now_ns
        work = self._work(now)
        levels = [
            NewidleLevel(
                balance_newidle=SdFlag.BALANCE_NEWIDLE in sd.flags,
                load_balance=balances,
                last_balance=state.last_balance,
                balance_interval=state.balance_interval,
            )
            for sd, state, balances in zip(self.chain, self.runtime, self.balances, strict=True)
        ]
        if self.mode is BalanceMode.SOFTIRQ_SERIALIZE:
            tried, nxt = idle_balance_2624(
                levels,
                work.load_balance_newidle,
                now // self.tick_ns,
                self.cfg.hz,
                self.next_balance,
            )
            if nxt is not None:
                self.next_balance = nxt
        else:
            tried = idle_balance(levels, work.load_balance_newidle)
        if tried:
            self.stats.newidle_passes += 1
            await self._spend(work, now, False, "newidle")

    async def _spend(
        self, work: BalanceWork, now: int, token: bool, kind: str, *, exclusive: bool = False
    ) -> None:
        """The pass takes its virtual time (the current task is stalled), then acts.

        *exclusive*: the pass holds the tasklet or the SD_SERIALIZE lock (invariant 5)."""
        self.due_memo = [None, None]
        cost = self.cfg.cost.pass_ns(work.scanned)
        if self.trace is not None:
            self.trace.passes.append((self.cpu, now, now + cost, kind, tuple(work.outcomes)))
        self._account(now)
        self._publish(now)
        if self.checker is not None:
            self.checker.pass_started(self.cpu, work.build.generation, exclusive)
            for src, dst in work.moves:
                self.checker.balance_move(src, dst, work.build)
        if self.ctx.debug:
            self.ctx.log.debug(
                "balance_pass", generation=work.build.generation, cost_ns=cost, tasklet=token
            )
        await self.ctx.sleep_until(now + cost)
        end = self.ctx.now_ns
        if self.checker is not None:
            self.checker.pass_ended(self.cpu)
        self.run_start_ns = end
        self.stats.balance_ns += cost
        if self.shared.domains.is_retired(work.build.generation) and (
            "no-generation-check" not in self.cfg.bugs
        ):
            self.stats.aborted += 1
            self.ctx.log.info("pass_aborted", generation=work.build.generation)
        else:
            for dst, msg in work.actions:
                if isinstance(msg, ActiveBalance):
                    self.shared.kick_active_balance(dst)
                self.ctx.tell(self.env.cpu_names[dst], msg)
        if end // self.tick_ns > now // self.tick_ns:
            self._on_time(end, tick=True)

    def _migrate(self, msg: MigrateTasks, now: int) -> None:
        """The busiest CPU detaches what it still may give (CS-CPU-2's re-checks)."""
        if self._stale(msg.generation, "migrate"):
            return
        careless = "no-requeue-check" in self.cfg.bugs
        queued: dict[int, list[Task]] = {}
        for t in self.queue:  # a pid twice only with an injected bug: first one first
            queued.setdefault(t.pid, []).append(t)
        taken: set[int] = set()
        for pid in msg.pids:
            same = queued.get(pid, [])
            task = same[0] if same else None
            if task is None and careless and self.curr is not None and self.curr.pid == pid:
                task = self.curr  # SPEC §6.10: the running task is taken too (and duplicated)
                self._send(Task.from_record(task.record()), msg.dst, msg.reason, msg.level)
                continue
            if task is None:
                continue
            if not careless and (
                msg.dst not in task.cpus_allowed or msg.dst not in self.shared.online
            ):
                continue
            same.pop(0)
            taken.add(id(task))
            task.wait_ns += now - task.queued_at_ns
            self.stats.count_out(msg.level)
            self._send(task, msg.dst, msg.reason, msg.level)
        if taken:
            self.queue = deque(t for t in self.queue if id(t) not in taken)
        if not self.queue and self.curr is None:
            self.went_idle = True

    def _active_balance(self, msg: ActiveBalance, now: int) -> None:
        """The migration thread on this (busiest) CPU pushes one task to push_cpu (§2.10)."""
        if not self.shared.serve_active_balance(self.cpu):
            return  # a second kick of one delta: the first one's push_cpu won
        if self._stale(msg.generation, "active balance"):
            return
        runnable = self._runnable()
        if msg.push_cpu not in self.shared.online or not runnable:
            return  # nr_running <= 1: the kernel returns before counting anything
        pid = active_load_balance(
            [t.movable(running=False) for t in runnable],
            msg.push_cpu,
            now,
            msg.nr_balance_failed,
            msg.cache_nice_tries,
            msg.cache_hot_time_ns,
        )
        # schedstat counts on the target's domain (for_each_domain(target_cpu, sd)), and
        # move_tasks(..., SCHED_IDLE) adds the pushed task to its idle lb_gained
        target = self.env.stats.cpus[msg.push_cpu]
        alb = target.alb_counts(msg.level)
        alb[0] += 1
        if pid is None:
            alb[1] += 1
            return
        alb[2] += 1
        target.lb_counts(msg.level, "idle")[LB_GAINED] += 1
        self.stats.active_balances += 1
        task = next(t for t in runnable if t.pid == pid)
        if task is self.curr:
            self._switch_out(task, now)
        else:
            self.queue.remove(task)
        self.stats.count_out(msg.level)
        self._send(task, msg.push_cpu, "active", msg.level)

    def _stale(self, generation: int, what: str) -> bool:
        """A request from a pass on a retired generation is dropped (invariant 6)."""
        if self.shared.domains.is_retired(generation) and (
            "no-generation-check" not in self.cfg.bugs
        ):
            self.stats.aborted += 1
            self.ctx.log.info("request_aborted", what=what, generation=generation)
            return True
        if self.checker is not None:
            self.checker.acted(self.cpu, generation, what)
        return False

    # -- domains, hotplug ---------------------------------------------------------------

    def _attach(self, generation: int, now: int) -> None:
        """cpu_attach_domain for a new generation, then acknowledge (the grace period)."""
        build = self.shared.domains.builds.get(generation)
        if build is None:  # already retired (a later generation overtook it)
            return
        self.generation, self.build = generation, build
        if self.lock_wait:  # new domains, new clocks: the streak of lock retries ends here
            self.lock_wait = False
            self.ctx.tell(self.env.balancer, WithdrawRequest(cpu=self.cpu))
        self.chain = build.chain(self.cpu)
        self.rings = tuple(self.shared.domains.ring(generation, sd) for sd in self.chain)
        # 5.10 removed SD_LOAD_BALANCE: every attached modern domain balances
        modern = build.era == "modern"
        self.balances = tuple(modern or SdFlag.LOAD_BALANCE in sd.flags for sd in self.chain)
        jiffy = now // self.tick_ns
        start = jiffy
        if self.mode is BalanceMode.TASKLET:
            start += cpu_offset(self.cpu, self.cfg.hz, self.cfg.kernel_nr_cpus)
        self.runtime = [DomainRuntime(start, sd.balance_interval, 0) for sd in self.chain]
        self.due_memo = [None, None]
        self.ctx.tell(self.env.controller, DomainsAttached(cpu=self.cpu, generation=generation))

    def _set_online(self, online: bool, now: int) -> None:
        if online == self.online:
            return
        self.online = online
        if online:
            self.next_balance = now // self.tick_ns
            return
        if self.requested or self.lock_wait:  # a dead CPU ticks no more: it stops retrying
            self.requested = self.lock_wait = False
            self.ctx.tell(self.env.balancer, WithdrawRequest(cpu=self.cpu))
        runnable = self._runnable()
        if self.curr is not None:
            self._switch_out(self.curr, now)
        self.queue.clear()
        sleepers = [self.sleepers[pid] for pid in sorted(self.sleepers)]
        self.sleepers.clear()
        self.wakeups.clear()
        for task in runnable:
            self._place(task, now, "hotplug")
        for task in sleepers:
            self._send(task, self._sleeper_home(task), "sleeper", "")
        self.went_idle = False

    def _sleeper_home(self, task: Task) -> int:
        """A sleeper of a dying CPU moves to an allowed online CPU (it wakes there)."""
        placed = self._wake_target(task, -1)
        if placed.cpus_allowed is not None:
            task.cpus_allowed = placed.cpus_allowed
        return placed.cpu

    def _wake_target(self, task: Task, prev_cpu: int) -> WakePlacement:
        """select_wake_cpu over the published online map and the task's cpuset."""
        all_cpus = self.cfg.machine.all_cpus
        cpuset_cpus = self.shared.cpuset_cpus.get(task.cpuset, all_cpus)
        return select_wake_cpu(
            prev_cpu, task.cpus_allowed, self.shared.online, self.node_cpus, cpuset_cpus, all_cpus
        )

    # -- notices about one task -------------------------------------------------------------

    def _find(self, pid: int) -> Task | None:
        if self.curr is not None and self.curr.pid == pid:
            return self.curr
        hit = self.sleepers.get(pid)
        if hit is not None:
            return hit
        return next((t for t in self.queue if t.pid == pid), None)

    def _forward(self, pid: int, msg: object) -> None:
        """Not ours (any more): pass it on to task_cpu(pid), or drop it if the task is gone.

        A task this CPU sent away earlier in the same delta is still ours in the committed
        directory: the notice follows it to where it was sent (after its TaskMoved, in
        this CPU's send order), like the kernel's notice that reads task_cpu() under the
        task's lock.  Dropping it lost seed 002's rebind (cpus, then mems, in one step).
        """
        owner = self.shared.task_cpu_of_mine(pid, self.cpu)
        if owner is not None and owner != self.cpu:
            self.ctx.tell(self.env.cpu_names[owner], msg)

    def _task_notice(
        self, msg: SetCpusAllowed | CpusetMoved | SetMempolicy | KillTask, now: int
    ) -> None:
        task = self._find(msg.pid)
        if task is None:
            self._forward(msg.pid, msg)
            return
        if isinstance(msg, CpusetMoved):
            task.cpuset = msg.path
        elif isinstance(msg, SetMempolicy):
            task.pending_policy = (msg.mode, msg.nodes, msg.flags)
        elif isinstance(msg, KillTask):
            self._remove(task, now)
            self._exit(task, now)
        else:
            if task is self.curr:
                self._account(now)  # the slice so far ran under the old mask
            task.cpus_allowed = msg.cpus_allowed
            self._affinity_moved(task, now)
        self.dirty = True

    def _remove(self, task: Task, now: int) -> None:
        if task is self.curr:
            self._switch_out(task, now)
        elif task.pid in self.sleepers:
            del self.sleepers[task.pid]
            self.wakeups = [(t, p) for t, p in self.wakeups if p != task.pid]
            heapq.heapify(self.wakeups)
        else:
            self.queue.remove(task)
            task.wait_ns += now - task.queued_at_ns
        if not self.queue and self.curr is None:
            self.went_idle = True

    def _affinity_moved(self, task: Task, now: int) -> None:
        """set_cpus_allowed: a runnable task whose CPU left its mask moves (CS-CPU-2)."""
        if self.cpu in task.cpus_allowed or task.pid in self.sleepers:
            return
        usable = task.cpus_allowed & self.shared.online
        self._remove(task, now)
        if usable:
            self._send(task, usable.first(), "affinity", "")
        else:
            self._place(task, now, "affinity")

    def _rebind_notice(self, msg: RebindNotice, now: int) -> None:
        for pid in msg.pids:
            task = self._find(pid)
            if task is None:
                single = RebindNotice(
                    pids=(pid,), old=msg.old, new=msg.new, memory_migrate=msg.memory_migrate
                )
                self._forward(pid, single)
                continue
            if msg.memory_migrate:
                # cpuset_migrate_mm runs in the writer's context (update_nodemask,
                # cpuset_attach; 2.6.16+, MP-HIST-2): the pages move now, while only the
                # policy waits for the task's own context (lazy rebind)
                self._move_pages(task, msg.old, msg.new)
            task.rebind_to = msg.new
            if self.cfg.rebind is RebindMode.DIRECT:
                self._apply_rebind(task)
            elif "rebind-outside-task-context" in self.cfg.bugs:
                task.policy = rebind(
                    task.policy, msg.new, old_mems=task.mems_allowed, era=self.rebind_era
                )

    def _move_pages(self, task: Task, old: CpuMask, new: CpuMask) -> None:
        """do_migrate_pages(mm, old, new) for the task's pages (CS-MEM-2)."""
        for src, dst in migrate_pages_plan(old, new, era=self.rebind_era):
            moved = task.pages_on(src)
            task.add_pages(src, -moved)
            task.add_pages(dst, moved)

    def _apply_rebind(self, task: Task) -> None:
        """The task remaps its own policy from its mems_allowed to the new mems (MP-HIST-1)."""
        new = task.rebind_to
        assert new is not None
        old = task.mems_allowed
        task.policy = rebind(task.policy, new, old_mems=old, era=self.rebind_era)
        task.mems_allowed = new
        task.rebind_to = None
        if self.checker is not None:
            self.checker.rebound(task.pid, task.policy, new, self.rebind_era)
        if self.trace is not None:
            nodes = str(task.policy.nodes)
            self.trace.instant(
                self.ctx.now_ns, self.cpu, "rebind", pid=task.pid, mems=str(new), nodes=nodes
            )
        self.ctx.log.info(
            "policy_rebound", pid=task.pid, mems=str(new), nodes=str(task.policy.nodes)
        )

    def _set_mempolicy(self, task: Task) -> None:
        assert task.pending_policy is not None
        mode, nodes, flags = task.pending_policy
        task.pending_policy = None
        try:
            task.policy = MempolicySpec(mode=mode, nodes=nodes, flags=flags).policy(
                task.mems_allowed, self.rebind_era
            )
        except CpusetError as exc:
            self.ctx.log.info("set_mempolicy_failed", pid=task.pid, error=exc.strerror)

    # -- what others read -------------------------------------------------------------------

    def _publish(self, now: int) -> None:
        """Stage this CPU's board slot (anchor first, with the nr_running it had)."""
        if not self.dirty:
            return
        self.dirty = False
        # A task's board record changes only when it runs or is re-bound; building a
        # fresh one for every queued task at every publish was a tenth of a CPU wakeup.
        known, fresh = self.movables, {}
        out: list[MovableTask] = []
        curr = self.curr
        for task, running in _runnable_flags(curr, self.queue):
            record = known.get(task.pid)
            if (
                record is None
                or record.running is not running
                or record.last_ran_ns != task.last_ran_ns
                or record.cpus_allowed is not task.cpus_allowed
            ):
                record = task.movable(running)
            fresh[task.pid] = record
            out.append(record)
        self.movables = fresh
        queue = tuple(out)
        entry = self.entry.advanced(now // self.tick_ns)
        if self.trace is not None and len(queue) != entry.nr_running:
            self.trace.nr_running.append((now, self.cpu, len(queue)))
        self.entry = BoardEntry(entry.anchor, entry.cpu_load, len(queue), queue)
        self.shared.board.stage(self.cpu, self.entry)
        if self.checker is not None:
            self.checker.touched(self.cpu)

    def _runnable(self) -> list[Task]:
        """The current task (if any), then the queue."""
        return ([self.curr] if self.curr is not None else []) + list(self.queue)

    def held_pids(self) -> list[int]:
        pids = [t.pid for t in self.queue] + list(self.sleepers)
        if self.curr is not None:
            pids.append(self.curr.pid)
        return pids

    def runnable_affinity(self) -> list[tuple[int, CpuMask]]:
        tasks = self._runnable()
        return [(t.pid, t.cpus_allowed) for t in tasks]

    def all_tasks(self) -> list[Task]:
        tasks = self._runnable()
        return tasks + [self.sleepers[pid] for pid in sorted(self.sleepers)]

    def task_stats(self, task: Task, *, exited: bool) -> TaskStats:
        locality = task.local_ns / task.runtime_ns if task.pages and task.runtime_ns else None
        return TaskStats(
            pid=task.pid,
            name=task.name,
            cpuset=task.cpuset,
            cpu=self.cpu,
            runtime_ns=task.runtime_ns,
            wait_ns=task.wait_ns,
            migrations=task.migrations,
            locality=locality,
            pages=task.pages_allocated,
            exited=exited,
            stale_allocations=task.stale_allocations,
        )


def _runnable_flags(curr: Task | None, queue: deque[Task]) -> Iterator[tuple[Task, bool]]:
    """The current task (running) and then the queue, each with its running flag."""
    if curr is not None:
        yield curr, True
    for task in queue:
        yield task, False
