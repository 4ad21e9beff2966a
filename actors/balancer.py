"""The balance nursery: the one global balance tasklet, and the SD_SERIALIZE try-lock.

* tasklet mode (LB-T2, seed 004): `BalanceRequest` is ``tasklet_schedule``
  from the requesting CPU (`topology.tasklet`): refused -- absorbed -- while
  the tasklet is pending anywhere; accepted otherwise, and the tasklet then
  runs (`RunPass`) on the CPU whose list holds it as soon as no other CPU
  runs it (TASKLET_STATE_RUN).  The pass itself runs in that CPU's actor,
  which answers `PassDone` (tasklet_unlock).  At most one pass runs at a
  time machine-wide (LB-SER-2, DESIGN.md invariant 5).
* a refused CPU calls tasklet_schedule again at each of its ticks until it
  gets in.  Lazily, like the ticks: it asks once, and the balancer keeps it
  in `RefusalBook` -- every tick while SCHED stays set is one more refusal,
  counted when the streak ends.  At the first tick after SCHED clears (the
  queued pass started) the waiting CPUs and those whose tick asks at that
  jiffy contend (`TickContest`); the winner is drawn with the balancer's
  seeded stream, as simultaneous ticks on different CPUs race in the kernel.
  A CPU going offline withdraws (`WithdrawRequest`).
* softirq-serialize mode (LB-T3): `TrySerialize` is ``spin_trylock
  (&balancing)``, answered at once; `ReleaseSerialize` unlocks.

Refusals are counted on the refused CPU's statistics.
"""

# SIMPLIFIED: a waiting CPU may be granted the SD_SERIALIZE lock while it is inside a
# pass of its own (its other levels); the lock then sits unused until that pass ends,
# where in the kernel another CPU's tick would have taken it.
# SIMPLIFIED: a CPU that withdraws (goes offline) is charged the refusals of the
# ticks before its withdrawal jiffy (at least one), not the one it may still
# have taken in that jiffy.

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

from actors.context import Context
from actors.mailbox import Envelope
from actors.messages import (
    BalanceRequest,
    PassDone,
    ReleaseSerialize,
    RunPass,
    SerializeGranted,
    TickContest,
    TrySerialize,
    TrySerializeReply,
    WaitSerialize,
    WithdrawRequest,
)
from topology.tasklet import (
    Tasklet,
    TaskletStep,
    tasklet_action,
    tasklet_schedule,
    tasklet_takeover,
    tasklet_unlock,
)

if TYPE_CHECKING:
    from actors.sched import RunEnv

__all__ = ["RefusalBook", "balancer"]


class RefusalBook:
    """CPUs that retry at every tick until they get in: cpu -> first jiffy still to charge.

    Each tick of a streak costs *labels* refusals (one per SD_SERIALIZE level a
    walk skips; one for the tasklet), added to the CPU's *counter* statistic
    when the streak ends, with a trace instant *what* per refusal.
    """

    def __init__(self, env: RunEnv, counter: str, what: str, minimum: int) -> None:
        self.env, self.counter, self.what, self.minimum = env, counter, what, minimum
        self.waiting: dict[int, int] = {}
        self.labels: dict[int, tuple[str, ...]] = {}

    def refuse(self, cpu: int, jiffy: int, labels: tuple[str, ...] = ("",)) -> None:
        if cpu not in self.waiting:
            self.waiting[cpu], self.labels[cpu] = jiffy, labels

    def close(self, cpu: int, last_jiffy: int) -> None:
        """*cpu*'s streak ends: it was refused at every tick from its first through *last_jiffy*."""
        first, labels = self.waiting.pop(cpu), self.labels.pop(cpu)
        ticks = max(self.minimum, last_jiffy - first + 1)
        stats = self.env.stats.cpus[cpu]
        setattr(stats, self.counter, getattr(stats, self.counter) + ticks * len(labels))
        trace = self.env.trace
        if trace is not None:
            tick = self.env.config.tick_ns
            for k in range(ticks):
                for label in labels:
                    args = {"level": label} if label else {}
                    trace.instant((first + k) * tick, cpu, self.what, **args)

    def close_all(self, now_ns: int) -> None:
        """The run ended: charge every waiting CPU up to the last tick."""
        jiffy = now_ns // self.env.config.tick_ns
        for cpu in sorted(self.waiting):
            self.close(cpu, jiffy)


async def balancer(ctx: Context, env: RunEnv) -> None:
    """The balancer actor (see the module docstring)."""
    tasklet = Tasklet()
    holder: int | None = None
    book = env.refusals = RefusalBook(env, "tasklet_refusals", "tasklet_refused", 1)
    locks = env.skips = RefusalBook(env, "serialize_skips", "serialize_skip", 0)
    tick = env.config.tick_ns
    contest: int | None = None
    """the jiffy of the next scheduled tasklet contest"""
    lock_contest: int | None = None
    while True:
        batch = await ctx.receive()
        jiffy = ctx.now_ns // tick
        requests: list[int] = []
        asks: list[tuple[int, Envelope]] = []
        settle = lock_settle = False
        for envelope in batch:
            msg = envelope.msg
            if isinstance(msg, BalanceRequest):
                requests.append(msg.cpu)
            elif isinstance(msg, WithdrawRequest):
                for waiting in (book, locks):
                    if msg.cpu in waiting.waiting:
                        waiting.close(msg.cpu, jiffy - 1)
                if msg.cpu in requests:
                    requests.remove(msg.cpu)
                if tasklet.queued_on == msg.cpu:  # it went offline with the tasklet queued
                    tasklet = _action(ctx, env, tasklet)
            elif isinstance(msg, TickContest):
                if not msg.settle:  # this tick's own requests arrive in the next delta
                    ctx.tell(ctx.name, replace(msg, settle=True))
                elif msg.lock:
                    lock_settle, lock_contest = True, None
                else:
                    settle, contest = True, None
            elif isinstance(msg, PassDone):  # the CPU holding it queued spins: it runs at once
                tasklet = _action(ctx, env, tasklet_unlock(tasklet, msg.cpu))
            elif isinstance(msg, TrySerialize):
                asks.append((msg.cpu, envelope))
            elif isinstance(msg, WaitSerialize):
                locks.refuse(msg.cpu, jiffy + 1, msg.levels)  # this tick's skips: counted there
            elif isinstance(msg, ReleaseSerialize):
                if holder != msg.cpu:
                    raise RuntimeError(f"cpu {msg.cpu} released a lock held by {holder}")
                holder = None
            else:
                raise TypeError(f"balancer got {msg!r}")
        if requests or settle:
            tasklet = _schedule(ctx, env, book, tasklet, requests, settle, jiffy)
        tasklet = _action(ctx, env, tasklet)
        if book.waiting and not tasklet.sched and contest is None:
            contest = jiffy + 1
            ctx.tell(ctx.name, TickContest(jiffy=contest, settle=False), at_ns=contest * tick)
        if asks or lock_settle:
            holder = _trylock(ctx, env, locks, holder, asks, lock_settle, jiffy)
        if locks.waiting and holder is None and lock_contest is None:
            lock_contest = jiffy + 1
            at = lock_contest * tick
            ctx.tell(ctx.name, TickContest(jiffy=lock_contest, settle=False, lock=True), at_ns=at)


def _trylock(
    ctx: Context,
    env: RunEnv,
    locks: RefusalBook,
    holder: int | None,
    asks: list[tuple[int, Envelope]],
    settle: bool,
    jiffy: int,
) -> int | None:
    """This delta's spin_trylock(&balancing) calls: in message order, or raced at a contest.

    An asking CPU is answered; a waiting CPU that wins is told `SerializeGranted`.
    """
    asked = dict(asks)
    order: Iterable[int] = [cpu for cpu, _ in asks]
    if settle:
        pool = sorted(asked.keys() | locks.waiting.keys())
        drawn: list[int] = []
        while pool and holder is None:  # the race, drawn as far as it matters (see _schedule)
            cpu = pool.pop(ctx.rng.randrange(len(pool)))
            drawn.append(cpu)
            holder = _try(ctx, env, locks, holder, asked, cpu, jiffy)
        # The lock is taken: the rest fail, and only the askers among them hear of it.
        order = [cpu for cpu in sorted(asked) if cpu not in drawn]
    for cpu in order:
        holder = _try(ctx, env, locks, holder, asked, cpu, jiffy)
    return holder


def _try(
    ctx: Context,
    env: RunEnv,
    locks: RefusalBook,
    holder: int | None,
    asked: dict[int, Envelope],
    cpu: int,
    jiffy: int,
) -> int | None:
    """One spin_trylock(&balancing) by *cpu*; the holder after it."""
    acquired = holder is None
    if acquired:
        holder = cpu
        if cpu in locks.waiting:
            locks.close(cpu, jiffy - 1)
    if cpu in asked:
        ctx.reply(asked[cpu], TrySerializeReply(acquired=acquired))
    elif acquired:
        ctx.tell(env.cpu_names[cpu], SerializeGranted())
    return holder


def _schedule(
    ctx: Context,
    env: RunEnv,
    book: RefusalBook,
    tasklet: Tasklet,
    requests: list[int],
    settle: bool,
    jiffy: int,
) -> Tasklet:
    """This delta's ticks calling tasklet_schedule, each followed by its own softirq.

    In message order; at a contest, the waiting CPUs join this tick's callers in
    an order drawn from the balancer's seeded stream (simultaneous ticks race):
    the first runs the tasklet at once, which clears SCHED, so the second
    queues it behind (it spins on RUN), and the rest are refused again.
    """
    order: Iterable[int] = requests
    if settle:
        pool = sorted(set(requests) | book.waiting.keys())
        drawn: list[int] = []
        # The race, drawn one CPU at a time (Fisher-Yates from the ascending list, so
        # the order is uniformly shuffled as far as it goes) until SCHED is set and
        # the order of the rest changes nothing.  With a thousand waiting CPUs, a
        # full shuffle and a refusal call per waiting CPU at every contest were the
        # balancer's largest cost.
        while pool and not tasklet.sched:
            cpu = pool.pop(ctx.rng.randrange(len(pool)))
            drawn.append(cpu)
            tasklet = _offer(ctx, env, book, tasklet, cpu, jiffy)
        # SCHED is set: every later tasklet_schedule is refused.  A CPU already
        # waiting stays waiting (nothing to record) unless the refusals are logged.
        order = pool
        if not ctx.debug:
            order = [c for c in sorted(set(requests)) if c not in drawn and c not in book.waiting]
    for cpu in order:
        tasklet = _offer(ctx, env, book, tasklet, cpu, jiffy)
    return tasklet


def _offer(
    ctx: Context, env: RunEnv, book: RefusalBook, tasklet: Tasklet, cpu: int, jiffy: int
) -> Tasklet:
    """*cpu*'s tick calls tasklet_schedule, then its softirq runs; the tasklet after it."""
    if tasklet.queued_on == cpu:
        return tasklet  # its own instance is pending: nothing to retry, no refusal
    tasklet, accepted = tasklet_schedule(tasklet, cpu)
    if not accepted:
        book.refuse(cpu, jiffy)
        if ctx.debug:
            ctx.log.debug("tasklet_refused", cpu=cpu)
        return tasklet
    if cpu in book.waiting:
        book.close(cpu, jiffy - 1)
    return _action(ctx, env, tasklet)


def _action(ctx: Context, env: RunEnv, tasklet: Tasklet) -> Tasklet:
    """TASKLET_SOFTIRQ on the CPU holding it queued: it runs there unless another CPU runs it.

    A tasklet queued on a CPU that went offline was moved by takeover_tasklets to the
    CPU that ran the CPU_DEAD notifier, and runs there.
    """
    online = env.shared.online
    if tasklet.queued_on is not None and tasklet.queued_on not in online:
        # SIMPLIFIED: the notifier's CPU is whichever CPU wrote the online file; here
        # the lowest online CPU takes the tasklet over.
        tasklet = tasklet_takeover(tasklet, tasklet.queued_on, online.first())
    if tasklet.queued_on is not None and not tasklet.run:
        cpu = tasklet.queued_on
        tasklet, step = tasklet_action(tasklet, cpu)
        if step is TaskletStep.RAN:
            ctx.tell(env.cpu_names[cpu], RunPass())
    return tasklet
