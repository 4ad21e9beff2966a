"""hwloc-style synthetic topology strings and named distance rules.

``"node:4 core:2 pu:2"`` is four NUMA nodes of two cores of two threads
(16 CPUs); ``"package:2 core:8 pu:2"`` is two sockets on one node.  Levels
(any case): node/numa, package/pkg/socket, core, pu/thread; each at most once,
core above pu, a missing level counts 1.  A machine without a node level has
one node, as in hwloc.  An optional ``distances=`` token gives the SLIT, either
as rows (``10,20;20,10``) or as a named rule:

* ``uniform[:D]``   every remote node at D (default 20);
* ``ring[:STEP]``   10 + STEP per hop around a ring (default 10);
* ``tree[:FANOUT]`` an SGI NUMAlink-style router tree: 10 + 10 x the number of
  router levels between the nodes, FANOUT nodes per router (default 2).

Errors name the text and the 1-based character position.  Strings describing
more than NR_CPUS_MAX CPUs or MAX_NUMNODES nodes are refused, as a kernel built
with the largest configuration would refuse the machine.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from topology.machine import LOCAL_DISTANCE, CpuTopo, Machine, MachineError, slit_problem

__all__ = ["MAX_NUMNODES", "NR_CPUS_MAX", "distance_rule", "parse_distances", "parse_synthetic"]

_LEVEL_NAMES = {
    "node": "node",
    "numa": "node",
    "numanode": "node",
    "package": "package",
    "pkg": "package",
    "socket": "package",
    "core": "core",
    "pu": "pu",
    "thread": "pu",
}
_TOKEN = re.compile(r"\S+")
_ROW = re.compile(r"\s*[0-9]+\s*(,\s*[0-9]+\s*)*", re.ASCII)


NR_CPUS_MAX = 8192
"""Largest CONFIG_NR_CPUS the kernel offers (x86 MAXSMP); bigger strings are refused."""
MAX_NUMNODES = 1024
"""1 << CONFIG_NODES_SHIFT at its maximum (10)."""


def _fail(text: str, pos: int, what: str) -> MachineError:
    return MachineError(f"synthetic topology {text!r}, column {pos + 1}: {what}")


def parse_synthetic(text: str, name: str | None = None) -> Machine:
    """Build a `Machine` from a synthetic string (see the module docstring)."""
    counts, where, dist_spec = _tokens(text)
    _check_order(text, where)
    levels = _canonical_levels(list(where))
    total = 1
    for n in counts.values():
        total *= n
    if total > NR_CPUS_MAX:
        raise _fail(text, 0, f"{total} CPUs is more than NR_CPUS={NR_CPUS_MAX}")
    if counts.get("node", 1) > MAX_NUMNODES:
        raise _fail(text, where["node"], f"more than MAX_NUMNODES={MAX_NUMNODES} nodes")
    cpus = _expand(levels, counts)
    nr_nodes = 1 + max(c.node for c in cpus)
    if dist_spec is None:
        table = distance_rule("uniform", nr_nodes)
    else:
        table = _distances_at(text, dist_spec, nr_nodes)
    return Machine(cpus=cpus, distances=table, name=name or " ".join(text.split()))


def _tokens(text: str) -> tuple[dict[str, int], dict[str, int], tuple[str, int] | None]:
    """(count per level, column of each level in given order, distances body and column)."""
    counts: dict[str, int] = {}
    where: dict[str, int] = {}
    dist_spec: tuple[str, int] | None = None
    for m in _TOKEN.finditer(text):
        tok, pos = m.group(), m.start()
        if tok.lower().startswith("distances="):
            if dist_spec is not None:
                raise _fail(text, pos, "distances= given twice")
            dist_spec = (tok[len("distances=") :], pos + len("distances="))
            continue
        level, sep, num = tok.partition(":")
        key = _LEVEL_NAMES.get(level.lower())
        if key is None or not sep:
            raise _fail(
                text,
                pos,
                f"unknown level {tok!r} (use node/numa, package/pkg/socket, core, pu/thread"
                " as LEVEL:COUNT)",
            )
        if key in counts:
            raise _fail(text, pos, f"level {key!r} given twice")
        if not (num.isascii() and num.isdigit()) or int(num) < 1:
            raise _fail(text, pos + len(level) + 1, f"count {num!r} must be a positive integer")
        counts[key] = int(num)
        where[key] = pos
    if not counts:
        raise _fail(text, 0, "no levels given")
    return counts, where, dist_spec


def _check_order(text: str, where: dict[str, int]) -> None:
    """core above pu, node and package above both; the error points at the misplaced level."""
    for lower, uppers in (("pu", ("node", "package", "core")), ("core", ("node", "package"))):
        for upper in uppers:
            if lower in where and upper in where and where[upper] > where[lower]:
                raise _fail(text, where[upper], f"level {upper!r} must come before {lower!r}")


def _canonical_levels(order: list[str]) -> list[str]:
    """The given levels in order, with missing ones (count 1) put where they are neutral.

    A missing node level goes on top (one node, as hwloc); a missing package goes
    just above the cores (one package per node); a missing core just above the PUs.
    """
    levels = list(order)
    if "node" not in levels:
        levels.insert(0, "node")
    if "pu" not in levels:
        levels.append("pu")
    if "core" not in levels:
        levels.insert(levels.index("pu"), "core")
    if "package" not in levels:
        levels.insert(levels.index("core"), "package")
    return levels


def _expand(levels: list[str], counts: dict[str, int]) -> tuple[CpuTopo, ...]:
    """Enumerate PUs depth-first, numbering CPUs in that order (as Linux numbers them).

    The global id of a level is the mixed-radix number of the positions of that
    level and every level above it, so ids are unique machine-wide.
    """
    radix = [counts.get(lv, 1) for lv in levels]
    total = 1
    for r in radix:
        total *= r
    cpus: list[CpuTopo] = []
    for n in range(total):
        digits: list[int] = []
        rest = n
        for r in reversed(radix):
            digits.append(rest % r)
            rest //= r
        digits.reverse()
        ids: dict[str, int] = {}
        g = 0
        for lv, r, d in zip(levels, radix, digits, strict=True):
            g = g * r + d
            ids[lv] = g
        cpus.append(
            CpuTopo(
                cpu=n, node=ids["node"], package=ids["package"], core=ids["core"], thread=digits[-1]
            )
        )
    return tuple(cpus)


def _distances_at(text: str, spec: tuple[str, int], n: int) -> tuple[tuple[int, ...], ...]:
    """The SLIT of a ``distances=`` token, checked here so errors can name its column."""
    body, pos = spec
    try:
        if body and body[0].isdigit():
            table = parse_distances(body, n)
        else:
            rule, _, arg = body.partition(":")
            if arg and not (arg.isascii() and arg.isdigit()):
                raise MachineError(f"rule argument {arg!r} must be a non-negative integer")
            table = distance_rule(rule, n, int(arg) if arg else None)
    except (MachineError, ValueError) as exc:
        raise _fail(text, pos, str(exc)) from None
    problem = slit_problem(table)
    if problem is not None:
        i, j, what = problem
        raise _fail(
            text, pos, f"distance row {i} {what}" if j is None else f"distance({i},{j}) {what}"
        )
    return table


def parse_distances(body: str, n: int) -> tuple[tuple[int, ...], ...]:
    """Rows separated by ``;``, entries by ``,``: ``10,20;20,10``."""
    rows = [r for r in body.strip().split(";") if r.strip()]
    table: list[tuple[int, ...]] = []
    for r in rows:
        if not _ROW.fullmatch(r):
            raise MachineError(f"distance row {r!r} is not a list of integers")
        table.append(tuple(int(x) for x in r.split(",")))
    if len(table) != n:
        raise MachineError(f"distance table has {len(table)} rows for {n} nodes")
    return tuple(table)


def _uniform(n: int, arg: int | None) -> Callable[[int, int], int]:
    d = 20 if arg is None else arg
    return lambda i, j: d


def _ring(n: int, arg: int | None) -> Callable[[int, int], int]:
    step = 10 if arg is None else arg
    return lambda i, j: min(255, LOCAL_DISTANCE + step * min(abs(i - j), n - abs(i - j)))


def _tree(n: int, arg: int | None) -> Callable[[int, int], int]:
    fanout = 2 if arg is None else arg
    if fanout < 2:
        raise MachineError("tree fanout must be at least 2")

    def dist(i: int, j: int) -> int:
        level = 0
        while i != j:
            i, j, level = i // fanout, j // fanout, level + 1
        return min(255, LOCAL_DISTANCE + 10 * level)

    return dist


_RULES: dict[str, Callable[[int, int | None], Callable[[int, int], int]]] = {
    "uniform": _uniform,
    "ring": _ring,
    "tree": _tree,
}


def distance_rule(rule: str, n: int, arg: int | None = None) -> tuple[tuple[int, ...], ...]:
    """The SLIT for *n* nodes under a named rule (uniform, ring, tree)."""
    make = _RULES.get(rule)
    if make is None:
        raise MachineError(f"unknown distance rule {rule!r} (known: {', '.join(_RULES)})")
    fn = make(n, arg)
    return tuple(tuple(LOCAL_DISTANCE if i == j else fn(i, j) for j in range(n)) for i in range(n))
