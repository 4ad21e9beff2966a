"""The 2003 cpuset proposal's system calls as a facade over the same tree (seed 003, C03-1).

Simon Derr's patch (posted by Stephen Hemminger, October 2003) offered
``cpuset_create``, ``cpuset_destroy``, ``cpuset_attach``, ``cpuset_alloc`` and
``cpuset_getfreecpus`` instead of a filesystem.  What shipped in 2.6.12 kept
the hierarchy and the subset rule but replaced "strict" by ``cpu_exclusive``
and the syscalls by files (C03-3).  This facade maps each call onto the tree
operations, so the two interfaces can be compared on one hierarchy:

* create -> a child of the caller's cpuset holding the parent's CPUs (those
  no strict sibling holds); *strict* sets cpu_exclusive (the later name for
  "no sharing");
* alloc -> a ``cpus`` write: it must stay within the parent (EACCES, the
  tree's CS-VAL-2 errno) and may not overlap a strict sibling (EINVAL);
* getfreecpus -> the parent's CPUs this cpuset could still add.

Ids are small integers handed out in creation order (``cpuset_t``); 0 is the
top cpuset.
"""

from __future__ import annotations

import errno

from cpuset.attach import attach_task
from cpuset.tree import Cpuset, CpusetError, CpusetTree, CsFlag
from cpuset.update import (
    cpuset_mkdir,
    cpuset_rmdir,
    finish_operation,
    set_cpus,
    set_mems,
    update_flag,
)
from topology import CpuMask

__all__ = ["Proposal2003"]

# SIMPLIFIED: the 2003 cpusets had no memory nodes; a created cpuset gets its
# parent's mems so the shipped rules (which refuse attaching to a cpuset
# without mems) leave memory unconstrained, as in 2003.


class Proposal2003:
    """cpuset_create / destroy / attach / alloc / getfreecpus over a legacy-hierarchy tree."""

    def __init__(self, tree: CpusetTree) -> None:
        if tree.era.v2:
            raise ValueError("the 2003 calls need a legacy (v1-style) hierarchy")
        self.tree = tree
        self._ids: dict[int, Cpuset] = {0: tree.top}
        self._next_id = 1

    def cpuset(self, cs_id: int) -> Cpuset:
        found = self._ids.get(cs_id)
        if found is None or (found.parent is not None and found not in found.parent.children):
            raise CpusetError(errno.EINVAL, f"no cpuset with id {cs_id}")
        return found

    def _task_cpuset(self, pid: int) -> Cpuset:
        task = self.tree.task(pid)
        if task is None:
            raise CpusetError(errno.ESRCH, f"no task with pid {pid}")
        return task.cpuset

    def cpuset_create(self, pid: int, strict: bool = False) -> int:
        """sys_cpuset_create: a child of *pid*'s cpuset holding the parent's CPUs; returns its id.

        Without strict siblings that is all of the parent's CPUs (the LWN
        description).  # SIMPLIFIED: [inferred] CPUs a strict sibling holds are
        left out, and a strict cpuset gets only CPUs no sibling holds (ENOSPC if
        none remain) -- otherwise no cpuset could ever be created next to a
        strict one.
        """
        parent = self._task_cpuset(pid)
        cpus = parent.config.cpus
        for sib in parent.children:
            if strict or sib.has(CsFlag.CPU_EXCLUSIVE):
                cpus = cpus - sib.config.cpus
        if not cpus:
            raise CpusetError(errno.ENOSPC, "every CPU of the parent is taken by a sibling")
        cs_id = self._next_id
        cs = cpuset_mkdir(self.tree, parent, f"cs{cs_id}")
        try:
            set_mems(self.tree, cs, parent.config.mems)
            set_cpus(self.tree, cs, cpus)
            if strict:
                update_flag(self.tree, cs, CsFlag.CPU_EXCLUSIVE, True)
        except CpusetError:
            cpuset_rmdir(self.tree, cs)
            raise
        self._ids[cs_id] = cs
        self._next_id += 1
        return cs_id

    def cpuset_destroy(self, cs_id: int) -> None:
        """sys_cpuset_destroy: EBUSY while tasks or children remain."""
        if cs_id == 0:
            raise CpusetError(errno.EBUSY, "the top cpuset cannot be destroyed")
        cpuset_rmdir(self.tree, self.cpuset(cs_id))

    def cpuset_attach(self, cs_id: int, pid: int) -> None:
        """sys_cpuset_attach: move *pid* into the cpuset."""
        attach_task(self.tree, self.cpuset(cs_id), pid, current=pid)
        finish_operation(self.tree)

    def cpuset_alloc(self, cs_id: int, cpus: CpuMask) -> None:
        """sys_cpuset_alloc: set the cpuset's CPUs (within the parent's)."""
        set_cpus(self.tree, self.cpuset(cs_id), cpus)

    def cpuset_getfreecpus(self, pid: int) -> CpuMask:
        """sys_cpuset_getfreecpus: CPUs outside *pid*'s cpuset that it could add.

        Those of the parent not already held, minus the CPUs of strict siblings, or of
        every sibling when the cpuset itself is strict (no overlap either way, as
        validate_change and `cpuset_create` enforce).
        """
        cs = self._task_cpuset(pid)
        if cs.parent is None:
            return CpuMask()
        free = cs.parent.config.cpus - cs.config.cpus
        strict = cs.has(CsFlag.CPU_EXCLUSIVE)
        for sib in cs.parent.children:
            if sib is not cs and (strict or sib.has(CsFlag.CPU_EXCLUSIVE)):
                free = free - sib.config.cpus
        return free
