"""The balance nursery: the one global balance tasklet, and the SD_SERIALIZE try-lock.

* tasklet mode (LB-T2, seed 004): `BalanceRequest` is ``tasklet_schedule``
  from the requesting CPU (`topology.tasklet`): refused -- absorbed -- while
  the tasklet is pending anywhere; accepted otherwise, and the tasklet then
  runs (`RunPass`) on the CPU whose list holds it as soon as no other CPU
  runs it (TASKLET_STATE_RUN).  The pass itself runs in that CPU's actor,
  which answers `PassDone` (tasklet_unlock).  At most one pass runs at a
  time machine-wide (LB-SER-2, DESIGN.md invariant 5).
* softirq-serialize mode (LB-T3): `TrySerialize` is ``spin_trylock
  (&balancing)``, answered at once; `ReleaseSerialize` unlocks.

Refusals are counted on the refused CPU's statistics.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from actors.context import Context
from actors.messages import (
    BalanceRequest,
    PassDone,
    ReleaseSerialize,
    RunPass,
    TrySerialize,
    TrySerializeReply,
)
from topology.tasklet import Tasklet, TaskletStep, tasklet_action, tasklet_schedule, tasklet_unlock

if TYPE_CHECKING:
    from actors.sched import RunEnv

__all__ = ["balancer"]


async def balancer(ctx: Context, env: RunEnv) -> None:
    """The balancer actor (see the module docstring)."""
    tasklet = Tasklet()
    holder: int | None = None
    while True:
        for envelope in await ctx.receive():
            msg = envelope.msg
            if isinstance(msg, BalanceRequest):
                tasklet, accepted = tasklet_schedule(tasklet, msg.cpu)
                if not accepted:
                    env.stats.cpus[msg.cpu].tasklet_refusals += 1
                    if env.trace is not None:
                        env.trace.instant(ctx.now_ns, msg.cpu, "tasklet_refused")
                    if ctx.debug:
                        ctx.log.debug("tasklet_refused", cpu=msg.cpu)
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
            if tasklet.queued_on is not None and not tasklet.run:
                cpu = tasklet.queued_on
                tasklet, step = tasklet_action(tasklet, cpu)
                if step is TaskletStep.RAN:
                    ctx.tell(env.cpu_names[cpu], RunPass())
