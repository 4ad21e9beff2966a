"""CONFIG_SCHED_DEBUG's domain checks and printout (SPEC §1.2-1.3; kernel/sched.c
sched_domain_debug 2.6.14/2.6.24, kernel/sched/topology.c sched_domain_debug_one 6.18).

`sched_domain_debug(build)` does for every CPU what the kernel does when it
attaches the CPU's base domain: print the chain in the era's format and check
SD-INV-1..10 with the exact error strings, following the era's control flow
(2.6.14 keeps printing after a bad group; 2.6.23+ break out of the group loop).

Where the kernel itself never returns, the walk is bounded instead: a group
ring that does not come back to ``sd->groups`` (SD-INV-7, the 2.6.13 hang)
is printed for one lap, as far as the kernel's own output goes, and then
reported with a line of ours.  Every line the simulator adds starts with
``schedsim: `` so the rest can be diffed against a real boot log:

* ``schedsim: ERROR: group ring does not return to domain->groups``;
* SD-INV-11 / BUG13-5, after all CPUs: a group object reachable from two
  partitions, a group or domain reaching outside its CPU's partition, a CPU
  in no partition with a domain.

The report shows the final state of a build, CPU by CPU in ascending order,
as if every CPU were attached after the last partition was built.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from topology.cpumask import CpuMask
from topology.domains import DomainBuild
from topology.printout import ERA_FORMAT, FORMATS, DmesgFormat, Printk, nr_cpus_bits, render_mask
from topology.sched_domain import SchedDomain, SchedGroup, ring
from topology.sd_flags import SHARED_CHILD, SHARED_PARENT, SdFlag, flag_names, has_load_balance_flag

__all__ = ["RING_ERROR", "DebugError", "DebugReport", "sched_domain_debug"]

RING_ERROR = "schedsim: ERROR: group ring does not return to domain->groups"
_MAX_LEVELS = 64


@dataclass(frozen=True, slots=True)
class DebugError:
    """One ERROR line: the CPU being attached, the printed domain level (-1: none), the text."""

    cpu: int
    level: int
    message: str


@dataclass(frozen=True, slots=True)
class DebugReport:
    """The dmesg text of a build and the errors in it, in order."""

    text: str
    errors: tuple[DebugError, ...]
    format: str

    @property
    def ok(self) -> bool:
        return not self.errors


class _Silent(Printk):
    """A printk whose output nobody reads (``text=False``): the checks alone."""

    def _write(self, text: str) -> None:
        pass


class _Debugger:
    def __init__(self, build: DomainBuild, fmt: DmesgFormat, render: bool = True) -> None:
        self.build, self.fmt, self.render = build, fmt, render
        self.pk = Printk(fmt.records) if render else _Silent(fmt.records)
        self.errors: list[DebugError] = []
        self.nbits = nr_cpus_bits(build.machine.nr_cpus)
        self.has_lb = has_load_balance_flag(build.era)
        self.limit = build.machine.nr_cpus + 1
        # SD-INV-9/10 are statements about 6.x domains (child links, metaflags).
        self.modern_checks = fmt.modern and build.era == "modern"
        self._walked: dict[
            tuple[int, bool, CpuMask | None], tuple[SchedGroup | None, int, bool, tuple[str, ...]]
        ] = {}
        """without text: (id(ring head), NUMA, child span) -> (head, kept alive so that its id
        stays its own; groupmask; stopped; the walk's error messages)"""

    def error(self, cpu: int, level: int, message: str, newline: bool = True) -> None:
        self.pk.log(message + ("\n" if newline else ""))
        self.errors.append(DebugError(cpu, level, message))

    def mask(self, mask: CpuMask) -> str:
        return render_mask(mask, self.fmt, self.nbits) if self.render else ""

    def attach(self, cpu: int) -> None:
        """sched_domain_debug(rq->sd, cpu)."""
        sd = self.build.base(cpu)
        if sd is None:
            self.pk.log(f"CPU{cpu} attaching NULL sched-domain.\n")
            return
        self.pk.log(f"CPU{cpu} attaching {self.fmt.header}\n")
        level = 0
        while sd is not None and level < _MAX_LEVELS:
            if self.domain(sd, cpu, level):
                break
            level += 1
            sd = sd.parent

    def domain(self, sd: SchedDomain, cpu: int, level: int) -> bool:
        """One level (sched_domain_debug_one); True when the walk must stop."""
        fmt = self.fmt
        if fmt.modern:
            self.pk.log(" " * level + f" domain-{level}: ")
            self.pk.cont(f"span={self.mask(sd.span)} level={sd.name}\n")
        else:
            self.pk.log(" " * (level + 1) + f"domain {level}: ")
            if self.has_lb and not sd.flags & SdFlag.LOAD_BALANCE:
                self.pk.cont("does not load-balance\n")
                if sd.parent is not None:  # no newline in the kernel either
                    self.error(cpu, level, "ERROR: !SD_LOAD_BALANCE domain has parent", False)
                return True
            name = f" level {sd.name}" if fmt.level_names else ""
            self.pk.cont(f"span {self.mask(sd.span)}{name}\n")
        if cpu not in sd.span:
            self.error(cpu, level, f"ERROR: domain->span does not contain CPU{cpu}")
        if sd.groups is not None and cpu not in sd.groups.span:
            self.error(cpu, level, f"ERROR: domain->groups does not contain CPU{cpu}")
        if self.modern_checks:
            self.flag_checks(sd, cpu, level)
        self.pk.log(" " * (level + 1) + " groups:")
        groupmask, stopped = self.groups(sd, cpu, level)
        self.pk.cont("\n")
        if stopped:  # the kernel never leaves that loop: no span checks, no parent
            self.error(cpu, level, RING_ERROR)
            return True
        if sd.span.bits != groupmask:
            self.error(cpu, level, "ERROR: groups don't span domain->span")
        if sd.parent is not None and groupmask & ~sd.parent.span.bits:
            self.error(cpu, level, "ERROR: parent span is not a superset of domain->span")
        return False

    def flag_checks(self, sd: SchedDomain, cpu: int, level: int) -> None:
        """SD-INV-10: SHARED_CHILD flags must be on the child, SHARED_PARENT on the parent."""
        for flag in SdFlag:
            if not flag & sd.flags:
                continue
            name = flag_names(flag, "modern")[0]
            if flag & SHARED_CHILD and sd.child is not None and not sd.child.flags & flag:
                self.error(cpu, level, f"ERROR: flag {name} set here but not in child")
            if flag & SHARED_PARENT and sd.parent is not None and not sd.parent.flags & flag:
                self.error(cpu, level, f"ERROR: flag {name} set here but not in parent")

    def ends_loop(self, sd: SchedDomain, group: SchedGroup, groupmask: int) -> bool:
        """Would the kernel's loop break at *group* (instead of going round forever)?"""
        fmt = self.fmt
        if fmt.keeps_printing:
            return False
        repeat = not (fmt.overlap_skips_repeat and sd.flags & SdFlag.NUMA)
        return (
            (fmt.checks_power and group.power == 0)
            or not group.span
            or (repeat and bool(group.span.bits & groupmask))
        )

    def groups(self, sd: SchedDomain, cpu: int, level: int) -> tuple[int, bool]:
        """The group loop; returns (groupmask, whether a broken ring stopped the walk).

        Without text, a ring shared by many CPUs is walked once: what the walk
        finds depends on the ring, the domain's NUMA flag and its child's span,
        never on the CPU, so its errors are replayed with this CPU's number.
        """
        if self.render:
            return self._walk_groups(sd, cpu, level)
        child = sd.child
        key = (id(sd.groups), bool(sd.flags & SdFlag.NUMA), None if child is None else child.span)
        known = self._walked.get(key)
        if known is None:
            first = len(self.errors)
            groupmask, stopped = self._walk_groups(sd, cpu, level)
            found = tuple(e.message for e in self.errors[first:])
            self._walked[key] = known = (sd.groups, groupmask, stopped, found)
        else:
            self.errors.extend(DebugError(cpu, level, message) for message in known[3])
        return known[1], known[2]

    def _walk_groups(self, sd: SchedDomain, cpu: int, level: int) -> tuple[int, bool]:
        fmt, head = self.fmt, sd.groups
        group, groupmask, seen = head, 0, set()
        repeat_check = not (fmt.overlap_skips_repeat and sd.flags & SdFlag.NUMA)
        while True:
            if group is None:
                self.pk.cont("\n")
                self.error(cpu, level, "ERROR: group is NULL")
                return groupmask, False
            revisit = id(group) in seen
            if revisit and not fmt.keeps_printing and not self.ends_loop(sd, group, groupmask):
                return groupmask, True  # the kernel goes round for ever without a word
            seen.add(id(group))
            problems = []
            if fmt.checks_power and group.power == 0:
                problems.append("ERROR: domain->cpu_power not set")
            if not group.span:
                problems.append("ERROR: empty group")
            if repeat_check and group.span.bits & groupmask:
                problems.append("ERROR: repeated CPUs")
            for message in problems:
                self.pk.cont("\n")
                self.error(cpu, level, message)
                if not fmt.keeps_printing:
                    return groupmask, False
            groupmask |= group.span.bits
            self.group_token(sd, group, cpu, level)
            if revisit:  # 2.6: its errors and mask, printed once here, for ever there
                return groupmask, True
            group = group.next
            if group is head:
                return groupmask, False
            if fmt.modern:
                self.pk.cont(",")

    def group_token(self, sd: SchedDomain, group: SchedGroup, cpu: int, level: int) -> None:
        fmt = self.fmt
        if not fmt.modern:
            self.pk.cont(f" {self.mask(group.span)}")
            if fmt.level_names and group.power != 1024:
                self.pk.cont(f" (cpu_power = {group.power})")
            return
        self.pk.cont(f" {group.id}:{{ span={group.span}")
        if sd.flags & SdFlag.NUMA and group.balance_mask != group.span:
            self.pk.cont(f" mask={group.balance_mask}")
        if group.power != 1024:
            self.pk.cont(f" cap={group.power}")
        child = sd.child
        first = group is sd.groups and self.modern_checks
        if first and child is not None and child.span != group.span:
            self.error(cpu, level, "ERROR: domain->groups does not match domain->child")
        self.pk.cont(" }")

    def partitions(self, cpus: list[int]) -> None:
        """SD-INV-11 / BUG13-5: every group and domain stays inside one partition."""
        if self.pk.open:
            self.pk.cont("\n")
        owner: dict[int, tuple[int, int]] = {}
        reported: set[tuple[int, int]] = set()
        walked: set[tuple[int, int]] = set()
        """(ring head, partition) pairs already met: the same ring walks the same groups,
        whose findings are reported once per partition anyway"""
        for cpu in cpus:
            index = self.build.partition_of(cpu)
            chain = self.build.chain(cpu)
            if index is None:
                if chain:
                    self.error(
                        cpu, 0, f"schedsim: ERROR: CPU{cpu} is in no partition but has domains"
                    )
                continue
            part = self.build.partitions[index]
            for level, sd in enumerate(chain):
                if not sd.span <= part:
                    where = f"CPU{cpu} domain {level} spans {sd.span}"
                    self.error(cpu, level, f"schedsim: ERROR: {where}, beyond its partition {part}")
                if sd.groups is not None and (id(sd.groups), index) in walked:
                    continue
                if sd.groups is not None:
                    walked.add((id(sd.groups), index))
                for group in ring(sd.groups, self.limit):
                    self.group_owner(group, (index, cpu), level, owner, reported)

    def group_owner(
        self,
        group: SchedGroup,
        reacher: tuple[int, int],
        level: int,
        owner: dict[int, tuple[int, int]],
        reported: set[tuple[int, int]],
    ) -> None:
        """One group met by CPU ``reacher[1]`` of partition ``reacher[0]``."""
        index, cpu = reacher
        part = self.build.partitions[index]
        first = owner.setdefault(id(group), reacher)
        if first[0] != index and (id(group), -1) not in reported:
            reported.add((id(group), -1))
            both = f"partition {first[0]} (CPU{first[1]}) and partition {index} (CPU{cpu})"
            self.error(cpu, level, f"schedsim: ERROR: group {group.span} is reachable from {both}")
        if not group.span <= part and (id(group), index) not in reported:
            reported.add((id(group), index))
            where = f"group {group.span} of CPU{cpu} domain {level}"
            self.error(cpu, level, f"schedsim: ERROR: {where} lies outside its partition {part}")


def sched_domain_debug(
    build: DomainBuild,
    fmt: str | None = None,
    cpus: Iterable[int] | None = None,
    *,
    text: bool = True,
) -> DebugReport:
    """The debug printout and checks of *build* (*fmt* None or "dmesg": the era's own format).

    *cpus* restricts the report to those CPUs (default: all, ascending).  With
    ``text=False`` only the checks run (the report's text is empty): masks are
    not rendered, which is most of the cost on thousands of CPUs.
    """
    name = ERA_FORMAT[build.era] if fmt in (None, "dmesg") else fmt
    if name not in FORMATS:
        known = ", ".join(["dmesg", *FORMATS])
        raise ValueError(f"unknown printout format {fmt!r} (known: {known})")
    # SIMPLIFIED: the kernel prints each CPU when its partition is attached (a later
    # partition's build may corrupt what was printed before); this is the final state.
    selected = list(range(build.machine.nr_cpus)) if cpus is None else sorted(set(cpus))
    for cpu in selected:
        if not 0 <= cpu < build.machine.nr_cpus:
            raise ValueError(
                f"CPU {cpu} is not on {build.machine.name} (CPUs 0-{build.machine.nr_cpus - 1})"
            )
    debugger = _Debugger(build, FORMATS[name], render=text)
    for cpu in selected:
        debugger.attach(cpu)
    debugger.partitions(selected)
    return DebugReport(debugger.pk.text() if text else "", tuple(debugger.errors), name)
