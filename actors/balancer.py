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

# SIMPLIFIED: a CPU that withdraws (goes offline) is charged the refusals of the
# ticks before its withdrawal jiffy (at least one), not the one it may still
# have taken in that jiffy.

from __future__ import annotations

from typing import TYPE_CHECKING

from actors.context import Context
from actors.messages import (
    BalanceRequest,
    PassDone,
    ReleaseSerialize,
    RunPass,
    TickContest,
    TrySerialize,
    TrySerializeReply,
    WithdrawRequest,
)
from topology.tasklet import Tasklet, TaskletStep, tasklet_action, tasklet_schedule, tasklet_unlock

if TYPE_CHECKING:
    from actors.sched import RunEnv

__all__ = ["RefusalBook", "balancer"]


class RefusalBook:
    """The CPUs refused by the busy tasklet that retry at every tick: cpu -> first refused jiffy."""

    def __init__(self, env: RunEnv) -> None:
        self.env = env
        self.waiting: dict[int, int] = {}

    def refuse(self, cpu: int, jiffy: int) -> None:
        self.waiting.setdefault(cpu, jiffy)

    def close(self, cpu: int, last_jiffy: int) -> None:
        """*cpu*'s streak ends: it was refused at every tick from its first through *last_jiffy*."""
        first = self.waiting.pop(cpu)
        count = max(1, last_jiffy - first + 1)
        self.env.stats.cpus[cpu].tasklet_refusals += count
        trace = self.env.trace
        if trace is not None:
            tick = self.env.config.tick_ns
            for k in range(count):
                trace.instant((first + k) * tick, cpu, "tasklet_refused")

    def close_all(self, now_ns: int) -> None:
        """The run ended: charge every waiting CPU up to the last tick."""
        jiffy = now_ns // self.env.config.tick_ns
        for cpu in sorted(self.waiting):
            self.close(cpu, jiffy)


async def balancer(ctx: Context, env: RunEnv) -> None:
    """The balancer actor (see the module docstring)."""
    tasklet = Tasklet()
    holder: int | None = None
    book = env.refusals = RefusalBook(env)
    tick = env.config.tick_ns
    contest: int | None = None
    """the jiffy of the next scheduled contest"""
    while True:
        batch = await ctx.receive()
        jiffy = ctx.now_ns // tick
        requests: list[int] = []
        settle = False
        for envelope in batch:
            msg = envelope.msg
            if isinstance(msg, BalanceRequest):
                requests.append(msg.cpu)
            elif isinstance(msg, WithdrawRequest):
                if msg.cpu in book.waiting:
                    book.close(msg.cpu, jiffy - 1)
                if msg.cpu in requests:
                    requests.remove(msg.cpu)
            elif isinstance(msg, TickContest):
                if msg.settle:
                    settle, contest = True, None
                else:  # this tick's own requests arrive in the next delta: decide then
                    ctx.tell(ctx.name, TickContest(jiffy=msg.jiffy, settle=True))
            elif isinstance(msg, PassDone):
                tasklet = tasklet_unlock(tasklet, msg.cpu)
            elif isinstance(msg, TrySerialize):
                acquired = holder is None
                if acquired:
                    holder = msg.cpu
                ctx.reply(envelope, TrySerializeReply(acquired=acquired))
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
    order = requests
    if settle:
        order = sorted(set(requests) | book.waiting.keys())
        ctx.rng.shuffle(order)
    for cpu in order:
        tasklet, accepted = tasklet_schedule(tasklet, cpu)
        if not accepted:
            book.refuse(cpu, jiffy)
            if ctx.debug:
                ctx.log.debug("tasklet_refused", cpu=cpu)
            continue
        if cpu in book.waiting:
            book.close(cpu, jiffy - 1)
        tasklet = _action(ctx, env, tasklet)
    return tasklet


def _action(ctx: Context, env: RunEnv, tasklet: Tasklet) -> Tasklet:
    """TASKLET_SOFTIRQ on the CPU holding it queued: it runs there unless another CPU runs it."""
    if tasklet.queued_on is not None and not tasklet.run:
        cpu = tasklet.queued_on
        tasklet, step = tasklet_action(tasklet, cpu)
        if step is TaskletStep.RAN:
            ctx.tell(env.cpu_names[cpu], RunPass())
    return tasklet
