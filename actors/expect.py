"""Checking a scenario's ``[[expect]]`` tables against a finished run.

`check_expectations` turns each `Expectation` (actors/scenario.py) into an
`ExpectOutcome`: passed or not, and one line saying what was measured.  It
only reads the `SchedResult`; nothing here runs or changes a simulation.

Kinds (the args are those `actors.scenario` stores):

* ``ran_only_on {task | cpuset, cpus}`` -- every CPU the task(s) or the
  cpuset's tasks ran on lies in *cpus* (DESIGN.md invariant 2 seen from the
  outside; CS-CPU rules).  A group name ``hog`` stands for its instances
  ``hog.0``, ``hog.1``... and their fork children ``hog.0+17``; an instance
  ``hog.0`` for itself and its children; a cpuset is its own path only (its
  tasks' cpuset when they ran), not its descendants.  Nothing that ran is a
  failure: an expectation about a task that never ran shows nothing;
* ``imbalance_below {value, after_ns}`` -- the mean imbalance score of the
  samples taken at or after *after_ns* is below *value*;
* ``no_violation {value}`` -- true: the checker found nothing; false: it
  found a violation (a scenario that shows a historic bug);
* ``counter {name, op, value}`` -- a `CpuStats` counter summed over CPUs;
* ``converged_by {by_ns}`` -- the score reached 0 and stayed there by *by_ns*.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from actors.scenario import COUNTERS, Expectation
from actors.sched import SchedResult
from topology import CpuMask

T = TypeVar("T")

__all__ = ["COUNTERS", "ExpectOutcome", "check_expectations", "task_matches"]


_OPS: Mapping[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}


@dataclass(frozen=True, slots=True)
class ExpectOutcome:
    """One expectation, checked: *detail* says what the run showed."""

    expectation: Expectation
    ok: bool
    detail: str


def check_expectations(expects: Iterable[Expectation], result: SchedResult) -> list[ExpectOutcome]:
    """Each expectation of *expects* checked against *result*, in file order."""
    return [_check(expect, result) for expect in expects]


def _check(expect: Expectation, result: SchedResult) -> ExpectOutcome:
    check = _CHECKS.get(expect.kind)
    if check is None:
        return ExpectOutcome(expect, False, f"unknown expectation kind {expect.kind!r}")
    ok, detail = check(dict(expect.args), result)
    return ExpectOutcome(expect, ok, detail)


def _arg(args: dict[str, object], key: str, kind: type[T]) -> T:
    """*args[key]* as a *kind* (an int stands for a float: TOML ``value = 0``)."""
    value = args[key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind):
        raise TypeError(f"expectation argument {key}={value!r} is not a {kind.__name__}")
    return value


def task_matches(ref: str, name: str) -> bool:
    """Whether task *name* is *ref*: the group, an instance, or a fork child of either."""
    return name == ref or name.startswith((f"{ref}.", f"{ref}+"))


def _ran_only_on(args: dict[str, object], result: SchedResult) -> tuple[bool, str]:
    allowed = _arg(args, "cpus", CpuMask)
    stats = result.statistics
    if "task" in args:
        ref = str(args["task"])
        ran = {name: mask for name, mask in stats.ran_on_task.items() if task_matches(ref, name)}
        subject = f"task {ref}"
    else:
        ref = str(args["cpuset"])
        ran = {ref: stats.ran_on[ref]} if ref in stats.ran_on else {}
        subject = f"cpuset {ref}"
    if not ran:
        return False, f"{subject} never ran"
    union = CpuMask()
    for mask in ran.values():
        union |= mask
    outside = {name: mask - allowed for name, mask in ran.items() if not mask <= allowed}
    if outside:
        name, extra = next(iter(outside.items()))
        return False, f"{name} ran on CPU(s) {extra}, outside {allowed}"
    return True, f"{subject} ran on {union} (within {allowed})"


def _imbalance_below(args: dict[str, object], result: SchedResult) -> tuple[bool, str]:
    value, after_ns = _arg(args, "value", float), _arg(args, "after_ns", int)
    stats = result.statistics
    count = sum(1 for when, _ in stats.samples if when >= after_ns)
    if count == 0:
        return False, f"no imbalance sample at or after {after_ns} ns"
    mean = stats.imbalance_after(after_ns)
    sign = "<" if mean < value else ">="
    return mean < value, f"mean score {mean:.3f} over {count} samples {sign} {value:g}"


def _no_violation(args: dict[str, object], result: SchedResult) -> tuple[bool, str]:
    error = result.error
    found = "no violation" if error is None else f"found: {error}"
    return (error is None) == args["value"], found


def _counter(args: dict[str, object], result: SchedResult) -> tuple[bool, str]:
    name, op, value = str(args["name"]), str(args["op"]), _arg(args, "value", float)
    if name not in COUNTERS:
        return False, f"unknown counter {name!r} (known: {', '.join(COUNTERS)})"
    total = result.statistics.total(name)
    return _OPS[op](total, value), f"{name} = {total} (expected {op} {value:g})"


def _converged_by(args: dict[str, object], result: SchedResult) -> tuple[bool, str]:
    by_ns = _arg(args, "by_ns", int)
    at = result.statistics.converged_at_ns
    if at is None:
        final = result.statistics.imbalance_final
        return False, f"never converged (final score {final})"
    return at <= by_ns, f"converged at {at / 1e6:g} ms"


_Check = Callable[[dict[str, object], SchedResult], tuple[bool, str]]
_CHECKS: Mapping[str, _Check] = {
    "ran_only_on": _ran_only_on,
    "imbalance_below": _imbalance_below,
    "no_violation": _no_violation,
    "counter": _counter,
    "converged_by": _converged_by,
}
