"""The visual formats of sched_domain_debug (SPEC §1.3) and a printk model.

Four formats, chosen by era or explicitly:

* ``dmesg-2.6``    2.6.11-2.6.22: hex masks (cpumask_scnprintf, NR_CPUS wide);
  keeps printing after an error (kernel/sched.c 2.6.14 sched_domain_debug);
* ``dmesg-2.6.23`` 2.6.23/24: the same lines, but the group loop ``break``s
  after a NULL/no-power/empty/repeated group (sched_domain_debug_one);
* ``dmesg-2.6.32`` 2.6.32-4.x: cpulists, ``level <NAME>`` and
  `` (cpu_power = N)`` when N != 1024; the repeated-CPUs check skips
  overlapping (NUMA) domains as 3.x/4.x do;
* ``dmesg-modern`` 6.x: ``domain-L: span=… level=…`` and
  ``groups: 0:{ span=0 }, …`` (kernel/sched/topology.c sched_domain_debug_one).

`Printk` reproduces how the lines join: up to 2.6.x a message without a
newline simply continues on the same line (2.6.14's ``!SD_LOAD_BALANCE
domain has parent`` has none); since the 3.x record log, a message with a
level always starts a new line, while KERN_CONT continues the open one.
"""

from __future__ import annotations

from dataclasses import dataclass

from topology.cpumask import CpuMask

__all__ = ["ERA_FORMAT", "FORMATS", "DmesgFormat", "Printk", "nr_cpus_bits", "render_mask"]


@dataclass(frozen=True, slots=True)
class DmesgFormat:
    """What distinguishes one kernel generation's printout."""

    name: str
    header: str  # after "CPU%d attaching "
    hex_masks: bool
    level_names: bool
    keeps_printing: bool  # 2.6.14: no break after an error in the group loop
    checks_power: bool  # "domain->cpu_power not set" (2.6-3.x)
    overlap_skips_repeat: bool  # 3.x+: no "repeated CPUs" check on overlapping domains
    modern: bool  # domain-L/span=/groups id:{ } syntax, flag and child checks
    records: bool  # printk record semantics (a level starts a new line)


FORMATS = {
    f.name: f
    for f in (
        DmesgFormat("dmesg-2.6", "sched-domain:", True, False, True, True, False, False, False),
        DmesgFormat("dmesg-2.6.23", "sched-domain:", True, False, False, True, False, False, False),
        DmesgFormat("dmesg-2.6.32", "sched-domain:", False, True, False, True, True, False, False),
        DmesgFormat(
            "dmesg-modern", "sched-domain(s):", False, True, False, False, True, True, True
        ),
    )
}

ERA_FORMAT = {
    "2.6.13": "dmesg-2.6",
    "2.6.14": "dmesg-2.6",
    "2.6.20": "dmesg-2.6",
    "modern": "dmesg-modern",
}


def nr_cpus_bits(nr_cpus: int) -> int:
    """NR_CPUS as the hex printout sees it: the machine's CPUs rounded up to 32 bits."""
    return max(32, -(-nr_cpus // 32) * 32)


class Printk:
    """Accumulates printk output as dmesg shows it (levels stripped)."""

    # SIMPLIFIED: no timestamps or level prefixes; "records" models only the 3.x+
    # rule that a message with a level ends an unterminated line.

    def __init__(self, records: bool) -> None:
        self.records = records
        self.parts: list[str] = []
        self.open = False

    def log(self, text: str) -> None:
        """printk(KERN_DEBUG/KERN_ERR ...): a new message."""
        if self.records and self.open:
            self._write("\n")
        self._write(text)

    def cont(self, text: str) -> None:
        """printk(KERN_CONT ...) or a level-less printk: continue the current line."""
        self._write(text)

    def _write(self, text: str) -> None:
        if text:
            self.parts.append(text)
            self.open = not text.endswith("\n")

    def text(self) -> str:
        return "".join(self.parts)


def render_mask(mask: CpuMask, fmt: DmesgFormat, nbits: int) -> str:
    """cpumask_scnprintf (hex, *nbits* wide) or cpulist_scnprintf / %*pbl."""
    return mask.hex(nbits) if fmt.hex_masks else str(mask)
