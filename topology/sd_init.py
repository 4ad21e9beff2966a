"""Default domain parameters per era (SPEC §1.5) and relax_domain_level (RB-8).

2.6 eras: the SD_*_INIT initializers of include/linux/topology.h and
include/asm-x86_64/topology.h (SD_NODE_INIT), as read in 2.6.14 and 2.6.20.
Modern: kernel/sched/topology.c sd_init (6.18), which derives everything from
the weight of the topology mask and the level's topology flags.

Differences 2.6.14 -> 2.6.20 (kernel sources, not the SPEC table): SIBLING
busy_factor 8 -> 64 (Siddha, "sched: increase SMT busy rebalance interval"),
SD_MC_INIT = SD_CPU_INIT + SD_SHARE_PKG_RESOURCES (its own initializer since
2.6.19), SD_SERIALIZE on NODE and ALLNODES.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache

from topology.cpumask import CpuMask
from topology.sched_domain import DomainAttr, SchedDomain
from topology.sd_flags import SdFlag

__all__ = [
    "NODE_RECLAIM_DISTANCE",
    "SD_LV",
    "SdInit",
    "make_domain",
    "sd_init_26",
    "sd_init_modern",
    "set_domain_attribute",
]

SD_LV = {"SIBLING": 1, "MC": 2, "CPU": 3, "NODE": 4, "ALLNODES": 5}
"""enum sched_domain_level (2.6.26+): the numbers relax_domain_level compares against."""

NODE_RECLAIM_DISTANCE = 30
"""node_reclaim_distance (RECLAIM_DISTANCE): NUMA levels beyond it stop EXEC/FORK/WAKE_AFFINE."""

_LB, _NEWIDLE, _EXEC, _FORK = (
    SdFlag.LOAD_BALANCE,
    SdFlag.BALANCE_NEWIDLE,
    SdFlag.BALANCE_EXEC,
    SdFlag.BALANCE_FORK,
)
_AFFINE, _IDLE, _WBAL = SdFlag.WAKE_AFFINE, SdFlag.WAKE_IDLE, SdFlag.WAKE_BALANCE


@dataclass(frozen=True, slots=True)
class SdInit:
    """The fields an SD_*_INIT initializer (or sd_init) sets."""

    name: str
    level: int
    min_interval: int
    max_interval: int
    busy_factor: int
    imbalance_pct: int
    cache_nice_tries: int
    idx: tuple[int, int, int, int, int]  # busy, idle, newidle, wake, forkexec
    flags: SdFlag
    balance_interval: int
    cache_hot_time_ns: int = 0
    per_cpu_gain: int = 100


_SIBLING_2614 = SdInit(
    "SIBLING", SD_LV["SIBLING"], 1, 2, 8, 110, 0, (0, 0, 1, 0, 0),
    _LB | _NEWIDLE | _EXEC | _AFFINE | _IDLE | SdFlag.SHARE_CPUPOWER, 1, 0, 25,
)  # fmt: skip
_CPU_2614 = SdInit(
    "CPU", SD_LV["CPU"], 1, 4, 64, 125, 1, (2, 1, 2, 1, 1),
    _LB | _NEWIDLE | _EXEC | _AFFINE, 1, 2_500_000,
)  # fmt: skip
# SIMPLIFIED: SD_NODE_INIT is x86_64's (include/asm-x86_64/topology.h); ia64 differed.
# Its cache_hot_time of 10 ms lasted until 2.6.16's calibrate_migration_costs removed it.
_NODE_2614 = SdInit(
    "NODE", SD_LV["NODE"], 8, 32, 32, 125, 2, (3, 2, 0, 1, 1),
    _LB | _FORK | _EXEC | _WBAL, 1, 10_000_000,
)  # fmt: skip
_ALLNODES_2614 = SdInit(
    "ALLNODES", SD_LV["ALLNODES"], 64, 64, 128, 133, 1, (3, 3, 0, 0, 0),
    _LB, 64, 10_000_000,
)  # fmt: skip

_SERIALIZE = SdFlag.SERIALIZE
_INITS_26: dict[str, dict[str, SdInit]] = {
    "2.6.14": {
        "SIBLING": _SIBLING_2614,
        "CPU": _CPU_2614,
        "NODE": _NODE_2614,
        "ALLNODES": _ALLNODES_2614,
    },
    "2.6.20": {
        "SIBLING": replace(_SIBLING_2614, busy_factor=64),
        "MC": replace(
            _CPU_2614,
            name="MC",
            level=SD_LV["MC"],
            flags=_CPU_2614.flags | SdFlag.SHARE_PKG_RESOURCES,
        ),
        "CPU": _CPU_2614,
        "NODE": replace(_NODE_2614, flags=_NODE_2614.flags | _SERIALIZE),
        "ALLNODES": replace(_ALLNODES_2614, flags=_LB | _SERIALIZE),
    },
}
_INITS_26["2.6.13"] = _INITS_26["2.6.14"]


@cache
def sd_init_26(era: str, name: str, nr_cpus: int) -> SdInit:
    """SD_<name>_INIT of *era* (x86_64 SD_NODE_INIT) on a machine of *nr_cpus* online CPUs."""
    init = _INITS_26[era][name]
    if name == "ALLNODES":
        # SD_ALLNODES_INIT: .max_interval = 64*num_online_cpus()
        init = replace(init, max_interval=64 * nr_cpus)
    # SIMPLIFIED: 2.6.16-2.6.22 measured cache_hot_time at boot (calibrate_migration_costs);
    # 2.6.20 keeps 2.6.14's static values here.
    return init


@cache
def sd_init_modern(
    name: str, level: int, weight: int, topo_flags: SdFlag, numa_distance: int | None
) -> SdInit:
    """kernel/sched/topology.c sd_init (6.18) for a level whose topology mask has *weight* CPUs.

    *topo_flags* are the level's descriptive flags (cpu_smt_flags, cpu_core_flags,
    cpu_numa_flags); *numa_distance* is sched_domains_numa_distance[numa_level].
    """
    flags = _NEWIDLE | _EXEC | _FORK | _AFFINE | SdFlag.PREFER_SIBLING | topo_flags
    pct, tries = 117, 0
    if flags & SdFlag.SHARE_CPUCAPACITY:
        pct = 110
    elif flags & SdFlag.SHARE_LLC:
        pct, tries = 117, 1
    elif flags & SdFlag.NUMA:
        tries = 2
        flags = (flags & ~SdFlag.PREFER_SIBLING) | _SERIALIZE
        if numa_distance is not None and numa_distance > NODE_RECLAIM_DISTANCE:
            flags &= ~(_EXEC | _FORK | _AFFINE)
    else:
        tries = 1
    # SIMPLIFIED: the 5.x-removed load indices read 0; cache_hot_time does not exist.
    return SdInit(
        name, level, weight, 2 * weight, 16, pct, tries, (0, 0, 0, 0, 0), flags, weight, 0, 0
    )


def make_domain(init: SdInit, cpu: int, span: int) -> SchedDomain:
    """A new, unlinked sched_domain of *cpu* from an initializer."""
    sd = SchedDomain(init.name, init.level, cpu, CpuMask(span), init.flags)
    sd.min_interval = init.min_interval
    sd.max_interval = init.max_interval
    sd.busy_factor = init.busy_factor
    sd.imbalance_pct = init.imbalance_pct
    sd.cache_nice_tries = init.cache_nice_tries
    sd.busy_idx, sd.idle_idx, sd.newidle_idx, sd.wake_idx, sd.forkexec_idx = init.idx
    sd.balance_interval = init.balance_interval
    sd.cache_hot_time_ns = init.cache_hot_time_ns
    sd.per_cpu_gain = init.per_cpu_gain
    return sd


def set_domain_attribute(sd: SchedDomain, attr: DomainAttr, modern: bool) -> None:
    """RB-8: apply relax_domain_level to one freshly built domain (set_domain_attribute).

    Modern (6.18): ``sd.level >= request`` clears BALANCE_WAKE|BALANCE_NEWIDLE.
    2.6.26-4.x: ``request < sd.level`` clears them, otherwise *sets* them, with
    levels numbered by enum sched_domain_level (SIBLING=1 ... ALLNODES=5).
    """
    request = attr.relax_domain_level
    if request < 0:
        # SIMPLIFIED: no boot-time relax_domain_level= default (it would apply here).
        return
    if modern:
        if sd.level >= request:
            sd.flags &= ~(SdFlag.BALANCE_WAKE | _NEWIDLE)
        return
    # SIMPLIFIED: relax_domain_level appeared in 2.6.26; the 2.6.1x eras apply its
    # rule with SD_WAKE_IDLE standing for the wake-balancing flag of their time.
    if request < sd.level:
        sd.flags &= ~(_IDLE | _NEWIDLE)
    else:
        sd.flags |= _IDLE | _NEWIDLE
