"""What one scheduler run is made of: the machine, the balancer, the workload, the timed steps.

`SimConfig` is the frozen description that `actors.sched.run_scheduler` runs
and that a scenario file (actors/scenario.py) parses into.  Every field has the
documented default, so ``SimConfig(machine=load_machine("smt-numa-8"))`` with
a few `TaskSpec` is a complete run.  Times are int nanoseconds where the
runtime uses them (``*_ns``) and keep their unit where they are tunables
(``slice_ms``, ``hz``).

Defaults and where they come from:

* ``hz = 1000``, ``slice_ms = 100`` -- 2.6.14's DEF_TIMESLICE for nice 0;
* ``balance = "tasklet"`` -- the design of seed 004 (LB-T2); ``percpu`` is
  2.6.14's rebalance_tick (LB-T1), ``softirq-serialize`` 2.6.20's SCHED_SOFTIRQ
  with the SD_SERIALIZE try-lock (LB-T3);
* ``cpuset_era = "2.6.14"``; the domain builder era defaults to the first the
  cpuset era allows (`cpuset.DOMAIN_ERAS`).  SD_SERIALIZE levels exist from
  2.6.20 domains on, so ``softirq-serialize`` serializes something only with
  ``cpuset_era = "2.6.24"`` (2.6.20 domains) or later;
* the pass cost model: ``base_ns = 2_000`` plus ``per_cpu_ns = 250`` for every
  CPU whose runqueue a pass reads (the groups of every level it balances) --
  the order of a 2.6-era load_balance over a node's runqueues; a 512-CPU
  top-level pass costs ~130 us;
* ``rebind = "lazy"`` -- the 2.6.14 protocol (MP-HIST-1): a task remaps its
  own mempolicy the next time it allocates; ``"direct"`` is the writer-side
  update of 2.6.31+ (MP-HIST-4, modern MP-REB-4).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from cpuset import DOMAIN_ERAS, ERAS
from cpuset.mempolicy import MemPolicy, MpolFlag, MpolMode, RebindEra, mpol_new
from topology import CpuMask, NodeMask
from topology.machine import Machine

__all__ = [
    "BUGS",
    "AffinityStep",
    "AttachStep",
    "BalanceMode",
    "CostModel",
    "HotplugStep",
    "KillStep",
    "MempolicySpec",
    "MempolicyStep",
    "RebindMode",
    "ShellStep",
    "SimConfig",
    "SpawnStep",
    "Step",
    "TaskKind",
    "TaskSpec",
]

BUGS = {
    "legacy-2.6.13-groups": "build domains with 2.6.13's shared node-group table (BUG13-2)",
    "no-grace-period": "retire old domains without waiting for every CPU to acknowledge",
    "no-generation-check": "let a balance pass act on a retired domain generation",
    "rebind-outside-task-context": "the writer rewrites a policy while the task allocates",
    "no-requeue-check": "a migration does not re-check the task's CPU and affinity",
}
"""Historic defect classes that can be switched back on (SPEC §6), by name."""


class BalanceMode(enum.Enum):
    """How periodic balancing is triggered and serialized (SPEC §2.1)."""

    TASKLET = "tasklet"
    PERCPU = "percpu"
    SOFTIRQ_SERIALIZE = "softirq-serialize"


class RebindMode(enum.Enum):
    """Who applies a mempolicy rebind (SPEC §4.4)."""

    LAZY = "lazy"
    DIRECT = "direct"


class TaskKind(enum.Enum):
    """What a task does when it runs."""

    HOG = "hog"
    """runs forever"""
    PERIODIC = "periodic"
    """runs run_ms, sleeps sleep_ms, again"""
    FORK_BURST = "fork-burst"
    """runs, and every fork_every_ms of its runtime forks *children* exiting tasks at once"""
    EXITING = "exiting"
    """exits after lifetime_ms of runtime"""
    PINNED = "pinned"
    """a hog bound to *cpus* by sched_setaffinity"""


@dataclass(frozen=True, slots=True, kw_only=True)
class MempolicySpec:
    """set_mempolicy(mode | flags, nodes): mode default/preferred/bind/interleave/local."""

    mode: str = "default"
    nodes: NodeMask = field(default_factory=CpuMask)
    flags: str = ""
    """"", "static" or "relative" (MPOL_F_STATIC_NODES / MPOL_F_RELATIVE_NODES)."""

    def policy(self, mems_allowed: NodeMask, era: RebindEra = "modern") -> MemPolicy:
        """set_mempolicy for a task whose mems_allowed is given (CpusetError: EINVAL)."""
        flags = _MPOL_FLAGS[self.flags]
        return mpol_new(MpolMode[self.mode.upper()], self.nodes, mems_allowed, flags, era=era)


_MPOL_FLAGS = {
    "": MpolFlag.NONE,
    "static": MpolFlag.STATIC_NODES,
    "relative": MpolFlag.RELATIVE_NODES,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskSpec:
    """A group of *count* identical tasks, forked at *start_ns*; instances are ``name.i``."""

    name: str
    kind: TaskKind = TaskKind.HOG
    count: int = 1
    cpuset: str = "/"
    """path of the cpuset inside the hierarchy ("/" is the top cpuset)"""
    cpus: CpuMask | None = None
    """sched_setaffinity mask (required for pinned tasks)"""
    cpu: int | None = None
    """the CPU the parent forks on (default: the first allowed); fork balancing may move it"""
    start_ns: int = 0
    run_ms: int = 10
    sleep_ms: int = 10
    lifetime_ms: int = 100
    children: int = 4
    fork_every_ms: int = 50
    mempolicy: MempolicySpec = field(default_factory=MempolicySpec)
    pages_per_ms: int = 0
    """pages allocated per ms of runtime, on nodes chosen by the policy within mems_allowed"""
    line: int = 0
    """scenario line (for messages)"""

    def instance_names(self) -> tuple[str, ...]:
        return tuple(f"{self.name}.{i}" for i in range(self.count))


@dataclass(frozen=True, slots=True, kw_only=True)
class ShellStep:
    """Run cpuset shell lines verbatim (cpuset/shell.py) in the controller."""

    at_ns: int
    text: str
    line: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class AttachStep:
    """Move task(s) *task* (a group name or ``name.i``) into *cpuset* (echo PID > tasks)."""

    at_ns: int
    task: str
    cpuset: str
    line: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class AffinityStep:
    """sched_setaffinity(task, cpus) (C03-4)."""

    at_ns: int
    task: str
    cpus: CpuMask
    line: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class MempolicyStep:
    """The task calls set_mempolicy the next time it runs (it is a call in its own context)."""

    at_ns: int
    task: str
    policy: MempolicySpec
    line: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class HotplugStep:
    """echo 0|1 > /sys/devices/system/cpu/cpuN/online."""

    at_ns: int
    cpu: int
    online: bool
    line: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class SpawnStep:
    """Fork the task group *task* (one of `SimConfig.tasks`) now instead of at its start."""

    at_ns: int
    task: str
    line: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class KillStep:
    """kill -9 every instance of *task*."""

    at_ns: int
    task: str
    line: int = 0


Step = ShellStep | AttachStep | AffinityStep | MempolicyStep | HotplugStep | SpawnStep | KillStep


@dataclass(frozen=True, slots=True, kw_only=True)
class CostModel:
    """Virtual time a balance pass takes: base + per CPU whose load it reads."""

    base_ns: int = 2_000
    per_cpu_ns: int = 250

    def pass_ns(self, cpus_scanned: int) -> int:
        return self.base_ns + self.per_cpu_ns * cpus_scanned


@dataclass(frozen=True, slots=True, kw_only=True)
class SimConfig:
    """One run (see the module docstring for the defaults)."""

    machine: Machine
    machine_desc: str = ""
    cpuset_era: str = "2.6.14"
    domain_era: str | None = None
    balance: BalanceMode = BalanceMode.TASKLET
    hz: int = 1000
    nr_cpus: int | None = None
    """the kernel's CONFIG_NR_CPUS (the 2.6.14 CPU_OFFSET and -mm build-time balance
    staggers, 2.6.24's HZ*NR_CPUS/10 interval cap); None: the machine's CPU count"""
    slice_ms: int = 100
    exact_ticks: bool = False
    rebind: RebindMode = RebindMode.LAZY
    cost: CostModel = field(default_factory=CostModel)
    newidle: bool = True
    active_balance: bool = True
    setup: str = ""
    """cpuset shell lines run at time 0, before any task is forked"""
    tasks: tuple[TaskSpec, ...] = ()
    steps: tuple[Step, ...] = ()
    duration_ns: int = 1_000_000_000
    check: bool = True
    """run the invariant checker (DESIGN.md invariants 1-6) after every delta"""
    sample_ms: int = 1
    """period of the imbalance-score sampler"""
    bugs: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise ValueError(problems[0])

    @property
    def chosen_domain_era(self) -> str:
        if self.domain_era is not None:
            return self.domain_era
        if "legacy-2.6.13-groups" in self.bugs:
            return "2.6.13"
        return DOMAIN_ERAS[self.cpuset_era][0]

    @property
    def kernel_nr_cpus(self) -> int:
        """NR_CPUS as the kernel was built (`nr_cpus`, else the machine's CPU count)."""
        return self.nr_cpus if self.nr_cpus is not None else self.machine.nr_cpus

    @property
    def tick_ns(self) -> int:
        return 1_000_000_000 // self.hz

    def problems(self) -> list[str]:
        """What is wrong with this configuration, in words (empty when it can run)."""
        out: list[str] = []
        if self.cpuset_era not in ERAS:
            out.append(f"unknown cpuset era {self.cpuset_era!r} (known: {', '.join(ERAS)})")
        elif self.domain_era is not None and self.domain_era not in DOMAIN_ERAS[self.cpuset_era]:
            allowed = ", ".join(DOMAIN_ERAS[self.cpuset_era])
            out.append(
                f"domain era {self.domain_era!r} does not go with cpuset era "
                f"{self.cpuset_era!r} (use {allowed})"
            )
        if not 100 <= self.hz <= 10_000 or 1_000_000_000 % self.hz:
            out.append(f"hz must divide 1e9 and lie in 100..10000, not {self.hz}")
        if self.nr_cpus is not None and self.nr_cpus < self.machine.nr_cpus:
            out.append(
                f"nr_cpus (the kernel's NR_CPUS) must be >= the machine's "
                f"{self.machine.nr_cpus} CPUs, not {self.nr_cpus}"
            )
        if self.slice_ms < 1:
            out.append(f"slice_ms must be >= 1, not {self.slice_ms}")
        if self.duration_ns < 0:
            out.append("duration must be >= 0")
        if self.sample_ms < 1:
            out.append(f"sample_ms must be >= 1, not {self.sample_ms}")
        unknown = sorted(self.bugs - BUGS.keys())
        if unknown:
            out.append(f"unknown bug switch {unknown[0]!r} (known: {', '.join(sorted(BUGS))})")
        names: set[str] = set()
        for spec in self.tasks:
            if spec.name in names:
                out.append(f"task group {spec.name!r} is defined twice")
            names.add(spec.name)
            if spec.count < 1:
                out.append(f"task group {spec.name!r}: count must be >= 1")
            if spec.kind is TaskKind.PINNED and spec.cpus is None:
                out.append(f"task group {spec.name!r}: a pinned task needs cpus")
            if spec.cpu is not None and spec.cpu not in self.machine.all_cpus:
                out.append(f"task group {spec.name!r}: cpu {spec.cpu} is not on the machine")
        return out
