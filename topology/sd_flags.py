"""Sched-domain flags across eras.

Models include/linux/sched.h (2.6.14, 2.6.20) and include/linux/sched/sd_flags.h (6.18).

One `SdFlag` enum holds every flag any modelled era uses, under the kernel's
name without the ``SD_`` prefix.  The kernel renumbered the flags several
times, so the numeric value printed for an era comes from `flag_value`, and
the name an era used (``SD_SHARE_CPUPOWER`` became ``SD_SHARE_CPUCAPACITY``,
``SD_SHARE_PKG_RESOURCES`` became ``SD_SHARE_LLC``) from `flag_names`.

The modern metaflags (SPEC §1.4) drive `sd_degenerate` (NEEDS_GROUPS) and the
SD-INV-10 debug checks (SHARED_CHILD, SHARED_PARENT).
"""

from __future__ import annotations

from enum import Flag

__all__ = [
    "ERA_FAMILY",
    "NEEDS_GROUPS_2614",
    "NEEDS_GROUPS_2620",
    "NEEDS_GROUPS_MODERN",
    "SHARED_CHILD",
    "SHARED_PARENT",
    "WAKE_FLAGS_26",
    "SdFlag",
    "flag_names",
    "flag_value",
    "has_load_balance_flag",
]


class SdFlag(Flag):
    """SD_* flags; aliases carry the later kernel names of the same flag."""

    LOAD_BALANCE = 1 << 0
    BALANCE_NEWIDLE = 1 << 1
    BALANCE_EXEC = 1 << 2
    BALANCE_FORK = 1 << 3
    BALANCE_WAKE = 1 << 4
    WAKE_IDLE = 1 << 5
    WAKE_AFFINE = 1 << 6
    WAKE_BALANCE = 1 << 7
    ASYM_CPUCAPACITY = 1 << 8
    ASYM_CPUCAPACITY_FULL = 1 << 9
    SHARE_CPUPOWER = 1 << 10
    SHARE_CPUCAPACITY = 1 << 10  # the 3.16+ name of SHARE_CPUPOWER
    POWERSAVINGS_BALANCE = 1 << 11
    CLUSTER = 1 << 12
    SHARE_PKG_RESOURCES = 1 << 13
    SHARE_LLC = 1 << 13  # the 6.10+ name of SHARE_PKG_RESOURCES
    SERIALIZE = 1 << 14
    ASYM_PACKING = 1 << 15
    PREFER_SIBLING = 1 << 16
    NUMA = 1 << 17


ERA_FAMILY = {"2.6.13": "2.6.14", "2.6.14": "2.6.14", "2.6.20": "2.6.20", "modern": "modern"}
"""Which flag numbering an era prints with (2.6.13 shares 2.6.14's)."""

_VALUES: dict[str, tuple[tuple[SdFlag, int, str], ...]] = {
    # include/linux/sched.h 2.6.14
    "2.6.14": (
        (SdFlag.LOAD_BALANCE, 1, "SD_LOAD_BALANCE"),
        (SdFlag.BALANCE_NEWIDLE, 2, "SD_BALANCE_NEWIDLE"),
        (SdFlag.BALANCE_EXEC, 4, "SD_BALANCE_EXEC"),
        (SdFlag.BALANCE_FORK, 8, "SD_BALANCE_FORK"),
        (SdFlag.WAKE_IDLE, 16, "SD_WAKE_IDLE"),
        (SdFlag.WAKE_AFFINE, 32, "SD_WAKE_AFFINE"),
        (SdFlag.WAKE_BALANCE, 64, "SD_WAKE_BALANCE"),
        (SdFlag.SHARE_CPUPOWER, 128, "SD_SHARE_CPUPOWER"),
    ),
    # include/linux/sched.h 2.6.20: 2.6.14's plus three
    "2.6.20": (
        (SdFlag.LOAD_BALANCE, 1, "SD_LOAD_BALANCE"),
        (SdFlag.BALANCE_NEWIDLE, 2, "SD_BALANCE_NEWIDLE"),
        (SdFlag.BALANCE_EXEC, 4, "SD_BALANCE_EXEC"),
        (SdFlag.BALANCE_FORK, 8, "SD_BALANCE_FORK"),
        (SdFlag.WAKE_IDLE, 16, "SD_WAKE_IDLE"),
        (SdFlag.WAKE_AFFINE, 32, "SD_WAKE_AFFINE"),
        (SdFlag.WAKE_BALANCE, 64, "SD_WAKE_BALANCE"),
        (SdFlag.SHARE_CPUPOWER, 128, "SD_SHARE_CPUPOWER"),
        (SdFlag.POWERSAVINGS_BALANCE, 256, "SD_POWERSAVINGS_BALANCE"),
        (SdFlag.SHARE_PKG_RESOURCES, 512, "SD_SHARE_PKG_RESOURCES"),
        (SdFlag.SERIALIZE, 1024, "SD_SERIALIZE"),
    ),
    # include/linux/sched/sd_flags.h 6.18 (bit = position in the file)
    "modern": (
        (SdFlag.BALANCE_NEWIDLE, 1 << 0, "SD_BALANCE_NEWIDLE"),
        (SdFlag.BALANCE_EXEC, 1 << 1, "SD_BALANCE_EXEC"),
        (SdFlag.BALANCE_FORK, 1 << 2, "SD_BALANCE_FORK"),
        (SdFlag.BALANCE_WAKE, 1 << 3, "SD_BALANCE_WAKE"),
        (SdFlag.WAKE_AFFINE, 1 << 4, "SD_WAKE_AFFINE"),
        (SdFlag.ASYM_CPUCAPACITY, 1 << 5, "SD_ASYM_CPUCAPACITY"),
        (SdFlag.ASYM_CPUCAPACITY_FULL, 1 << 6, "SD_ASYM_CPUCAPACITY_FULL"),
        (SdFlag.SHARE_CPUCAPACITY, 1 << 7, "SD_SHARE_CPUCAPACITY"),
        (SdFlag.CLUSTER, 1 << 8, "SD_CLUSTER"),
        (SdFlag.SHARE_LLC, 1 << 9, "SD_SHARE_LLC"),
        (SdFlag.SERIALIZE, 1 << 10, "SD_SERIALIZE"),
        (SdFlag.ASYM_PACKING, 1 << 11, "SD_ASYM_PACKING"),
        (SdFlag.PREFER_SIBLING, 1 << 12, "SD_PREFER_SIBLING"),
        (SdFlag.NUMA, 1 << 13, "SD_NUMA"),
    ),
}

_NONE = SdFlag(0)

NEEDS_GROUPS_2614 = (
    SdFlag.LOAD_BALANCE | SdFlag.BALANCE_NEWIDLE | SdFlag.BALANCE_FORK | SdFlag.BALANCE_EXEC
)
"""kernel/sched.c 2.6.14 sd_degenerate: flags that need at least two groups."""

NEEDS_GROUPS_2620 = NEEDS_GROUPS_2614 | SdFlag.SHARE_CPUPOWER | SdFlag.SHARE_PKG_RESOURCES
"""kernel/sched.c 2.6.20 sd_degenerate adds the two sharing flags."""

NEEDS_GROUPS_MODERN = (
    SdFlag.BALANCE_NEWIDLE
    | SdFlag.BALANCE_EXEC
    | SdFlag.BALANCE_FORK
    | SdFlag.BALANCE_WAKE
    | SdFlag.ASYM_CPUCAPACITY
    | SdFlag.ASYM_CPUCAPACITY_FULL
    | SdFlag.SHARE_CPUCAPACITY
    | SdFlag.CLUSTER
    | SdFlag.SHARE_LLC
    | SdFlag.SERIALIZE
    | SdFlag.ASYM_PACKING
    | SdFlag.PREFER_SIBLING
    | SdFlag.NUMA
)
"""SDF_NEEDS_GROUPS in sd_flags.h 6.18 (every flag but SD_WAKE_AFFINE)."""

WAKE_FLAGS_26 = SdFlag.WAKE_IDLE | SdFlag.WAKE_AFFINE | SdFlag.WAKE_BALANCE
"""2.6.x sd_degenerate: flags that keep a domain without using groups."""

SHARED_CHILD = (
    SdFlag.BALANCE_NEWIDLE
    | SdFlag.BALANCE_EXEC
    | SdFlag.BALANCE_FORK
    | SdFlag.BALANCE_WAKE
    | SdFlag.WAKE_AFFINE
    | SdFlag.SHARE_CPUCAPACITY
    | SdFlag.CLUSTER
    | SdFlag.SHARE_LLC
    | SdFlag.ASYM_PACKING
)
"""SDF_SHARED_CHILD (sd_flags.h 6.18): set on a domain => set on its child (SD-INV-10)."""

SHARED_PARENT = (
    SdFlag.ASYM_CPUCAPACITY | SdFlag.ASYM_CPUCAPACITY_FULL | SdFlag.SERIALIZE | SdFlag.NUMA
)
"""SDF_SHARED_PARENT (sd_flags.h 6.18): set on a domain => set on its parent (SD-INV-10)."""


def _table(era: str) -> tuple[tuple[SdFlag, int, str], ...]:
    family = ERA_FAMILY.get(era)
    if family is None:
        raise ValueError(f"unknown era {era!r} (known: {', '.join(ERA_FAMILY)})")
    return _VALUES[family]


def flag_value(flags: SdFlag, era: str) -> int:
    """The ``sd->flags`` integer *flags* has in *era*'s numbering (unknown flags count 0)."""
    return sum(value for flag, value, _ in _table(era) if flag & flags)


def flag_names(flags: SdFlag, era: str) -> list[str]:
    """The SD_* names of *flags* as *era* spelled them, in ascending bit order."""
    names = [name for flag, _, name in _table(era) if flag & flags]
    known = _NONE
    for flag, _, _ in _table(era):
        known |= flag
    # A flag the era did not have (e.g. a 2.6 flag on a modern domain) keeps our name.
    names.extend(f"SD_{f.name}" for f in SdFlag if f & flags and not f & known)
    return names


def has_load_balance_flag(era: str) -> bool:
    """SD_LOAD_BALANCE existed until ~5.8; modern domains always balance (SPEC §1.4)."""
    return ERA_FAMILY.get(era) != "modern"
