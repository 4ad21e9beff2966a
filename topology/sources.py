"""Machines read from a real system: ``lscpu -p`` output and a sysfs snapshot.

Models what the kernel exports under /sys/devices/system (drivers/base/topology.c:
``cpuN/topology/{core_id, physical_package_id, core_cpus_list (thread_siblings_list),
package_cpus_list (core_siblings_list)}``; drivers/base/node.c: ``nodeN/cpulist``,
``nodeN/distance``) and what util-linux prints from it with ``lscpu -p``
(sys-utils/lscpu.c: print_parsable).

Design: both readers reduce their input to one `_Seen` record per CPU (its
number, raw node id, and hashable *keys* for its package and core) and
`_assemble` turns those into a `Machine`:

* CPUs must be numbered 0..n-1; a gap (an offline CPU) is an error naming it;
* package and core ids are renumbered densely in order of first appearance, so
  sysfs ``core_id`` values, which repeat in every package, become global;
* the thread id is the CPU's ordinal among its core's CPUs (ascending);
* node ids are renumbered densely in ascending order (the SLIT is indexed
  0..n-1); the description records any renumbering.

Every error is a `MachineError` that names the input and the position: the
line number for lscpu, the file path for sysfs.  A core whose CPUs disagree on
package or node is rejected here, where the line or file can still be named
(GRP-5: topology masks at one level are equal or disjoint, and they nest).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from topology.cpumask import CpuMask, MaskParseError
from topology.machine import LOCAL_DISTANCE, CpuTopo, Machine, MachineError, slit_problem
from topology.synthetic import NR_CPUS_MAX, distance_rule

__all__ = ["from_lscpu", "from_lscpu_file", "from_sysfs"]

_Key = tuple[object, ...]
_NUMBER = re.compile(r"[0-9]+", re.ASCII)
_LSCPU_DEFAULT = ("cpu", "core", "socket", "node")
"""Column order of ``lscpu -p`` when the text has no header line."""
_LSCPU_NAMES = frozenset(
    {
        *("cpu", "core", "socket", "node", "book", "drawer", "cluster", "cache"),
        *("polarization", "address", "configured", "online", "mhz", "maxmhz", "minmhz"),
        *("scalmhz%", "bogomips", "modelname"),
    }
)
"""Column names lscpu can print (any case): a comment line made of them is the header."""


@dataclass(frozen=True, slots=True)
class _Seen:
    """One CPU as read, before ids are made dense; *where* locates it for errors."""

    cpu: int
    node: int
    package: _Key
    core: _Key
    where: str


# -- lscpu -p -----------------------------------------------------------------


def from_lscpu(text: str, source: str = "<lscpu>") -> Machine:
    """A machine from ``lscpu -p`` (or ``lscpu -p=CPU,CORE,SOCKET,NODE``) output.

    The header comment (``# CPU,Core,Socket,Node,,L1d,L1i,L2,L3``) locates the
    columns; without one the order is CPU,Core,Socket,Node.  No Node column:
    node 0.  No Socket column: one package per node.  No Core column: every CPU
    is its own core.
    """
    header: dict[str, int] | None = None
    seen: list[_Seen] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line.startswith("#"):
            if not seen:
                header = _lscpu_header(line, f"{source}, line {lineno}") or header
        elif line:
            seen.append(_lscpu_row(line, header, f"{source}, line {lineno}"))
    if not seen:
        raise MachineError(f"{source}: no CPU lines (expected the output of `lscpu -p`)")
    node_ids = sorted({s.node for s in seen})
    # SIMPLIFIED: lscpu prints no node distances; distinct nodes are all at 20 (REMOTE_DISTANCE).
    table = distance_rule("uniform", len(node_ids))
    return _assemble(seen, node_ids, table, source, "from lscpu -p, distances assumed 20")


def from_lscpu_file(path: Path | str) -> Machine:
    """`from_lscpu` on the contents of a file; unreadable files are a `MachineError`."""
    return from_lscpu(_read(Path(path)), source=str(path))


def _lscpu_header(line: str, where: str) -> dict[str, int] | None:
    """Column name -> field index, if *line* is the header comment (else None)."""
    fields = [f.strip().lower() for f in line.lstrip("#").split(",")]
    if not _LSCPU_NAMES.intersection(fields):
        return None
    if "cpu" not in fields:
        raise MachineError(f"{where}: the header names no CPU column")
    columns: dict[str, int] = {}
    for i, name in enumerate(fields):
        columns.setdefault(name, i)
    return columns


def _lscpu_row(line: str, header: dict[str, int] | None, where: str) -> _Seen:
    """One data line: CPU number, node, and package/core keys."""
    fields = [f.strip() for f in line.split(",")]
    columns = header or {n: i for i, n in enumerate(_LSCPU_DEFAULT[: len(fields)])}

    def field(name: str) -> str | None:
        i = columns.get(name)
        if i is None:
            return None
        if i >= len(fields):
            raise MachineError(f"{where}: {len(fields)} fields, but {name} is field {i + 1}")
        return fields[i]

    cpu = _number(field("cpu"), "CPU", where)
    if (field("online") or "").upper() == "N":
        raise MachineError(f"{where}: CPU {cpu} is offline; schedsim needs every CPU online")
    node_text = field("node")
    node = 0 if node_text in (None, "", "-") else _number(node_text, "Node", where)
    socket = field("socket")
    package: _Key = (
        ("node", node) if socket is None else ("socket", _number(socket, "Socket", where))
    )
    core = field("core")
    core_key: _Key = ("cpu", cpu) if core is None else (*package, _number(core, "Core", where))
    return _Seen(cpu=cpu, node=node, package=package, core=core_key, where=where)


def _number(text: str | None, column: str, where: str) -> int:
    if text is None or not _NUMBER.fullmatch(text):
        hint = " (an offline CPU listed by `lscpu --all`?)" if text in ("", "-") else ""
        raise MachineError(f"{where}: {column} value {text!r} is not a number{hint}")
    return int(text)


# -- sysfs snapshot -------------------------------------------------------------


def from_sysfs(path: Path | str) -> Machine:
    """A machine from a copy of /sys/devices/system (that dir, or /, /sys or /sys/devices).

    Node ids come from the ``nodeN`` directories; a CPU in no node's cpulist is
    on node 0; with no node directory at all the machine has one node.
    """
    given = Path(path)
    root = _system_dir(given)
    cpu_dirs = _numbered(root / "cpu", "cpu")
    if not cpu_dirs:
        raise MachineError(f"{root / 'cpu'}: no cpuN directories")
    _check_numbering([(n, str(d)) for n, d in cpu_dirs], str(given))
    _check_online(root / "cpu", cpu_dirs)
    node_dirs = _numbered(root / "node", "node")
    node_of = _node_cpus(node_dirs)
    node_ids = [n for n, _ in node_dirs] or [0]
    table = _sysfs_distances(node_dirs)
    cores: dict[int, tuple[CpuMask, Path]] = {}
    packages: dict[int, tuple[CpuMask, Path]] = {}
    seen: list[_Seen] = []
    for num, cpu_dir in cpu_dirs:
        node = node_of.get(num, 0)
        if node not in node_ids:
            raise MachineError(
                f"{cpu_dir}: CPU {num} is in no node's cpulist and there is no node0"
            )
        seen.append(_sysfs_cpu(num, cpu_dir / "topology", node, cores, packages))
    present = CpuMask.of(n for n, _ in cpu_dirs)
    _check_lists(cores, present, "thread siblings")
    _check_lists(packages, present, "package")
    return _assemble(seen, node_ids, table, str(given), "from a sysfs snapshot")


def _system_dir(path: Path) -> Path:
    if not path.is_dir():
        raise MachineError(f"{path}: not a directory (expected a copy of /sys/devices/system)")
    for below in ("", "system", "devices/system", "sys/devices/system"):
        if (path / below / "cpu").is_dir():
            return path / below
    raise MachineError(f"{path}: no cpu/ here nor under [[sys/]devices/]system")


def _numbered(directory: Path, prefix: str) -> list[tuple[int, Path]]:
    """The ``prefixN`` subdirectories, by ascending N (never in directory order)."""
    if not directory.is_dir():
        return []
    pattern = re.compile(prefix + r"(0|[1-9][0-9]*)", re.ASCII)
    found = [
        (int(m.group(1)), p)
        for p in directory.iterdir()
        if (m := pattern.fullmatch(p.name)) and p.is_dir()
    ]
    return sorted(found)


def _check_online(cpu_root: Path, cpu_dirs: list[tuple[int, Path]]) -> None:
    """An offline CPU is refused, naming the file that says so."""
    online_file = cpu_root / "online"
    online = _read_mask(online_file) if online_file.is_file() else None
    for num, cpu_dir in cpu_dirs:
        if online is not None and num not in online:
            raise MachineError(
                f"{online_file}: CPU {num} is offline; schedsim needs every CPU online"
            )
        if _read_int(cpu_dir / "online") == 0:
            raise MachineError(f"{cpu_dir / 'online'}: CPU {num} is offline")


def _node_cpus(node_dirs: list[tuple[int, Path]]) -> dict[int, int]:
    """CPU -> raw node id, from ``nodeN/cpulist`` (or the hex ``nodeN/cpumap``)."""
    node_of: dict[int, int] = {}
    for node, node_dir in node_dirs:
        found = _first_mask(node_dir, ("cpulist", "cpumap"))
        if found is None:
            raise MachineError(f"{node_dir}: has neither cpulist nor cpumap")
        mask, file = found
        for cpu in mask:
            if cpu in node_of:
                raise MachineError(f"{file}: CPU {cpu} is also on node {node_of[cpu]}")
            node_of[cpu] = node
    return node_of


def _sysfs_distances(node_dirs: list[tuple[int, Path]]) -> tuple[tuple[int, ...], ...]:
    """The SLIT from ``nodeN/distance`` (one row per node, entries in node order)."""
    if not node_dirs:
        return ((LOCAL_DISTANCE,),)
    files = [d / "distance" for _, d in node_dirs]
    if not any(f.is_file() for f in files):
        # SIMPLIFIED: a snapshot without distance files gets distinct nodes at 20.
        return distance_rule("uniform", len(files))
    rows: list[tuple[int, ...]] = []
    for f in files:
        words = _read(f).split() if f.is_file() else None
        if words is None or not all(_NUMBER.fullmatch(w) for w in words):
            raise MachineError(f"{f}: missing or not a list of numbers")
        rows.append(tuple(int(w) for w in words))
    problem = slit_problem(rows)
    if problem is not None:
        i, j, what = problem
        entry = "the row" if j is None else f"entry {j + 1} (to node {node_dirs[j][0]})"
        raise MachineError(f"{files[i]}: {entry} {what}")
    return tuple(rows)


def _sysfs_cpu(
    num: int,
    topo: Path,
    node: int,
    cores: dict[int, tuple[CpuMask, Path]],
    packages: dict[int, tuple[CpuMask, Path]],
) -> _Seen:
    """One CPU's keys: sibling lists when present, else the ids, else one of each per CPU."""
    package: _Key = ("node", node)
    pkg_mask = _first_mask(topo, _PACKAGE_FILES)
    pkg_id = _read_int(topo / "physical_package_id")
    if pkg_mask is not None:
        packages[num] = pkg_mask
        package = ("mask", _first_cpu(pkg_mask, num))
    elif pkg_id is not None and pkg_id >= 0:
        package = ("id", pkg_id)
    core: _Key = ("cpu", num)
    core_mask = _first_mask(topo, _CORE_FILES)
    core_id = _read_int(topo / "core_id")
    if core_mask is not None:
        cores[num] = core_mask
        core = ("mask", _first_cpu(core_mask, num))
    elif core_id is not None:
        core = (*package, core_id)
    return _Seen(cpu=num, node=node, package=package, core=core, where=str(topo))


# SIMPLIFIED: die_*, cluster_* (and lscpu's Book/Drawer) levels are not read: a Machine
# has node, package, core and thread only.
_CORE_FILES = ("core_cpus_list", "thread_siblings_list", "core_cpus", "thread_siblings")
_PACKAGE_FILES = ("package_cpus_list", "core_siblings_list", "package_cpus", "core_siblings")


def _first_cpu(found: tuple[CpuMask, Path], num: int) -> int:
    mask, file = found
    if num not in mask:
        raise MachineError(f"{file}: lists {mask or 'no CPU'}, which does not hold CPU {num}")
    return mask.first()


def _check_lists(lists: dict[int, tuple[CpuMask, Path]], present: CpuMask, what: str) -> None:
    """GRP-5 on the input: every CPU of a sibling list must give that same list."""
    claims: dict[CpuMask, int] = {}
    for cpu, (mask, _) in lists.items():
        claims[mask] = claims.get(mask, 0) | (1 << cpu)
    for mask, claimants in claims.items():
        stray = CpuMask((mask.bits & present.bits) & ~claimants)
        other = next((cpu for cpu in stray if cpu in lists), None)
        if other is not None:
            other_mask, other_file = lists[other]
            file = lists[CpuMask(claimants).first()][1]
            raise MachineError(
                f"{file}: {what} list {mask} but {other_file} says {other_mask} "
                "(topology masks must be equal or disjoint, GRP-5)"
            )


def _first_mask(directory: Path, names: tuple[str, ...]) -> tuple[CpuMask, Path] | None:
    """The first of *names* that exists in *directory*, parsed (``*list`` names as cpulists)."""
    for name in names:
        file = directory / name
        if file.is_file():
            return _read_mask(file), file
    return None


def _read_mask(file: Path) -> CpuMask:
    """A sysfs mask file; bits at or above NR_CPUS_MAX are the kernel's ERANGE/EOVERFLOW."""
    text = _read(file)
    try:
        if file.name.endswith("list") or file.name == "online":
            return CpuMask.parse(text, NR_CPUS_MAX)
        return CpuMask.parse_hex(text, NR_CPUS_MAX)
    except MaskParseError as exc:
        raise MachineError(f"{file}: {exc}") from None


def _read_int(file: Path) -> int | None:
    if not file.is_file():
        return None
    text = _read(file).strip()
    if not re.fullmatch(r"-?[0-9]+", text, re.ASCII):
        raise MachineError(f"{file}: {text!r} is not an integer")
    return int(text)


def _read(file: Path) -> str:
    try:
        return file.read_text(encoding="ascii")
    except UnicodeDecodeError:
        raise MachineError(f"{file}: not ASCII text") from None
    except OSError as exc:
        raise MachineError(f"{file}: cannot read ({exc.strerror or exc})") from None


# -- assembly --------------------------------------------------------------------


def _assemble(
    seen: list[_Seen],
    node_ids: list[int],
    table: tuple[tuple[int, ...], ...],
    name: str,
    description: str,
) -> Machine:
    """Dense ids, thread ordinals and the checks that need the input's positions."""
    ordered = sorted(seen, key=lambda s: s.cpu)
    _check_numbering([(s.cpu, s.where) for s in ordered], name)
    node_index = {raw: i for i, raw in enumerate(node_ids)}
    packages: dict[_Key, int] = {}
    cores: dict[_Key, int] = {}
    first_of_core: dict[_Key, _Seen] = {}
    threads: dict[int, int] = {}
    cpus: list[CpuTopo] = []
    for s in ordered:
        _check_core(s, first_of_core.setdefault(s.core, s))
        package = packages.setdefault(s.package, len(packages))
        core = cores.setdefault(s.core, len(cores))
        thread = threads.get(core, 0)
        threads[core] = thread + 1
        cpus.append(
            CpuTopo(cpu=s.cpu, node=node_index[s.node], package=package, core=core, thread=thread)
        )
    # SIMPLIFIED: sparse node ids (0 and 8) become dense (0 and 1): the SLIT is indexed 0..n-1.
    if node_ids != list(range(len(node_ids))):
        renumbered = ", ".join(f"{raw}->{i}" for i, raw in enumerate(node_ids))
        description += f"; node ids renumbered {renumbered}"
    return Machine(cpus=tuple(cpus), distances=table, name=name, description=description)


def _check_numbering(cpus: list[tuple[int, str]], name: str) -> None:
    """(CPU, where) sorted by CPU must be 0..n-1, each once; an absent (offline) CPU is named."""
    for expected, (cpu, where) in enumerate(cpus):
        if cpu < expected:
            previous = cpus[expected - 1][1]
            raise MachineError(f"{where}: CPU {cpu} is listed twice (also {previous})")
        if cpu > expected:
            missing = expected if cpu == expected + 1 else f"{expected}-{cpu - 1}"
            raise MachineError(
                f"{where}: CPU {missing} missing before CPU {cpu} "
                f"(offline?); {name} must number its CPUs 0..n-1"
            )


def _check_core(s: _Seen, first: _Seen) -> None:
    """GRP-5: the CPUs of one core share its package and node."""
    if (s.package, s.node) != (first.package, first.node):
        raise MachineError(
            f"{s.where}: CPU {s.cpu} shares a core with CPU {first.cpu} but not its "
            f"package/node (topology masks must nest, GRP-5)"
        )
