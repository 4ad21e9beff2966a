"""Random programs for stress sweeps (SPEC §6), and writing a program back as a scenario.

A stress *program* is an ordinary `SimConfig`: a base workload plus K timed
operations, all drawn from one ``random.Random(f"stress:{seed}")``, so a seed
names its program on every machine and under every ``PYTHONHASHSEED``.

The base workload: hogs (``hog``), periodic sleepers (``per``), allocating
tasks with a bind or interleave policy (``mem``) and hogs pinned to one CPU
(``pin``, SPEC §6.11), plus two cpusets with disjoint CPUs made at time 0
(``/a`` and ``/b``, as shell steps, so shrinking can drop them).  Each seed
also draws its slice (1-3 ms), its balancer mode (`MODES`, unless the options
fix one) and its pass cost (`stress_cost`: a whole-machine pass takes 0.4 or
1.0 tick).  The operations are what an administrator and the tasks do
concurrently with balancing: cpuset shell lines (mkdir with cpus and mems,
rmdir, cpus, mems, cpu_exclusive, sched_load_balance, memory_migrate, v2
partitions -- each only in the eras that have the file), moves between
cpusets, sched_setaffinity, set_mempolicy, CPU hotplug (never below two
online CPUs), fork bursts (`SpawnStep` of a fork-burst or exiting group) and
kills.  Writes the kernel refuses are part of the test: the controller
records them as step errors.

Why the mix finds each injected defect (`actors.config.BUGS`):

* ``legacy-2.6.13-groups`` -- an exclusive cpuset holding part of a node makes
  the 2.6.13 builder share node groups between partitions (SPEC §1.9,
  invariant 3); cpus writes favour partial nodes, /a and /b start disjoint so
  cpu_exclusive writes succeed;
* ``no-grace-period`` -- a *flap* (3-6 cpu_exclusive, sched_load_balance or
  partition writes 0.5-3 ms apart) rebuilds the domains while passes run
  (§6.3, invariant 6);
* ``no-generation-check`` -- a request from a pass on generation g reaches a
  CPU after g is retired.  Under the grace period that needs the receiving
  CPU to read its mailbox late: in percpu mode a CPU whose passes each cross
  a jiffy boundary runs pass after pass without reading it (actors/cpu.py
  ``_settle``), which tick-long passes and flaps bring about;
* ``rebind-outside-task-context`` -- the ``mem`` tasks allocate while mems
  writes (half of them a job moved between two nodes 2-4 times) and moves
  switch their cpuset's nodes (§6.9, invariant 4);
* ``no-requeue-check`` -- 1-3 ms slices and long passes leave a migration
  request naming a task that has meanwhile started running (§6.10, invariant 1).

`scenario_toml` writes any `SimConfig` as scenario text that
`actors.scenario.parse_scenario` reads back into the same configuration (up
to the ``line`` fields, which the parser fills in).
"""

# SIMPLIFIED: cpuset paths come from a fixed small pool (/a, /b, /c, /a/x) so that
# operations keep hitting the same directories; names are not drawn.

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from actors.config import (
    AffinityStep,
    AttachStep,
    BalanceMode,
    CostModel,
    HotplugStep,
    KillStep,
    MempolicySpec,
    MempolicyStep,
    ShellStep,
    SimConfig,
    SpawnStep,
    Step,
    TaskKind,
    TaskSpec,
)
from topology import CpuMask
from topology.machine import Machine
from topology.presets import load_machine

__all__ = [
    "DEFAULT_DURATION_NS",
    "DEFAULT_MACHINE",
    "DEFAULT_OPS",
    "OP_KINDS",
    "StressOptions",
    "generate",
    "scenario_toml",
    "stress_cost",
]

MS = 1_000_000
DEFAULT_MACHINE = "numa-2x2"
DEFAULT_OPS = 12
DEFAULT_DURATION_NS = 100 * MS


def stress_cost(machine: Machine, ticks: float, hz: int = 1000) -> CostModel:
    """A pass cost under which a whole-machine pass takes *ticks* jiffies (a fifth is base).

    Passes overlap rebuilds and each other; passes near a tick long also cross
    jiffy boundaries, so a CPU may run pass after pass (SPEC §6.3).
    """
    tick_ns = 1_000_000_000 // hz
    base_ns = tick_ns // 5
    return CostModel(base_ns=base_ns, per_cpu_ns=int(tick_ns * ticks - base_ns) // machine.nr_cpus)


PASS_TICKS = (0.4, 1.0, 1.0)
"""Whole-machine pass lengths a seed draws from, in ticks (tick-long twice as often)."""
MODES = (*[BalanceMode.PERCPU] * 3, BalanceMode.TASKLET, BalanceMode.SOFTIRQ_SERIALIZE)
"""Balancer modes a seed draws from: percpu three times as often (its passes overlap)."""
PATHS = ("/a", "/b", "/c", "/a/x")
PATH_WEIGHTS = (3, 3, 1, 1)
OP_KINDS: dict[str, int] = {
    "mkdir": 3, "rmdir": 1, "cpus": 3, "mems": 4, "exclusive": 3, "load_balance": 2,
    "memory_migrate": 1, "attach": 4, "setaffinity": 2, "set_mempolicy": 2,
    "hotplug": 2, "spawn": 2, "kill": 1, "flap": 6,
}  # fmt: skip
"""Operation kinds and their weights (an era without the file skips the kind)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StressOptions:
    """What every seed of a sweep shares; picklable, so workers can rebuild programs."""

    machine: str = DEFAULT_MACHINE
    era: str = "2.6.14"
    balance: BalanceMode | None = None
    """None: each seed draws its own balancer mode"""
    ops: int = DEFAULT_OPS
    duration_ns: int = DEFAULT_DURATION_NS
    bugs: frozenset[str] = field(default_factory=frozenset)


def generate(
    seed: int, opts: StressOptions, plan: Sequence[tuple[str, int]] | None = None
) -> SimConfig:
    """The program of *seed*: the base workload plus ``opts.ops`` operations.

    *plan* fixes the operations instead, as (kind, at_ns) pairs with kinds
    from `OP_KINDS`; their values are still drawn from the seed (op-list tests).
    """
    return _Program(seed, opts).build(plan)


class _Program:
    """The generator's state: the cpusets and CPUs it believes in, the groups it made."""

    def __init__(self, seed: int, opts: StressOptions) -> None:
        self.rng = random.Random(f"stress:{seed}")
        self.opts = opts
        self.machine: Machine = load_machine(opts.machine)
        self.v2 = opts.era == "v2"
        self.mount = "/sys/fs/cgroup" if self.v2 else "/dev/cpuset"
        self.online = list(self.machine.all_cpus)
        self.tasks: list[TaskSpec] = []
        self.steps: list[tuple[int, int, Step]] = []
        self.spawned = 0

    def build(self, plan: Sequence[tuple[str, int]] | None) -> SimConfig:
        rng = self.rng
        mode = rng.choice(MODES)
        slice_ms = rng.choice((1, 2, 3))
        cost = stress_cost(self.machine, rng.choice(PASS_TICKS))
        self._base()
        kinds = [kind for kind in OP_KINDS if self._era_has(kind)]
        weights = [OP_KINDS[kind] for kind in kinds]
        if plan is None:
            last_us = max(1_001, self.opts.duration_ns // 1_000)
            plan = [
                (rng.choices(kinds, weights)[0], rng.randrange(1_000, last_us) * 1_000)
                for _ in range(self.opts.ops)
            ]
        for kind, at_ns in sorted(plan, key=lambda op: op[1]):  # hotplug keeps a time-ordered model
            self._op(kind, at_ns)
        self.steps.sort(key=lambda item: item[:2])
        return SimConfig(
            machine=self.machine,
            machine_desc=self.opts.machine,
            cpuset_era=self.opts.era,
            balance=self.opts.balance or mode,
            slice_ms=slice_ms,
            cost=cost,
            tasks=tuple(self.tasks),
            steps=tuple(step for _, _, step in self.steps),
            duration_ns=self.opts.duration_ns,
            bugs=self.opts.bugs,
        )

    def _era_has(self, kind: str) -> bool:
        era = self.opts.era
        if kind == "load_balance":
            return era in ("2.6.24", "v1")
        if kind == "memory_migrate":
            return era in ("2.6.24", "v1")
        return True

    # -- drawing values ---------------------------------------------------------------------

    def _cpus(self) -> CpuMask:
        """A non-empty CPU set; half the time part of one node (the seed-000 split)."""
        rng, machine = self.rng, self.machine
        if rng.random() < 0.5:
            node = machine.node_mask(rng.randrange(machine.nr_nodes))
            return _subset(rng, list(node))
        return _subset(rng, list(machine.all_cpus))

    def _nodes(self) -> CpuMask:
        """A non-empty node set; mostly a single node, so mems changes move every page."""
        rng = self.rng
        nodes = list(self.machine.all_nodes)
        if rng.random() < 0.7:
            return CpuMask.of([rng.choice(nodes)])
        return _subset(rng, nodes)

    def _task_ref(self) -> str:
        spec = self.rng.choice(self.tasks)
        if spec.count > 1 and self.rng.random() < 0.6:
            return f"{spec.name}.{self.rng.randrange(spec.count)}"
        return spec.name

    def _policy(self) -> MempolicySpec:
        mode = self.rng.choice(("bind", "bind", "interleave", "preferred", "default"))
        if mode == "default":
            return MempolicySpec()
        return MempolicySpec(mode=mode, nodes=self._nodes())

    def _file(self, path: str, name: str) -> str:
        if self.v2:
            name = {"cpus": "cpuset.cpus", "mems": "cpuset.mems"}.get(name, name)
        return f"{self.mount}{path.rstrip('/')}/{name}"

    def _add(self, at_ns: int, step: Step) -> None:
        self.steps.append((at_ns, len(self.steps), step))

    def _shell(self, at_ns: int, *lines: str) -> None:
        self._add(at_ns, ShellStep(at_ns=at_ns, text="".join(line + "\n" for line in lines)))

    # -- the base workload ------------------------------------------------------------------

    def _base(self) -> None:
        rng = self.rng
        if self.v2:
            self._shell(0, f"echo +cpuset > {self.mount}/cgroup.subtree_control")
        cpus = list(self.machine.all_cpus)
        split = self._cpus()
        if split == self.machine.all_cpus:
            split = CpuMask.of(cpus[:1])
        rest = _subset(rng, [cpu for cpu in cpus if cpu not in split])
        self._mkdir(0, PATHS[0], split)
        self._mkdir(0, PATHS[1], rest)
        self.tasks.append(TaskSpec(name="hog", count=rng.randint(4, 9)))
        run_ms, sleep_ms = rng.randint(1, 3), rng.randint(2, 5)
        per = TaskSpec(
            name="per", kind=TaskKind.PERIODIC, count=rng.randint(1, 3), run_ms=run_ms,
            sleep_ms=sleep_ms,
        )  # fmt: skip
        self.tasks.append(per)
        policy = MempolicySpec(mode=rng.choice(("bind", "interleave")), nodes=self._nodes())
        mem = TaskSpec(
            name="mem", count=rng.randint(2, 4), cpuset=rng.choice(PATHS[:2]), mempolicy=policy,
            pages_per_ms=rng.randint(2, 8),
        )  # fmt: skip
        self.tasks.append(mem)
        cpu = rng.choice(list(self.machine.all_cpus))
        pin = TaskSpec(
            name="pin", kind=TaskKind.PINNED, count=rng.randint(1, 4), cpus=CpuMask.of([cpu])
        )
        self.tasks.append(pin)

    def _mkdir(self, at_ns: int, path: str, cpus: CpuMask | None = None) -> None:
        """mkdir with cpus and mems (the base layout's two cpusets get disjoint CPUs)."""
        cpus, mems = cpus or self._cpus(), self._nodes()
        lines = [f"mkdir {self.mount}{path}"]
        if self.v2 and self.rng.random() < 0.5:
            lines.append(f"echo +cpuset > {self.mount}{path}/cgroup.subtree_control")
        lines.append(f"echo {cpus} > {self._file(path, 'cpus')}")
        lines.append(f"echo {mems} > {self._file(path, 'mems')}")
        self._shell(at_ns, *lines)

    # -- operations -------------------------------------------------------------------------

    def _op(self, kind: str, at_ns: int) -> None:
        rng = self.rng
        path = rng.choices(PATHS, PATH_WEIGHTS)[0]
        if kind == "mkdir":
            self._mkdir(at_ns, path)
        elif kind == "rmdir":
            self._shell(at_ns, f"rmdir {self.mount}{path}")
        elif kind == "cpus":
            self._shell(at_ns, f"echo {self._cpus()} > {self._file(path, 'cpus')}")
        elif kind == "mems":
            self._mems(path, at_ns)
        elif kind == "flap":
            self._flap(path, at_ns)
        elif kind in ("exclusive", "load_balance", "memory_migrate"):
            self._flag(kind, path, at_ns)
        elif kind == "attach":
            target = rng.choice((*PATHS, "/"))
            self._add(at_ns, AttachStep(at_ns=at_ns, task=self._task_ref(), cpuset=target))
        elif kind == "setaffinity":
            self._add(at_ns, AffinityStep(at_ns=at_ns, task=self._task_ref(), cpus=self._cpus()))
        elif kind == "set_mempolicy":
            step = MempolicyStep(at_ns=at_ns, task=self._task_ref(), policy=self._policy())
            self._add(at_ns, step)
        elif kind == "hotplug":
            self._hotplug(at_ns)
        elif kind == "spawn":
            self._spawn(at_ns, path)
        else:
            self._add(at_ns, KillStep(at_ns=at_ns, task=self._task_ref()))

    def _flag(self, kind: str, path: str, at_ns: int) -> None:
        rng = self.rng
        value = rng.choice((0, 1, 1))
        if kind == "exclusive" and self.v2:
            word = rng.choice(("root", "root", "isolated", "member"))
            self._shell(at_ns, f"echo {word} > {self._file(path, 'cpuset.cpus.partition')}")
            return
        if kind == "load_balance" and rng.random() < 0.4:
            path, value = "/", 0  # the top cpuset must stop balancing for partitions (§1.10)
        name = {"exclusive": "cpu_exclusive", "load_balance": "sched_load_balance"}.get(kind, kind)
        self._shell(at_ns, f"echo {value} > {self._file(path, name)}")

    def _flap(self, path: str, at_ns: int) -> None:
        """A partition that comes and goes: 3-6 writes 0.5-3 ms apart (one rebuild each)."""
        rng = self.rng
        gap_ns = rng.randrange(500, 3_000) * 1_000
        if rng.random() < 0.8:
            path = rng.choice(PATHS[:2])
        if self.v2:
            name, values = "cpuset.cpus.partition", ("root", "member")
        elif self.opts.era in ("2.6.24", "v1") and rng.random() < 0.5:
            name, values = "sched_load_balance", ("0", "1")
            path = "/"
        else:
            name, values = "cpu_exclusive", ("1", "0")
        for k in range(rng.randint(3, 6)):
            when = min(at_ns + k * gap_ns, self.opts.duration_ns)
            self._shell(when, f"echo {values[k % 2]} > {self._file(path, name)}")

    def _mems(self, path: str, at_ns: int) -> None:
        """A mems write; half the time the job moves between two nodes, 2-4 times (§6.9)."""
        rng, nodes = self.rng, list(self.machine.all_nodes)
        if len(nodes) < 2 or rng.random() < 0.5:
            self._shell(at_ns, f"echo {self._nodes()} > {self._file(path, 'mems')}")
            return
        pair = rng.sample(nodes, 2)
        gap_ns = rng.randrange(1_000, 10_000) * 1_000
        for k in range(rng.randint(2, 4)):
            when = min(at_ns + k * gap_ns, self.opts.duration_ns)
            self._shell(when, f"echo {pair[k % 2]} > {self._file(path, 'mems')}")

    def _hotplug(self, at_ns: int) -> None:
        """Off while at least three CPUs are online (two stay), else on again."""
        rng = self.rng
        offline = [cpu for cpu in self.machine.all_cpus if cpu not in self.online]
        if len(self.online) >= 3 and (not offline or rng.random() < 0.6):
            cpu = rng.choice(self.online)
            self.online.remove(cpu)
            self._add(at_ns, HotplugStep(at_ns=at_ns, cpu=cpu, online=False))
        elif offline:
            cpu = rng.choice(offline)
            self.online.append(cpu)
            self._add(at_ns, HotplugStep(at_ns=at_ns, cpu=cpu, online=True))

    def _spawn(self, at_ns: int, path: str) -> None:
        rng = self.rng
        name = f"burst{self.spawned}"
        self.spawned += 1
        cpuset = rng.choice((path, "/"))
        if rng.random() < 0.5:
            spec = TaskSpec(
                name=name, kind=TaskKind.FORK_BURST, cpuset=cpuset, children=rng.randint(2, 4),
                fork_every_ms=rng.randint(2, 5), lifetime_ms=rng.randint(2, 10),
            )  # fmt: skip
        else:
            spec = TaskSpec(
                name=name, kind=TaskKind.EXITING, count=rng.randint(2, 4), cpuset=cpuset,
                lifetime_ms=rng.randint(2, 10),
            )  # fmt: skip
        self.tasks.append(spec)
        self._add(at_ns, SpawnStep(at_ns=at_ns, task=name))


def _subset(rng: random.Random, items: list[int]) -> CpuMask:
    """A non-empty random subset of *items*."""
    chosen = [item for item in items if rng.random() < 0.5]
    return CpuMask.of(chosen or [rng.choice(items)])


# -- writing a program back as a scenario -------------------------------------------------


def scenario_toml(config: SimConfig, seed: int, description: str) -> str:
    """*config* as scenario text (actors/scenario.py) that parses back into the same config.

    Keys at their default are left out; ``line`` fields are not written (the
    parser sets them); unprintable characters of *description* become spaces.
    The steps are written in their order, which the parser keeps when they are
    in time order, as every parsed or generated config is.
    """
    lines = "".join(ch if ch.isprintable() else "\n" if ch == "\n" else " " for ch in description)
    out = [f"# {line}".rstrip() for line in lines.split("\n")]
    out += ["", "[machine]", *_machine_lines(config), "", "[run]", *_run_lines(config, seed)]
    for spec in config.tasks:
        out += ["", "[[tasks]]", *_task_lines(spec)]
    for step in config.steps:
        out += ["", "[[at]]", f"time = {_duration(step.at_ns)}", _step_line(step)]
    return "\n".join(out) + "\n"


def _machine_lines(config: SimConfig) -> list[str]:
    default = SimConfig(machine=config.machine)
    lines = [
        f"topology = {_string(config.machine_desc or config.machine.name)}",
        f"era = {_string(config.cpuset_era)}",
    ]
    if config.domain_era is not None:
        lines.append(f"domain_era = {_string(config.domain_era)}")
    lines.append(f"balancer = {_string(config.balance.value)}")
    if config.hz != default.hz:
        lines.append(f"hz = {config.hz}")
    if config.slice_ms != default.slice_ms:
        lines.append(f'slice = "{config.slice_ms}ms"')
    if config.rebind is not default.rebind:
        lines.append(f"rebind = {_string(config.rebind.value)}")
    for key in ("exact_ticks", "newidle", "active_balance"):
        if getattr(config, key) != getattr(default, key):
            lines.append(f"{key} = {str(getattr(config, key)).lower()}")
    if config.cost != default.cost:
        base, per_cpu = _duration(config.cost.base_ns), _duration(config.cost.per_cpu_ns)
        lines.append(f"cost = {{ base = {base}, per_cpu = {per_cpu} }}")
    return lines


def _run_lines(config: SimConfig, seed: int) -> list[str]:
    lines = [f"duration = {_duration(config.duration_ns)}", f"seed = {seed}"]
    if not config.check:
        lines.append("check = false")
    if config.sample_ms != 1:
        lines.append(f'sample = "{config.sample_ms}ms"')
    if config.bugs:
        lines.append(f"bugs = [{', '.join(_string(bug) for bug in sorted(config.bugs))}]")
    if config.setup:
        lines.append(f"setup = {_text(config.setup)}")
    return lines


def _task_lines(spec: TaskSpec) -> list[str]:
    default = TaskSpec(name=spec.name)
    lines = [f"name = {_string(spec.name)}"]
    if spec.kind is not default.kind:
        lines.append(f"kind = {_string(spec.kind.value)}")
    for key in ("count", "cpu", "children", "pages_per_ms"):
        if getattr(spec, key) != getattr(default, key):
            lines.append(f"{key} = {getattr(spec, key)}")
    if spec.cpuset != default.cpuset:
        lines.append(f"cpuset = {_string(spec.cpuset)}")
    if spec.cpus is not None:
        lines.append(f'cpus = "{spec.cpus}"')
    if spec.start_ns != default.start_ns:
        lines.append(f"start = {_duration(spec.start_ns)}")
    for key in ("run", "sleep", "lifetime", "fork_every"):
        if getattr(spec, f"{key}_ms") != getattr(default, f"{key}_ms"):
            lines.append(f'{key} = "{getattr(spec, f"{key}_ms")}ms"')
    if spec.mempolicy != default.mempolicy:
        lines.append(f"mempolicy = {{ {_policy(spec.mempolicy)} }}")
    return lines


def _step_line(step: Step) -> str:
    if isinstance(step, ShellStep):
        return f"shell = {_text(step.text)}"
    if isinstance(step, HotplugStep):
        return f"hotplug = {{ cpu = {step.cpu}, online = {str(step.online).lower()} }}"
    if isinstance(step, SpawnStep | KillStep):
        return f"{'spawn' if isinstance(step, SpawnStep) else 'kill'} = {_string(step.task)}"
    task = f"task = {_string(step.task)}"
    if isinstance(step, AttachStep):
        return f"migrate = {{ {task}, cpuset = {_string(step.cpuset)} }}"
    if isinstance(step, AffinityStep):
        return f'setaffinity = {{ {task}, cpus = "{step.cpus}" }}'
    return f"set_mempolicy = {{ {task}, {_policy(step.policy)} }}"


def _policy(policy: MempolicySpec) -> str:
    parts = [f"mode = {_string(policy.mode)}"]
    if policy.nodes:
        parts.append(f'nodes = "{policy.nodes}"')
    if policy.flags:
        parts.append(f"flags = {_string(policy.flags)}")
    return ", ".join(parts)


def _duration(ns: int) -> str:
    if ns == 0:
        return '"0ms"'
    for unit, scale in (("s", 1_000_000_000), ("ms", 1_000_000), ("us", 1_000)):
        if ns and ns % scale == 0:
            return f'"{ns // scale}{unit}"'
    return f'"{ns}ns"'


def _string(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's; TOML also refuses a raw DEL)."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _text(text: str) -> str:
    """Shell lines as a multi-line literal string when they can be one, else a basic string."""
    plain = all(ch in "\t\n" or (ch >= " " and ch != "\x7f") for ch in text)
    if plain and text.count("\n") > 1 and "'''" not in text and not text.endswith("'"):
        return f"'''\n{text}'''"
    return _string(text)
