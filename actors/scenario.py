"""Scenario files: one run described in TOML, parsed into a `SimConfig` plus expectations.

A scenario is a TOML file.  Its leading ``#`` comment block is the description
(its first line is the summary); every table and key below is optional unless
marked *required*, and an unknown table or key is an error, so a typo never
passes.  A duration is a string ``"1.5s"``, ``"200ms"``, ``"100us"``,
``"5000ns"`` or a bare number of milliseconds (``300`` or ``"300"``); where the runtime wants whole
ms (``slice``, ``sample``, ``run``, ``sleep``, ``lifetime``, ``fork_every``)
it must be one.  A cpulist is the kernel's (``"0-3,8"``).  Every error reads
``FILE:LINE: message``.

``[machine]``

* ``topology`` -- a preset (``schedsim topo --list``), a synthetic string
  ``"node:2 core:2 pu:1"``, an ``lscpu -p`` file or a sysfs directory;
  relative paths are taken from the scenario's directory (default
  ``smt-numa-8``);
* ``era`` -- cpuset era ``2.6.14`` | ``2.6.24`` | ``v1`` | ``v2``;
  ``domain_era`` -- the domain builder era (default: the era's first);
* ``hz`` (1000), ``slice`` (``"100ms"``), ``balancer`` ``tasklet`` |
  ``percpu`` | ``softirq-serialize``, ``rebind`` ``lazy`` | ``direct``,
  ``exact_ticks`` (false), ``newidle`` (true), ``active_balance`` (true);
* ``[machine.cost]`` -- ``base`` (``"2us"``) and ``per_cpu`` (``"250ns"``),
  the virtual time of a balance pass.

``[run]``

* ``duration`` (``"1s"``), ``seed`` (1), ``check`` (true: the invariant
  checker), ``sample`` (``"1ms"``: the imbalance sampler), ``bugs`` (names
  from ``actors.config.BUGS``), ``setup`` (cpuset shell lines run at time 0);
* ``log`` (a path, used as written; none by default), ``log_format``
  ``msgpack`` | ``jsonl`` (default: jsonl when the log ends in ``.jsonl``),
  ``log_level`` ``events`` (default) | ``messages`` | ``off``.

``[[tasks]]`` -- one table per task group; instances are ``name.0``, ``name.1``...

* ``name`` (*required*, unique, ``[A-Za-z0-9_-]+``), ``kind`` ``hog`` |
  ``periodic`` | ``fork-burst`` | ``exiting`` | ``pinned``, ``count`` (1);
* ``cpuset`` (``"/"``; ``"/dev/cpuset/rt"`` and ``"/sys/fs/cgroup/rt"`` mean
  ``"/rt"``), ``cpus`` (affinity cpulist, *required* for pinned), ``cpu``
  (the fork CPU), ``start`` (``"0ms"``);
* ``run`` / ``sleep`` (periodic), ``lifetime`` (exiting tasks and fork-burst
  children), ``children`` and ``fork_every`` (fork-burst); a workload must let
  virtual time move on, so ``fork_every`` of a fork-burst task and ``run +
  sleep`` of a periodic task must be at least 1ms (`_check_progress`);
* ``mempolicy = { mode = "bind", nodes = "0-1", flags = "static" }`` -- mode
  default | preferred | bind | interleave | local, flags "" | static |
  relative; ``pages_per_ms`` (0).

``[[at]]`` -- a timed step: ``time`` (*required*) and exactly one action:

* ``shell = \"\"\"...\"\"\"`` -- cpuset shell lines;
* ``setaffinity = { task = "hog.0", cpus = "2-3" }``;
* ``set_mempolicy = { task = "hog", mode = "interleave", nodes = "0-1", flags = "" }``;
* ``hotplug = { cpu = 3, online = false }``;
* ``spawn = "late"`` (fork a task group now), ``kill = "hog"``;
* ``migrate = { task = "hog", cpuset = "/b" }`` (echo PID > tasks).

A step's task is a group name or an instance ``name.i`` (``spawn`` takes a
group).  Steps run in time order; steps at the same time in file order.

``[[expect]]`` -- exactly one check per table, made at the end of the run;
`Expectation.args` holds its fields, durations converted to ``*_ns``:

* ``ran_only_on = { task = "rt", cpus = "0-1" }`` (or ``cpuset = "/rt"``);
* ``imbalance_below = { value = 0.5, after = "200ms" }`` -> value, after_ns;
* ``no_violation = true`` -> value (false: the checker must find one);
* ``counter = { name = "tasklet_refusals", op = ">", value = 0 }`` with op
  ``>`` ``>=`` ``<`` ``<=`` ``==`` ``!=`` and name one of `COUNTERS`
  (``value`` here and in ``imbalance_below`` must be finite);
* ``converged_by = "300ms"`` -> by_ns.

Positions come from `actors.tomlread` (tomllib reports none).
"""

from __future__ import annotations

import enum
import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

from actors.config import (
    BUGS,
    AffinityStep,
    AttachStep,
    BalanceMode,
    CostModel,
    HotplugStep,
    KillStep,
    MempolicySpec,
    MempolicyStep,
    RebindMode,
    ShellStep,
    SimConfig,
    SpawnStep,
    Step,
    TaskKind,
    TaskSpec,
)
from actors.log import LogFormat, LogLevel
from actors.stats import CpuStats
from actors.tomlread import (
    Key,
    ScenarioError,
    Table,
    Where,
    locate,
    nesting_error,
    parse_duration,
    syntax_error,
)
from cpuset import ERAS
from cpuset.mempolicy import MpolMode
from topology import CpuMask
from topology.machine import Machine, MachineError
from topology.presets import DEFAULT_MACHINE, PRESETS, load_machine

__all__ = [
    "COUNTERS",
    "Expectation",
    "Scenario",
    "ScenarioError",
    "load_scenario",
    "parse_duration",
    "parse_scenario",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Expectation:
    """One ``[[expect]]`` check, made on the finished run."""

    kind: str
    args: tuple[tuple[str, object], ...]
    line: int
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    """A parsed scenario file: the run, how to log it, and what it must show."""

    path: str
    text: str
    description: str
    name: str
    config: SimConfig
    seed: int
    log_path: str | None
    log_format: str
    log_level: str
    expects: tuple[Expectation, ...]


# -- the sections ------------------------------------------------------------------

_TABLES = {"machine": "[machine]", "run": "[run]", "tasks": "[[tasks]]", "at": "[[at]]"}
_TABLES["expect"] = "[[expect]]"


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_MACHINE_KEYS = _words("topology era domain_era hz balancer slice rebind exact_ticks cost")
_MACHINE_KEYS += ("newidle", "active_balance", "nr_cpus")
_RUN_KEYS = _words("duration seed log log_format log_level check sample bugs setup")
_TASK_KEYS = _words("name kind count cpuset cpus cpu start run sleep lifetime children")
_TASK_KEYS += ("fork_every", "mempolicy", "pages_per_ms")
_POLICY_KEYS = ("mode", "nodes", "flags")
_ACTIONS: dict[str, tuple[str, ...]] = {
    "shell": (),
    "setaffinity": ("task", "cpus"),
    "set_mempolicy": ("task", *_POLICY_KEYS),
    "hotplug": ("cpu", "online"),
    "spawn": (),
    "kill": (),
    "migrate": ("task", "cpuset"),
}
_EXPECTS: dict[str, tuple[str, ...]] = {
    "ran_only_on": ("task", "cpuset", "cpus"),
    "imbalance_below": ("value", "after"),
    "no_violation": (),
    "counter": ("name", "op", "value"),
    "converged_by": (),
}
_OPS = (">", ">=", "<", "<=", "==", "!=")
COUNTERS: tuple[str, ...] = tuple(
    f.name for f in fields(CpuStats) if f.type in ("int", int) and f.name != "cpu"
)
"""The counters ``counter`` accepts: the int fields of `CpuStats`."""
_MOUNTS = ("/dev/cpuset", "/sys/fs/cgroup")
_NAME = re.compile(r"[A-Za-z0-9_-]+")
_PROBLEM_KEYS: tuple[tuple[str, Key], ...] = (
    ("domain era", ("machine", "domain_era")),
    ("hz ", ("machine", "hz")),
    ("nr_cpus", ("machine", "nr_cpus")),
    ("slice_ms", ("machine", "slice")),
    ("duration", ("run", "duration")),
    ("sample_ms", ("run", "sample")),
)


def _values(enum_type: type[enum.Enum]) -> tuple[str, ...]:
    return tuple(str(member.value) for member in enum_type)


def _machine(section: Table, base_dir: str | None) -> Machine:
    """The machine named by ``topology``; relative paths are taken from *base_dir*."""
    spec = section.text("topology", DEFAULT_MACHINE)
    resolved = spec
    if spec not in PRESETS and base_dir is not None and not Path(spec).is_absolute():
        candidate = Path(base_dir) / spec
        if candidate.exists() or ":" not in spec:
            resolved = str(candidate)
    try:
        return load_machine(resolved)
    except MachineError as exc:
        raise section.error("topology", str(exc)) from None


def _config(
    section: Table, run: Table, machine: Machine, tasks: tuple[TaskSpec, ...], steps: list[Step]
) -> SimConfig:
    """The SimConfig of [machine] and [run]; its problems() reported at the line they are about."""
    cost = section.table("cost", "[machine.cost]", ("base", "per_cpu"))
    try:
        return SimConfig(
            machine=machine,
            machine_desc=section.text("topology", DEFAULT_MACHINE),
            cpuset_era=section.choice("era", "2.6.14", tuple(ERAS)),
            domain_era=section.get("domain_era", str, "a string"),
            hz=section.integer("hz", 1000),
            nr_cpus=section.get("nr_cpus", int, "an integer"),
            balance=BalanceMode(section.choice("balancer", "tasklet", _values(BalanceMode))),
            slice_ms=section.ms("slice", 100),
            rebind=RebindMode(section.choice("rebind", "lazy", _values(RebindMode))),
            exact_ticks=section.flag("exact_ticks", False),
            newidle=section.flag("newidle", True),
            active_balance=section.flag("active_balance", True),
            cost=CostModel(
                base_ns=cost.duration("base", 2_000), per_cpu_ns=cost.duration("per_cpu", 250)
            ),
            tasks=tasks,
            steps=tuple(sorted(steps, key=lambda step: step.at_ns)),
            duration_ns=run.duration("duration", 1_000_000_000),
            check=run.flag("check", True),
            sample_ms=run.ms("sample", 1),
            bugs=_bugs(run),
            setup=run.text("setup", ""),
        )
    except ScenarioError:
        raise
    except ValueError as exc:  # SimConfig.problems()
        raise section.where.error(_problem_key(str(exc), tasks), str(exc)) from None


def _bugs(section: Table) -> frozenset[str]:
    names = section.get("bugs", list, "a list of bug names")
    for name in names or []:
        if not isinstance(name, str):
            raise section.error("bugs", f"bugs must be a list of bug names, not {name!r:.60}")
        if name not in BUGS:
            listed = ", ".join(sorted(BUGS))
            raise section.error("bugs", f"unknown bug switch {name!r} (known: {listed})")
    return frozenset(str(name) for name in names or [])


def _cpuset(table: Table, name: str, default: str | None) -> str:
    path = table.need(name, str, "a path") if default is None else table.text(name, default)
    for mount in _MOUNTS:
        if path == mount or path.startswith(mount + "/"):
            path = path[len(mount) :] or "/"
    if not path.startswith("/"):
        raise table.error(name, f"{name} must be an absolute path like '/rt', not {path!r}")
    return path.rstrip("/") or "/"


def _mempolicy(table: Table) -> MempolicySpec:
    modes = tuple(mode.name.lower() for mode in MpolMode)
    return MempolicySpec(
        mode=table.choice("mode", "default", modes),
        nodes=table.mask("nodes") or CpuMask(),
        flags=table.choice("flags", "", ("", "static", "relative")),
    )


def _task(table: Table) -> TaskSpec:
    name = table.need("name", str, "a string")
    if not _NAME.fullmatch(name):
        raise table.error("name", f"task name {name!r} must match [A-Za-z0-9_-]+")
    policy = table.table("mempolicy", "mempolicy in [[tasks]]", _POLICY_KEYS)
    spec = TaskSpec(
        name=name,
        kind=TaskKind(table.choice("kind", "hog", _values(TaskKind))),
        count=table.integer("count", 1),
        cpuset=_cpuset(table, "cpuset", "/"),
        cpus=table.mask("cpus"),
        cpu=table.get("cpu", int, "an integer"),
        start_ns=table.duration("start", 0),
        run_ms=table.ms("run", 10),
        sleep_ms=table.ms("sleep", 10),
        lifetime_ms=table.ms("lifetime", 100),
        children=table.integer("children", 4, minimum=0),
        fork_every_ms=table.ms("fork_every", 50),
        mempolicy=_mempolicy(policy),
        pages_per_ms=table.integer("pages_per_ms", 0, minimum=0),
        line=table.line(),
    )
    _check_progress(table, spec)
    return spec


def _check_progress(table: Table, spec: TaskSpec) -> None:
    """Refuse a task that would keep virtual time standing still (a run that never ends).

    A fork-burst task forks every ``fork_every`` of its runtime: 0 forks again
    at once, forever, at one instant.  A periodic task whose ``run`` and
    ``sleep`` are both 0 ends its burst and wakes up again at the same instant,
    forever.  (``run = 0`` alone, ``sleep = 0`` alone, ``lifetime = 0`` and
    ``children = 0`` all let time move on.)  No kernel rule: workload validation.
    """
    if spec.kind is TaskKind.FORK_BURST and spec.fork_every_ms < 1:
        message = "fork_every of a fork-burst task must be at least 1ms (0 forks forever at once)"
        raise table.error("fork_every", message)
    if spec.kind is TaskKind.PERIODIC and spec.run_ms + spec.sleep_ms < 1:
        message = "a periodic task needs run + sleep of at least 1ms (0 + 0 never lets time move)"
        raise table.error("sleep" if "sleep" in table.data else "run", message)


def _task_ref(table: Table, name: str, groups: Mapping[str, TaskSpec], instance: bool) -> str:
    """A task group name, or (when *instance*) ``group.i`` with i < count."""
    ref = table.need(name, str, "a task name")
    group, dot, index = ref.partition(".")
    spec = groups.get(group)
    if spec is None:
        known = ", ".join(groups) or "none"
        raise table.error(name, f"unknown task group {group!r} (defined: {known})")
    if dot and not instance:
        raise table.error(name, f"{name} takes a task group, not the instance {ref!r}")
    if dot and not (index.isascii() and index.isdigit() and str(int(index)) == index):
        raise table.error(name, f"bad task instance {ref!r}: write {group}.0 .. {group}.N")
    if dot and int(index) >= spec.count:
        last = f"{group}.{spec.count - 1}"
        raise table.error(name, f"no task {ref!r}: group {group!r} has {group}.0 .. {last}")
    return ref


def _one_of(table: Table, kinds: Mapping[str, tuple[str, ...]], what: str) -> str:
    present = [kind for kind in table.data if kind in kinds]
    if not present:
        raise table.error(None, f"{table.title} needs one {what} ({', '.join(kinds)})")
    if len(present) > 1:
        message = f"{table.title} has two {what}s, {present[0]!r} and {present[1]!r}; use one"
        raise table.error(present[1], message)
    return present[0]


def _step(at: Table, groups: Mapping[str, TaskSpec], machine: Machine) -> Step:
    if "time" not in at.data:
        raise at.error(None, "[[at]] needs time (a duration)")
    at_ns = at.duration("time", 0)
    action = _one_of(at, _ACTIONS, "action")
    line = at.line(action)
    if action in ("shell", "spawn", "kill"):
        if action == "shell":
            return ShellStep(at_ns=at_ns, text=at.need("shell", str, "a string"), line=line)
        task = _task_ref(at, action, groups, instance=action == "kill")
        step_type = SpawnStep if action == "spawn" else KillStep
        return step_type(at_ns=at_ns, task=task, line=line)
    args = at.table(action, f"{action} in [[at]]", _ACTIONS[action])
    if action == "hotplug":
        cpu = args.need("cpu", int, "an integer")
        if cpu not in machine.all_cpus:
            raise args.error("cpu", f"cpu {cpu} is not on the machine ({machine.all_cpus})")
        online = args.need("online", bool, "true or false")
        return HotplugStep(at_ns=at_ns, cpu=cpu, online=online, line=line)
    task = _task_ref(args, "task", groups, instance=True)
    if action == "setaffinity":
        cpus = args.mask("cpus")
        if cpus is None:
            raise args.error(None, f"{args.title} needs cpus (a cpulist)")
        return AffinityStep(at_ns=at_ns, task=task, cpus=cpus, line=line)
    if action == "set_mempolicy":
        return MempolicyStep(at_ns=at_ns, task=task, policy=_mempolicy(args), line=line)
    cpuset = _cpuset(args, "cpuset", None)
    return AttachStep(at_ns=at_ns, task=task, cpuset=cpuset, line=line)


def _expectation(table: Table, groups: Mapping[str, TaskSpec]) -> Expectation:
    kind = _one_of(table, _EXPECTS, "kind")
    line = table.line(kind)
    args: dict[str, object]
    if kind == "no_violation":
        args = {"value": table.need(kind, bool, "true or false")}
    elif kind == "converged_by":
        args = {"by_ns": table.duration(kind, 0)}
    else:
        inner = table.table(kind, f"{kind} in [[expect]]", _EXPECTS[kind])
        args = _expectation_args(kind, inner, groups)
    text = table.where.locator.code[line - 1]
    return Expectation(kind=kind, args=tuple(sorted(args.items())), line=line, text=text)


def _expectation_args(kind: str, table: Table, groups: Mapping[str, TaskSpec]) -> dict[str, object]:
    if kind == "counter":
        value = _finite(table, "value")
        op = table.choice("op", None, _OPS)
        name = table.need("name", str, "a counter name")
        if name not in COUNTERS:
            raise table.error("name", f"unknown counter {name!r} (known: {', '.join(COUNTERS)})")
        return {"name": name, "op": op, "value": value}
    if kind == "imbalance_below":
        value = _finite(table, "value")
        return {"value": float(value), "after_ns": table.duration("after", 0)}
    if ("task" in table.data) == ("cpuset" in table.data):
        raise table.error(None, f"{table.title} needs either task or cpuset")
    cpus = table.mask("cpus")
    if cpus is None:
        raise table.error(None, f"{table.title} needs cpus (a cpulist)")
    if "task" in table.data:
        return {"task": _task_ref(table, "task", groups, instance=True), "cpus": cpus}
    return {"cpuset": _cpuset(table, "cpuset", None), "cpus": cpus}


def _finite(table: Table, name: str) -> float:
    """A number that a comparison can fail against (nan never compares; inf always does)."""
    value = table.number(name)
    if not math.isfinite(value):
        raise table.error(name, f"{name} must be a finite number, not {value!r}")
    return value


def _array(root: Table, name: str, known: tuple[str, ...]) -> list[Table]:
    items = root.data.get(name, [])
    if not isinstance(items, list):
        raise root.error(name, f"{name} must be an array of tables: write [[{name}]]")
    return [
        Table(root.where, (name, k), item, f"[[{name}]]", known) for k, item in enumerate(items)
    ]


def _problem_key(message: str, tasks: tuple[TaskSpec, ...]) -> Key:
    """The key a `SimConfig.problems` message is about (the [machine] table if none fits)."""
    group = re.match(r"task group '([^']*)'", message)
    if group is not None:
        k = max(k for k, spec in enumerate(tasks) if spec.name == group[1])  # the 2nd of twins
        subjects = ((": count", "count"), (": cpu ", "cpu"), (": a pinned", "kind"))
        return ("tasks", k, next((key for word, key in subjects if word in message), ""))
    return next((key for prefix, key in _PROBLEM_KEYS if prefix in message), ("machine",))


def parse_scenario(text: str, path: str = "<scenario>", *, base_dir: str | None = None) -> Scenario:
    """The scenario in *text* (format: the module docstring); ScenarioError says where it is wrong.

    Relative machine files and directories are taken from *base_dir*.
    """
    where = Where(path, locate(text))
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise syntax_error(path, text, str(exc)) from None
    except RecursionError:  # tomllib recurses once per level of nesting
        raise nesting_error(path, text) from None
    for name in document:
        if name not in _TABLES:
            known = ", ".join(_TABLES.values())
            raise where.error((name,), f"unknown table {name!r} (known: {known})")
    root = Table(where, (), document, "the top level", tuple(_TABLES))
    machine_table = root.table("machine", "[machine]", _MACHINE_KEYS)
    machine = _machine(machine_table, base_dir)
    run = root.table("run", "[run]", _RUN_KEYS)
    tasks = tuple(_task(table) for table in _array(root, "tasks", _TASK_KEYS))
    groups = {spec.name: spec for spec in tasks}
    at_tables = _array(root, "at", ("time", *_ACTIONS))
    steps = [_step(at, groups, machine) for at in at_tables]
    expects = tuple(_expectation(t, groups) for t in _array(root, "expect", tuple(_EXPECTS)))
    log_path = run.get("log", str, "a path")
    default_format = "jsonl" if (log_path or "").endswith(".jsonl") else "msgpack"
    config = _config(machine_table, run, machine, tasks, steps)
    return Scenario(
        path=path,
        text=text,
        description=_description(text),
        name=Path(path).stem,
        config=config,
        seed=run.integer("seed", 1, minimum=0),
        log_path=log_path,
        log_format=run.choice("log_format", default_format, _values(LogFormat)),
        log_level=run.choice("log_level", "events", _values(LogLevel)),
        expects=expects,
    )


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """The scenario in file *path*; relative machine files are taken from its directory."""
    name = os.fspath(path)
    try:
        text = Path(name).read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(name, 1, exc.strerror or str(exc)) from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(name, 1, f"not UTF-8 text: {exc.reason}") from None
    return parse_scenario(text, name, base_dir=str(Path(name).parent))


def _description(text: str) -> str:
    """The leading ``#`` comment block, without the ``# ``."""
    block: list[str] = []
    for raw in text.splitlines():
        if not raw.startswith("#"):
            break
        block.append(raw[1:].removeprefix(" ").rstrip())
    return "\n".join(block).strip("\n")
