"""Per-domain tunables as plain data (``schedsim topo --format json``).

What the kernel exposes per CPU and domain level: 2.6's
``/proc/sys/kernel/sched_domain/cpuN/domainM/`` (min_interval, max_interval,
busy_factor, imbalance_pct, cache_nice_tries, busy/idle/newidle/wake/forkexec
_idx, flags, name) and 6.x's debugfs ``sched/domains/cpuN/domainM/``, plus the
group ring that SCHED_DEBUG prints.  Values are JSON-ready (str, int, list,
dict); masks are cpulists.
"""

from __future__ import annotations

from collections.abc import Iterable

from topology.debug import DebugReport
from topology.domains import DomainBuild
from topology.sched_domain import SchedDomain, SchedGroup, ring
from topology.sd_flags import flag_names, flag_value

__all__ = ["JsonValue", "build_as_dict", "domain_as_dict"]

JsonValue = str | int | bool | None | list["JsonValue"] | dict[str, "JsonValue"]


def _group_as_dict(group: SchedGroup, modern: bool) -> dict[str, JsonValue]:
    out: dict[str, JsonValue] = {"span": str(group.span), "id": group.id}
    out["capacity" if modern else "power"] = group.power
    if group.balance_mask != group.span:
        out["balance_mask"] = str(group.balance_mask)
    return out


def domain_as_dict(sd: SchedDomain, index: int, era: str, limit: int) -> dict[str, JsonValue]:
    """One domain level of one CPU (*index*: its position in the chain, as printed)."""
    modern = era == "modern"
    groups = list(ring(sd.groups, limit))
    closed = bool(groups) and groups[-1].next is sd.groups
    out: dict[str, JsonValue] = {
        "level": index,
        "name": sd.name,
        "sd_level": sd.level,
        "span": str(sd.span),
        "span_weight": sd.span_weight,
        "flags": list(flag_names(sd.flags, era)),
        "flags_value": flag_value(sd.flags, era),
        "min_interval": sd.min_interval,
        "max_interval": sd.max_interval,
        "busy_factor": sd.busy_factor,
        "imbalance_pct": sd.imbalance_pct,
        "cache_nice_tries": sd.cache_nice_tries,
        "balance_interval": sd.balance_interval,
    }
    if not modern:
        out.update(
            busy_idx=sd.busy_idx,
            idle_idx=sd.idle_idx,
            newidle_idx=sd.newidle_idx,
            wake_idx=sd.wake_idx,
            forkexec_idx=sd.forkexec_idx,
            cache_hot_time_ns=sd.cache_hot_time_ns,
            per_cpu_gain=sd.per_cpu_gain,
        )
    out["groups"] = [_group_as_dict(g, modern) for g in groups]
    out["groups_ring_closed"] = closed
    return out


def build_as_dict(
    build: DomainBuild, report: DebugReport, cpus: Iterable[int] | None = None
) -> dict[str, JsonValue]:
    """The whole build (or *cpus*), with the debug report's errors."""
    machine = build.machine
    selected = range(machine.nr_cpus) if cpus is None else sorted(set(cpus))
    limit = machine.nr_cpus + 1
    per_cpu: list[JsonValue] = []
    for cpu in selected:
        domains: list[JsonValue] = [
            domain_as_dict(sd, i, build.era, limit) for i, sd in enumerate(build.chain(cpu))
        ]
        per_cpu.append({"cpu": cpu, "partition": build.partition_of(cpu), "domains": domains})
    errors: list[JsonValue] = [
        {"cpu": e.cpu, "level": e.level, "message": e.message} for e in report.errors
    ]
    return {
        "machine": machine.summary(),
        "era": build.era,
        "generation": build.generation,
        "partitions": [str(p) for p in build.partitions],
        "relax_domain_level": [a.relax_domain_level for a in build.attrs],
        "cpus": per_cpu,
        "errors": errors,
    }
