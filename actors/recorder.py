"""`RunTrace`: what the actors did, instant by instant, for timelines and plots.

A run records into a `RunTrace` only when one is attached (``SchedRun(...,
trace=RunTrace())``); otherwise every probe is one ``is None`` test.  The
actors append plain tuples; actors/trace.py and actors/plots.py turn them into
a Perfetto timeline and figures.  All times are virtual nanoseconds.

* ``runs``: (cpu, start_ns, end_ns, pid, name, kind, cpus_allowed bits) -- a
  task made progress on a CPU (a slice ends at every accounting point, so one
  time slice may come as several pieces);
* ``passes``: (cpu, start_ns, end_ns, kind, ((level, outcome), ...)) -- a
  balance pass and what load_balance found at each level it balanced; kind is
  "periodic", "tasklet" or "newidle";
* ``sends`` / ``arrivals``: (pid, src, dst, t_ns, reason, level) and
  (pid, cpu, t_ns) -- a task leaving a CPU (src -1: forked by the controller)
  and reaching one; the i-th send of a pid pairs with its i-th arrival;
* ``instants``: (t_ns, cpu or -1, name, args) -- tasklet refusals,
  SD_SERIALIZE skips, domain rebuilds and retirements, rebinds, exits;
* ``nr_running``: (t_ns, cpu, nr) -- each change of a CPU's runqueue length.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["RunTrace"]


@dataclass(slots=True)
class RunTrace:
    runs: list[tuple[int, int, int, int, str, str, int]] = field(default_factory=list)
    passes: list[tuple[int, int, int, str, tuple[tuple[str, str], ...]]] = field(
        default_factory=list
    )
    sends: list[tuple[int, int, int, int, str, str]] = field(default_factory=list)
    arrivals: list[tuple[int, int, int]] = field(default_factory=list)
    instants: list[tuple[int, int, str, dict[str, object]]] = field(default_factory=list)
    nr_running: list[tuple[int, int, int]] = field(default_factory=list)

    def instant(self, t_ns: int, cpu: int, what: str, /, **args: object) -> None:
        self.instants.append((t_ns, cpu, what, dict(sorted(args.items()))))
