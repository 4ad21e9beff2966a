"""cgroup-v2 partitions: states, invalid reasons, domains (CS-PART-1..3, RB-6, RB-EX2, CS-HP-4)."""

from __future__ import annotations

import errno

import pytest

from cpuset import CpusetError, CpusetFS, generate_partitions
from topology import CpuMask
from topology.presets import preset


def v2() -> CpusetFS:
    fs = CpusetFS(preset("smt-numa-8"), era="v2")
    fs.chdir("/sys/fs/cgroup")
    fs.write("cgroup.subtree_control", "+cpuset\n")
    return fs


def doms(fs: CpusetFS) -> list[str]:
    return [str(d) for d in generate_partitions(fs.tree).doms]


def partition(fs: CpusetFS, name: str) -> str:
    return fs.read(f"{name}/cpuset.cpus.partition")


def root_p(fs: CpusetFS, cpus: str = "4-7", state: str = "root") -> None:
    fs.mkdir("P")
    fs.write("P/cpuset.cpus", cpus + "\n")
    fs.write("P/cpuset.cpus.partition", state + "\n")


def test_rb_ex2_root_partition_takes_its_cpus_from_the_top() -> None:
    fs = v2()
    root_p(fs)
    assert (partition(fs, "P"), fs.read("cpuset.cpus.effective"), doms(fs)) == (
        "root",
        "0-3",
        ["0-3", "4-7"],
    )


def test_rb_ex2_isolated_partition_gets_no_domain() -> None:
    fs = v2()
    root_p(fs, state="isolated")
    assert (doms(fs), fs.read("cpuset.cpus.isolated")) == (["0-3"], "4-7")
    assert str(fs.tree.online_cpus - fs.partitions.balanced) == "4-7"


def test_rb_ex2_conflicting_sibling_write_succeeds_and_invalidates_the_partition() -> None:
    fs = v2()
    root_p(fs)
    fs.mkdir("Q")
    fs.write("Q/cpuset.cpus", "6-7\n")
    assert (partition(fs, "P"), fs.read("cpuset.cpus.effective"), doms(fs)) == (
        "root invalid (Cpu list in cpuset.cpus not exclusive)",
        "0-7",
        ["0-7"],
    )


def test_a_partition_grown_over_a_member_sibling_is_invalidated_and_stops_being_exclusive() -> None:
    # update_cpumask's "invalidate": the write on the root itself goes through, the
    # root becomes invalid (PERR_NOTEXCL) and loses CS_CPU_EXCLUSIVE, so the member
    # sibling's own writes are no longer refused (found by the state machine test).
    fs = v2()
    root_p(fs)
    fs.mkdir("Q")
    fs.write("Q/cpuset.cpus", "2\n")
    fs.write("P/cpuset.cpus", "2,4-7\n")
    assert partition(fs, "P") == "root invalid (Cpu list in cpuset.cpus not exclusive)"
    assert doms(fs) == ["0-7"]
    fs.write("Q/cpuset.mems", "0\n")
    assert fs.read("Q/cpuset.mems.effective") == "0"


def test_invalid_partition_recovers_once_the_conflict_is_gone() -> None:
    fs = v2()
    root_p(fs)
    fs.mkdir("Q")
    fs.write("Q/cpuset.cpus", "6-7\n")
    fs.write("Q/cpuset.cpus", "\n")
    assert (partition(fs, "P"), doms(fs)) == ("root", ["0-3", "4-7"])


def test_new_partition_overlapping_a_member_sibling_starts_invalid() -> None:
    fs = v2()
    fs.mkdir("Q")
    fs.write("Q/cpuset.cpus", "5\n")
    root_p(fs)
    assert partition(fs, "P") == "root invalid (Cpu list in cpuset.cpus not exclusive)"


def test_partition_without_cpus_is_invalid_with_the_kernels_reason() -> None:
    fs = v2()
    fs.mkdir("P")
    fs.write("P/cpuset.cpus.partition", "root\n")
    assert partition(fs, "P") == "root invalid (cpuset.cpus and cpuset.cpus.exclusive are empty)"


def test_partition_under_a_member_parent_is_invalid() -> None:
    # update_prstate -> remote_partition_enable: the member parent passes no
    # exclusive CPUs down (INVCPUS); update_cpumasks_hier says NOTPART once it
    # walks over the child, i.e. after the parent's effective CPUs change.
    fs = v2()
    fs.mkdir("M")
    fs.write("M/cpuset.cpus", "4-7\n")
    fs.write("M/cgroup.subtree_control", "+cpuset\n")
    fs.mkdir("M/P")
    fs.write("M/P/cpuset.cpus", "6-7\n")
    fs.write("M/P/cpuset.cpus.partition", "root\n")
    assert partition(fs, "M/P") == "root invalid (Invalid cpu list in cpuset.cpus.exclusive)"
    fs.mkdir("Q")
    assert partition(fs, "M/P") == "root invalid (Invalid cpu list in cpuset.cpus.exclusive)"
    fs.write("M/cpuset.cpus", "3-7\n")
    assert partition(fs, "M/P") == "root invalid (Parent is not a partition root)"
    # With exclusive CPUs passed down the kernel would grant a remote partition,
    # which the model does not have (SIMPLIFIED in effective.py).
    fs.write("M/cpuset.cpus.exclusive", "6-7\n")
    fs.write("M/P/cpuset.cpus.partition", "root\n")
    assert partition(fs, "M/P") == "root invalid (Parent is not a partition root)"


def test_partition_under_a_member_parent_reports_a_sibling_conflict_first() -> None:
    fs = v2()
    fs.mkdir("M")
    fs.write("M/cpuset.cpus", "4-7\n")
    fs.write("M/cgroup.subtree_control", "+cpuset\n")
    fs.mkdir("M/A")
    fs.write("M/A/cpuset.cpus.exclusive", "6\n")
    fs.mkdir("M/P")
    fs.write("M/P/cpuset.cpus", "6-7\n")
    fs.write("M/P/cpuset.cpus.partition", "root\n")
    assert partition(fs, "M/P") == "root invalid (Cpu list in cpuset.cpus not exclusive)"


def test_parent_turning_member_invalidates_and_root_again_restores_children() -> None:
    fs = v2()
    root_p(fs)
    fs.write("P/cgroup.subtree_control", "+cpuset\n")
    fs.mkdir("P/C")
    fs.write("P/C/cpuset.cpus", "6-7\n")
    fs.write("P/C/cpuset.cpus.partition", "isolated\n")
    assert (partition(fs, "P/C"), doms(fs)) == ("isolated", ["0-3", "4-5"])
    fs.write("P/cpuset.cpus.partition", "member\n")
    assert partition(fs, "P/C") == "isolated invalid (Parent is not a partition root)"
    fs.write("P/cpuset.cpus.partition", "root\n")
    assert partition(fs, "P/C") == "isolated"


def test_child_of_an_invalid_partition_reads_parent_is_an_invalid_partition_root() -> None:
    fs = v2()
    root_p(fs)
    fs.write("P/cgroup.subtree_control", "+cpuset\n")
    fs.mkdir("P/C")
    fs.write("P/C/cpuset.cpus", "6-7\n")
    fs.write("P/C/cpuset.cpus.partition", "root\n")
    fs.mkdir("Q")
    fs.write("Q/cpuset.cpus", "4\n")
    assert partition(fs, "P/C") == "root invalid (Parent is an invalid partition root)"


def test_parent_with_tasks_cannot_give_away_all_its_cpus() -> None:
    fs = v2()
    root_p(fs, cpus="0-7")
    assert partition(fs, "P") == "root invalid (Parent unable to distribute cpu downstream)"


def test_partition_write_accepts_only_member_root_isolated() -> None:
    fs = v2()
    fs.mkdir("P")
    with pytest.raises(CpusetError) as info:
        fs.write("P/cpuset.cpus.partition", "rooted\n")
    assert info.value.errno == errno.EINVAL


def test_tasks_follow_the_partition_cpus_and_fall_back_when_it_turns_invalid() -> None:
    fs = v2()
    root_p(fs)
    pid = fs.fork(1)
    fs.write("P/cgroup.procs", f"{pid}\n")
    assert fs.task_cpus_allowed(pid) == CpuMask.parse("4-7")
    fs.mkdir("Q")
    fs.write("Q/cpuset.cpus", "6\n")
    assert fs.task_cpus_allowed(pid) == CpuMask.parse("4-7")
    assert fs.task_cpus_allowed(1) == CpuMask.parse("0-7")


def test_hotplug_keeps_tasks_and_invalidates_an_emptied_populated_partition() -> None:
    fs = v2()
    root_p(fs, cpus="6-7")
    pid = fs.fork(1)
    fs.write("P/cgroup.procs", f"{pid}\n")
    fs.set_online(6, False)
    fs.set_online(7, False)
    # A local partition is invalidated by hotplug with partcmd_invalidate, which
    # writes no prs_err; PERR_HOTPLUG is only ever set for remote partitions.
    assert (partition(fs, "P"), fs.task_cpuset(pid), str(fs.task_cpus_allowed(pid))) == (
        "root invalid",
        "/P",
        "0-5",
    )
    fs.set_online(7, True)
    assert (partition(fs, "P"), fs.read("P/cpuset.cpus"), str(fs.task_cpus_allowed(pid))) == (
        "root",
        "6-7",
        "7",
    )


def test_empty_taskless_partition_stays_valid_through_hotplug() -> None:
    fs = v2()
    root_p(fs, cpus="6-7")
    fs.set_online(6, False)
    fs.set_online(7, False)
    assert (partition(fs, "P"), fs.read("P/cpuset.cpus.effective"), doms(fs)) == (
        "root",
        "",
        ["0-5"],
    )


def test_member_effective_cpus_inherit_when_cpus_are_empty() -> None:
    fs = v2()
    fs.mkdir("M")
    assert fs.read("M/cpuset.cpus.effective") == "0-7"
    fs.write("M/cpuset.cpus", "2-3\n")
    fs.write("M/cpuset.mems", "1\n")
    assert (fs.read("M/cpuset.cpus.effective"), fs.read("M/cpuset.mems.effective")) == ("2-3", "1")


def test_exclusive_cpus_conflicting_with_a_sibling_are_refused() -> None:
    fs = v2()
    fs.mkdir("A")
    fs.mkdir("B")
    fs.write("A/cpuset.cpus.exclusive", "4-5\n")
    with pytest.raises(CpusetError) as info:
        fs.write("B/cpuset.cpus.exclusive", "5-6\n")
    assert info.value.errno == errno.EINVAL


def test_partition_from_exclusive_cpus_owns_only_those() -> None:
    fs = v2()
    fs.mkdir("A")
    fs.write("A/cpuset.cpus", "4-7\n")
    fs.write("A/cpuset.cpus.exclusive", "6-7\n")
    fs.write("A/cpuset.cpus.partition", "root\n")
    assert (partition(fs, "A"), fs.read("A/cpuset.cpus.exclusive.effective"), doms(fs)) == (
        "root",
        "6-7",
        ["0-5", "6-7"],
    )


def test_enabling_a_partition_whose_cpus_are_all_offline_under_tasks_is_nocpus() -> None:
    # update_parent_effective_cpumask(partcmd_enable): tasks_nocpu_error -> PERR_NOCPUS.
    fs = v2()
    fs.mkdir("C")
    fs.write("C/cpuset.cpus", "7\n")
    pid = fs.fork(1)
    fs.write("C/cgroup.procs", f"{pid}\n")
    fs.set_online(7, False)
    fs.write("C/cpuset.cpus.partition", "root\n")
    assert (partition(fs, "C"), fs.read("C/cpuset.cpus.effective")) == (
        "root invalid (Parent unable to distribute cpu downstream)",
        "0-6",
    )


def test_exclusive_cpus_beyond_the_parents_are_kept_and_narrowed_in_the_effective_list() -> None:
    # update_exclusive_cpumask has no subset-of-parent check (compute_effective_exclusive_cpumask).
    fs = v2()
    fs.mkdir("A")
    fs.write("A/cpuset.cpus", "0-3\n")
    fs.write("A/cgroup.subtree_control", "+cpuset\n")
    fs.mkdir("A/B")
    fs.write("A/B/cpuset.cpus.exclusive", "3-4\n")
    assert (
        fs.read("A/B/cpuset.cpus.exclusive"),
        fs.read("A/B/cpuset.cpus.exclusive.effective"),
    ) == (
        "3-4",
        "",
    )
    fs.write("A/cpuset.cpus.exclusive", "0-3\n")
    assert fs.read("A/B/cpuset.cpus.exclusive.effective") == "3"


def test_rewriting_unchanged_exclusive_cpus_succeeds_even_if_a_sibling_now_conflicts() -> None:
    # update_exclusive_cpumask returns 0 on an unchanged mask before validate_change (CS-VAL-8).
    fs = v2()
    fs.mkdir("A")
    fs.mkdir("B")
    fs.write("A/cpuset.cpus.exclusive", "0-1\n")
    fs.write("B/cpuset.cpus", "0-1\n")
    fs.write("A/cpuset.cpus.exclusive", "0-1\n")
    assert fs.read("A/cpuset.cpus.exclusive") == "0-1"
    with pytest.raises(CpusetError) as info:
        fs.write("A/cpuset.cpus.exclusive", "0-2\n")
    assert info.value.errno == errno.EINVAL
