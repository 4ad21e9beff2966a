"""The files in a cpuset directory, per era: names, where they appear, read and write.

Models the cftype tables of kernel/cpuset.c (2.6.14 cft_*, 2.6.24
cpuset_populate), kernel/cgroup/cpuset-v1.c ``cpuset1_files`` and
kernel/cgroup/cpuset.c ``dfl_files`` (6.18), plus the cgroup core files the
recipes use (``tasks``, ``notify_on_release``, ``cgroup.procs``,
``cgroup.subtree_control``, ``cgroup.controllers``).

A read returns what ``cat`` prints without the trailing newline; a write
receives the text as written (``echo`` appends a newline).  On the legacy
cgroup hierarchy cpuset files are named ``cpuset.X`` or ``X`` depending on
the mount's ``noprefix`` option; both spellings are accepted there.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

from cpuset.attach import attach_task
from cpuset.effective import isolated_cpus, update_prstate
from cpuset.kstrtox import kstrtoint, kstrtoll, kstrtoull, simple_strtoul, sscanf_int
from cpuset.partitions import sched_domain_level_max
from cpuset.tree import Cpuset, CpusetError, CpusetTree, CsFlag, Prs
from cpuset.update import (
    finish_operation,
    parse_mask,
    update_cpumask,
    update_flag,
    update_nodemask,
    update_relax_domain_level,
)
from cpuset.validate import cpus_excl_conflict

__all__ = ["CpusetFile", "file_table", "lookup_file", "parse_flag", "read_partition"]

Reader = Callable[[CpusetTree, Cpuset], str]
Writer = Callable[[CpusetTree, Cpuset, str, int], None]
Where = Literal["all", "root", "nonroot"]


@dataclass(frozen=True, slots=True)
class CpusetFile:
    """One cftype: its name, where it exists, and its handlers (None = not readable/writable)."""

    name: str
    read: Reader | None
    write: Writer | None
    where: Where = "all"
    cpuset_file: bool = True
    """A cpuset (not cgroup core) file: ``cpuset.``-prefixed on a prefixed mount."""
    mask: bool = False
    """A cpulist/nodelist file, whose writes are length-limited in every era (fs.py)."""
    line_list: bool = False
    """One item per line (``tasks``): empty means no output at all, not an empty line."""

    def exists_on(self, cs: Cpuset) -> bool:
        root = cs.parent is None
        return self.where == "all" or (self.where == "root") == root


def _flag_reader(flag: CsFlag) -> Reader:
    return lambda tree, cs: "1" if cs.has(flag) else "0"


def parse_flag(tree: CpusetTree, text: str) -> bool:
    """A flag write: simple_strtoul (2.6.x: ``A`` is 0) or kstrtoull (``A``, ``-1``: EINVAL)."""
    if tree.era.strict_flag_parse:
        return kstrtoull(text, "flag") != 0
    return simple_strtoul(text) != 0


def _flag_writer(flag: CsFlag) -> Writer:
    def write(tree: CpusetTree, cs: Cpuset, text: str, current: int) -> None:
        update_flag(tree, cs, flag, parse_flag(tree, text))

    return write


def _write_notify(tree: CpusetTree, cs: Cpuset, text: str, current: int) -> None:
    """notify_on_release: a cpuset flag in 2.6.14 (validated), a cgroup flag later."""
    on = parse_flag(tree, text)
    if tree.era.cgroup:
        cs.config = cs.config.with_flag(CsFlag.NOTIFY_ON_RELEASE, on)
    else:
        update_flag(tree, cs, CsFlag.NOTIFY_ON_RELEASE, on)


def _write_tasks(tree: CpusetTree, cs: Cpuset, text: str, current: int) -> None:
    """``tasks`` / ``cgroup.procs``: one pid per write; 0 means the writer itself."""
    if tree.era.strict_flag_parse:
        # cgroup_procs_write_start: any kstrtoint failure (ERANGE too) or pid < 0 is EINVAL.
        try:
            pid = kstrtoint(text.strip(), "pid")
        except CpusetError as exc:
            raise CpusetError(errno.EINVAL, exc.strerror or "pid") from None
        if pid < 0:
            raise CpusetError(errno.EINVAL, f"pid {pid} is negative")
    else:
        parsed = sscanf_int(text)
        if parsed is None:
            raise CpusetError(errno.EIO, f"no pid in {text.strip()!r}")
        pid = parsed
    attach_task(tree, cs, pid, current)
    finish_operation(tree)


def _read_tasks(tree: CpusetTree, cs: Cpuset) -> str:
    return "\n".join(str(pid) for pid in tree.sorted_pids(cs))


def _write_relax(tree: CpusetTree, cs: Cpuset, text: str, current: int) -> None:
    """A write_s64 file: cgroup_file_write passes the text to kstrtoll unstripped."""
    level = kstrtoll(text, "sched_relax_domain_level")
    update_relax_domain_level(tree, cs, level, sched_domain_level_max(tree.machine))


def _write_pressure_enabled(tree: CpusetTree, cs: Cpuset, text: str, current: int) -> None:
    tree.memory_pressure_enabled = parse_flag(tree, text)


def read_partition(tree: CpusetTree, cs: Cpuset) -> str:
    """cpuset.cpus.partition: member / root / isolated / "root invalid (<reason>)"."""
    names = {Prs.MEMBER: "member", Prs.ROOT: "root", Prs.ISOLATED: "isolated"}
    if cs.prs >= 0:
        return names[cs.prs]
    kind = names[Prs(-int(cs.prs))]
    return f"{kind} invalid ({cs.prs_err.value})" if cs.prs_err.value else f"{kind} invalid"


def _write_partition(tree: CpusetTree, cs: Cpuset, text: str, current: int) -> None:
    words = {"member": Prs.MEMBER, "root": Prs.ROOT, "isolated": Prs.ISOLATED}
    new = words.get(text.strip())
    if new is None:
        raise CpusetError(errno.EINVAL, f"{text.strip()!r} is not member, root or isolated")
    update_prstate(tree, cs, new)
    finish_operation(tree)


def _write_exclusive(tree: CpusetTree, cs: Cpuset, text: str, current: int) -> None:
    """cpuset.cpus.exclusive (update_exclusive_cpumask): unchanged is a no-op, a sibling
    conflict is EINVAL (CS-VAL-7, CS-VAL-8).

    CPUs the parent cannot grant are accepted: the value is kept as written and
    only ``cpuset.cpus.exclusive.effective`` (∩ the parent's) narrows it.
    """
    mask = parse_mask(tree, text, nodes=False)
    assert cs.parent is not None
    if mask == cs.config.exclusive_cpus:
        return
    trial = replace(cs.config, exclusive_cpus=mask)
    for sib in cs.parent.children:
        if sib is not cs and cpus_excl_conflict(trial, sib.config, modern=True):
            raise CpusetError(
                errno.EINVAL, f"exclusive cpus conflict with sibling {tree.display(sib)} (CS-VAL-7)"
            )
    cs.config = trial
    finish_operation(tree)


def _read_subtree_control(tree: CpusetTree, cs: Cpuset) -> str:
    return "cpuset" if cs.subtree_control else ""


def _write_subtree_control(tree: CpusetTree, cs: Cpuset, text: str, current: int) -> None:
    """cgroup.subtree_control: only the cpuset controller is simulated."""
    for token in text.split():
        if token[:1] not in "+-" or token[1:] != "cpuset":
            raise CpusetError(errno.EINVAL, f"unknown controller change {token!r} (only cpuset)")
        enable = token[0] == "+"
        if enable and cs.parent is not None and cs.tasks:
            raise CpusetError(errno.EBUSY, f"{tree.display(cs)} has tasks (no internal tasks)")
        if not enable and any(c.subtree_control for c in cs.children):
            raise CpusetError(errno.EBUSY, "a child still enables cpuset for its children")
        cs.subtree_control = enable
    finish_operation(tree)


def _mask_reader(attr: str) -> Reader:
    def read(tree: CpusetTree, cs: Cpuset) -> str:
        return str(getattr(cs, attr))

    return read


def _config_reader(attr: str) -> Reader:
    def read(tree: CpusetTree, cs: Cpuset) -> str:
        return str(getattr(cs.config, attr))

    return read


def _flag_file(name: str, flag: CsFlag) -> CpusetFile:
    return CpusetFile(name, _flag_reader(flag), _flag_writer(flag))


def _write_cpus(tree: CpusetTree, cs: Cpuset, text: str, current: int) -> None:
    update_cpumask(tree, cs, text)


def _write_mems(tree: CpusetTree, cs: Cpuset, text: str, current: int) -> None:
    update_nodemask(tree, cs, text)


def _legacy_files(cgroup: bool) -> list[CpusetFile]:
    """2.6.14's six files (cft_cpus ... cft_tasks); tasks/notify are cgroup core from 2.6.24."""
    F = CpusetFile
    return [
        F("cpus", _config_reader("cpus"), _write_cpus, mask=True),
        F("mems", _config_reader("mems"), _write_mems, mask=True),
        _flag_file("cpu_exclusive", CsFlag.CPU_EXCLUSIVE),
        _flag_file("mem_exclusive", CsFlag.MEM_EXCLUSIVE),
        F("notify_on_release", _flag_reader(CsFlag.NOTIFY_ON_RELEASE), _write_notify,
          cpuset_file=not cgroup),
        F("tasks", _read_tasks, _write_tasks, cpuset_file=not cgroup, line_list=True),
    ]  # fmt: skip


def _cgroup_files() -> list[CpusetFile]:
    """What 2.6.24's cpuset_populate added."""
    F = CpusetFile
    return [
        _flag_file("memory_migrate", CsFlag.MEMORY_MIGRATE),
        _flag_file("sched_load_balance", CsFlag.SCHED_LOAD_BALANCE),
        # SIMPLIFIED: direct reclaim is not simulated, so the pressure meter reads 0.
        F("memory_pressure", lambda t, c: "0", None),
        _flag_file("memory_spread_page", CsFlag.SPREAD_PAGE),
        _flag_file("memory_spread_slab", CsFlag.SPREAD_SLAB),
        F("memory_pressure_enabled", lambda t, c: "1" if t.memory_pressure_enabled else "0",
          _write_pressure_enabled, where="root"),
    ]  # fmt: skip


def _modern_v1_files() -> list[CpusetFile]:
    """cpuset1_files entries that came after 2.6.24, and cgroup.procs."""
    F = CpusetFile
    return [
        _flag_file("mem_hardwall", CsFlag.MEM_HARDWALL),
        F("sched_relax_domain_level", _config_reader("relax_domain_level"), _write_relax),
        F("effective_cpus", _mask_reader("effective_cpus"), None),
        F("effective_mems", _mask_reader("effective_mems"), None),
        F("cgroup.procs", _read_tasks, _write_tasks, cpuset_file=False, line_list=True),
    ]


def _v1_files(tree: CpusetTree) -> list[CpusetFile]:
    # SIMPLIFIED: cgroup core files other than tasks, cgroup.procs and
    # notify_on_release (cgroup.clone_children, release_agent, ...) are absent.
    era = tree.era
    files = _legacy_files(era.cgroup)
    if era.cgroup:
        files += _cgroup_files()
    if era.name == "v1":
        files += _modern_v1_files()
    return files


def _v2_files() -> list[CpusetFile]:
    """dfl_files (6.18) and the cgroup core files the recipes use."""
    F = CpusetFile
    return [
        F("cpuset.cpus", _config_reader("cpus"), _write_cpus, where="nonroot", mask=True),
        F("cpuset.mems", _config_reader("mems"), _write_mems, where="nonroot", mask=True),
        F("cpuset.cpus.effective", _mask_reader("effective_cpus"), None),
        F("cpuset.mems.effective", _mask_reader("effective_mems"), None),
        F("cpuset.cpus.partition", read_partition, _write_partition, where="nonroot"),
        F("cpuset.cpus.exclusive", _config_reader("exclusive_cpus"), _write_exclusive,
          where="nonroot", mask=True),
        F("cpuset.cpus.exclusive.effective", _mask_reader("effective_xcpus"), None,
          where="nonroot"),
        F("cpuset.cpus.isolated", lambda t, c: str(isolated_cpus(t)), None, where="root"),
        F("cgroup.procs", _read_tasks, _write_tasks, cpuset_file=False, line_list=True),
        F("cgroup.subtree_control", _read_subtree_control, _write_subtree_control,
          cpuset_file=False),
        F("cgroup.controllers", lambda t, c: "cpuset" if c.cpuset_enabled() else "", None,
          cpuset_file=False),
    ]  # fmt: skip


def file_table(tree: CpusetTree, cs: Cpuset, prefixed: bool) -> dict[str, CpusetFile]:
    """The files of *cs* as ``ls`` names them, in the kernel's table order."""
    if tree.era.v2:
        return {
            f.name: f
            for f in _v2_files()
            if f.exists_on(cs) and (not f.cpuset_file or cs.cpuset_enabled())
        }
    out: dict[str, CpusetFile] = {}
    for f in _v1_files(tree):
        if f.exists_on(cs):
            name = f"cpuset.{f.name}" if prefixed and f.cpuset_file else f.name
            out[name] = f
    return out


def lookup_file(tree: CpusetTree, cs: Cpuset, name: str, prefixed: bool) -> CpusetFile | None:
    """The file called *name* in *cs*; on cgroup-era v1 both spellings are found."""
    table = file_table(tree, cs, prefixed)
    found = table.get(name)
    if found is not None or tree.era.v2 or not tree.era.cgroup:
        return found
    other = file_table(tree, cs, not prefixed)
    alt = other.get(name)
    return alt if alt is not None and alt.cpuset_file else None
