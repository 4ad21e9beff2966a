"""The schedsim command line (``schedsim ...`` and ``python runner.py ...`` are the same).

Only argument handling and output live here; every decision is made in
topology/, cpuset/ or actors/.  Bad input never gives a traceback: one line on
stderr and exit status 2.

``schedsim topo`` prints the sched domains the kernel of an era would build
for a machine (and optional partitions), in the kernel's own SCHED_DEBUG
printout or as JSON; exit status 1 when the debug checks report errors.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from cpuset import ERAS as CPUSET_ERAS
from cpuset.report import FORMATS as CPUSET_FORMATS
from cpuset.report import run_cpuset_script
from topology import CpuMask, MaskParseError
from topology.debug import sched_domain_debug
from topology.domains import DEFAULT_ERA, ERAS, DomainAttr, PartitionError, build_sched_domains
from topology.machine import Machine, MachineError
from topology.presets import DEFAULT_MACHINE, PRESETS, load_machine
from topology.printout import FORMATS
from topology.sd_sysctl import build_as_dict

EXIT_USAGE = 2
EXIT_DOMAIN_ERRORS = 1
TOPO_FORMATS = ("dmesg", *FORMATS, "json")


class UsageError(Exception):
    """Bad input from the user: reported as one line, exit 2."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line (no usage dump)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _list_presets() -> int:
    width = max(len(n) for n in PRESETS)
    for name, (text, description) in PRESETS.items():
        default = " (default)" if name == DEFAULT_MACHINE else ""
        print(f"{name:<{width}}  {description}{default}\n{'':<{width}}  {text}")
    return 0


def _machine(args: argparse.Namespace) -> Machine:
    if args.lscpu is not None:
        from topology.sources import from_lscpu

        with open(args.lscpu, encoding="utf-8") as f:
            return from_lscpu(f.read(), source=args.lscpu)
    if args.sysfs is not None:
        from topology.sources import from_sysfs

        return from_sysfs(args.sysfs)
    return load_machine(args.machine)


def _cpus(machine: Machine, wanted: list[int] | None) -> list[int] | None:
    if wanted is None:
        return None
    for cpu in wanted:
        if not 0 <= cpu < machine.nr_cpus:
            raise UsageError(f"--cpu {cpu}: {machine.name} has CPUs 0-{machine.nr_cpus - 1}")
    return wanted


def cmd_topo(args: argparse.Namespace) -> int:
    if args.list:
        return _list_presets()
    machine = _machine(args)
    parts = None
    if args.partition:
        parts = [CpuMask.parse(text, nbits=machine.nr_cpus) for text in args.partition]
    attrs = [DomainAttr(args.relax_domain_level)] * (1 if parts is None else len(parts))
    cpus = _cpus(machine, args.cpu)
    build = build_sched_domains(machine, parts, era=args.era, attrs=attrs)
    fmt = None if args.format in ("dmesg", "json") else args.format
    report = sched_domain_debug(build, fmt=fmt, cpus=cpus)
    if args.format == "json":
        print(json.dumps(build_as_dict(build, report, cpus), indent=2))
    else:
        shown = ", ".join(str(p) for p in build.partitions) or "none"
        print(f"{machine.summary()}; era {build.era}; partitions {shown}")
        sys.stdout.write(report.text)
    if report.errors:
        print(f"schedsim topo: {len(report.errors)} domain check errors", file=sys.stderr)
        return EXIT_DOMAIN_ERRORS
    return 0


def _add_topo(sub: argparse._SubParsersAction[_Parser]) -> None:
    topo = sub.add_parser("topo", help="show the sched domains of a machine")
    source = topo.add_mutually_exclusive_group()
    source.add_argument(
        "--machine", default=DEFAULT_MACHINE, help="preset, synthetic string or path"
    )
    source.add_argument("--lscpu", metavar="FILE", help="machine from `lscpu -p` output")
    source.add_argument("--sysfs", metavar="DIR", help="machine from a sysfs snapshot")
    topo.add_argument("--era", choices=ERAS, default=DEFAULT_ERA, help="domain builder era")
    topo.add_argument(
        "--partition",
        action="append",
        metavar="CPULIST",
        help="a sched-domain partition (repeatable; default: all CPUs)",
    )
    topo.add_argument(
        "--relax-domain-level",
        type=int,
        default=-1,
        metavar="N",
        help="relax_domain_level for every partition (default -1: none)",
    )
    topo.add_argument("--format", choices=TOPO_FORMATS, default="dmesg", help="printout")
    topo.add_argument("--cpu", type=int, action="append", metavar="N", help="only CPU N")
    topo.add_argument("--list", action="store_true", help="list the machine presets")
    topo.set_defaults(func=cmd_topo)


def cmd_cpuset(args: argparse.Namespace) -> int:
    """Exit 0 when the script ran (refused writes included, as in a shell); 2 on bad input."""
    machine = load_machine(args.machine)
    if args.script == "-":
        text, name = sys.stdin.read(), None
    else:
        try:
            text, name = Path(args.script).read_text(), args.script
        except OSError as exc:
            raise UsageError(f"cannot read {args.script}: {exc.strerror}") from None
    try:
        run = run_cpuset_script(
            machine,
            text,
            era=args.era,
            name=name,
            domains=args.domains,
            domain_era=args.domain_era,
            fmt=args.format,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    sys.stderr.write(run.stderr)
    sys.stdout.write(run.stdout)
    return 0


def _add_cpuset(sub: argparse._SubParsersAction[_Parser]) -> None:
    p = sub.add_parser(
        "cpuset",
        help="run a /dev/cpuset admin script; show the cpusets, partitions and domains",
        description=(
            "Run SCRIPT.sh (or - for stdin) as a shell would against a fresh cpuset "
            "hierarchy of --machine; print the failing commands like bash does (stderr), "
            "then the tree, the sched-domain partitions and, with --domains, the domains."
        ),
    )
    p.add_argument("--machine", default=DEFAULT_MACHINE, help="preset, synthetic string or path")
    p.add_argument("--era", default="v1", choices=list(CPUSET_ERAS), help="cpuset generation")
    p.add_argument(
        "--domain-era",
        default=None,
        help="sched-domain builder era for --domains (2.6.14 cpusets: 2.6.14 or 2.6.13)",
    )
    p.add_argument("--domains", action="store_true", help="build and dump the sched domains")
    p.add_argument("--format", default="text", choices=list(CPUSET_FORMATS), help="report format")
    p.add_argument("script", help="the script to run, or - for standard input")
    p.set_defaults(func=cmd_cpuset)


def build_parser() -> _Parser:
    parser = _Parser(prog="schedsim", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    _add_topo(sub)
    _add_cpuset(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    words = list(sys.argv[1:] if argv is None else argv)
    known = ("topo", "cpuset")
    command = f"schedsim {words[0]}" if words and words[0] in known else "schedsim"
    try:
        args = parser.parse_args(words)
        code: int = args.func(args)
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_DOMAIN_ERRORS
    except (UsageError, MachineError, MaskParseError, PartitionError, OSError) as exc:
        print(f"{command}: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_USAGE
    return code


if __name__ == "__main__":
    sys.exit(main())
