"""validate_change and the write handlers' own checks, era by era (SPEC §3.2, CS-VAL-1..9)."""

from __future__ import annotations

import errno

import pytest

from cpuset import CpusetError, CpusetFS
from cpuset.tree import CpusetConfig, CsFlag
from cpuset.validate import cpus_excl_conflict, is_cpuset_subset, subset_failure
from topology import CpuMask
from topology.presets import preset


def fs_for(era: str, machine: str = "smt-numa-8") -> CpusetFS:
    fs = CpusetFS(preset(machine), era=era)
    fs.chdir(fs.tree.mount_point)
    return fs


def refused(fs: CpusetFS, path: str, text: str) -> int:
    with pytest.raises(CpusetError) as info:
        fs.write(path, text)
    assert info.value.errno is not None
    return info.value.errno


def make(fs: CpusetFS, name: str, cpus: str, mems: str = "0") -> None:
    fs.mkdir(name)
    fs.write(f"{name}/cpus", cpus + "\n")
    fs.write(f"{name}/mems", mems + "\n")


@pytest.mark.parametrize("era", ["2.6.14", "2.6.24", "v1"])
def test_child_cpus_must_stay_within_parent(era: str) -> None:
    fs = fs_for(era)
    make(fs, "a", "0-3")
    fs.mkdir("a/b")
    assert refused(fs, "a/b/cpus", "4\n") == errno.EACCES
    fs.write("a/b/cpus", "2-3\n")
    assert fs.read("a/b/cpus") == "2-3"


@pytest.mark.parametrize("era", ["2.6.14", "2.6.24", "v1"])
def test_parent_cannot_shrink_below_a_child(era: str) -> None:
    fs = fs_for(era)
    make(fs, "a", "0-3")
    make(fs, "a/b", "2-3")
    assert refused(fs, "a/cpus", "0-1\n") == errno.EBUSY
    assert fs.read("a/cpus") == "0-3"


@pytest.mark.parametrize("era", ["2.6.14", "2.6.24", "v1"])
def test_exclusive_siblings_may_not_overlap(era: str) -> None:
    fs = fs_for(era)
    make(fs, "a", "0-3")
    make(fs, "b", "2-5")
    assert refused(fs, "a/cpu_exclusive", "1\n") == errno.EINVAL
    fs.write("b/cpus", "4-5\n")
    fs.write("a/cpu_exclusive", "1\n")
    assert refused(fs, "b/cpus", "3-5\n") == errno.EINVAL


def test_refusal_message_names_the_sibling_and_the_rule() -> None:
    fs = fs_for("2.6.14")
    make(fs, "a", "0-3")
    fs.write("a/cpu_exclusive", "1\n")
    make(fs, "b", "4-5")
    with pytest.raises(CpusetError) as info:
        fs.write("b/cpus", "3-4\n")
    assert info.value.strerror == "cpus overlap cpu_exclusive sibling /dev/cpuset/a (CS-VAL-3)"


def test_mem_exclusive_siblings_may_not_share_nodes() -> None:
    fs = fs_for("v1")
    make(fs, "a", "0-1", "0")
    make(fs, "b", "2-3", "1")
    fs.write("a/mem_exclusive", "1\n")
    assert refused(fs, "b/mems", "0-1\n") == errno.EINVAL


def test_exclusive_child_needs_an_exclusive_parent() -> None:
    fs = fs_for("v1")
    make(fs, "a", "0-3")
    make(fs, "a/b", "0-1")
    assert refused(fs, "a/b/cpu_exclusive", "1\n") == errno.EACCES
    fs.write("a/cpu_exclusive", "1\n")
    fs.write("a/b/cpu_exclusive", "1\n")
    assert fs.read("a/b/cpu_exclusive") == "1"


def test_clearing_exclusive_on_a_parent_with_an_exclusive_child_is_busy() -> None:
    fs = fs_for("2.6.24")
    make(fs, "a", "0-3")
    fs.write("a/cpu_exclusive", "1\n")
    make(fs, "a/b", "0-1")
    fs.write("a/b/cpu_exclusive", "1\n")
    assert refused(fs, "a/cpu_exclusive", "0\n") == errno.EBUSY


def test_children_check_comes_before_the_parent_check() -> None:
    fs = fs_for("2.6.14")
    make(fs, "x", "0-5")
    make(fs, "x/a", "0-3")
    make(fs, "x/a/b", "0-3")
    # 6 is outside x (EACCES) and leaves b outside a (EBUSY): the children win.
    assert refused(fs, "x/a/cpus", "6\n") == errno.EBUSY


def test_2614_drops_offline_cpus_and_refuses_an_all_offline_list() -> None:
    fs = fs_for("2.6.14")
    fs.set_online(7, False)
    make(fs, "a", "5-7")
    assert fs.read("a/cpus") == "5-6"
    assert refused(fs, "a/cpus", "7\n") == errno.ENOSPC


def test_modern_v1_refuses_cpus_outside_the_top_cpuset() -> None:
    fs = fs_for("v1")
    fs.set_online(7, False)
    fs.mkdir("a")
    assert refused(fs, "a/cpus", "6-7\n") == errno.EINVAL


@pytest.mark.parametrize(("era", "expected"), [("2.6.14", None), ("2.6.24", errno.EACCES)])
def test_top_cpus_are_writable_only_in_2614(era: str, expected: int | None) -> None:
    fs = fs_for(era)
    if expected is None:
        fs.write("cpus", "0-3\n")
        assert fs.read("cpus") == "0-3"
    else:
        assert refused(fs, "cpus", "0-3\n") == expected


def test_v1_top_cpus_write_is_a_write_error_not_an_open_error() -> None:
    fs = fs_for("v1")
    with pytest.raises(CpusetError) as info:
        fs.write("cpus", "0-3\n")
    assert (type(info.value).__name__, info.value.errno) == ("CpusetError", errno.EACCES)


def test_2614_empty_list_is_a_parse_error() -> None:
    fs = fs_for("2.6.14")
    fs.mkdir("a")
    assert refused(fs, "a/cpus", "\n") == errno.EINVAL


def test_2624_empty_list_clears_a_taskless_cpuset_but_not_one_with_tasks() -> None:
    fs = fs_for("2.6.24")
    make(fs, "a", "0-1")
    fs.write("a/cpus", "\n")
    assert fs.read("a/cpus") == ""
    make(fs, "b", "2-3")
    fs.write("b/tasks", "1\n")
    assert refused(fs, "b/cpus", "\n") == errno.ENOSPC


def test_modern_populated_cpuset_cannot_lose_all_its_cpus() -> None:
    fs = fs_for("v1")
    make(fs, "a", "0-1")
    make(fs, "a/b", "0")
    fs.write("a/b/tasks", "1\n")
    assert refused(fs, "a/cpus", "\n") == errno.EBUSY
    assert refused(fs, "a/b/cpus", "\n") == errno.ENOSPC


@pytest.mark.parametrize(
    ("era", "text", "expected"),
    [
        ("2.6.14", "2\n", "1"),
        ("2.6.14", "A\n", "0"),
        ("2.6.14", "-1\n", "0"),
        ("2.6.24", "7\n", "1"),
        ("v1", "2\n", "1"),
        ("v1", "0x1\n", "1"),
        ("v1", "0\n", "0"),
    ],
)
def test_flag_files_read_what_the_era_parses(era: str, text: str, expected: str) -> None:
    fs = fs_for(era)
    fs.write("notify_on_release", "1\n")
    fs.write("notify_on_release", text)
    assert fs.read("notify_on_release") == expected


@pytest.mark.parametrize("text", ["-1\n", "A\n", " 1\n", "1 2\n"])
def test_modern_flag_files_refuse_what_kstrtoull_refuses(text: str) -> None:
    fs = fs_for("v1")
    make(fs, "a", "0")
    assert refused(fs, "a/memory_migrate", text) == errno.EINVAL


def test_2614_cpulist_grammar_has_no_blanks_or_strides() -> None:
    fs = fs_for("2.6.14")
    fs.mkdir("a")
    assert refused(fs, "a/cpus", "0-1 \n") == errno.EINVAL
    assert refused(fs, "a/cpus", "0-7:2/4\n") == errno.EINVAL
    assert refused(fs, "a/cpus", "3-1\n") == errno.EINVAL
    assert refused(fs, "a/cpus", "64\n") == errno.ERANGE
    fs.write("a/cpus", "1,3-4\n")
    assert fs.read("a/cpus") == "1,3-4"


def test_modern_cpulist_beyond_nr_cpu_ids_is_erange() -> None:
    fs = fs_for("v1")
    fs.mkdir("a")
    assert refused(fs, "a/cpus", "8\n") == errno.ERANGE
    fs.write("a/cpus", "0-7:2/4\n")
    assert fs.read("a/cpus") == "0-1,4-5"


def test_overlong_mask_write_is_e2big() -> None:
    fs = fs_for("v1")
    fs.mkdir("a")
    assert refused(fs, "a/cpus", "0," * 300 + "0\n") == errno.E2BIG


@pytest.mark.parametrize(("era", "path"), [
    ("2.6.14", "a/cpu_exclusive"), ("2.6.14", "a/tasks"), ("2.6.14", "a/notify_on_release"),
    ("2.6.24", "a/cpu_exclusive"), ("2.6.24", "a/sched_load_balance"),
])  # fmt: skip
def test_legacy_length_limit_covers_every_cpuset_file(era: str, path: str) -> None:
    # cpuset_common_file_write: nbytes > 100 + 6 * NR_CPUS -> E2BIG, whatever the file.
    fs = fs_for(era)
    make(fs, "a", "0-3")
    assert refused(fs, path, "0" * 600 + "1\n") == errno.E2BIG


@pytest.mark.parametrize("text", [" 1 \n", "1\n\n", " 1"])
def test_relax_domain_level_is_parsed_unstripped(text: str) -> None:
    # cgroup_file_write -> kstrtoll(buf): only one trailing newline is accepted.
    fs = fs_for("v1")
    make(fs, "a", "0-3")
    assert refused(fs, "a/sched_relax_domain_level", text) == errno.EINVAL
    fs.write("a/sched_relax_domain_level", "1\n")
    assert fs.read("a/sched_relax_domain_level") == "1"


@pytest.mark.parametrize(("era", "path"), [("v1", "a/tasks"), ("v1", "a/cgroup.procs"),
                                           ("v2", "a/cgroup.procs")])  # fmt: skip
def test_pid_out_of_int_range_is_einval(era: str, path: str) -> None:
    # cgroup_procs_write_start: any kstrtoint failure is -EINVAL.
    fs = fs_for(era)
    if era == "v2":
        fs.write("cgroup.subtree_control", "+cpuset\n")
    fs.mkdir("a")
    assert refused(fs, path, "99999999999\n") == errno.EINVAL


def test_relax_domain_level_accepts_minus_one_to_level_max_plus_one() -> None:
    fs = fs_for("v1")
    make(fs, "a", "0-3")
    assert refused(fs, "a/sched_relax_domain_level", "-2\n") == errno.EINVAL
    fs.write("a/sched_relax_domain_level", "1\n")
    assert fs.read("a/sched_relax_domain_level") == "1"


def test_is_cpuset_subset_includes_the_exclusive_flags() -> None:
    parent = CpusetConfig(cpus=CpuMask.parse("0-3"), mems=CpuMask.parse("0"))
    child = CpusetConfig(
        cpus=CpuMask.parse("1"), mems=CpuMask.parse("0"), flags=CsFlag.CPU_EXCLUSIVE
    )
    assert (is_cpuset_subset(child, parent), subset_failure(child, parent)) == (
        False,
        "cpu_exclusive set without cpu_exclusive above",
    )


def test_modern_exclusive_conflict_uses_exclusive_cpus_when_set() -> None:
    a = CpusetConfig(cpus=CpuMask.parse("0-3"), exclusive_cpus=CpuMask.parse("0-1"))
    b = CpusetConfig(cpus=CpuMask.parse("2-3"), flags=CsFlag.CPU_EXCLUSIVE)
    c = CpusetConfig(cpus=CpuMask.parse("1"))
    assert (
        cpus_excl_conflict(a, b, modern=True),
        cpus_excl_conflict(a, c, modern=True),
        cpus_excl_conflict(a, b, modern=False),
    ) == (False, True, True)
