"""Named machines, for scenarios and ``schedsim topo --list``.

Each preset is a synthetic string (topology/synthetic.py) plus a description
of the real machine class it stands for.
"""

from __future__ import annotations

from pathlib import Path

from topology.machine import Machine, MachineError
from topology.synthetic import parse_synthetic

__all__ = ["DEFAULT_MACHINE", "PRESETS", "load_machine", "preset"]

PRESETS: dict[str, tuple[str, str]] = {
    "ht-up": (
        "package:1 core:1 pu:2",
        "uniprocessor with 2 HyperThreads (a 2004 P4 desktop): one SIBLING domain",
    ),
    "smt-numa-8": (
        "node:2 core:2 pu:2 distances=10,20;20,10",
        "2 nodes x 2 cores x 2 threads: SMT -> SMP -> NUMA, every 2.6 level (seed 001)",
    ),
    "numa-2x2": (
        "node:2 core:2 pu:1 distances=10,20;20,10",
        "2 nodes x 2 CPUs: the seed-000 box on which 2.6.13 oopsed",
    ),
    "dual-socket": (
        "node:2 core:8 pu:2 distances=10,21;21,10",
        "2-socket NUMA server, 8 cores x 2 threads per socket (32 CPUs)",
    ),
    "quad-node": (
        "node:4 core:4 pu:1 distances=10,16,16,22;16,10,22,16;16,22,10,16;22,16,16,10",
        "4-node Opteron-style box with non-uniform distances (2-hop corners)",
    ),
    "sgi-altix-512": (
        "node:256 core:2 pu:1 distances=tree:2",
        "SGI Altix-style 512 CPUs on 256 nodes in a NUMAlink router tree",
    ),
}

DEFAULT_MACHINE = "smt-numa-8"


def preset(name: str) -> Machine:
    """The machine of a named preset; MachineError lists the known names."""
    entry = PRESETS.get(name)
    if entry is None:
        raise MachineError(f"unknown machine preset {name!r} (known: {', '.join(PRESETS)})")
    text, description = entry
    m = parse_synthetic(text, name=name)
    return Machine(cpus=m.cpus, distances=m.distances, name=name, description=description)


def load_machine(spec: str) -> Machine:
    """A preset name, an ``lscpu -p`` file or sysfs directory, or a synthetic string.

    An existing path wins over a synthetic string, so a file name with a ':'
    in it still loads.
    """
    if spec in PRESETS:
        return preset(spec)
    path = Path(spec)
    if path.is_dir():
        from topology.sources import from_sysfs

        return from_sysfs(path)
    if path.is_file():
        from topology.sources import from_lscpu_file

        return from_lscpu_file(path)
    if ":" in spec:
        return parse_synthetic(spec)
    raise MachineError(
        f"machine {spec!r} is neither a preset ({', '.join(PRESETS)}), "
        "a synthetic string like 'node:2 core:4 pu:2', nor an existing file or directory"
    )
