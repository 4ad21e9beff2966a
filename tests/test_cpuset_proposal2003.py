"""The 2003 proposal's calls over the shipped tree (seed 003, C03-1)."""

from __future__ import annotations

import errno

import pytest

from cpuset import CpusetError, CpusetFS, Proposal2003
from topology import CpuMask
from topology.presets import preset

M = CpuMask.parse


def facade(era: str = "v1") -> tuple[CpusetFS, Proposal2003]:
    fs = CpusetFS(preset("smt-numa-8"), era=era)
    return fs, Proposal2003(fs.tree)


def test_create_makes_a_child_of_the_callers_cpuset_with_the_parents_cpus() -> None:
    fs, calls = facade()
    cs = calls.cpuset_create(pid=1)
    assert (calls.cpuset(cs).path, fs.read("/dev/cpuset/cs1/cpus")) == ("/cs1", "0-7")


def test_alloc_shrinks_and_may_not_leave_the_parent() -> None:
    _, calls = facade()
    cs = calls.cpuset_create(pid=1)
    calls.cpuset_alloc(cs, M("0-3"))
    calls.cpuset_attach(cs, 1)
    sub = calls.cpuset_create(pid=1)
    with pytest.raises(CpusetError) as info:
        calls.cpuset_alloc(sub, M("3-4"))
    assert (info.value.errno, str(calls.cpuset(sub).config.cpus)) == (errno.EACCES, "0-3")


def test_strict_cpusets_do_not_share_cpus() -> None:
    _, calls = facade()
    a = calls.cpuset_create(pid=1, strict=True)
    with pytest.raises(CpusetError) as info:
        calls.cpuset_create(pid=1, strict=True)
    assert info.value.errno == errno.ENOSPC
    calls.cpuset_alloc(a, M("0-3"))
    b = calls.cpuset_create(pid=1)
    assert str(calls.cpuset(b).config.cpus) == "4-7"
    with pytest.raises(CpusetError) as refused:
        calls.cpuset_alloc(b, M("3-7"))
    assert refused.value.errno == errno.EINVAL


def test_a_failed_create_leaves_no_cpuset_behind() -> None:
    fs, calls = facade("2.6.14")
    calls.cpuset_alloc(calls.cpuset_create(pid=1), M("0-3"))
    for cpu in range(4, 8):
        fs.set_online(cpu, False)
    with pytest.raises(CpusetError) as info:
        calls.cpuset_create(pid=1, strict=True)
    assert (info.value.errno, [c.name for c in fs.tree.top.children]) == (errno.ENOSPC, ["cs1"])


def test_getfreecpus_lists_the_parents_cpus_not_held_and_not_strictly_taken() -> None:
    fs, calls = facade()
    job = calls.cpuset_create(pid=1)
    calls.cpuset_alloc(job, M("0-1"))
    strict = calls.cpuset_create(pid=1, strict=True)
    calls.cpuset_alloc(strict, M("6-7"))
    pid = fs.fork(1)
    calls.cpuset_attach(job, pid)
    assert (calls.cpuset_getfreecpus(pid), calls.cpuset_getfreecpus(1)) == (M("2-5"), CpuMask())


def test_destroy_refuses_a_cpuset_with_tasks_and_forgets_its_id() -> None:
    fs, calls = facade()
    cs = calls.cpuset_create(pid=1)
    pid = fs.fork(1)
    calls.cpuset_attach(cs, pid)
    with pytest.raises(CpusetError) as info:
        calls.cpuset_destroy(cs)
    assert info.value.errno == errno.EBUSY
    fs.exit(pid)
    calls.cpuset_destroy(cs)
    with pytest.raises(CpusetError):
        calls.cpuset(cs)


def test_2614_strict_cpuset_repartitions_the_domains() -> None:
    fs, calls = facade("2.6.14")
    cs = calls.cpuset_create(pid=1)
    calls.cpuset_alloc(cs, M("0-3"))
    strict = calls.cpuset_create(pid=1, strict=True)
    with pytest.raises(CpusetError):
        calls.cpuset_alloc(strict, M("3-7"))
    assert [str(d) for d in fs.partitions.doms] == ["0-3", "4-7"]


def test_v2_hierarchies_are_refused() -> None:
    fs = CpusetFS(preset("smt-numa-8"), era="v2")
    with pytest.raises(ValueError, match="legacy"):
        Proposal2003(fs.tree)


def test_getfreecpus_of_a_strict_cpuset_leaves_out_every_siblings_cpus() -> None:
    """Seed 003: the CPUs "which could be added"; a strict cpuset may overlap no sibling
    (2.6.14 validate_change), so a plain sibling's CPUs are not free to it."""
    fs = CpusetFS(preset("smt-numa-8"), era="v1")
    calls = Proposal2003(fs.tree)
    plain = calls.cpuset_create(pid=1)
    calls.cpuset_alloc(plain, M("4-7"))
    strict = calls.cpuset_create(pid=1, strict=True)
    calls.cpuset_attach(strict, 1)
    assert calls.cpuset(strict).config.cpus == M("0-3")
    assert calls.cpuset_getfreecpus(pid=1) == CpuMask()
