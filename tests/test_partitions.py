"""Sched-domain partitions from cpusets: DYN-6 (2.6.14), P24-2 (2.6.24), RB-4/5 (v1), BUG13-W."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cpuset import CpusetFS, build_domains, generate_partitions, generate_sched_domains
from cpuset.partitions import union_find_domains
from topology import CpuMask
from topology.debug import sched_domain_debug
from topology.presets import preset
from topology.synthetic import parse_synthetic

SEED_000 = """cd /dev/cpuset
mkdir newcpuset
cd newcpuset
echo 0 >cpus
echo 0 >mems
echo 1 >cpu_exclusive
"""


def fs_for(era: str, machine: str = "smt-numa-8") -> CpusetFS:
    fs = CpusetFS(preset(machine), era=era)
    fs.chdir(fs.tree.mount_point)
    return fs


def make(fs: CpusetFS, name: str, cpus: str, mems: str = "0") -> None:
    fs.mkdir(name)
    fs.write(f"{name}/cpus", cpus + "\n")
    fs.write(f"{name}/mems", mems + "\n")


def doms(fs: CpusetFS) -> list[str]:
    return [str(d) for d in generate_partitions(fs.tree).doms]


def seed_000(era: str = "2.6.14") -> CpusetFS:
    from cpuset import run_shell

    fs = CpusetFS(preset("numa-2x2"), era=era)
    result = run_shell(fs, SEED_000)
    assert result.failures == ()
    return fs


def test_dyn6_seed_000_splits_node_0_into_pspan_then_cspan() -> None:
    fs = seed_000()
    parts = generate_partitions(fs.tree)
    assert ([str(d) for d in parts.doms], parts.dyn4) == (
        ["1-3", "0"],
        (CpuMask.parse("1-3"), CpuMask.parse("0")),
    )


def test_dyn6_turning_exclusive_off_merges_the_cpus_back() -> None:
    fs = fs_for("2.6.14")
    make(fs, "a", "0-3")
    fs.write("a/cpu_exclusive", "1\n")
    assert doms(fs) == ["4-7", "0-3"]
    fs.write("a/cpu_exclusive", "0\n")
    assert doms(fs) == ["0-7"]


def test_dyn6_rmdir_of_an_exclusive_cpuset_returns_its_cpus() -> None:
    fs = fs_for("2.6.14")
    make(fs, "a", "0-3")
    fs.write("a/cpu_exclusive", "1\n")
    fs.rmdir("a")
    assert doms(fs) == ["0-7"]


def test_dyn6_nested_exclusive_cpuset_splits_its_parents_span() -> None:
    fs = fs_for("2.6.14")
    make(fs, "a", "0-5")
    fs.write("a/cpu_exclusive", "1\n")
    make(fs, "a/b", "0-1")
    fs.write("a/b/cpu_exclusive", "1\n")
    assert doms(fs) == ["6-7", "2-5", "0-1"]


def test_dyn6_cpus_write_on_an_exclusive_cpuset_repartitions() -> None:
    fs = fs_for("2.6.14")
    make(fs, "a", "0-3")
    fs.write("a/cpu_exclusive", "1\n")
    fs.write("a/cpus", "0-1\n")
    assert doms(fs) == ["2-7", "0-1"]


def test_dyn6_is_not_a_function_of_the_tree() -> None:
    fs = seed_000()
    with pytest.raises(ValueError, match="cpu_exclusive events"):
        generate_sched_domains(fs.tree)


def test_2624_top_balanced_gives_one_domain_whatever_the_children() -> None:
    fs = fs_for("2.6.24")
    make(fs, "a", "0-3")
    fs.write("a/sched_load_balance", "0\n")
    assert doms(fs) == ["0-7"]


def test_2624_union_find_merges_overlapping_balanced_cpusets() -> None:
    fs = fs_for("2.6.24")
    make(fs, "a", "0-2")
    make(fs, "b", "2-3")
    make(fs, "c", "6-7")
    fs.write("sched_load_balance", "0\n")
    assert doms(fs) == ["0-3", "6-7"]


def test_2624_hotplug_drops_cpuset_partitions_for_one_default_domain() -> None:
    fs = fs_for("2.6.24")
    make(fs, "a", "0-3")
    fs.write("sched_load_balance", "0\n")
    assert doms(fs) == ["0-3"]
    fs.set_online(7, False)
    assert doms(fs) == ["0-6"]


def test_rb_ex1_v1_example_gives_three_domains_and_null_cpus() -> None:
    fs = CpusetFS(parse_synthetic("node:1 core:12 pu:1"), era="v1")
    fs.chdir("/dev/cpuset")
    fs.write("sched_load_balance", "0\n")
    make(fs, "A", "0-3")
    fs.write("A/sched_relax_domain_level", "2\n")
    make(fs, "B", "2-5")
    make(fs, "C", "6-7")
    make(fs, "D", "8-9")
    fs.write("D/sched_load_balance", "0\n")
    make(fs, "D/E", "9")
    make(fs, "F", "10-11")
    fs.write("F/sched_load_balance", "0\n")
    parts = generate_partitions(fs.tree)
    assert ([str(d) for d in parts.doms], parts.relax) == (["0-5", "6-7", "9"], (2, -1, -1))
    assert str(fs.tree.online_cpus - parts.balanced) == "8,10-11"


def test_v1_fast_path_takes_the_largest_relax_level_of_the_tree() -> None:
    fs = fs_for("v1")
    make(fs, "a", "0-3")
    fs.write("a/sched_relax_domain_level", "0\n")
    assert generate_partitions(fs.tree).relax == (0,)


def test_v1_balanced_child_under_unbalanced_empty_parent_is_not_collected() -> None:
    fs = fs_for("v1")
    fs.write("sched_load_balance", "0\n")
    fs.mkdir("a")
    fs.write("a/sched_load_balance", "0\n")
    assert doms(fs) == []


def test_partitions_change_bumps_the_generation() -> None:
    fs = fs_for("v1")
    before = fs.generation
    fs.mkdir("a")
    fs.write("a/cpus", "0-3\n")
    assert fs.generation == before
    fs.write("sched_load_balance", "0\n")
    assert (doms(fs), fs.generation > before) == (["0-3"], True)


@given(st.lists(st.integers(min_value=0, max_value=255), max_size=8))
def test_union_find_classes_are_disjoint_and_cover_every_mask(bits: list[int]) -> None:
    masks = [CpuMask(b) for b in bits]
    classes = union_find_domains(masks)
    unions = []
    for cls in classes:
        u = CpuMask()
        for i in cls:
            u = u | masks[i]
        unions.append(u)
    seen = sorted(i for cls in classes for i in cls)
    assert seen == list(range(len(masks)))
    for i, a in enumerate(unions):
        for b in unions[i + 1 :]:
            assert not a.intersects(b)


def test_seed_000_with_the_2613_builder_shows_the_oops_errors() -> None:
    fs = seed_000()
    report = sched_domain_debug(build_domains(fs.tree, era="2.6.13"))
    messages = [(e.cpu, e.message) for e in report.errors]
    assert (1, "ERROR: domain->groups does not contain CPU1") in messages
    assert (2, "schedsim: ERROR: group ring does not return to domain->groups") in messages
    assert (3, "ERROR: repeated CPUs") in messages


def test_seed_000_with_the_2614_builder_isolates_cpu_0_and_balances_1_to_3() -> None:
    fs = seed_000()
    build = build_domains(fs.tree, era="2.6.14")
    report = sched_domain_debug(build)
    assert report.errors == ()
    assert build.base(0) is None
    for cpu in (1, 2, 3):
        assert str(build.chain(cpu)[-1].span) == "1-3"


def test_build_domains_refuses_a_domain_era_from_another_cpuset_era() -> None:
    fs = fs_for("v1")
    with pytest.raises(ValueError, match="does not go with cpuset era 'v1'"):
        build_domains(fs.tree, era="2.6.13")


def test_build_domains_takes_a_filesystem_and_stamps_its_generation() -> None:
    fs = seed_000()
    build = build_domains(fs)
    assert (build.era, build.generation, [str(p) for p in build.partitions]) == (
        "2.6.14",
        fs.generation,
        ["1-3", "0"],
    )


def test_v1_domains_carry_the_relax_attribute_to_the_builder() -> None:
    fs = fs_for("v1")
    fs.write("sched_load_balance", "0\n")
    make(fs, "a", "0-3")
    fs.write("a/sched_relax_domain_level", "1\n")
    build = build_domains(fs.tree)
    assert ([a.relax_domain_level for a in build.attrs], [str(p) for p in build.partitions]) == (
        [1],
        ["0-3"],
    )


def test_isolcpus_are_left_out_of_the_default_and_the_generated_domains() -> None:
    old = CpusetFS(preset("smt-numa-8"), era="2.6.14", isolcpus=CpuMask.parse("6-7"))
    new = CpusetFS(preset("smt-numa-8"), era="v1", isolcpus=CpuMask.parse("6-7"))
    new.mkdir("/dev/cpuset/a")
    new.write("/dev/cpuset/a/cpus", "0-1\n")
    assert (doms(old), doms(new)) == (["0-5"], ["0-5"])
