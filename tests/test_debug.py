"""sched_domain_debug: SD-INV checks, exact error strings and control flow (SPEC §1.2-1.3).

Broken structures are built by hand (before freezing), the way a buggy
builder would leave them, and wrapped in a DomainBuild.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from topology import CpuMask
from topology.debug import RING_ERROR, sched_domain_debug
from topology.domains import (
    DomainAttr,
    DomainBuild,
    SchedDomain,
    SchedGroup,
    SdFlag,
    build_sched_domains,
)
from topology.presets import preset
from topology.synthetic import parse_synthetic

LB = SdFlag.LOAD_BALANCE


def ring_of(*groups: SchedGroup) -> SchedGroup:
    for a, b in zip(groups, [*groups[1:], groups[0]], strict=True):
        a.next = b
    return groups[0]


def group(cpus: str, power: int = 128) -> SchedGroup:
    return SchedGroup(CpuMask.parse(cpus) if cpus else CpuMask(0), 0, power)


def domain(cpu: int, span: str, flags: SdFlag = LB, name: str = "CPU") -> SchedDomain:
    return SchedDomain(name, 3, cpu, CpuMask.parse(span), flags)


def handmade(
    bases: Sequence[SchedDomain | None],
    era: str = "2.6.14",
    partitions: Sequence[str] | None = None,
) -> DomainBuild:
    machine = parse_synthetic(f"core:{len(bases)} pu:1")
    parts = tuple(CpuMask.parse(p) for p in partitions or [f"0-{len(bases) - 1}"])
    return DomainBuild(machine, era, parts, tuple(DomainAttr() for _ in parts), 0, tuple(bases))


def messages(build: DomainBuild, fmt: str | None = None) -> list[str]:
    errors = sched_domain_debug(build, fmt).errors
    # the checker's quiet mode (no text, no rendered masks) must find exactly the same
    quiet = sched_domain_debug(build, fmt, text=False)
    assert quiet.errors == errors
    assert quiet.text == ""
    return [e.message for e in errors]


def bad_power_and_empty() -> DomainBuild:
    sd = domain(0, "0-1")
    sd.groups = ring_of(group("0"), group("", power=0), group("1"))
    return handmade([sd, None])


def test_2_6_14_keeps_printing_after_a_group_without_power_and_an_empty_group() -> None:
    assert sched_domain_debug(bad_power_and_empty()).text == (
        "CPU0 attaching sched-domain:\n"
        " domain 0: span 00000003\n"
        "  groups: 00000001\n"
        "ERROR: domain->cpu_power not set\n"
        "\n"
        "ERROR: empty group\n"
        " 00000000 00000002\n"
        "CPU1 attaching NULL sched-domain.\n"
    )


def test_2_6_23_breaks_out_of_the_group_loop_at_the_first_bad_group() -> None:
    assert sched_domain_debug(bad_power_and_empty(), "dmesg-2.6.23").text == (
        "CPU0 attaching sched-domain:\n"
        " domain 0: span 00000003\n"
        "  groups: 00000001\n"
        "ERROR: domain->cpu_power not set\n"
        "\n"
        "ERROR: groups don't span domain->span\n"
        "CPU1 attaching NULL sched-domain.\n"
    )


def test_modern_format_has_no_power_check_and_breaks_on_the_empty_group() -> None:
    assert messages(bad_power_and_empty(), "dmesg-modern") == [
        "ERROR: empty group",
        "ERROR: groups don't span domain->span",
    ]


def test_repeated_cpus_and_span_errors_use_the_kernel_strings() -> None:
    sd = domain(0, "1-2")
    sd.parent = domain(0, "1", name="NODE")
    sd.parent.groups = ring_of(group("1"))
    sd.groups = ring_of(group("1-2"), group("2"))
    assert messages(handmade([sd, None, None])) == [
        "ERROR: domain->span does not contain CPU0",
        "ERROR: domain->groups does not contain CPU0",
        "ERROR: repeated CPUs",
        "ERROR: parent span is not a superset of domain->span",
        "ERROR: domain->span does not contain CPU0",
        "ERROR: domain->groups does not contain CPU0",
    ]


def test_a_null_group_link_is_reported_and_ends_the_loop() -> None:
    sd = domain(0, "0-1")
    sd.groups = group("0")  # next is NULL: an unterminated list
    assert sched_domain_debug(handmade([sd, None])).text == (
        "CPU0 attaching sched-domain:\n"
        " domain 0: span 00000003\n"
        "  groups: 00000001\n"
        "ERROR: group is NULL\n"
        "\n"
        "ERROR: groups don't span domain->span\n"
        "CPU1 attaching NULL sched-domain.\n"
    )


def test_a_domain_without_load_balance_stops_the_walk_and_its_error_has_no_newline() -> None:
    """2.6.14 prints '!SD_LOAD_BALANCE domain has parent' without a newline: the next line joins."""
    sd = domain(0, "0-1", flags=SdFlag.BALANCE_NEWIDLE)
    sd.parent = domain(0, "0-1", name="NODE")
    sd.groups = sd.parent.groups = ring_of(group("0"), group("1"))
    assert sched_domain_debug(handmade([sd, None])).text == (
        "CPU0 attaching sched-domain:\n"
        " domain 0: does not load-balance\n"
        "ERROR: !SD_LOAD_BALANCE domain has parentCPU1 attaching NULL sched-domain.\n"
    )


def test_modern_domains_need_no_load_balance_flag() -> None:
    sd = domain(0, "0-1", flags=SdFlag.BALANCE_NEWIDLE, name="MC")
    sd.groups = ring_of(group("0", 1024), group("1", 1024))
    assert sched_domain_debug(handmade([sd, None], era="modern")).text == (
        "CPU0 attaching sched-domain(s):\n"
        " domain-0: span=0-1 level=MC\n"
        "  groups: 0:{ span=0 }, 0:{ span=1 }\n"
        "CPU1 attaching NULL sched-domain.\n"
    )


def broken_ring(numa: bool) -> DomainBuild:
    """A ring A -> B -> B -> ...: the walk from A never comes back (SD-INV-7, BUG13-W)."""
    flags = SdFlag.NUMA | SdFlag.SERIALIZE if numa else LB
    sd = domain(0, "0-2", flags=flags, name="NUMA" if numa else "NODE")
    a, b = group("0-1", 1024), group("2", 1024)
    a.next, b.next = b, b
    sd.groups = a
    return handmade([sd, None, None], era="modern" if numa else "2.6.14")


def test_2_6_14_broken_ring_prints_one_lap_then_our_error() -> None:
    """The kernel's loop has no break: at B's second visit it prints its repeated-CPUs
    error and mask, and goes on for ever (never reaching the span checks); we print
    that once, then our marker."""
    assert sched_domain_debug(broken_ring(numa=False)).text == (
        "CPU0 attaching sched-domain:\n"
        " domain 0: span 00000007\n"
        "  groups: 00000003 00000004\n"
        "ERROR: repeated CPUs\n"
        " 00000004\n"
        f"{RING_ERROR}\n"
        "CPU1 attaching NULL sched-domain.\n"
        "CPU2 attaching NULL sched-domain.\n"
    )


def test_2_6_23_broken_ring_ends_at_the_kernels_own_repeated_cpus_check() -> None:
    assert messages(broken_ring(numa=False), "dmesg-2.6.23") == ["ERROR: repeated CPUs"]


def test_modern_numa_ring_has_no_repeat_check_so_the_walk_is_bounded() -> None:
    assert sched_domain_debug(broken_ring(numa=True), cpus=[0]).text == (
        "CPU0 attaching sched-domain(s):\n"
        " domain-0: span=0-2 level=NUMA\n"
        "  groups: 0:{ span=0-1 }, 0:{ span=2 },\n"
        f"{RING_ERROR}\n"
    )


def test_modern_checks_shared_child_and_parent_flags() -> None:
    """SD-INV-10: NEWIDLE must be on the child, SERIALIZE on the parent."""
    child = domain(0, "0-1", flags=SdFlag(0), name="MC")
    sd = domain(0, "0-3", flags=SdFlag.BALANCE_NEWIDLE | SdFlag.SERIALIZE, name="PKG")
    top = domain(0, "0-3", flags=SdFlag(0), name="NUMA")
    child.parent, sd.child, sd.parent, top.child = sd, child, top, sd
    child.groups = ring_of(group("0", 1024), group("1", 1024))
    sd.groups = ring_of(group("0-1", 2048), group("2-3", 2048))
    top.groups = ring_of(group("0-3", 4096))
    assert messages(handmade([child, None, None, None], era="modern"), "dmesg-modern")[:2] == [
        "ERROR: flag SD_BALANCE_NEWIDLE set here but not in child",
        "ERROR: flag SD_SERIALIZE set here but not in parent",
    ]


def test_modern_first_group_must_match_the_child_and_the_error_breaks_the_line() -> None:
    """SD-INV-9; printk records: the KERN_ERR line interrupts the KERN_CONT group line."""
    child = domain(0, "0-1", flags=SdFlag(0), name="SMT")
    sd = domain(0, "0-3", flags=SdFlag(0), name="MC")
    child.parent, sd.child = sd, child
    child.groups = ring_of(group("0", 1024), group("1", 1024))
    sd.groups = ring_of(group("0", 1024), group("1-3", 3072))
    text = sched_domain_debug(handmade([child, None, None, None], era="modern"), cpus=[0]).text
    assert text.splitlines()[4:7] == [
        "   groups: 0:{ span=0",
        "ERROR: domain->groups does not match domain->child",
        " }, 0:{ span=1-3 cap=3072 }",
    ]


def test_group_reachable_from_two_partitions_is_reported_once() -> None:
    """SD-INV-11 / BUG13-5: CPU3 (partition 1) points into partition 0's ring."""
    g0, g1, g2, g3 = group("0"), group("1"), group("2"), group("3")
    ring_of(g0, g1)
    ring_of(g2, g3)
    bases = [domain(0, "0-1"), domain(1, "0-1"), domain(2, "2-3"), domain(3, "2-3")]
    for sd, head in zip(bases, (g0, g1, g2, g1), strict=True):
        sd.groups = head
    build = handmade(bases, partitions=["0-1", "2-3"])
    assert [m for m in messages(build) if m.startswith("schedsim")] == [
        "schedsim: ERROR: group 1 is reachable from partition 0 (CPU0) and partition 1 (CPU3)",
        "schedsim: ERROR: group 1 of CPU3 domain 0 lies outside its partition 2-3",
        "schedsim: ERROR: group 0 is reachable from partition 0 (CPU0) and partition 1 (CPU3)",
        "schedsim: ERROR: group 0 of CPU3 domain 0 lies outside its partition 2-3",
    ]


def test_cpu_outside_every_partition_must_have_no_domain() -> None:
    sd = domain(1, "1")
    sd.groups = ring_of(group("1"))
    build = handmade([None, sd], partitions=["0"])
    assert messages(build) == ["schedsim: ERROR: CPU1 is in no partition but has domains"]


def test_domain_span_crossing_its_partition_is_reported() -> None:
    sd = domain(0, "0-1")
    sd.groups = ring_of(group("0"), group("1"))
    build = handmade([sd, None], partitions=["0", "1"])
    assert messages(build)[0] == "schedsim: ERROR: CPU0 domain 0 spans 0-1, beyond its partition 0"


def test_hex_masks_are_nr_cpus_wide_in_32_bit_words() -> None:
    """cpumask_scnprintf: 40 CPUs -> NR_CPUS 64 -> two comma-separated words."""
    build = build_sched_domains(parse_synthetic("package:2 core:20 pu:1"))
    span, groups = sched_domain_debug(build, cpus=[0]).text.splitlines()[1:3]
    assert span == " domain 0: span 000000ff,ffffffff"
    assert groups.startswith("  groups: 00000000,00000001 00000000,00000002 00000000,00000004")
    assert groups.endswith(" 00000080,00000000")


def test_the_modern_example_of_spec_1_3_verbatim() -> None:
    build = build_sched_domains(parse_synthetic("core:2 pu:2"), era="modern")
    assert sched_domain_debug(build, cpus=[0]).text == (
        "CPU0 attaching sched-domain(s):\n"
        " domain-0: span=0-1 level=SMT\n"
        "  groups: 0:{ span=0 }, 1:{ span=1 }\n"
        "  domain-1: span=0-3 level=MC\n"
        "   groups: 0:{ span=0-1 cap=2048 }, 2:{ span=2-3 cap=2048 }\n"
    )


def test_2_6_32_format_prints_cpulists_level_names_and_odd_power() -> None:
    build = build_sched_domains(preset("smt-numa-8"))
    assert sched_domain_debug(build, "dmesg-2.6.32", cpus=[4]).text.splitlines()[1:] == [
        " domain 0: span 4-5 level SIBLING",
        "  groups: 4 (cpu_power = 128) 5 (cpu_power = 128)",
        "  domain 1: span 4-7 level CPU",
        "   groups: 4-5 (cpu_power = 140) 6-7 (cpu_power = 140)",
        "   domain 2: span 0-7 level NODE",
        "    groups: 4-7 (cpu_power = 280) 0-3 (cpu_power = 280)",
    ]


def test_modern_numa_groups_print_their_balance_mask() -> None:
    build = build_sched_domains(preset("quad-node"), era="modern")
    last = sched_domain_debug(build, cpus=[4]).text.splitlines()[-1]
    assert last == (
        "    groups: 4:{ span=0-7,12-15 mask=4-7 cap=12288 },"
        " 8:{ span=0-3,8-15 mask=8-11 cap=12288 }"
    )


def test_format_defaults_to_the_eras_own() -> None:
    build = build_sched_domains(preset("smt-numa-8"), era="modern")
    assert [sched_domain_debug(build, f).format for f in (None, "dmesg", "dmesg-2.6")] == [
        "dmesg-modern",
        "dmesg-modern",
        "dmesg-2.6",
    ]


def test_unknown_format_and_cpu_are_value_errors() -> None:
    build = build_sched_domains(preset("smt-numa-8"))
    with pytest.raises(ValueError, match="unknown printout format 'dmesg-3'"):
        sched_domain_debug(build, "dmesg-3")
    with pytest.raises(ValueError, match="CPU 8 is not on smt-numa-8"):
        sched_domain_debug(build, cpus=[8])


@pytest.mark.parametrize("era", ["2.6.14", "2.6.20", "modern", "2.6.13"])
@pytest.mark.parametrize("machine", ["ht-up", "smt-numa-8", "numa-2x2", "dual-socket", "quad-node"])
def test_every_preset_builds_cleanly_in_every_era(machine: str, era: str) -> None:
    report = sched_domain_debug(build_sched_domains(preset(machine), era=era))
    assert (report.ok, report.errors) == (True, ())
