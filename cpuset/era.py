"""Cpuset eras: which rules and files a kernel generation had.

Four generations of the cpuset code are modelled, each read in source:

* ``"2.6.14"`` -- kernel/cpuset.c with its own ``cpuset`` filesystem (bare
  file names, no cgroups).  ``cpu_exclusive`` drives sched-domain partitions
  through ``update_cpu_domains`` (DYN-6); no ``sched_load_balance``; no hotplug
  hook (CS-HP-1); flags parsed with ``simple_strtoul``; tasks keep their
  affinity when ``cpus`` is rewritten (CS-CPU-1).
* ``"2.6.24"`` -- kernel/cpuset.c as a cgroup subsystem: ``sched_load_balance``
  and the union-find ``rebuild_sched_domains`` (P24-2); the top cpuset's masks
  are read-only; empty masks allowed on task-less cpusets; hotplug shrinks the
  masks (CS-HP-2) and the scheduler rebuilds one default domain (DYN-5).
* ``"v1"`` -- kernel/cgroup/cpuset-v1.c + cpuset.c (6.18) on the legacy
  hierarchy: effective masks equal the configured ones (CS-EFF-2), writes of
  CPUs outside the top cpuset are EINVAL (CS-VAL-8), flags parsed with
  ``kstrtoull``, hotplug moves the tasks of emptied cpusets up (CS-HP-3).
* ``"v2"`` -- kernel/cgroup/cpuset.c (6.18) on the unified hierarchy:
  ``cpuset.*`` files, effective masks inherited (CS-EFF-1), partitions
  (CS-PART-1..3), hotplug only changes effective masks (CS-HP-4).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["DOMAIN_ERAS", "ERAS", "Era", "era_of"]

HotplugPolicy = Literal["none", "guarantee", "move_tasks", "effective"]
PartitionRule = Literal["dyn6", "union_find", "rb_v1", "rb_v2"]


@dataclass(frozen=True, slots=True)
class Era:
    """The behaviour switches of one cpuset generation (see the module docstring)."""

    name: str
    v2: bool
    cgroup: bool
    """Cpusets are a cgroup subsystem (2.6.24+): ``cpuset.`` prefixes, cgroup core files."""
    strict_flag_parse: bool
    """Flags parsed with kstrtoull (refuses ``-1``, ``A``) instead of simple_strtoul."""
    top_masks_writable: bool
    """2.6.14 lets root's cpus/mems be rewritten; later eras answer EACCES."""
    offline_writes_dropped: bool
    """2.6.14/2.6.24 intersect a written mask with the online map; later eras EINVAL."""
    empty_masks_allowed: bool
    """``echo "" > cpus`` clears the mask of a task-less cpuset (2.6.24+)."""
    updates_task_cpus: bool
    """A ``cpus`` write re-applies the mask to the cpuset's tasks (2.6.24+, CS-CPU-1)."""
    user_cpus_ptr: bool
    """sched_setaffinity's request is remembered and re-intersected (CS-CPU-3, modern)."""
    top_tasks_get_possible: bool
    """Tasks of the top cpuset get every possible CPU minus the partition CPUs, offline ones
    included, and hotplug leaves them alone (modern cpuset_attach_task,
    cpuset_update_tasks_cpumask, cpuset_cpus_allowed; CS-ATT-3, CS-CPU-1)."""
    common_file_write: bool
    """Every cpuset file is written through cpuset_common_file_write, whose E2BIG length
    limit covers them all (2.6.14, 2.6.24); modern kernels limit only the list files."""
    hotplug_redundant_refused: bool
    """Writing a CPU's ``online`` file with the state it has fails: 2.6 store_online passes
    on cpu_up's / cpu_down's EINVAL (after cpu_down's EBUSY for the last online CPU);
    modern device_online / device_offline report success."""
    hotplug: HotplugPolicy
    partitions: PartitionRule
    hotplug_resets_domains: bool
    """The scheduler's hotplug notifier rebuilds one default domain (DYN-5, <= 2.6.25)."""
    default_mount: str
    domain_eras: tuple[str, ...]
    """Sched-domain builder eras that go with these cpusets, the default first."""


ERAS: dict[str, Era] = {
    "2.6.14": Era(
        name="2.6.14",
        v2=False,
        cgroup=False,
        strict_flag_parse=False,
        top_masks_writable=True,
        offline_writes_dropped=True,
        empty_masks_allowed=False,
        updates_task_cpus=False,
        user_cpus_ptr=False,
        top_tasks_get_possible=False,
        common_file_write=True,
        hotplug_redundant_refused=True,
        hotplug="none",
        partitions="dyn6",
        hotplug_resets_domains=True,
        default_mount="/dev/cpuset",
        domain_eras=("2.6.14", "2.6.13"),
    ),
    "2.6.24": Era(
        name="2.6.24",
        v2=False,
        cgroup=True,
        strict_flag_parse=False,
        top_masks_writable=False,
        offline_writes_dropped=True,
        empty_masks_allowed=True,
        updates_task_cpus=True,
        user_cpus_ptr=False,
        top_tasks_get_possible=False,
        common_file_write=True,
        hotplug_redundant_refused=True,
        hotplug="guarantee",
        partitions="union_find",
        hotplug_resets_domains=True,
        default_mount="/dev/cpuset",
        domain_eras=("2.6.20",),
    ),
    "v1": Era(
        name="v1",
        v2=False,
        cgroup=True,
        strict_flag_parse=True,
        top_masks_writable=False,
        offline_writes_dropped=False,
        empty_masks_allowed=True,
        updates_task_cpus=True,
        user_cpus_ptr=True,
        top_tasks_get_possible=True,
        common_file_write=False,
        hotplug_redundant_refused=False,
        hotplug="move_tasks",
        partitions="rb_v1",
        hotplug_resets_domains=False,
        default_mount="/dev/cpuset",
        domain_eras=("modern",),
    ),
    "v2": Era(
        name="v2",
        v2=True,
        cgroup=True,
        strict_flag_parse=True,
        top_masks_writable=False,
        offline_writes_dropped=False,
        empty_masks_allowed=True,
        updates_task_cpus=True,
        user_cpus_ptr=True,
        top_tasks_get_possible=True,
        common_file_write=False,
        hotplug_redundant_refused=False,
        hotplug="effective",
        partitions="rb_v2",
        hotplug_resets_domains=False,
        default_mount="/sys/fs/cgroup",
        domain_eras=("modern",),
    ),
}

DOMAIN_ERAS: dict[str, tuple[str, ...]] = {name: era.domain_eras for name, era in ERAS.items()}
"""Cpuset era -> the sched-domain builder eras it may be combined with (default first)."""


def era_of(name: str) -> Era:
    """The era called *name*; ValueError listing the known ones."""
    era = ERAS.get(name)
    if era is None:
        raise ValueError(f"unknown cpuset era {name!r} (known: {', '.join(ERAS)})")
    return era
