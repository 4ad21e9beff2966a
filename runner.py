"""The schedsim command line (``schedsim ...`` and ``python runner.py ...`` are the same).

Only argument handling and output live here; every decision is made in
topology/, cpuset/ or actors/.  Bad input never gives a traceback: one line on
stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from topology import MaskParseError
from topology.machine import MachineError
from topology.presets import DEFAULT_MACHINE, PRESETS, load_machine

EXIT_USAGE = 2


class UsageError(Exception):
    """Bad input from the user: reported as one line, exit 2."""


def cmd_topo(args: argparse.Namespace) -> int:
    if args.list:
        width = max(len(n) for n in PRESETS)
        for name, (text, description) in PRESETS.items():
            default = " (default)" if name == DEFAULT_MACHINE else ""
            print(f"{name:<{width}}  {description}{default}\n{'':<{width}}  {text}")
        return 0
    machine = load_machine(args.machine)
    print(machine.summary())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="schedsim", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    topo = sub.add_parser("topo", help="show the sched domains of a machine")
    topo.add_argument("--machine", default=DEFAULT_MACHINE, help="preset, synthetic string or path")
    topo.add_argument("--list", action="store_true", help="list the machine presets")
    topo.set_defaults(func=cmd_topo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except (UsageError, MachineError, MaskParseError, OSError) as exc:
        print(f"schedsim {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return code


if __name__ == "__main__":
    sys.exit(main())
