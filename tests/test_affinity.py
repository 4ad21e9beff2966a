"""sched_setaffinity through the cpuset, set_cpus_allowed moves, relative numbering (C03-2/4/5)."""

from __future__ import annotations

import errno

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cpuset import (
    CpusetError,
    CpusetFS,
    SetCpusAllowed,
    mask_to_logical,
    mask_to_real,
    set_cpus_allowed,
    to_logical,
    to_real,
)
from topology import CpuMask
from topology.presets import preset

M = CpuMask.parse


def task_in(era: str, cpus: str) -> tuple[CpusetFS, int]:
    fs = CpusetFS(preset("smt-numa-8"), era=era)
    fs.chdir(fs.tree.mount_point)
    fs.mkdir("a")
    fs.write("a/cpus", cpus + "\n")
    fs.write("a/mems", "0\n")
    pid = fs.fork(1)
    fs.write("a/tasks", f"{pid}\n")
    return fs, pid


@pytest.mark.parametrize("era", ["2.6.14", "v1"])
def test_bits_outside_the_cpuset_are_dropped_silently(era: str) -> None:
    fs, pid = task_in(era, "2-5")
    result = fs.sched_setaffinity(pid, M("0-3"))
    assert (result.cpus_allowed, fs.task_cpus_allowed(pid)) == (M("2-3"), M("2-3"))


def test_a_mask_with_nothing_left_in_the_cpuset_is_einval() -> None:
    fs, pid = task_in("2.6.14", "2-5")
    with pytest.raises(CpusetError) as info:
        fs.sched_setaffinity(pid, M("0-1"))
    assert (info.value.errno, fs.task_cpus_allowed(pid)) == (errno.EINVAL, M("2-5"))


def test_unknown_pid_is_esrch() -> None:
    fs, _ = task_in("v1", "0-3")
    with pytest.raises(CpusetError) as info:
        fs.sched_setaffinity(99, M("0"))
    assert info.value.errno == errno.ESRCH


def test_a_task_on_a_cpu_it_may_no_longer_use_is_sent_to_an_allowed_cpu() -> None:
    fs, pid = task_in("v1", "0-7")
    assert fs.sched_setaffinity(pid, M("4-5"), task_cpu=1) == SetCpusAllowed(M("4-5"), 4)
    assert fs.sched_setaffinity(pid, M("4-6"), task_cpu=5) == SetCpusAllowed(M("4-6"), None)


def test_set_cpus_allowed_skips_offline_cpus_for_the_destination() -> None:
    assert set_cpus_allowed(M("0-2,5-7"), M("3-6"), task_cpu=0) == SetCpusAllowed(M("3-6"), 5)


def test_modern_kernels_reapply_the_users_request_after_a_cpuset_change() -> None:
    fs, pid = task_in("v1", "0-7")
    fs.sched_setaffinity(pid, M("2-3"))
    fs.write("a/cpus", "0-5\n")
    assert fs.task_cpus_allowed(pid) == M("2-3")
    fs.write("a/cpus", "4-5\n")
    assert fs.task_cpus_allowed(pid) == M("4-5")


def test_modern_user_request_is_intersected_with_the_new_cpuset_cpus() -> None:
    fs, pid = task_in("v1", "0-7")
    fs.sched_setaffinity(pid, M("2-5"))
    fs.write("a/cpus", "4-7\n")
    assert fs.task_cpus_allowed(pid) == M("4-5")


@pytest.mark.parametrize("era", ["v1", "v2"])
def test_modern_top_cpuset_tasks_get_every_cpu_offline_ones_included(era: str) -> None:
    # cpuset_attach_task / cpuset_cpus_allowed: possible minus subpartitions_cpus.
    fs = CpusetFS(preset("smt-numa-8"), era=era)
    fs.chdir(fs.tree.mount_point)
    prefix = "cpuset." if era == "v2" else ""
    if era == "v2":
        fs.write("cgroup.subtree_control", "+cpuset\n")
    fs.mkdir("a")
    fs.write(f"a/{prefix}cpus", "0-3\n")
    fs.write(f"a/{prefix}mems", "0\n")
    pid = fs.fork(1)
    fs.set_online(7, False)
    procs = "cgroup.procs" if era == "v2" else "tasks"
    fs.write(f"a/{procs}", f"{pid}\n")
    assert fs.task_cpus_allowed(pid) == M("0-3")
    fs.write(procs, f"{pid}\n")
    assert fs.task_cpus_allowed(pid) == M("0-7")
    assert fs.sched_setaffinity(pid, M("6-7")).cpus_allowed == M("6-7")
    with pytest.raises(CpusetError) as info:
        fs.sched_setaffinity(pid, M("7"))
    assert info.value.errno == errno.EINVAL


def test_v2_top_cpuset_tasks_lose_only_the_partition_cpus() -> None:
    fs = CpusetFS(preset("smt-numa-8"), era="v2")
    fs.chdir(fs.tree.mount_point)
    fs.write("cgroup.subtree_control", "+cpuset\n")
    fs.mkdir("P")
    fs.write("P/cpuset.cpus", "4-5\n")
    fs.write("P/cpuset.cpus.partition", "root\n")
    fs.set_online(7, False)
    assert (fs.task_cpus_allowed(1), fs.read("cpuset.cpus.effective")) == (M("0-3,6-7"), "0-3,6")
    fs.write("P/cpuset.cpus.partition", "member\n")
    assert fs.task_cpus_allowed(1) == M("0-7")


def test_2624_cpus_write_negates_an_earlier_setaffinity() -> None:
    fs, pid = task_in("2.6.24", "0-7")
    fs.sched_setaffinity(pid, M("2-3"))
    fs.write("a/cpus", "0-5\n")
    assert fs.task_cpus_allowed(pid) == M("0-5")


def test_logical_numbering_is_the_ordinal_in_the_cpuset() -> None:
    cpus = M("4-5,8,12")
    assert [to_logical(cpus, c) for c in cpus] == [0, 1, 2, 3]
    assert [to_real(cpus, k) for k in range(4)] == [4, 5, 8, 12]
    assert (mask_to_real(cpus, M("1-2,7")), mask_to_logical(cpus, M("0-8"))) == (M("5,8"), M("0-2"))


def test_logical_numbers_outside_the_cpuset_are_einval() -> None:
    with pytest.raises(CpusetError):
        to_real(M("2-3"), 2)
    with pytest.raises(CpusetError):
        to_logical(M("2-3"), 1)


@given(st.integers(1, (1 << 16) - 1), st.integers(0, (1 << 16) - 1))
def test_real_and_logical_masks_round_trip_within_the_cpuset(cpus: int, logical: int) -> None:
    cs = CpuMask(cpus)
    lmask = CpuMask(logical) & CpuMask((1 << len(cs)) - 1)
    real = mask_to_real(cs, lmask)
    assert (real <= cs, mask_to_logical(cs, real)) == (True, lmask)
