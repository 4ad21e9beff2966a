"""The file interface: paths, files per era, tasks, events (cpuset/fs.py, files.py, attach.py)."""

from __future__ import annotations

import errno

import pytest

from cpuset import (
    CpusetError,
    CpusetFS,
    MemsChanged,
    PathError,
    ReleaseAgentCalled,
    TaskAttached,
    TaskCpusChanged,
)
from topology import CpuMask
from topology.presets import preset


def fs_for(era: str, machine: str = "smt-numa-8") -> CpusetFS:
    fs = CpusetFS(preset(machine), era=era)
    fs.chdir(fs.tree.mount_point)
    return fs


def errno_of(call: object, *args: object) -> int:
    assert callable(call)
    with pytest.raises(CpusetError) as info:
        call(*args)
    assert info.value.errno is not None
    return info.value.errno


def test_2614_directory_has_the_six_original_files() -> None:
    fs = fs_for("2.6.14")
    fs.mkdir("a")
    assert fs.listdir("a") == [
        "cpu_exclusive",
        "cpus",
        "mem_exclusive",
        "mems",
        "notify_on_release",
        "tasks",
    ]


def test_2614_has_no_prefixed_names() -> None:
    fs = fs_for("2.6.14")
    assert errno_of(fs.read, "cpuset.cpus") == errno.ENOENT


def test_v1_accepts_both_spellings_and_lists_the_mount_style() -> None:
    fs = fs_for("v1")
    fs.mkdir("a")
    fs.write("a/cpuset.cpus", "1-2\n")
    assert (fs.read("a/cpus"), "cpus" in fs.listdir("a")) == ("1-2", True)
    fs.mount("cgroup", "cpuset", "/dev/cpuset")
    assert ("cpuset.cpus" in fs.listdir("a"), "tasks" in fs.listdir("a")) == (True, True)


def test_root_only_files_appear_only_at_the_root() -> None:
    fs = fs_for("v1")
    fs.mkdir("a")
    assert (
        "memory_pressure_enabled" in fs.listdir(""),
        "memory_pressure_enabled" in fs.listdir("a"),
    ) == (
        True,
        False,
    )


def test_v2_children_get_cpuset_files_only_when_the_parent_enables_the_controller() -> None:
    fs = fs_for("v2")
    fs.mkdir("a")
    assert "cpuset.cpus" not in fs.listdir("a")
    fs.write("cgroup.subtree_control", "+cpuset\n")
    assert ("cpuset.cpus" in fs.listdir("a"), fs.read("cgroup.subtree_control")) == (True, "cpuset")


def test_mkdir_over_an_existing_name_is_eexist() -> None:
    fs = fs_for("v1")
    fs.mkdir("a")
    assert (errno_of(fs.mkdir, "a"), errno_of(fs.mkdir, "tasks")) == (errno.EEXIST, errno.EEXIST)


def test_mkdir_p_creates_missing_parents_and_tolerates_existing_ones() -> None:
    fs = fs_for("v1")
    fs.mkdir("x/y/z", parents=True)
    fs.mkdir("x/y", parents=True)
    assert fs.listdir("x/y")[-1] == "z"


def test_missing_parent_is_enoent() -> None:
    fs = fs_for("v1")
    assert errno_of(fs.mkdir, "no/such") == errno.ENOENT


def test_writing_a_file_that_does_not_exist_in_a_cpuset_is_eacces() -> None:
    fs = fs_for("v1")
    with pytest.raises(PathError) as info:
        fs.write("no_such_file", "1\n")
    assert info.value.errno == errno.EACCES


def test_read_only_files_cannot_be_opened_for_writing() -> None:
    fs = fs_for("v1")
    assert errno_of(fs.write, "effective_cpus", "0\n") == errno.EACCES


def test_reading_a_directory_is_eisdir_and_a_file_as_directory_is_enotdir() -> None:
    fs = fs_for("v1")
    fs.mkdir("a")
    assert (errno_of(fs.read, "a"), errno_of(fs.read, "a/tasks/x")) == (errno.EISDIR, errno.ENOTDIR)


def test_relative_paths_resolve_against_the_current_directory() -> None:
    fs = fs_for("v1")
    fs.mkdir("a")
    fs.chdir("a")
    fs.write("cpus", "3\n")
    fs.chdir("..")
    assert (fs.cwd, fs.read("a/cpus"), fs.read("/dev/cpuset/a/cpus")) == ("/dev/cpuset", "3", "3")


def test_rmdir_refuses_cpusets_with_tasks_or_children() -> None:
    fs = fs_for("v1")
    fs.mkdir("a/b", parents=True)
    assert errno_of(fs.rmdir, "a") == errno.EBUSY
    fs.write("a/cpus", "0\n")
    fs.write("a/mems", "0\n")
    fs.write("a/tasks", "1\n")
    fs.rmdir("a/b")
    assert errno_of(fs.rmdir, "a") == errno.EBUSY
    fs.write("tasks", "1\n")
    fs.rmdir("a")
    assert fs.listdir("") == sorted(fs.listdir(""))


def test_tasks_are_listed_sorted_by_pid() -> None:
    fs = fs_for("v1")
    fs.mkdir("a")
    fs.write("a/cpus", "0-1\n")
    fs.write("a/mems", "0\n")
    pids = [fs.fork(1) for _ in range(3)]
    for pid in reversed(pids):
        fs.write("a/tasks", f"{pid}\n")
    assert fs.read("a/tasks") == "\n".join(map(str, pids))


def test_cat_of_an_empty_tasks_file_prints_nothing_but_an_empty_mask_prints_a_newline() -> None:
    fs = fs_for("v1")
    fs.mkdir("a")
    assert (fs.cat("a/tasks"), fs.cat("a/cpus")) == ("", "\n")


def test_attach_errors_follow_the_era_order() -> None:
    old = fs_for("2.6.14")
    old.mkdir("a")
    # 2.6.14 attach_task: ENOSPC (empty cpus) before ESRCH (no such pid), EIO for garbage.
    assert errno_of(old.write, "a/tasks", "999\n") == errno.ENOSPC
    assert errno_of(old.write, "a/tasks", "x\n") == errno.EIO
    new = fs_for("v1")
    new.mkdir("a")
    assert errno_of(new.write, "a/tasks", "999\n") == errno.ESRCH
    assert errno_of(new.write, "a/tasks", "1\n") == errno.ENOSPC
    assert errno_of(new.write, "a/tasks", "x\n") == errno.EINVAL


def test_pid_zero_attaches_the_writer() -> None:
    fs = fs_for("v1")
    shell = fs.fork(1)
    fs.mkdir("a")
    fs.write("a/cpus", "2-3\n")
    fs.write("a/mems", "1\n")
    fs.write("a/tasks", "0\n", pid=shell)
    assert (fs.task_cpuset(shell), fs.task_cpus_allowed(shell), fs.task_mems_allowed(shell)) == (
        "/a",
        CpuMask.parse("2-3"),
        CpuMask.parse("1"),
    )


@pytest.mark.parametrize(("era", "expected"), [("2.6.14", "4-5"), ("2.6.24", "4")])
def test_attaching_to_the_same_cpuset_resets_affinity_only_in_2614(era: str, expected: str) -> None:
    fs = fs_for(era)
    fs.mkdir("a")
    fs.write("a/cpus", "4-5\n")
    fs.write("a/mems", "1\n")
    pid = fs.fork(1)
    fs.write("a/tasks", f"{pid}\n")
    fs.sched_setaffinity(pid, CpuMask.parse("4"))
    fs.write("a/tasks", f"{pid}\n")
    assert str(fs.task_cpus_allowed(pid)) == expected


def test_fork_inherits_the_cpuset_and_the_affinity() -> None:
    fs = fs_for("v1")
    fs.mkdir("a")
    fs.write("a/cpus", "4-5\n")
    fs.write("a/mems", "1\n")
    parent = fs.fork(1)
    fs.write("a/tasks", f"{parent}\n")
    child = fs.fork(parent)
    assert (fs.task_cpuset(child), fs.task_cpus_allowed(child)) == ("/a", CpuMask.parse("4-5"))


def test_attach_reports_the_move_the_new_mask_and_the_mems_to_rebind_to() -> None:
    fs = fs_for("v1")
    fs.mkdir("a")
    fs.write("a/cpus", "2-3\n")
    fs.write("a/mems", "1\n")
    fs.write("a/memory_migrate", "1\n")
    fs.take_events()
    fs.write("a/tasks", "1\n")
    assert fs.take_events() == [
        TaskAttached(
            pid=1,
            src="/",
            dst="/a",
            old_mems=CpuMask.parse("0-1"),
            new_mems=CpuMask.parse("1"),
            memory_migrate=True,
        ),
        TaskCpusChanged(pid=1, cpus_allowed=CpuMask.parse("2-3")),
    ]


def test_mems_write_announces_the_rebind_for_the_cpusets_tasks() -> None:
    fs = fs_for("v1")
    fs.mkdir("a")
    fs.write("a/cpus", "0-1\n")
    fs.write("a/mems", "0\n")
    fs.write("a/tasks", "1\n")
    fs.take_events()
    generation = fs.generation
    fs.write("a/mems", "1\n")
    events = [e for e in fs.take_events() if isinstance(e, MemsChanged)]
    assert [(e.path, str(e.old), str(e.new), e.pids) for e in events] == [("/a", "0", "1", (1,))]
    assert fs.generation == generation + 1


def test_2614_cpus_write_leaves_task_affinity_alone_but_2624_updates_it() -> None:
    for era, expected in (("2.6.14", "0-3"), ("2.6.24", "0-1")):
        fs = fs_for(era)
        fs.mkdir("a")
        fs.write("a/cpus", "0-3\n")
        fs.write("a/mems", "0\n")
        fs.write("a/tasks", "1\n")
        fs.write("a/cpus", "0-1\n")
        assert (era, str(fs.task_cpus_allowed(1))) == (era, expected)


def test_notify_on_release_calls_the_agent_when_the_last_task_leaves() -> None:
    fs = fs_for("2.6.14")
    fs.write("notify_on_release", "1\n")
    fs.mkdir("job")
    fs.write("job/cpus", "0\n")
    fs.write("job/mems", "0\n")
    pid = fs.fork(1)
    fs.write("job/tasks", f"{pid}\n")
    fs.take_events()
    fs.exit(pid)
    assert [e for e in fs.take_events() if isinstance(e, ReleaseAgentCalled)] == [
        ReleaseAgentCalled(path="/job")
    ]


def test_proc_files_show_the_tasks_cpuset_and_placement() -> None:
    fs = fs_for("v1")
    fs.mkdir("Charlie")
    fs.write("Charlie/cpus", "2-3\n")
    fs.write("Charlie/mems", "1\n")
    pid = fs.fork(1)
    fs.write("Charlie/tasks", f"{pid}\n")
    fs.current_pid = pid
    assert fs.read("/proc/self/cpuset") == "/Charlie"
    assert fs.read(f"/proc/{pid}/status").split("\n") == [
        "Cpus_allowed:\t0c",
        "Cpus_allowed_list:\t2-3",
        "Mems_allowed:\t00000000,00000002",
        "Mems_allowed_list:\t1",
    ]


def test_mount_moves_the_hierarchy_to_an_existing_directory() -> None:
    fs = fs_for("v1")
    assert errno_of(fs.mount, "cgroup", "cpuset", "/sys/fs/cgroup/cpuset") == errno.ENOENT
    fs.mkdir("/sys/fs/cgroup/cpuset")
    fs.mount("cgroup", "cpuset", "/sys/fs/cgroup/cpuset")
    fs.mkdir("/sys/fs/cgroup/cpuset/a")
    assert (fs.tree.display(fs.tree.top.children[0]), fs.isdir("/dev/cpuset")) == (
        "/sys/fs/cgroup/cpuset/a",
        True,
    )


def test_mount_refuses_a_filesystem_the_era_did_not_have() -> None:
    assert errno_of(fs_for("2.6.14").mount, "cgroup", "cpuset", "/dev/cpuset") == errno.ENODEV
    assert errno_of(fs_for("v2").mount, "cgroup", "cpuset", "/sys/fs/cgroup") == errno.ENODEV


def test_sysfs_online_file_takes_a_cpu_down_and_up() -> None:
    fs = fs_for("v1")
    fs.write("/sys/devices/system/cpu/cpu3/online", "0\n")
    assert (fs.read("/sys/devices/system/cpu/online"), fs.read("cpus")) == ("0-2,4-7", "0-2,4-7")
    assert errno_of(fs.write, "/sys/devices/system/cpu/cpu3/online", "maybe\n") == errno.EINVAL
    fs.write("/sys/devices/system/cpu/cpu3/online", "1\n")
    assert fs.read("/sys/devices/system/cpu/cpu3/online") == "1"


def test_v2_no_internal_tasks_rule_refuses_attach_below_an_enabled_parent() -> None:
    fs = fs_for("v2")
    fs.mkdir("a/b", parents=True)
    fs.write("cgroup.subtree_control", "+cpuset\n")
    fs.write("a/cgroup.subtree_control", "+cpuset\n")
    assert errno_of(fs.write, "a/cgroup.procs", "1\n") == errno.EBUSY
    fs.write("a/b/cgroup.procs", "1\n")
    assert errno_of(fs.write, "a/b/cgroup.subtree_control", "+cpuset\n") == errno.EBUSY
