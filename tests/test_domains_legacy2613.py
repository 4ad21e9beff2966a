"""The 2.6.13 builder's shared group tables reproduce the seed-000 oops (BUG13-1..W)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from topology import CpuMask
from topology.debug import RING_ERROR, sched_domain_debug
from topology.domains import DomainBuild, SchedGroup, build_sched_domains
from topology.presets import preset
from topology.synthetic import parse_synthetic

SEED_000_SPLIT = [CpuMask.parse("1-3"), CpuMask.parse("0")]  # DYN-6: pspan, then cspan

BUG13_W_DMESG = """\
CPU0 attaching NULL sched-domain.
CPU1 attaching sched-domain:
 domain 0: span 0000000e
ERROR: domain->groups does not contain CPU1
  groups: 00000001
ERROR: groups don't span domain->span
CPU2 attaching sched-domain:
 domain 0: span 0000000c
  groups: 00000004 00000008
  domain 1: span 0000000e
   groups: 0000000c 00000001
ERROR: repeated CPUs
 00000001
schedsim: ERROR: group ring does not return to domain->groups
CPU3 attaching sched-domain:
 domain 0: span 0000000c
  groups: 00000008 00000004
  domain 1: span 0000000e
   groups: 0000000c 00000001
ERROR: repeated CPUs
 00000001
schedsim: ERROR: group ring does not return to domain->groups
schedsim: ERROR: group 0 of CPU1 domain 0 lies outside its partition 1-3
"""


def bug13w() -> DomainBuild:
    return build_sched_domains(preset("numa-2x2"), SEED_000_SPLIT, era="2.6.13")


def test_bug13w_cpu1_node_domain_is_left_with_the_single_group_0() -> None:
    build = bug13w()
    (node,) = build.chain(1)
    head = node.groups
    assert head is not None
    assert (node.name, str(node.span), str(head.span), head.next is head) == (
        "NODE",
        "1-3",
        "0",
        True,
    )


def test_bug13w_cpu2_and_cpu3_node_rings_never_return_to_their_head() -> None:
    build = bug13w()
    for cpu in (2, 3):
        node = build.chain(cpu)[1]
        head = node.groups
        assert head is not None
        assert head.next is not None
        second: SchedGroup = head.next
        assert (str(head.span), str(second.span)) == ("2-3", "0")
        assert (second.next is second, second.next is head) == (True, False)


def test_bug13w_cpu0_gets_the_null_domain() -> None:
    assert bug13w().base(0) is None


def test_bug13w_dmesg_verbatim() -> None:
    assert sched_domain_debug(bug13w()).text == BUG13_W_DMESG


def test_bug13w_errors_name_sd_inv_2_5_7_and_11() -> None:
    messages = [(e.cpu, e.level, e.message) for e in sched_domain_debug(bug13w()).errors]
    assert messages == [
        (1, 0, "ERROR: domain->groups does not contain CPU1"),
        (1, 0, "ERROR: groups don't span domain->span"),
        (2, 1, "ERROR: repeated CPUs"),
        (2, 1, RING_ERROR),
        (3, 1, "ERROR: repeated CPUs"),
        (3, 1, RING_ERROR),
        (1, 0, "schedsim: ERROR: group 0 of CPU1 domain 0 lies outside its partition 1-3"),
    ]


def test_the_2_6_14_builder_builds_the_same_split_cleanly() -> None:
    """BUG13-4: per-call node group allocation leaves CPU1..3 unaffected by the {0} build."""
    build = build_sched_domains(preset("numa-2x2"), SEED_000_SPLIT, era="2.6.14")
    report = sched_domain_debug(build)
    assert (report.errors, [str(g.span) for g in _ring(build, 1)]) == ((), ["1", "2-3"])


def _ring(build: DomainBuild, cpu: int) -> list[SchedGroup]:
    head = build.chain(cpu)[-1].groups
    out: list[SchedGroup] = []
    group = head
    while group is not None and len(out) < 8:
        out.append(group)
        group = group.next
        if group is head:
            break
    return out


def test_2_6_13_result_depends_on_the_build_order() -> None:
    """Building {0} first, then {1,2,3}: the last writer is the partition still using the slots."""
    build = build_sched_domains(
        preset("numa-2x2"), [CpuMask.parse("0"), CpuMask.parse("1-3")], era="2.6.13"
    )
    assert sched_domain_debug(build).errors == ()


def test_2_6_13_single_partition_is_clean() -> None:
    assert sched_domain_debug(build_sched_domains(preset("quad-node"), era="2.6.13")).ok


def test_2_6_13_node_domain_spans_the_whole_map() -> None:
    """Generic 2.6.13: NODE = cpu_map (no 16-nearest-nodes span, no ALLNODES)."""
    build = build_sched_domains(parse_synthetic("node:20 core:1 pu:1"), era="2.6.13")
    assert [(sd.name, str(sd.span)) for sd in build.chain(0)] == [("NODE", "0-19")]


@st.composite
def split_node_partitions(draw: st.DrawFn) -> tuple[str, list[CpuMask]]:
    """A NUMA machine and two partitions, built in order, that split node 0 (BUG13-1).

    The first partition holds part of node 0 and at least one CPU of another
    node (so its node-level domain survives degeneration); the second holds
    the rest of node 0 and is built last, rewriting node 0's shared slot.
    """
    nodes = draw(st.integers(2, 4))
    per_node = draw(st.integers(2, 4))
    spec = f"node:{nodes} core:{per_node} pu:1"
    node0 = list(range(per_node))
    cut = draw(st.integers(1, per_node - 1))
    first_part = set(node0[:cut])
    others = list(range(per_node, nodes * per_node))
    first_part |= set(draw(st.lists(st.sampled_from(others), min_size=1, unique=True)))
    second = set(node0[cut:])
    free = sorted(set(others) - first_part)
    if free:
        second |= set(draw(st.lists(st.sampled_from(free), unique=True)))
    return spec, [CpuMask.of(first_part), CpuMask.of(second)]


@settings(max_examples=max(10, settings().max_examples // 3))
@given(split_node_partitions())
def test_2_6_13_corrupts_domains_on_every_split_node(case: tuple[str, list[CpuMask]]) -> None:
    spec, parts = case
    machine = parse_synthetic(spec)
    legacy = sched_domain_debug(build_sched_domains(machine, parts, era="2.6.13"))
    fixed = sched_domain_debug(build_sched_domains(machine, parts, era="2.6.14"))
    assert (legacy.ok, fixed.errors) == (False, ())
    # the partition built first is the one whose groups were overwritten
    assert [e for e in legacy.errors if e.cpu in parts[0]] != []
