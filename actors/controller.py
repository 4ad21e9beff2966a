"""`CpusetController`: the cpuset tree's owner, and the publisher of domain generations.

It applies the scenario's steps to its `CpusetFS` (shell lines verbatim,
attach, sched_setaffinity, set_mempolicy, hotplug, spawn, kill), forks the
workload's tasks (placing each with 2.6.14's sched_balance_self over the
load board) and turns what the cpuset code reports (`cpuset.events`) into
messages:

* new partitions -> the next domain generation (`cpuset.build_domains`),
  published in `Shared.domains` and announced to every CPU with
  `DomainsRebuilt`; the previous generations are retired only when every CPU
  has answered `DomainsAttached` for it -- a grace period, like
  synchronize_sched (SPEC §6.3; DYN-3);
* a task's new cpus_allowed -> `SetCpusAllowed` to the CPU that owns it
  (task_cpu, from the directory; a CPU that lost the task forwards it);
* mems changes and moves between cpusets -> `RebindNotice` to the owners of
  the tasks concerned (MP-HIST-1: the task applies it itself).

The controller never asks anybody, so no CPU can deadlock on it.
"""

# SIMPLIFIED: workload tasks are forked from init (pid 1) and then attached and
# bound, all at the same instant, before their first run; a fork-burst child
# inherits its parent's cpuset, affinity and policy (dup_task_struct) and runs
# as an exiting task.

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from actors.config import (
    AffinityStep,
    AttachStep,
    HotplugStep,
    KillStep,
    MempolicyStep,
    ShellStep,
    SpawnStep,
    TaskKind,
    TaskSpec,
)
from actors.context import Context
from actors.messages import (
    CpusetMoved,
    DomainsAttached,
    DomainsRebuilt,
    ForkTasks,
    KillTask,
    RebindNotice,
    RunStep,
    SetCpusAllowed,
    SetMempolicy,
    SetOnline,
    TaskExited,
    TaskMoved,
)
from actors.shared import PlacementView
from actors.task import Task
from cpuset import CpusetFS, build_domains, run_shell
from cpuset.events import (
    MemsChanged,
    PartitionsRebuilt,
    ReleaseAgentCalled,
    TaskAttached,
    TaskCpusChanged,
)
from cpuset.mempolicy import policy_era
from cpuset.tree import CpusetError
from topology import CpuMask
from topology.placement import sched_balance_self

if TYPE_CHECKING:
    from actors.sched import RunEnv

__all__ = ["CpusetController", "controller"]


async def controller(ctx: Context, env: RunEnv) -> None:
    await CpusetController(ctx, env).run()


class CpusetController:
    """See the module docstring."""

    def __init__(self, ctx: Context, env: RunEnv) -> None:
        self.ctx, self.env, self.cfg = ctx, env, env.config
        self.shared, self.checker, self.stats = env.shared, env.checker, env.stats
        self.fs = CpusetFS(self.cfg.machine, era=self.cfg.cpuset_era)
        self.generation = -1
        self.retired_upto = 0
        self.acks: dict[int, dict[int, None]] = {}
        self.groups: dict[str, list[int]] = {}
        self.specs = {spec.name: spec for spec in self.cfg.tasks}
        self.fresh: dict[int, None] = {}
        self.children = 0
        env.controller_state = self

    async def run(self) -> None:
        if self.cfg.setup:
            self._shell(self.cfg.setup, 0)
        self.fs.take_events()
        self._publish_cpusets()
        self._rebuild()
        while True:
            for envelope in await self.ctx.receive():
                self._handle(envelope.msg)
                self._after_command()

    def _handle(self, msg: object) -> None:
        if isinstance(msg, RunStep):
            if msg.spawn:
                self._spawn(self.specs[msg.spawn])
            else:
                self._step(msg.index)
        elif isinstance(msg, DomainsAttached):
            self._attached(msg.cpu, msg.generation)
        elif isinstance(msg, TaskExited):
            self.fs.exit(msg.pid)
        elif isinstance(msg, ForkTasks):
            self._fork_children(Task.from_record(msg.parent), msg.cpu, msg.count)
        else:
            raise TypeError(f"controller got {msg!r}")

    # -- domain generations --------------------------------------------------------------

    def _rebuild(self) -> None:
        """Build and announce the next generation (partition_sched_domains)."""
        self.generation += 1
        build = build_domains(self.fs, era=self.cfg.chosen_domain_era, generation=self.generation)
        self.shared.domains.publish(build)
        if self.checker is not None:
            self.checker.published(build)
        self.stats.rebuilds += 1
        self.acks[self.generation] = {}
        if "no-grace-period" in self.cfg.bugs:
            self.retired_upto = self.generation
            self.shared.domains.retire_below(self.generation)
        parts = " ".join(str(p) for p in build.partitions)
        if self.env.trace is not None:
            now = self.ctx.now_ns
            self.env.trace.instant(
                now, -1, "domains_rebuilt", generation=self.generation, partitions=parts
            )
        self.ctx.log.info("domains_rebuilt", generation=self.generation, partitions=parts)
        for name in self.env.cpu_names:
            self.ctx.tell(name, DomainsRebuilt(generation=self.generation))

    def _attached(self, cpu: int, generation: int) -> None:
        acks = self.acks.get(generation)
        if acks is None:
            return
        acks[cpu] = None
        if len(acks) < len(self.env.cpu_names):
            return
        for old in [g for g in self.acks if g <= generation]:
            del self.acks[old]
        if generation > self.retired_upto:
            self.retired_upto = generation
            self.shared.domains.retire_below(generation)
            self.stats.retired += 1
            if self.env.trace is not None:
                self.env.trace.instant(self.ctx.now_ns, -1, "domains_retired", below=generation)
            self.ctx.log.info("domains_retired", below=generation)

    # -- steps -------------------------------------------------------------------------------

    def _step(self, index: int) -> None:
        step = self.cfg.steps[index]
        if isinstance(step, ShellStep):
            self._shell(step.text, step.line)
        elif isinstance(step, SpawnStep):
            self._spawn(self.specs[step.task])
        elif not isinstance(step, HotplugStep):
            for pid in self._pids(step.task):
                try:
                    self._task_step(step, pid)
                except CpusetError as exc:
                    self._error(step.line, f"pid {pid}: {exc.strerror}")
        if isinstance(step, HotplugStep):
            self._hotplug(step)

    def _task_step(self, step: object, pid: int) -> None:
        if isinstance(step, AttachStep):
            self.fs.write(self._tasks_file(step.cpuset), str(pid))
        elif isinstance(step, AffinityStep):
            self.fs.sched_setaffinity(pid, step.cpus)
        elif isinstance(step, MempolicyStep):
            pol = step.policy
            self._tell_owner(
                pid, SetMempolicy(pid=pid, mode=pol.mode, nodes=pol.nodes, flags=pol.flags)
            )
        elif isinstance(step, KillStep):
            self._tell_owner(pid, KillTask(pid=pid))

    def _hotplug(self, step: HotplugStep) -> None:
        try:
            self.fs.set_online(step.cpu, step.online)
        except CpusetError as exc:
            self._error(step.line, f"cpu{step.cpu}/online: {exc.strerror}")
            return
        self.shared.set_online(self.fs.tree.online_cpus)
        self.ctx.tell(self.env.cpu_names[step.cpu], SetOnline(online=step.online))
        self.ctx.log.info("cpu_hotplug", cpu=step.cpu, online=step.online)
        if self.env.trace is not None:
            self.env.trace.instant(self.ctx.now_ns, step.cpu, "cpu_hotplug", online=step.online)

    def _shell(self, text: str, line: int) -> None:
        result = run_shell(self.fs, text, name="scenario")
        for outcome in result.failures:
            self._error(line, outcome.stderr.strip() or f"exit status {outcome.status}")

    def _error(self, line: int, text: str) -> None:
        where = f"line {line}: " if line else ""
        self.stats.step_errors.append(f"{where}{text}")
        self.ctx.log.warning("step_failed", line=line, error=text)

    def _tasks_file(self, cpuset: str) -> str:
        mount = self.fs.tree.mount_point.rstrip("/")
        name = "cgroup.procs" if self.fs.tree.era.name == "v2" else "tasks"
        return f"{mount}{cpuset.rstrip('/')}/{name}"

    def _pids(self, ref: str) -> list[int]:
        """A group name (every live instance) or ``group.i`` (one)."""
        group, _, index = ref.partition(".")
        pids = self.groups.get(group, [])
        if index:
            i = int(index)
            pids = pids[i : i + 1]
        return [pid for pid in pids if self.fs.tree.task(pid) is not None]

    def _tell_owner(self, pid: int, msg: object) -> None:
        owner = self.shared.directory.get(pid)
        if owner is None:
            raise CpusetError(errno.ESRCH, "no such task")
        self.ctx.tell(self.env.cpu_names[owner], msg)

    # -- tasks ---------------------------------------------------------------------------------

    def _spawn(self, spec: TaskSpec) -> None:
        """Fork every instance of *spec* from init, attach, bind, and place it."""
        pids = self.groups.setdefault(spec.name, [])
        view = self.shared.board.placement_view(self.ctx.now_ns // self.cfg.tick_ns)
        for name in spec.instance_names()[len(pids) :]:
            try:
                task = self._new_task(spec, name)
            except CpusetError as exc:
                self._error(spec.line, f"task {name}: {exc.strerror}")
                continue
            pids.append(task.pid)
            start = spec.cpu if spec.cpu is not None else -1
            self._place_new(task, start, view)

    def _new_task(self, spec: TaskSpec, name: str) -> Task:
        fs = self.fs
        pid = fs.fork(1)
        self.fresh[pid] = None
        if spec.cpuset not in ("", "/"):
            fs.write(self._tasks_file(spec.cpuset), str(pid))
        if spec.cpus is not None:
            fs.sched_setaffinity(pid, spec.cpus)
        mems = fs.task_mems_allowed(pid)
        policy = spec.mempolicy.policy(mems, policy_era(self.cfg.cpuset_era))
        kind = TaskKind.HOG if spec.kind is TaskKind.PINNED else spec.kind
        return Task(
            pid=pid, name=name, kind=kind.value, cpus_allowed=fs.task_cpus_allowed(pid),
            cpuset=fs.task_cpuset(pid), policy=policy, mems_allowed=mems,
            pages_per_ms=spec.pages_per_ms, run_ms=spec.run_ms, sleep_ms=spec.sleep_ms,
            lifetime_ms=spec.lifetime_ms, children=spec.children,
            fork_every_ms=spec.fork_every_ms,
        )  # fmt: skip

    def _fork_children(self, parent: Task, cpu: int, count: int) -> None:
        """do_fork for a running fork-burst task: exiting children in its cpuset."""
        if self.fs.tree.task(parent.pid) is None:
            return
        view = self.shared.board.placement_view(self.ctx.now_ns // self.cfg.tick_ns)
        for _ in range(count):
            pid = self.fs.fork(parent.pid)
            self.fresh[pid] = None
            self.children += 1
            child = Task(
                pid=pid, name=f"{parent.name}+{pid}", kind=TaskKind.EXITING.value,
                cpus_allowed=parent.cpus_allowed, cpuset=parent.cpuset, policy=parent.policy,
                mems_allowed=parent.mems_allowed, pages_per_ms=parent.pages_per_ms,
                lifetime_ms=parent.lifetime_ms,
            )  # fmt: skip
            self._place_new(child, cpu, view)

    def _place_new(self, task: Task, start: int, view: PlacementView) -> None:
        """wake_up_new_task: sched_balance_self(SD_BALANCE_FORK) from the parent's CPU."""
        usable = task.cpus_allowed & self.shared.online
        if not usable:
            usable = self.shared.online
        if start not in usable:
            start = usable.first()
        build = self.shared.domains.builds.get(self.generation)
        if build is None:
            cpu = start
        else:
            rings = self.shared.domains.rings_of(build.generation)
            cpu = sched_balance_self(build, start, usable, view, rings=rings)
        view.add(cpu)
        if self.checker is not None:
            self.checker.created(task.pid, cpu)
        self.shared.set_task_cpu(task.pid, cpu)
        if self.env.trace is not None:
            self.env.trace.sends.append((task.pid, -1, cpu, self.ctx.now_ns, "fork", ""))
        self.ctx.tell(self.env.cpu_names[cpu], TaskMoved(task=task.record(), src=-1, reason="fork"))
        if self.ctx.debug:
            self.ctx.log.debug("task_forked", pid=task.pid, name=task.name, cpu=cpu)

    # -- what the cpuset code reported ------------------------------------------------------------

    def _after_command(self) -> None:
        rebuild = False
        owners: dict[int, list[int]] = {}
        for event in self.fs.take_events():
            if isinstance(event, PartitionsRebuilt):
                rebuild = True
            elif isinstance(event, ReleaseAgentCalled):
                self.ctx.log.info("release_agent", path=event.path)
            elif isinstance(event, (TaskCpusChanged, TaskAttached)):
                if event.pid not in self.fresh:
                    self._task_event(event)
            elif isinstance(event, MemsChanged):
                self._mems_changed(event, owners)
        self.fresh.clear()
        self._publish_cpusets()
        if rebuild:
            self._rebuild()

    def _task_event(self, event: TaskCpusChanged | TaskAttached) -> None:
        owner = self.shared.directory.get(event.pid)
        if owner is None:
            return  # a shell's own task, not a simulated one
        dst = self.env.cpu_names[owner]
        if isinstance(event, TaskCpusChanged):
            self.ctx.tell(dst, SetCpusAllowed(pid=event.pid, cpus_allowed=event.cpus_allowed))
            return
        self.ctx.tell(dst, CpusetMoved(pid=event.pid, path=event.dst))
        if event.old_mems != event.new_mems:
            notice = RebindNotice(
                pids=(event.pid,), old=event.old_mems, new=event.new_mems,
                memory_migrate=event.memory_migrate,
            )  # fmt: skip
            self.ctx.tell(dst, notice)

    def _mems_changed(self, event: MemsChanged, owners: dict[int, list[int]]) -> None:
        by_cpu: dict[int, list[int]] = {}
        for pid in event.pids:
            owner = self.shared.directory.get(pid)
            if owner is not None and pid not in self.fresh:
                by_cpu.setdefault(owner, []).append(pid)
        for cpu in sorted(by_cpu):
            notice = RebindNotice(
                pids=tuple(by_cpu[cpu]), old=event.old, new=event.new,
                memory_migrate=event.memory_migrate,
            )  # fmt: skip
            self.ctx.tell(self.env.cpu_names[cpu], notice)
        self.ctx.log.info(
            "mems_changed", path=event.path, mems=str(event.new), tasks=len(event.pids)
        )

    def _publish_cpusets(self) -> None:
        tree = self.fs.tree
        table: dict[str, CpuMask] = {cs.path: tree.guarantee_online_cpus(cs) for cs in tree.walk()}
        self.shared.set_cpusets(table)
