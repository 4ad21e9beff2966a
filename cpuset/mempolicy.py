"""NUMA memory policies and their rebinding when a cpuset's mems change (SPEC §4).

Models mm/mempolicy.c: ``mpol_new`` + ``mpol_set_nodemask`` (MP-NEW-1),
``mpol_rebind_policy`` / ``mpol_rebind_nodemask`` / ``mpol_rebind_preferred``
(6.18, MP-REB-1..3), the 2.6.14 ``rebind_policy`` and 2.6.24
``mpol_rebind_policy`` (MP-REB-5), page-allocation node choice, and
``do_migrate_pages`` ordering (CS-MEM-2).

A policy is a frozen value.  It remembers what its rebinding needs
(MP-HIST-3): with a mode flag the nodemask exactly as the user passed it
(``w.user_nodemask``), otherwise the mems it was last bound against
(``w.cpuset_mems_allowed``).  The owning task applies ``rebind`` itself --
lazily in 2.6.14, under the writer's lock in modern kernels (§4.4).

Eras.  Every decision takes ``era``: "modern" (6.x), "2.6.14" or "2.6.24".
For a policy without a mode flag the two 2.6 kernels differ from 6.x:
set_mempolicy intersects the nodes with mems_allowed (2.6.14,
``cpuset_restrict_to_mems_allowed``) or refuses nodes outside it (2.6.24,
``contextualize_policy``); a rebind remaps PREFERRED too; the interleave rotor
is ``il_next``, remapped in 2.6.14 and left alone in 2.6.24.  For every
policy, BIND allocates from its lowest node id first (``bind_zonelist``) and
``do_migrate_pages`` has no unequal-weight rule.
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
    "alloc_interleaved",
    "alloc_node",
    "migrate_pages_plan",
    "mpol_new",
    "policy_era",
    "rebind",
]

_EMPTY = CpuMask()
"""The empty mask (masks are immutable, so one object serves every default)."""

RebindEra = Literal["modern", "2.6.14", "2.6.24"]
"""Which kernel's mm/mempolicy.c rules apply (see the module docstring)."""


def policy_era(cpuset_era: str) -> RebindEra:
    """The mempolicy rules of a cpuset era: its own for 2.6.14 / 2.6.24, else modern (v1, v2)."""
    if cpuset_era == "2.6.14":
        return "2.6.14"
    if cpuset_era == "2.6.24":
        return "2.6.24"
    return "modern"


# SIMPLIFIED: PREFERRED_MANY and WEIGHTED_INTERLEAVE, per-VMA policies
# (mbind, mpol_rebind_mm) and the 2.6.26-5.13 PREFERRED rebind variants are
# not modelled; a task's policy is one value.
# SIMPLIFIED: MPOL_LOCAL and the STATIC / RELATIVE flags are 2.6.26's; the 2.6
# eras accept them anyway (seed 002 uses them in 2.6.24) and treat them by the
# modern rules.


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
    mode: MpolMode,
    nodes: NodeMask,
    mems_allowed: NodeMask,
    flags: MpolFlag = MpolFlag.NONE,
    *,
    era: RebindEra = "modern",
) -> MemPolicy:
    """set_mempolicy(mode | flags, nodes) for a task whose mems_allowed is given (MP-NEW-1).

    6.x (sanitize_mpol_flags, mpol_new, mpol_set_nodemask): EINVAL for both
    flags; nodes with DEFAULT (which ignores its flags); nodes or a flag with
    LOCAL; an empty result for BIND / INTERLEAVE / PREFERRED.  PREFERRED with
    no nodes means LOCAL.  A 2.6 era without a mode flag: `_mpol_new_2_6`.
    """
    if MpolFlag.STATIC_NODES in flags and MpolFlag.RELATIVE_NODES in flags:
        raise CpusetError(errno.EINVAL, "MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES together")
    if era != "modern" and flags == MpolFlag.NONE and mode is not MpolMode.LOCAL:
        return _mpol_new_2_6(mode, nodes, mems_allowed, era)
    if mode is MpolMode.DEFAULT:
        if nodes:
            raise CpusetError(errno.EINVAL, "DEFAULT takes no nodes")
        return MemPolicy()
    if mode is MpolMode.LOCAL:
        if nodes or flags != MpolFlag.NONE:
            raise CpusetError(errno.EINVAL, "LOCAL takes no nodes and no flags")
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


def _mpol_new_2_6(
    mode: MpolMode, nodes: NodeMask, mems_allowed: NodeMask, era: RebindEra
) -> MemPolicy:
    """2.6.14 get_nodes / 2.6.24 contextualize_policy, then mpol_check_policy and mpol_new.

    2.6.14 drops the nodes outside mems_allowed (cpuset_restrict_to_mems_allowed);
    2.6.15-2.6.24 refuse them (EINVAL unless cpuset_nodes_subset_current_mems_allowed).
    Then DEFAULT must have no nodes left and BIND / INTERLEAVE some; PREFERRED
    with none left is local allocation (preferred_node = -1).
    """
    if era == "2.6.24" and not nodes <= mems_allowed:
        raise CpusetError(errno.EINVAL, f"nodes {nodes} not within mems_allowed {mems_allowed}")
    chosen = nodes & mems_allowed
    if mode is MpolMode.DEFAULT:
        if chosen:
            raise CpusetError(errno.EINVAL, "DEFAULT takes no nodes")
        return MemPolicy()
    if not chosen:
        if mode is MpolMode.PREFERRED:
            return MemPolicy(mode=MpolMode.LOCAL)
        raise CpusetError(
            errno.EINVAL, f"nodes {nodes} leave nothing within mems_allowed {mems_allowed}"
        )
    if mode is MpolMode.PREFERRED:
        chosen = CpuMask.of([chosen.first()])
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
    protocol passed the task's previous mems_allowed).  A policy with a mode
    flag, or any policy in the modern era, follows MP-REB-1..3; a plain one in
    a 2.6 era follows `_rebind_2_6` (MP-REB-5).
    """
    if policy.mode in (MpolMode.DEFAULT, MpolMode.LOCAL):
        return policy
    old = policy.cpuset_mems_allowed if old_mems is None else old_mems
    if not policy.has_mode_flag and old == new_mems:
        return policy
    if era != "modern" and not policy.has_mode_flag:
        return _rebind_2_6(policy, old, new_mems, era)
    if policy.mode is MpolMode.PREFERRED:
        return _rebind_preferred(policy, new_mems)
    return _rebind_nodemask(policy, old, new_mems)


def _rebind_nodemask(policy: MemPolicy, old: NodeMask, new: NodeMask) -> MemPolicy:
    """MP-REB-2 (BIND, INTERLEAVE): static ∩, relative fold+onto, or plain remap; never empty."""
    if MpolFlag.STATIC_NODES in policy.flags:
        nodes = policy.user_nodemask & new
    elif MpolFlag.RELATIVE_NODES in policy.flags:
        nodes = relative(policy.user_nodemask, new)
    else:
        nodes = remap(policy.nodes, old, new)
        policy = replace(policy, cpuset_mems_allowed=new)
    return replace(policy, nodes=nodes or new)


def _rebind_preferred(policy: MemPolicy, new: NodeMask) -> MemPolicy:
    """MP-REB-3 (5.14+): the preferred node is a hint and stays; only ``w`` follows."""
    if policy.has_mode_flag:
        return policy
    return replace(policy, cpuset_mems_allowed=new)


def _rebind_2_6(policy: MemPolicy, old: NodeMask, new: NodeMask, era: RebindEra) -> MemPolicy:
    """2.6.14 rebind_policy / 2.6.24 mpol_rebind_policy: node_remap for every mode (MP-REB-5).

    PREFERRED: preferred_node = node_remap(pref, old, new).  BIND / INTERLEAVE:
    nodes = nodes_remap(nodes, old, new).  The rotor ``il_next`` (the node the
    next interleaved page comes from) is node_remap'ed in 2.6.14; 2.6.24 sets
    the policy's mask to *new* first, so its node_remap(il_next, new, new)
    changes nothing.  The result is stored back as the equivalent il_prev.
    """
    if policy.mode is MpolMode.PREFERRED:
        node = bitremap(policy.nodes.first(), old, new)
        return replace(policy, nodes=CpuMask.of([node]), cpuset_mems_allowed=new)
    nodes = remap(policy.nodes, old, new)
    rebound = replace(policy, nodes=nodes, cpuset_mems_allowed=new)
    if policy.mode is not MpolMode.INTERLEAVE:
        return rebound
    il_next = _next_interleave(policy.nodes & old or policy.nodes, policy.il_prev)
    if era == "2.6.14":
        il_next = bitremap(il_next, old, new)
    return replace(rebound, il_prev=_rotor_before(il_next, nodes & new or nodes))


def _next_interleave(usable: NodeMask, il_prev: int) -> int:
    """next_node_in(il_prev, usable): the first usable node after *il_prev*, wrapping."""
    after = [n for n in usable if n > il_prev]
    return after[0] if after else usable.first()


def _rotor_before(il_next: int, usable: NodeMask) -> int:
    """The il_prev whose successor in *usable* is *il_next* (or, outside it, the next node).

    # SIMPLIFIED: a 2.6.24 il_next outside the new nodes gives one page from that
    # node's zonelist fallback in the kernel; the model goes straight on to the
    # usable node after it.
    """
    before = [n for n in usable if n < il_next]
    return before[-1] if before else usable.last()


def _nearest(machine: Machine, origin: int, candidates: NodeMask) -> int | None:
    """The candidate node closest to *origin* by SLIT distance, ties to the lower node id.

    # SIMPLIFIED: zonelist fallback order is (distance, node id); the kernel's
    # build_zonelists adds load-based tie penalties.
    """
    if not candidates:
        return None
    return min(candidates, key=lambda n: (machine.distance(origin, n), n))


def alloc_node(
    policy: MemPolicy,
    mems_allowed: NodeMask,
    cpu_node: int,
    machine: Machine,
    *,
    era: RebindEra = "modern",
) -> tuple[int | None, MemPolicy]:
    """The node one page comes from, and the policy afterwards (the interleave rotor moves).

    DEFAULT / LOCAL: the CPU's node, else the nearest allowed.  PREFERRED: the
    preferred node, else the allowed node nearest to it.  BIND: the allowed
    policy node nearest the CPU's node; in the 2.6 eras the lowest allowed
    policy node id (bind_zonelist lists the nodes in id order; the kernel's own
    comment there notes that memory is allocated starting with the first
    node).  INTERLEAVE: the next allowed policy node after the last one (round
    robin).  None: no node can be used
    (the stale-policy window of the 2.6.14 lazy rebind).

    # SIMPLIFIED: a 2.6 BIND / INTERLEAVE policy with no allowed node left fell
    # back to local allocation (zonelist_policy "FALL THROUGH" when
    # cpuset_zonelist_valid_mems_allowed fails); the model reports None, the
    # modern empty-nodemask failure, in every era.
    """
    mode = policy.mode
    if mode in (MpolMode.DEFAULT, MpolMode.LOCAL):
        return _nearest(machine, cpu_node, mems_allowed), policy
    if mode is MpolMode.PREFERRED:
        preferred = policy.nodes.first()
        return _nearest(machine, preferred, mems_allowed), policy
    usable = policy.nodes & mems_allowed
    if mode is MpolMode.BIND:
        if era != "modern" and usable:
            return usable.first(), policy
        return _nearest(machine, cpu_node, usable), policy
    if not usable:
        return None, policy
    node = _next_interleave(usable, policy.il_prev)
    return node, replace(policy, il_prev=node)


def alloc_interleaved(
    policy: MemPolicy, mems_allowed: NodeMask, count: int
) -> tuple[tuple[tuple[int, int], ...], MemPolicy] | None:
    """*count* pages of an INTERLEAVE policy at once: ((node, pages), ...) in rotor order
    and the policy afterwards; None when no node can be used.

    The same as *count* `alloc_node` calls (round robin over the allowed policy
    nodes from the one after il_prev), in time independent of *count*.
    """
    if count <= 0:
        return (), policy
    usable = policy.nodes & mems_allowed
    if not usable:
        return None
    order: list[int] = []
    node = policy.il_prev
    for _ in range(min(count, len(usable))):
        node = _next_interleave(usable, node)
        order.append(node)
    full, extra = divmod(count, len(order))
    pages = tuple((n, full + (i < extra)) for i, n in enumerate(order))
    return pages, replace(policy, il_prev=order[(count - 1) % len(order)])


def migrate_pages_plan(
    from_mems: NodeMask, to_mems: NodeMask, *, era: RebindEra = "modern"
) -> list[tuple[int, int]]:
    """do_migrate_pages: the ordered (source, destination) node moves (CS-MEM-2).

    Each round picks the last eligible source whose destination is not itself
    still to be emptied, else the last eligible one.  Modern kernels only:
    with unequal weights, sources already in *to_mems* stay put (2.6.24 has
    just the ``s == d`` skip).
    """
    pending = from_mems
    moves: list[tuple[int, int]] = []
    unequal = era == "modern" and len(from_mems) != len(to_mems)
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
