"""What ``schedsim cpuset`` prints: the tree, the partitions and, on request, the domains.

`render_report` is pure: a `CpusetFS` (after a script ran) in, text out.  The
text form is for people (aligned columns, the kernel's file names for
flags, the dmesg dump of sched_domain_debug); the JSON form carries the same
facts for tools.  `report_facts` gives those facts as frozen values.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from cpuset.effective import isolated_cpus
from cpuset.era import era_of
from cpuset.files import read_partition
from cpuset.fs import CpusetFS
from cpuset.partitions import build_domains
from cpuset.shell import run_shell
from cpuset.tree import Cpuset, CpusetTree, CsFlag
from topology.debug import sched_domain_debug
from topology.machine import Machine

__all__ = [
    "FORMATS",
    "CpusetRow",
    "CpusetRun",
    "ReportFacts",
    "render_report",
    "report_facts",
    "run_cpuset_script",
]

FORMATS = ("text", "json")

_FLAG_FILES = (
    (CsFlag.CPU_EXCLUSIVE, "cpu_exclusive"),
    (CsFlag.MEM_EXCLUSIVE, "mem_exclusive"),
    (CsFlag.MEM_HARDWALL, "mem_hardwall"),
    (CsFlag.MEMORY_MIGRATE, "memory_migrate"),
    (CsFlag.SCHED_LOAD_BALANCE, "sched_load_balance"),
    (CsFlag.SPREAD_PAGE, "memory_spread_page"),
    (CsFlag.SPREAD_SLAB, "memory_spread_slab"),
    (CsFlag.NOTIFY_ON_RELEASE, "notify_on_release"),
)


@dataclass(frozen=True, slots=True)
class CpusetRow:
    """One cpuset as reported."""

    path: str
    cpus: str
    mems: str
    effective_cpus: str
    effective_mems: str
    flags: tuple[str, ...]
    tasks: tuple[int, ...]
    partition: str | None


@dataclass(frozen=True, slots=True)
class PartitionFacts:
    """The partitions in force and the CPUs left with the NULL domain."""

    generation: int
    doms: tuple[str, ...]
    relax_domain_level: tuple[int, ...]
    null_domain: str
    dyn4: tuple[str, str] | None


@dataclass(frozen=True, slots=True)
class DomainFacts:
    """The domain dump of the partitions (sched_domain_debug)."""

    era: str
    text: str
    errors: tuple[tuple[int, int, str], ...]


@dataclass(frozen=True, slots=True)
class ReportFacts:
    """Everything the report shows."""

    era: str
    machine: str
    mount: str
    online_cpus: str
    cpusets: tuple[CpusetRow, ...]
    partitions: PartitionFacts
    isolated_cpus: str | None
    domains: DomainFacts | None


def _era_flags(tree: CpusetTree) -> list[tuple[CsFlag, str]]:
    """The flags that are files in this era (v2 shows partitions instead)."""
    if tree.era.v2:
        return []
    if not tree.era.cgroup:
        keep = {"cpu_exclusive", "mem_exclusive", "notify_on_release"}
    elif tree.era.name == "2.6.24":
        keep = {name for _, name in _FLAG_FILES} - {"mem_hardwall"}
    else:
        keep = {name for _, name in _FLAG_FILES}
    return [(flag, name) for flag, name in _FLAG_FILES if name in keep]


def _row(tree: CpusetTree, cs: Cpuset) -> CpusetRow:
    partition = None
    if tree.era.v2:
        partition = "root" if cs.parent is None else read_partition(tree, cs)
    return CpusetRow(
        path=tree.display(cs),
        cpus=str(cs.config.cpus),
        mems=str(cs.config.mems),
        effective_cpus=str(cs.effective_cpus),
        effective_mems=str(cs.effective_mems),
        flags=tuple(name for flag, name in _era_flags(tree) if cs.has(flag)),
        tasks=tree.sorted_pids(cs),
        partition=partition,
    )


def _domains(tree: CpusetTree, domain_era: str | None) -> DomainFacts:
    build = build_domains(tree, era=domain_era)
    debug = sched_domain_debug(build)
    return DomainFacts(
        era=build.era,
        text=debug.text,
        errors=tuple((e.cpu, e.level, e.message) for e in debug.errors),
    )


def report_facts(fs: CpusetFS, domains: bool = False, domain_era: str | None = None) -> ReportFacts:
    """The facts of the report (*domains*: also build and check the sched domains)."""
    tree = fs.tree
    parts = tree.partitions
    dyn4 = None if parts.dyn4 is None else (str(parts.dyn4[0]), str(parts.dyn4[1]))
    return ReportFacts(
        era=tree.era.name,
        machine=tree.machine.summary(),
        mount=tree.mount_point,
        online_cpus=str(tree.online_cpus),
        cpusets=tuple(_row(tree, cs) for cs in tree.walk()),
        partitions=PartitionFacts(
            generation=tree.generation,
            doms=tuple(str(d) for d in parts.doms),
            relax_domain_level=parts.relax,
            null_domain=str(tree.online_cpus - parts.balanced),
            dyn4=dyn4,
        ),
        isolated_cpus=str(isolated_cpus(tree)) if tree.era.v2 else None,
        domains=_domains(tree, domain_era) if domains else None,
    )


def render_report(
    fs: CpusetFS, *, domains: bool = False, domain_era: str | None = None, fmt: str = "text"
) -> str:
    """The tree, the partitions and, with *domains*, the domain dump of those partitions."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")
    facts = report_facts(fs, domains, domain_era)
    if fmt == "json":
        return json.dumps(asdict(facts), indent=2) + "\n"
    return _text(facts)


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [
        "  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    ]


def _text(facts: ReportFacts) -> str:
    lines = [
        f"cpusets (era {facts.era}; {facts.machine}; online CPUs {facts.online_cpus};"
        f" mounted at {facts.mount})"
    ]
    v2 = facts.isolated_cpus is not None
    head = ["path", "cpus", "mems"] + (["effective", "partition"] if v2 else ["flags"]) + ["tasks"]
    table = [head]
    for r in facts.cpusets:
        tasks = ",".join(str(p) for p in r.tasks) or "-"
        extra = [r.effective_cpus, r.partition or "-"] if v2 else [",".join(r.flags) or "-"]
        table.append([r.path, r.cpus or "-", r.mems or "-", *extra, tasks])
    lines += _table(table)
    lines += _partition_lines(facts)
    if facts.domains is not None:
        lines.append(f"sched domains (builder era {facts.domains.era})")
        lines += facts.domains.text.rstrip("\n").split("\n")
        count = len(facts.domains.errors)
        lines.append(f"debug errors: {count or 'none'}")
    return "\n".join(lines) + "\n"


def _partition_lines(facts: ReportFacts) -> list[str]:
    parts = facts.partitions
    doms = " ".join("{" + d + "}" for d in parts.doms) or "(none)"
    lines = [f"sched-domain partitions (generation {parts.generation})", f"  {doms}"]
    if any(level != -1 for level in parts.relax_domain_level):
        lines.append(f"  relax_domain_level: {' '.join(map(str, parts.relax_domain_level))}")
    if parts.dyn4 is not None:
        pspan, cspan = parts.dyn4
        lines.append(f"  last partition_sched_domains(pspan={pspan or '-'}, cspan={cspan or '-'})")
    lines.append(f"  CPUs in no partition (NULL domain): {parts.null_domain or 'none'}")
    if facts.isolated_cpus is not None:
        lines.append(f"  cpuset.cpus.isolated: {facts.isolated_cpus or 'none'}")
    return lines


@dataclass(frozen=True, slots=True)
class CpusetRun:
    """What ``schedsim cpuset`` prints: the failing commands (stderr) and the report (stdout)."""

    stderr: str
    stdout: str
    failures: int


def run_cpuset_script(
    machine: Machine,
    script: str,
    *,
    era: str = "v1",
    name: str | None = None,
    domains: bool = False,
    domain_era: str | None = None,
    fmt: str = "text",
) -> CpusetRun:
    """Run *script* on a fresh hierarchy of *machine* and render the report.

    ValueError for an unknown era, domain era or format (checked before the
    script runs); refused writes are not errors here, as in a shell.
    """
    cpuset_era = era_of(era)
    if domain_era is not None and domain_era not in cpuset_era.domain_eras:
        raise ValueError(
            f"domain era {domain_era!r} does not go with cpuset era {era!r} "
            f"(use one of {', '.join(cpuset_era.domain_eras)})"
        )
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")
    fs = CpusetFS(machine, era=era)
    result = run_shell(fs, script, name=name)
    report = render_report(fs, domains=domains, domain_era=domain_era, fmt=fmt)
    return CpusetRun(
        stderr="".join(o.stderr for o in result.failures),
        stdout=report,
        failures=len(result.failures),
    )
