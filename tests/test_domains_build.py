"""build_sched_domains: API, partitions (SD-INV-11), NULL domains (DEG-4), generations."""

from __future__ import annotations

import pytest

from topology import CpuMask
from topology.debug import sched_domain_debug
from topology.domains import (
    ERAS,
    DomainAttr,
    DomainBuild,
    PartitionError,
    SchedDomain,
    SchedGroup,
    build_sched_domains,
)
from topology.presets import preset
from topology.sched_domain import ring


def spans(build: DomainBuild, cpu: int) -> list[tuple[str, str]]:
    return [(sd.name, str(sd.span)) for sd in build.chain(cpu)]


def test_build_without_partitions_covers_every_cpu_in_one_partition() -> None:
    build = build_sched_domains(preset("smt-numa-8"))
    assert (build.partitions, build.era, build.generation) == ((CpuMask.parse("0-7"),), "2.6.14", 0)
    assert [build.partition_of(cpu) for cpu in range(8)] == [0] * 8


def test_chain_goes_from_the_base_up_through_parent_links() -> None:
    build = build_sched_domains(preset("smt-numa-8"))
    chain = build.chain(5)
    assert chain[0] is build.base(5)
    assert [sd.parent for sd in chain] == [*chain[1:], None]
    assert spans(build, 5) == [("SIBLING", "4-5"), ("CPU", "4-7"), ("NODE", "0-7")]


def test_child_links_mirror_the_parent_chain_after_degeneration() -> None:
    # 2.6.20 on dual-socket: the CPU level equals MC and is spliced out.
    build = build_sched_domains(preset("dual-socket"), era="2.6.20")
    chain = build.chain(0)
    assert [sd.name for sd in chain] == ["SIBLING", "MC", "NODE"]
    assert [sd.child for sd in chain] == [None, *chain[:-1]]


@pytest.mark.parametrize("era", ERAS)
def test_cpu_in_no_partition_gets_the_null_domain(era: str) -> None:
    build = build_sched_domains(preset("smt-numa-8"), [CpuMask.parse("0-3")], era=era)
    assert [build.base(cpu) is None for cpu in range(8)] == [False] * 4 + [True] * 4
    assert (build.chain(6), build.partition_of(6)) == ((), None)


@pytest.mark.parametrize("era", ["2.6.13", "2.6.14", "modern"])
def test_one_cpu_partition_degenerates_to_the_null_domain(era: str) -> None:
    """DEG-4: every level of a 1-CPU partition has weight 1 (here two levels, CPU and NODE)."""
    parts = [CpuMask.parse("1-3"), CpuMask.parse("0")]
    build = build_sched_domains(preset("numa-2x2"), parts, era=era)
    assert (build.base(0), build.partition_of(0)) == (None, 1)


def test_modern_one_cpu_partition_on_an_smt_machine_gets_the_null_domain() -> None:
    parts = [CpuMask.parse("1-7"), CpuMask.parse("0")]
    build = build_sched_domains(preset("smt-numa-8"), parts, era="modern")
    assert build.base(0) is None


@pytest.mark.parametrize(
    ("machine", "era", "left"),
    [
        ("smt-numa-8", "2.6.13", "NODE"),
        ("smt-numa-8", "2.6.14", "NODE"),
        ("smt-numa-8", "2.6.20", "CPU"),
        ("numa-2x2", "2.6.20", "NODE"),
    ],
)
def test_2_6_splice_loop_keeps_a_one_cpu_domain_when_three_levels_degenerate(
    machine: str, era: str, left: str
) -> None:
    """kernel/sched.c 2.6.x cpu_attach_domain advances past a spliced parent without re-testing.

    SIBLING{0} -> CPU{0} -> NODE{0}: CPU is spliced out, the loop moves on to
    NODE (never compared with SIBLING), then only the base is dropped: NODE{0}
    stays attached with its single group (2.6.20 adds MC: MC -> CPU -> NODE on
    numa-2x2 keeps NODE{0}, SIBLING -> MC -> CPU -> NODE keeps CPU{0}).
    """
    rest = "1-7" if machine == "smt-numa-8" else "1-3"
    parts = [CpuMask.parse(rest), CpuMask.parse("0")]
    build = build_sched_domains(preset(machine), parts, era=era)
    base = build.base(0)
    assert base is not None
    assert (base.name, str(base.span), base.parent) == (left, "0", None)
    assert base.groups is not None
    assert base.groups.next is base.groups


def test_overlapping_partitions_are_refused_with_the_shared_cpus_named() -> None:
    with pytest.raises(PartitionError) as info:
        build_sched_domains(preset("smt-numa-8"), [CpuMask.parse("0-3"), CpuMask.parse("3-5")])
    assert str(info.value) == (
        "partitions 0 (0-3) and 1 (3-5) overlap on CPUs 3: sched-domain partitions must be disjoint"
    )


def test_partition_beyond_the_machine_is_refused() -> None:
    with pytest.raises(PartitionError, match=r"partition 0 \(6-9\) holds CPUs 8-9"):
        build_sched_domains(preset("smt-numa-8"), [CpuMask.parse("6-9")])


def test_partition_error_is_a_value_error() -> None:
    assert issubclass(PartitionError, ValueError)


def test_attrs_must_match_the_partitions_one_to_one() -> None:
    with pytest.raises(PartitionError, match="2 domain attributes for 1 partitions"):
        build_sched_domains(preset("smt-numa-8"), None, attrs=[DomainAttr(), DomainAttr()])


def test_unknown_era_is_refused_with_the_known_ones_listed() -> None:
    with pytest.raises(ValueError, match=r"unknown era '2\.6\.99' \(known: 2\.6\.13, 2\.6\.14"):
        build_sched_domains(preset("smt-numa-8"), era="2.6.99")


def test_empty_partition_is_skipped_like_partition_sched_domains_does() -> None:
    build = build_sched_domains(preset("numa-2x2"), [CpuMask(0), CpuMask.parse("0-3")])
    assert (build.partition_of(2), spans(build, 2)) == (1, [("CPU", "2-3"), ("NODE", "0-3")])


@pytest.mark.parametrize("era", ERAS)
def test_domains_and_groups_are_frozen_after_the_build(era: str) -> None:
    sd = build_sched_domains(preset("smt-numa-8"), era=era).base(0)
    assert isinstance(sd, SchedDomain)
    assert isinstance(sd.groups, SchedGroup)
    with pytest.raises(AttributeError, match="frozen"):
        sd.imbalance_pct = 200
    with pytest.raises(AttributeError, match="frozen"):
        sd.groups.power = 0


def test_a_rebuild_makes_new_objects_and_never_touches_the_previous_generation() -> None:
    machine = preset("smt-numa-8")
    old = build_sched_domains(machine, generation=1)
    before = sched_domain_debug(old).text
    new = build_sched_domains(machine, [CpuMask.parse("0-3"), CpuMask.parse("4-7")], generation=2)
    old_ids = {id(sd) for cpu in range(8) for sd in old.chain(cpu)}
    old_ids |= {id(g) for cpu in range(8) for sd in old.chain(cpu) for g in ring(sd.groups, 9)}
    new_ids = {id(sd) for cpu in range(8) for sd in new.chain(cpu)}
    new_ids |= {id(g) for cpu in range(8) for sd in new.chain(cpu) for g in ring(sd.groups, 9)}
    assert (old_ids & new_ids, sched_domain_debug(old).text) == (set(), before)
    assert (old.generation, new.generation, spans(new, 5)[-1]) == (1, 2, ("CPU", "4-7"))


def test_groups_are_shared_by_the_cpus_of_a_domain() -> None:
    """Groups are read-only after the build, so the CPUs of a level share them (SPEC §1.1)."""
    build = build_sched_domains(preset("smt-numa-8"))
    node_groups = {id(g) for cpu in range(4) for g in ring(build.chain(cpu)[2].groups, 9)}
    assert len(node_groups) == 2
