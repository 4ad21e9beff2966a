"""Per-era levels, parameters and group powers (SPEC §1.5, GRP-1..4; sd_init.py, build26.py)."""

from __future__ import annotations

import pytest

from topology import CpuMask
from topology.domains import DomainBuild, SchedDomain, SdFlag, build_sched_domains
from topology.presets import preset
from topology.sched_domain import ring
from topology.sd_flags import flag_names, flag_value
from topology.synthetic import parse_synthetic

LB, NEWIDLE, EXEC, FORK = (
    SdFlag.LOAD_BALANCE,
    SdFlag.BALANCE_NEWIDLE,
    SdFlag.BALANCE_EXEC,
    SdFlag.BALANCE_FORK,
)
AFFINE, IDLE, WBAL, SERIALIZE = (
    SdFlag.WAKE_AFFINE,
    SdFlag.WAKE_IDLE,
    SdFlag.WAKE_BALANCE,
    SdFlag.SERIALIZE,
)


def params(sd: SchedDomain) -> tuple[int, ...]:
    return (
        sd.min_interval,
        sd.max_interval,
        sd.busy_factor,
        sd.imbalance_pct,
        sd.cache_nice_tries,
        sd.busy_idx,
        sd.idle_idx,
        sd.newidle_idx,
        sd.wake_idx,
        sd.forkexec_idx,
        sd.balance_interval,
    )


def groups(sd: SchedDomain) -> list[tuple[str, int]]:
    return [(str(g.span), g.power) for g in ring(sd.groups, 64)]


def level(build: DomainBuild, cpu: int, name: str) -> SchedDomain:
    return next(sd for sd in build.chain(cpu) if sd.name == name)


def test_2_6_14_levels_and_sd_init_values_on_an_smt_numa_box() -> None:
    sib, cpu, node = build_sched_domains(preset("smt-numa-8")).chain(0)
    assert [(sd.name, sd.level, str(sd.span)) for sd in (sib, cpu, node)] == [
        ("SIBLING", 1, "0-1"),
        ("CPU", 3, "0-3"),
        ("NODE", 4, "0-7"),
    ]
    assert params(sib) == (1, 2, 8, 110, 0, 0, 0, 1, 0, 0, 1)
    assert sib.flags == LB | NEWIDLE | EXEC | AFFINE | IDLE | SdFlag.SHARE_CPUPOWER
    assert (sib.cache_hot_time_ns, sib.per_cpu_gain) == (0, 25)
    assert params(cpu) == (1, 4, 64, 125, 1, 2, 1, 2, 1, 1, 1)
    assert (cpu.flags, cpu.cache_hot_time_ns) == (LB | NEWIDLE | EXEC | AFFINE, 2_500_000)
    assert params(node) == (8, 32, 32, 125, 2, 3, 2, 0, 1, 1, 1)
    assert node.flags == LB | FORK | EXEC | WBAL
    assert node.cache_hot_time_ns == 10_000_000  # x86_64, until 2.6.16's calibration


def test_2_6_14_flag_values_are_the_kernel_numbers() -> None:
    sib = build_sched_domains(preset("smt-numa-8")).chain(0)[0]
    assert flag_value(sib.flags, "2.6.14") == 1 + 2 + 4 + 16 + 32 + 128
    assert flag_names(sib.flags, "2.6.14")[-1] == "SD_SHARE_CPUPOWER"
    assert flag_names(SdFlag.SHARE_CPUCAPACITY, "modern") == ["SD_SHARE_CPUCAPACITY"]
    assert flag_value(SdFlag.NUMA | SdFlag.SERIALIZE, "modern") == (1 << 13) | (1 << 10)


def test_grp3_phys_power_is_128_plus_a_tenth_per_extra_sibling() -> None:
    """GRP-3: 2 siblings -> 140, 4 siblings -> 166; node group = sum over its packages."""
    sib, cpu, node = build_sched_domains(preset("smt-numa-8")).chain(2)
    assert groups(sib) == [("2", 128), ("3", 128)]
    assert groups(cpu) == [("2-3", 140), ("0-1", 140)]
    assert groups(node) == [("0-3", 280), ("4-7", 280)]
    four = build_sched_domains(parse_synthetic("node:2 core:2 pu:4")).chain(0)
    assert groups(four[1]) == [("0-3", 166), ("4-7", 166)]
    assert groups(four[2]) == [("0-7", 332), ("8-15", 332)]


def test_grp3_power_counts_only_the_siblings_inside_the_partition() -> None:
    build = build_sched_domains(preset("smt-numa-8"), [CpuMask.parse("0-2,4-7")])
    assert groups(build.chain(0)[1]) == [("0-1", 140), ("2", 128)]
    assert groups(build.chain(0)[2]) == [("0-2", 268), ("4-7", 280)]


def test_allnodes_level_appears_when_the_map_outweighs_16_nodes_worth() -> None:
    """w(cpu_map)=20 > 16 * w(node ∩ cpu_map)=16: ALLNODES over the map, NODE = 16 nearest."""
    build = build_sched_domains(parse_synthetic("node:20 core:1 pu:1"))
    node, allnodes = build.chain(18)
    assert (node.name, str(node.span)) == ("NODE", "0-13,18-19")
    assert [str(g.span) for g in ring(node.groups, 64)][:4] == ["18", "19", "0", "1"]
    assert (allnodes.name, allnodes.level, str(allnodes.span)) == ("ALLNODES", 5, "0-19")
    assert params(allnodes) == (64, 64 * 20, 128, 133, 1, 3, 3, 0, 0, 0, 64)
    assert (allnodes.flags, allnodes.cache_hot_time_ns) == (LB, 10_000_000)
    assert len(groups(allnodes)) == 20


def test_no_allnodes_level_when_the_map_is_within_16_nodes_worth() -> None:
    build = build_sched_domains(parse_synthetic("node:16 core:1 pu:1"))
    assert [sd.name for sd in build.chain(0)] == ["NODE"]


def test_node_span_prefers_the_nearest_nodes_then_scan_order() -> None:
    build = build_sched_domains(preset("quad-node"))
    # quad-node: node 0 is 16 from nodes 1 and 2, 22 from node 3
    node = level(build, 0, "NODE")
    assert [(str(g.span), g.power) for g in ring(node.groups, 64)] == [
        ("0-3", 512),
        ("4-7", 512),
        ("8-11", 512),
        ("12-15", 512),
    ]


def test_2_6_20_adds_serialize_mc_and_busier_siblings() -> None:
    build = build_sched_domains(preset("dual-socket"), era="2.6.20")
    sib, mc, node = build.chain(0)
    assert [(sd.name, sd.level, str(sd.span)) for sd in (sib, mc, node)] == [
        ("SIBLING", 1, "0-1"),
        ("MC", 2, "0-15"),
        ("NODE", 4, "0-31"),
    ]
    assert (sib.busy_factor, mc.flags) == (
        64,
        LB | NEWIDLE | EXEC | AFFINE | SdFlag.SHARE_PKG_RESOURCES,
    )
    assert params(mc) == (1, 4, 64, 125, 1, 2, 1, 2, 1, 1, 1)
    assert node.flags == LB | FORK | EXEC | WBAL | SERIALIZE


def test_2_6_20_powers_are_one_load_scale_per_resource_sharing_group() -> None:
    """init_sched_groups_power: a child sharing power or cache makes each group 128."""
    sib, mc, node = build_sched_domains(preset("dual-socket"), era="2.6.20").chain(0)
    assert groups(sib) == [("0", 128), ("1", 128)]
    assert groups(mc)[:2] == [("0-1", 128), ("2-3", 128)]
    assert groups(node) == [("0-15", 128), ("16-31", 128)]


def test_2_6_20_allnodes_is_serialized() -> None:
    build = build_sched_domains(parse_synthetic("node:20 core:1 pu:1"), era="2.6.20")
    assert build.chain(0)[-1].flags == LB | SERIALIZE


def test_modern_sd_init_derives_intervals_from_the_topology_mask_weight() -> None:
    smt, mc, numa = build_sched_domains(preset("smt-numa-8"), era="modern").chain(0)
    assert [(sd.name, sd.level, str(sd.span)) for sd in (smt, mc, numa)] == [
        ("SMT", 0, "0-1"),
        ("MC", 1, "0-3"),
        ("NUMA", 4, "0-7"),
    ]
    base = NEWIDLE | EXEC | FORK | AFFINE
    assert (smt.min_interval, smt.max_interval, smt.busy_factor, smt.balance_interval) == (
        2,
        4,
        16,
        2,
    )
    assert (smt.imbalance_pct, smt.cache_nice_tries) == (110, 0)
    assert smt.flags == base | SdFlag.PREFER_SIBLING | SdFlag.SHARE_CPUCAPACITY | SdFlag.SHARE_LLC
    assert (mc.imbalance_pct, mc.cache_nice_tries, mc.min_interval) == (117, 1, 4)
    assert (numa.cache_nice_tries, numa.min_interval, numa.max_interval) == (2, 8, 16)
    assert numa.flags == base | SERIALIZE | SdFlag.NUMA


def test_modern_weight_is_the_topology_mask_not_the_partition() -> None:
    build = build_sched_domains(preset("smt-numa-8"), [CpuMask.parse("0-2")], era="modern")
    mc = level(build, 0, "MC")
    assert (str(mc.span), mc.min_interval, mc.max_interval) == ("0-2", 4, 8)


def test_modern_numa_levels_beyond_reclaim_distance_stop_exec_fork_and_affine() -> None:
    m = parse_synthetic(
        "node:4 core:2 pu:1 distances=10,20,40,40;20,10,40,40;40,40,10,20;40,40,20,10"
    )
    near, far = [sd for sd in build_sched_domains(m, era="modern").chain(0) if sd.name == "NUMA"]
    assert (str(near.span), str(far.span)) == ("0-3", "0-7")
    assert near.flags == NEWIDLE | EXEC | FORK | AFFINE | SERIALIZE | SdFlag.NUMA
    assert far.flags == NEWIDLE | SERIALIZE | SdFlag.NUMA


def test_modern_pkg_and_node_levels_get_one_nice_try() -> None:
    build = build_sched_domains(parse_synthetic("node:2 package:2 core:2 pu:1"), era="modern")
    pkg = level(build, 0, "PKG")
    assert (str(pkg.span), pkg.cache_nice_tries, pkg.imbalance_pct, pkg.level) == ("0-3", 1, 117, 2)
    assert pkg.flags == NEWIDLE | EXEC | FORK | AFFINE | SdFlag.PREFER_SIBLING


def test_modern_chain_stops_at_the_first_level_spanning_the_map() -> None:
    build = build_sched_domains(preset("ht-up"), era="modern")
    assert [(sd.name, str(sd.span)) for sd in build.chain(1)] == [("SMT", "0-1")]


def test_modern_groups_are_child_spans_with_1024_per_cpu() -> None:
    """GRP-4: groups of a level are the distinct child-domain spans; capacity 1024·w."""
    mc = build_sched_domains(preset("smt-numa-8"), era="modern").chain(3)[1]
    assert [(str(g.span), g.capacity, g.id) for g in ring(mc.groups, 64)] == [
        ("2-3", 2048, 2),
        ("0-1", 2048, 0),
    ]


def test_modern_numa_levels_come_from_the_distinct_distances() -> None:
    """quad-node distances {10, 16, 22}: NODE (spliced), NUMA-16, NUMA-22."""
    chain = build_sched_domains(preset("quad-node"), era="modern").chain(4)
    assert [(sd.name, sd.level, str(sd.span)) for sd in chain] == [
        ("MC", 1, "4-7"),
        ("NUMA", 4, "0-7,12-15"),
        ("NUMA", 5, "0-15"),
    ]


def test_modern_overlap_groups_carry_balance_masks_and_capacity_ids() -> None:
    top = build_sched_domains(preset("quad-node"), era="modern").chain(0)[-1]
    assert [(str(g.span), str(g.balance_mask), g.id, g.capacity) for g in ring(top.groups, 64)] == [
        ("0-11", "0-3", 0, 12288),
        ("4-15", "12-15", 12, 12288),
    ]


@pytest.mark.parametrize("era", ["2.6.14", "2.6.20", "modern"])
def test_groups_of_every_level_contain_the_cpu_first(era: str) -> None:
    """SD-INV-2 by construction: each CPU's ring starts at its own group."""
    build = build_sched_domains(preset("dual-socket"), era=era)
    assert all(cpu in sd.groups.span for cpu in range(32) for sd in build.chain(cpu) if sd.groups)
