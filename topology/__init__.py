"""Pure, synchronous topology layer: cpumasks, machines, sched-domain building and debug.

Imports nothing but the standard library (tests/test_layering.py enforces it).
"""

from topology.cpumask import CpuMask, MaskParseError, NodeMask
from topology.debug import DebugError, DebugReport, sched_domain_debug
from topology.domains import (
    ERAS,
    DomainAttr,
    DomainBuild,
    PartitionError,
    SchedDomain,
    SchedGroup,
    SdFlag,
    build_sched_domains,
)
from topology.remap import bitremap, fold, onto, relative, remap

__all__ = [
    "ERAS",
    "CpuMask",
    "DebugError",
    "DebugReport",
    "DomainAttr",
    "DomainBuild",
    "MaskParseError",
    "NodeMask",
    "PartitionError",
    "SchedDomain",
    "SchedGroup",
    "SdFlag",
    "bitremap",
    "build_sched_domains",
    "fold",
    "onto",
    "relative",
    "remap",
    "sched_domain_debug",
]
