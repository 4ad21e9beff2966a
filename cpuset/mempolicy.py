"""NUMA memory policies and their rebinding when a cpuset's mems change (SPEC §4).

Models mm/mempolicy.c: ``mpol_new`` + ``mpol_set_nodemask`` (MP-NEW-1),
``mpol_rebind_policy`` / ``mpol_rebind_nodemask`` / ``mpol_rebind_preferred``
(6.18, MP-REB-1..3), the 2.6.14 ``rebind_policy`` (MP-REB-5), page-allocation
node choice, and ``do_migrate_pages`` ordering (CS-MEM-2).

A policy is a frozen value.  It remembers what its rebinding needs
(MP-HIST-3): with a mode flag the nodemask exactly as the user passed it
(``w.user_nodemask``), otherwise the mems it was last bound against
(``w.cpuset_mems_allowed``).  The owning task applies ``rebind`` itself --
lazily in 2.6.14, under the writer's lock in modern kernels (§4.4).
"""

from __future__ import annotations

import enum
import errno
from dataclasses import dataclass, replace
from typing import Literal

from cpuset.tree import CpusetError
from topology import CpuMask, NodeMask, bitremap, relative, remap
from topology.machine import Machine

__all__ = [
    "MemPolicy",
    "MpolFlag",
    "MpolMode",
    "alloc_node",
    "migrate_pages_plan",
    "mpol_new",
    "rebind",
]

_EMPTY = CpuMask()
"""The empty mask (masks are immutable, so one object serves every default)."""

RebindEra = Literal["modern", "2.6.14"]

# SIMPLIFIED: PREFERRED_MANY and WEIGHTED_INTERLEAVE, per-VMA policies
# (mbind, mpol_rebind_mm) and the 2.6.26-5.13 PREFERRED rebind variants are
# not modelled; a task's policy is one value.


class MpolMode(enum.Enum):
    """enum mempolicy_mode (include/uapi/linux/mempolicy.h), the modes modelled."""

    DEFAULT = 0
    PREFERRED = 1
    BIND = 2
    INTERLEAVE = 3
    LOCAL = 4


class MpolFlag(enum.Flag):
    """Mode flags: MPOL_F_STATIC_NODES, MPOL_F_RELATIVE_NODES."""

    NONE = 0
    STATIC_NODES = enum.auto()
    RELATIVE_NODES = enum.auto()


@dataclass(frozen=True, slots=True, kw_only=True)
class MemPolicy:
    """struct mempolicy: mode, flags, nodes, and the remembered mask ``w``.

    *nodes* holds the preferred node (one bit) for PREFERRED, the node set
    for BIND / INTERLEAVE, nothing for DEFAULT / LOCAL.  *il_prev* is the
    interleave rotor (task->il_prev): the node of the last interleaved page.
    """

    mode: MpolMode = MpolMode.DEFAULT
    flags: MpolFlag = MpolFlag.NONE
    nodes: NodeMask = _EMPTY
    user_nodemask: NodeMask = _EMPTY
    cpuset_mems_allowed: NodeMask = _EMPTY
    il_prev: int = -1

    @property
    def has_mode_flag(self) -> bool:
        """mpol_store_user_nodemask: a flag is set, so ``w`` is the user's nodemask."""
        return self.flags != MpolFlag.NONE


def mpol_new(
    mode: MpolMode, nodes: NodeMask, mems_allowed: NodeMask, flags: MpolFlag = MpolFlag.NONE
) -> MemPolicy:
    """set_mempolicy(mode | flags, nodes) for a task whose mems_allowed is given (MP-NEW-1).

    EINVAL for: both flags; nodes with DEFAULT or LOCAL; an empty result for
    BIND / INTERLEAVE / PREFERRED.  PREFERRED with no nodes means LOCAL.
    """
    if MpolFlag.STATIC_NODES in flags and MpolFlag.RELATIVE_NODES in flags:
        raise CpusetError(errno.EINVAL, "MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES together")
    if mode in (MpolMode.DEFAULT, MpolMode.LOCAL):
        if nodes or flags != MpolFlag.NONE:
            raise CpusetError(errno.EINVAL, f"{mode.name} takes no nodes and no flags")
        return MemPolicy(mode=mode)
    if mode is MpolMode.PREFERRED and not nodes:
        if flags != MpolFlag.NONE:
            raise CpusetError(errno.EINVAL, "PREFERRED with a mode flag needs nodes")
        return MemPolicy(mode=MpolMode.LOCAL)
    if MpolFlag.RELATIVE_NODES in flags:
        chosen = relative(nodes, mems_allowed)
    else:
        chosen = nodes & mems_allowed
    if not chosen:
        raise CpusetError(
            errno.EINVAL, f"nodes {nodes} leave nothing within mems_allowed {mems_allowed}"
        )
    if mode is MpolMode.PREFERRED:
        chosen = CpuMask.of([chosen.first()])
    if flags != MpolFlag.NONE:
        return MemPolicy(mode=mode, flags=flags, nodes=chosen, user_nodemask=nodes)
    return MemPolicy(mode=mode, nodes=chosen, cpuset_mems_allowed=mems_allowed)


def rebind(
    policy: MemPolicy,
    new_mems: NodeMask,
    *,
    old_mems: NodeMask | None = None,
    era: RebindEra = "modern",
) -> MemPolicy:
    """mpol_rebind_policy: the policy the task should hold once its mems become *new_mems*.

    *old_mems* replaces the remembered ``w.cpuset_mems_allowed`` (the 2.6.14
    protocol passed the task's previous mems_allowed).  *era* "2.6.14" uses
    that kernel's rebind_policy (MP-REB-5): PREFERRED follows node_remap.
    """
    if policy.mode in (MpolMode.DEFAULT, MpolMode.LOCAL):
        return policy
    old = policy.cpuset_mems_allowed if old_mems is None else old_mems
    if not policy.has_mode_flag and old == new_mems:
        return policy
    if policy.mode is MpolMode.PREFERRED:
        return _rebind_preferred(policy, old, new_mems, era)
    return _rebind_nodemask(policy, old, new_mems, era)


def _rebind_nodemask(policy: MemPolicy, old: NodeMask, new: NodeMask, era: RebindEra) -> MemPolicy:
    """MP-REB-2 (BIND, INTERLEAVE): static ∩, relative fold+onto, or plain remap; never empty.

    2.6.14 also remapped the interleave rotor (``il_next = node_remap(...)``).
    """
    if MpolFlag.STATIC_NODES in policy.flags:
        nodes = policy.user_nodemask & new
    elif MpolFlag.RELATIVE_NODES in policy.flags:
        nodes = relative(policy.user_nodemask, new)
    else:
        nodes = remap(policy.nodes, old, new)
        policy = replace(policy, cpuset_mems_allowed=new)
    il_prev = policy.il_prev
    if era == "2.6.14" and il_prev >= 0:
        il_prev = bitremap(il_prev, old, new)
    return replace(policy, nodes=nodes or new, il_prev=il_prev)


def _rebind_preferred(policy: MemPolicy, old: NodeMask, new: NodeMask, era: RebindEra) -> MemPolicy:
    """MP-REB-3: modern keeps the preferred node (a hint); 2.6.14 remaps it."""
    if era == "2.6.14" and not policy.has_mode_flag:
        node = bitremap(policy.nodes.first(), old, new)
        return replace(policy, nodes=CpuMask.of([node]), cpuset_mems_allowed=new)
    if policy.has_mode_flag:
        return policy
    return replace(policy, cpuset_mems_allowed=new)


def _nearest(machine: Machine, origin: int, candidates: NodeMask) -> int | None:
    """The candidate node closest to *origin* by SLIT distance, ties to the lower node id.

    # SIMPLIFIED: zonelist fallback order is (distance, node id); the kernel's
    # build_zonelists adds load-based tie penalties.
    """
    if not candidates:
        return None
    return min(candidates, key=lambda n: (machine.distance(origin, n), n))


def alloc_node(
    policy: MemPolicy, mems_allowed: NodeMask, cpu_node: int, machine: Machine
) -> tuple[int | None, MemPolicy]:
    """The node one page comes from, and the policy afterwards (the interleave rotor moves).

    DEFAULT / LOCAL: the CPU's node, else the nearest allowed.  PREFERRED: the
    preferred node, else the allowed node nearest to it.  BIND: the allowed
    policy node nearest the CPU's node.  INTERLEAVE: the next allowed policy
    node after the last one (round robin).  None: no node can be used (the
    stale-policy window of the 2.6.14 lazy rebind).
    """
    mode = policy.mode
    if mode in (MpolMode.DEFAULT, MpolMode.LOCAL):
        return _nearest(machine, cpu_node, mems_allowed), policy
    if mode is MpolMode.PREFERRED:
        preferred = policy.nodes.first()
        return _nearest(machine, preferred, mems_allowed), policy
    usable = policy.nodes & mems_allowed
    if mode is MpolMode.BIND:
        return _nearest(machine, cpu_node, usable), policy
    if not usable:
        return None, policy
    after = [n for n in usable if n > policy.il_prev]
    node = after[0] if after else usable.first()
    return node, replace(policy, il_prev=node)


def migrate_pages_plan(from_mems: NodeMask, to_mems: NodeMask) -> list[tuple[int, int]]:
    """do_migrate_pages: the ordered (source, destination) node moves (CS-MEM-2).

    Each round picks the last eligible source whose destination is not itself
    still to be emptied, else the last eligible one; with unequal weights,
    sources already in *to_mems* stay put.
    """
    pending = from_mems
    moves: list[tuple[int, int]] = []
    unequal = len(from_mems) != len(to_mems)
    while pending:
        source: int | None = None
        dest = 0
        for s in pending:
            if unequal and s in to_mems:
                continue
            d = bitremap(s, from_mems, to_mems)
            if s == d:
                continue
            source, dest = s, d
            if dest not in pending:
                break
        if source is None:
            break
        pending = pending - CpuMask.of([source])
        moves.append((source, dest))
    return moves
