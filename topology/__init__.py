"""Pure, synchronous topology layer: cpumasks, machines, sched-domain building and debug.

Imports nothing but the standard library (tests/test_layering.py enforces it).
"""

from topology.cpumask import CpuMask, MaskParseError, NodeMask
from topology.remap import bitremap, fold, onto, relative, remap

__all__ = [
    "CpuMask",
    "MaskParseError",
    "NodeMask",
    "bitremap",
    "fold",
    "onto",
    "relative",
    "remap",
]
