"""Pure, synchronous cpuset layer: the cpuset tree, its file interface, partitions, mempolicy.

Imports only the standard library and topology (tests/test_layering.py).
The public API:

* `CpusetFS` -- a mounted hierarchy (``/dev/cpuset`` or ``/sys/fs/cgroup``):
  ``mkdir``, ``rmdir``, ``write``, ``read``, ``listdir``, ``chdir``, ``mount``,
  ``fork``, ``exit``, ``set_online``, ``sched_setaffinity``, ``take_events``;
* `run_shell` -- run an admin script against it, as bash would;
* `generate_partitions`, `generate_sched_domains`, `build_domains` -- the
  sched-domain partitions a tree asks for, and the domains they give;
* `MemPolicy`, `MpolMode`, `MpolFlag`, `mpol_new`, `rebind`, `alloc_node`,
  `migrate_pages_plan` -- NUMA memory policies;
* `sched_setaffinity`, `set_cpus_allowed`, `to_logical`, `to_real` -- affinity;
* `Proposal2003` -- the 2003 syscall interface over the same tree;
* `render_report` -- what ``schedsim cpuset`` prints.
"""

from cpuset.affinity import (
    SetCpusAllowed,
    mask_to_logical,
    mask_to_real,
    sched_setaffinity,
    set_cpus_allowed,
    to_logical,
    to_real,
)
from cpuset.era import DOMAIN_ERAS, ERAS, Era, era_of
from cpuset.events import (
    CpusetEvent,
    MemsChanged,
    PartitionsRebuilt,
    ReleaseAgentCalled,
    TaskAttached,
    TaskCpusChanged,
    TaskExited,
)
from cpuset.fs import CpusetFS, PathError
from cpuset.hotplug import set_online
from cpuset.mempolicy import (
    MemPolicy,
    MpolFlag,
    MpolMode,
    alloc_node,
    migrate_pages_plan,
    mpol_new,
    rebind,
)
from cpuset.partitions import (
    build_domains,
    generate_partitions,
    generate_sched_domains,
    update_cpu_domains,
)
from cpuset.proposal2003 import Proposal2003
from cpuset.report import FORMATS, render_report, report_facts
from cpuset.script import CommandOutcome, ShellResult
from cpuset.shell import run_shell
from cpuset.tree import (
    Cpuset,
    CpusetConfig,
    CpusetError,
    CpusetTree,
    CsFlag,
    Perr,
    Prs,
    SchedPartitions,
)

__all__ = [
    "DOMAIN_ERAS",
    "ERAS",
    "FORMATS",
    "CommandOutcome",
    "Cpuset",
    "CpusetConfig",
    "CpusetError",
    "CpusetEvent",
    "CpusetFS",
    "CpusetTree",
    "CsFlag",
    "Era",
    "MemPolicy",
    "MemsChanged",
    "MpolFlag",
    "MpolMode",
    "PartitionsRebuilt",
    "PathError",
    "Perr",
    "Proposal2003",
    "Prs",
    "ReleaseAgentCalled",
    "SchedPartitions",
    "SetCpusAllowed",
    "ShellResult",
    "TaskAttached",
    "TaskCpusChanged",
    "TaskExited",
    "alloc_node",
    "build_domains",
    "era_of",
    "generate_partitions",
    "generate_sched_domains",
    "mask_to_logical",
    "mask_to_real",
    "migrate_pages_plan",
    "mpol_new",
    "rebind",
    "render_report",
    "report_facts",
    "run_shell",
    "sched_setaffinity",
    "set_cpus_allowed",
    "set_online",
    "to_logical",
    "to_real",
    "update_cpu_domains",
]
