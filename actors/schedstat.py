"""The run's statistics as ``/proc/schedstat`` (kernel/sched.c show_schedstat, version 12).

Version 12 is the format of 2.6.13-2.6.19 (version 14 of 2.6.20 prints the
same fields; Documentation/sched-stats.txt).  The file is::

    version 12
    timestamp <jiffies>
    cpu<N> <12 runqueue fields>
    domain<K> <span as %*pb hex> <3 x 8 load_balance fields> <12 more fields>
    ...                                  (one domain line per level of cpu<N>)

One ``cpuN`` line per online CPU (for_each_online_cpu), followed by one
``domainK`` line per sched domain of its chain, innermost first.

The cpu line: yld_both_empty yld_act_empty yld_exp_empty yld_cnt
sched_switch sched_cnt sched_goidle ttwu_cnt ttwu_local cpu_time run_delay
pcnt.  Modelled: **cpu_time** (jiffies a task ran on the CPU: `CpuStats.busy_ns`
in ticks).  The others print 0 (no sched_yield, and schedule() and wake-up
counts are not kept).

The domain line: for each idle type in enum idle_type order (SCHED_IDLE,
NOT_IDLE, NEWLY_IDLE -- "idle", "busy", "newidle" in `CpuStats.lb`):
lb_cnt lb_balanced lb_failed lb_imbalance lb_gained lb_hot_gained
lb_nobusyq lb_nobusyg -- all modelled (lb_hot_gained stays 0: cache-hot
tasks are never pulled); then alb_cnt alb_failed alb_pushed (modelled, from
the active balances this CPU ran as the busiest CPU), then sbe_cnt
sbe_balanced sbe_pushed sbf_cnt sbf_balanced sbf_pushed ttwu_wake_remote
ttwu_move_affine ttwu_move_balance, which print 0.
"""

from __future__ import annotations

import dataclasses
import os

from actors.replay import logged_run
from actors.sched import SchedRun
from actors.stats import CpuStats, SchedStatistics

__all__ = ["IDLE_TYPES", "SCHEDSTAT_VERSION", "schedstat_of_log", "show_schedstat"]

SCHEDSTAT_VERSION = 12
IDLE_TYPES = ("idle", "busy", "newidle")
"""enum idle_type order (2.6.14): SCHED_IDLE, NOT_IDLE, NEWLY_IDLE."""
_CPU_ZEROS_BEFORE = 9
"""yld_both_empty .. ttwu_local: not modelled"""
_DOMAIN_ZEROS_AFTER = 9
"""sbe_* (3), sbf_* (3), ttwu_* (3): not modelled"""


def _cpu_line(stats: CpuStats, tick_ns: int) -> str:
    fields = [0] * _CPU_ZEROS_BEFORE + [stats.busy_ns // tick_ns, 0, 0]
    return f"cpu{stats.cpu} " + " ".join(map(str, fields))


def _domain_line(k: int, span: str, level: str, stats: CpuStats) -> str:
    fields: list[int] = []
    for idle in IDLE_TYPES:
        fields += stats.lb.get(f"{level}:{idle}", [0] * 8)
    fields += stats.alb.get(level, [0] * 3)
    fields += [0] * _DOMAIN_ZEROS_AFTER
    return f"domain{k} {span} " + " ".join(map(str, fields))


def show_schedstat(run: SchedRun, statistics: SchedStatistics | None = None) -> str:
    """The ``/proc/schedstat`` text of *run* now (its statistics, its CPUs' domain chains)."""
    stats = run.statistics() if statistics is None else statistics
    config = run.config
    tick_ns = config.tick_ns
    nbits = config.machine.nr_cpus
    lines = [f"version {SCHEDSTAT_VERSION}", f"timestamp {stats.duration_ns // tick_ns}"]
    for actor in run.env.cpus:
        if actor is None or not actor.online:
            continue
        cpu = stats.cpus[actor.cpu]
        lines.append(_cpu_line(cpu, tick_ns))
        # SIMPLIFIED: counters are kept per level name, so a rebuilt domain of the same
        # level shows the counts of its predecessors too (the kernel starts from zero).
        for k, sd in enumerate(actor.chain):
            lines.append(_domain_line(k, sd.span.hex(nbits), sd.name, cpu))
    return "\n".join(lines) + "\n"


def schedstat_of_log(path: str | os.PathLike[str], at_ns: int | None = None) -> str:
    """Re-run the logged scenario (to *at_ns*, or to its end) and show its schedstat."""
    scenario, seed = logged_run(path)
    config = scenario.config
    if at_ns is not None:
        if at_ns < 0 or at_ns > config.duration_ns:
            raise ValueError(f"--at {at_ns} ns lies outside the run (0 .. {config.duration_ns})")
        config = dataclasses.replace(config, duration_ns=at_ns)
    run = SchedRun(config, seed=seed)
    run.run()
    return show_schedstat(run)
