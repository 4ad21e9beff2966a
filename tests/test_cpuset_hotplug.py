"""CPU hotplug as each era's cpuset code handles it (CS-HP-1..4, DYN-5)."""

from __future__ import annotations

import errno

import pytest

from cpuset import CpusetError, CpusetFS, TaskAttached
from topology import CpuMask
from topology.presets import preset

M = CpuMask.parse


def setup(era: str) -> tuple[CpusetFS, int]:
    fs = CpusetFS(preset("smt-numa-8"), era=era)
    fs.chdir(fs.tree.mount_point)
    fs.mkdir("a")
    fs.write("a/cpus", "2-3\n")
    fs.write("a/mems", "0\n")
    fs.mkdir("a/b")
    fs.write("a/b/cpus", "3\n")
    fs.write("a/b/mems", "0\n")
    pid = fs.fork(1)
    fs.write("a/b/tasks", f"{pid}\n")
    return fs, pid


def test_2614_has_no_hook_masks_keep_offline_cpus() -> None:
    fs, _ = setup("2.6.14")
    fs.set_online(3, False)
    assert (fs.read("a/b/cpus"), fs.read("cpus")) == ("3", "0-7")


def test_2614_task_left_without_an_online_cpu_gets_every_cpu() -> None:
    fs, pid = setup("2.6.14")
    fs.set_online(3, False)
    assert fs.task_cpus_allowed(pid) == M("0-7")


@pytest.mark.parametrize(
    ("era", "flag_file", "value", "before"),
    [
        ("2.6.14", "a/cpu_exclusive", "1\n", ["0-1,4-7", "2-3"]),
        ("2.6.24", "sched_load_balance", "0\n", ["2-3"]),
    ],
)
def test_old_era_hotplug_drops_cpuset_partitions_for_one_default_domain(
    era: str, flag_file: str, value: str, before: list[str]
) -> None:
    fs, _ = setup(era)
    fs.write(flag_file, value)
    assert [str(d) for d in fs.partitions.doms] == before
    fs.set_online(7, False)
    assert [str(d) for d in fs.partitions.doms] == ["0-6"]


def test_2624_emptied_cpuset_inherits_the_online_part_of_its_parent() -> None:
    fs, pid = setup("2.6.24")
    fs.set_online(3, False)
    assert (fs.read("a/cpus"), fs.read("a/b/cpus"), fs.read("cpus")) == ("2", "2", "0-2,4-7")
    assert fs.task_cpus_allowed(pid) == M("2")


def test_2624_emptied_cpuset_may_overlap_an_exclusive_sibling_after_unplug() -> None:
    fs = CpusetFS(preset("numa-2x2"), era="2.6.24")
    fs.chdir("/dev/cpuset")
    for name, cpus in (("a", "1"), ("b", "0")):
        fs.mkdir(name)
        fs.write(f"{name}/cpus", cpus + "\n")
        fs.write(f"{name}/mems", "0\n")
    fs.write("a/cpu_exclusive", "1\n")
    fs.set_online(0, False)
    # guarantee_online_cpus(b) walks up to the top: b now shares CPU 1 with exclusive a.
    assert (fs.read("b/cpus"), fs.read("a/cpus"), fs.read("a/cpu_exclusive")) == ("1-3", "1", "1")


def test_v1_tasks_of_an_emptied_cpuset_move_to_the_nearest_ancestor_with_cpus() -> None:
    fs, pid = setup("v1")
    fs.take_events()
    fs.set_online(3, False)
    moved = [e for e in fs.take_events() if isinstance(e, TaskAttached)]
    assert [(e.pid, e.src, e.dst) for e in moved] == [(pid, "/a/b", "/a")]
    assert (fs.read("a/b/cpus"), fs.read("a/cpus"), fs.task_cpus_allowed(pid)) == ("", "2", M("2"))


def test_v1_cpu_coming_back_returns_only_to_the_top_cpuset() -> None:
    fs, _ = setup("v1")
    fs.set_online(3, False)
    fs.set_online(3, True)
    assert (fs.read("cpus"), fs.read("a/cpus")) == ("0-7", "2")


@pytest.mark.parametrize("era", ["v1", "v2"])
def test_modern_top_tasks_keep_offline_cpus_in_their_mask(era: str) -> None:
    # cpuset_handle_hotplug: "we don't mess with cpumasks of tasks in top_cpuset".
    fs = CpusetFS(preset("smt-numa-8"), era=era)
    fs.set_online(0, False)
    assert (fs.task_cpus_allowed(1), fs.read("/proc/1/status").splitlines()[1]) == (
        M("0-7"),
        "Cpus_allowed_list:\t0-7",
    )


@pytest.mark.parametrize("era", ["v1", "v2"])
def test_top_task_whose_request_went_offline_falls_back_to_every_cpu(era: str) -> None:
    # select_fallback_rq -> set_cpus_allowed_force: all possible CPUs, user request dropped.
    fs = CpusetFS(preset("smt-numa-8"), era=era)
    pid = fs.fork(1)
    fs.sched_setaffinity(pid, M("7"))
    fs.set_online(7, False)
    assert fs.task_cpus_allowed(pid) == M("0-7")
    fs.set_online(7, True)
    assert (fs.task_cpus_allowed(pid), fs.tree.tasks[pid].user_cpus) == (M("0-7"), None)


def test_the_last_online_cpu_cannot_go_offline() -> None:
    fs = CpusetFS(preset("ht-up"), era="v1")
    fs.set_online(1, False)
    with pytest.raises(CpusetError) as info:
        fs.set_online(0, False)
    assert info.value.errno == errno.EBUSY


def test_an_unknown_cpu_is_enodev() -> None:
    fs = CpusetFS(preset("ht-up"), era="v1")
    with pytest.raises(CpusetError) as info:
        fs.set_online(5, False)
    assert info.value.errno == errno.ENODEV


def test_setting_the_current_state_again_changes_nothing() -> None:
    fs, _ = setup("v1")
    before = (fs.generation, fs.take_events())
    fs.set_online(2, True)
    assert (fs.generation, fs.take_events()) == (before[0], [])


@pytest.mark.parametrize("era", ["2.6.14", "2.6.24"])
def test_2_6_refuses_to_set_a_cpu_to_the_state_it_has(era: str) -> None:
    """2.6 store_online returns cpu_up's / cpu_down's error: EINVAL for a CPU already
    online (offline), EBUSY first when only one CPU is online."""
    fs, _ = setup(era)
    before = fs.generation
    for cpu, online in ((2, True), (5, True)):
        with pytest.raises(CpusetError) as info:
            fs.set_online(cpu, online)
        assert info.value.errno == errno.EINVAL
    fs.set_online(5, False)
    with pytest.raises(CpusetError) as info:
        fs.set_online(5, False)
    assert info.value.errno == errno.EINVAL
    for cpu in (0, 1, 2, 3, 4, 6):
        fs.set_online(cpu, False)
    with pytest.raises(CpusetError) as info:
        fs.set_online(5, False)  # offline already, but the single online CPU is checked first
    assert info.value.errno == errno.EBUSY
    assert fs.generation > before
