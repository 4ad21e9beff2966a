"""`workload`: hands the scenario's timeline to the controller, each step at its time.

Task groups are forked at their ``start`` (unless a `SpawnStep` forks them
later); steps run at their ``at``.  At one instant, steps go before forks, in
file order, so a step can create the cpuset a task group starts in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from actors.config import SpawnStep
from actors.context import Context
from actors.messages import RunStep

if TYPE_CHECKING:
    from actors.sched import RunEnv

__all__ = ["timeline", "workload"]


def timeline(env: RunEnv) -> list[tuple[int, RunStep]]:
    """Every (time, RunStep) of the run, in the order the controller gets them."""
    cfg = env.config
    late = {step.task for step in cfg.steps if isinstance(step, SpawnStep)}
    items = [(step.at_ns, 0, i, RunStep(index=i)) for i, step in enumerate(cfg.steps)]
    items += [
        (spec.start_ns, 1, i, RunStep(index=-1, spawn=spec.name))
        for i, spec in enumerate(cfg.tasks)
        if spec.name not in late
    ]
    items.sort(key=lambda item: item[:3])
    return [(at, msg) for at, _, _, msg in items]


async def workload(ctx: Context, env: RunEnv) -> None:
    for at_ns, msg in timeline(env):
        if at_ns > ctx.now_ns:
            await ctx.sleep_until(at_ns)
        ctx.tell(env.controller, msg)
