"""Memory policies in the 2.6 eras: 2.6.24 and 2.6.14 mm/mempolicy.c where they differ from 6.x.

2.6.24 references: contextualize_policy (nodes must lie within mems_allowed),
mpol_rebind_policy (PREFERRED follows node_remap; il_next is left alone),
bind_zonelist (nodes in id order) and do_migrate_pages (only the s == d skip).
"""

from __future__ import annotations

import errno

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cpuset import (
    CpusetError,
    MemPolicy,
    MpolFlag,
    MpolMode,
    alloc_node,
    migrate_pages_plan,
    mpol_new,
    rebind,
)
from cpuset.mempolicy import RebindEra, policy_era
from topology import CpuMask, NodeMask, bitremap, remap
from topology.presets import preset

M = CpuMask.parse
MACHINE = preset("quad-node")


@pytest.mark.parametrize(
    ("mode", "nodes"),
    [(MpolMode.BIND, "0,2"), (MpolMode.INTERLEAVE, "1-2"), (MpolMode.PREFERRED, "1-2")],
)
def test_2624_set_mempolicy_refuses_nodes_outside_mems_allowed(mode: MpolMode, nodes: str) -> None:
    with pytest.raises(CpusetError) as info:
        mpol_new(mode, M(nodes), M("0-1"), era="2.6.24")
    assert info.value.errno == errno.EINVAL


def test_2624_set_mempolicy_keeps_nodes_within_mems_allowed() -> None:
    policy = mpol_new(MpolMode.BIND, M("1-2"), M("0-3"), era="2.6.24")
    assert (str(policy.nodes), str(policy.cpuset_mems_allowed)) == ("1-2", "0-3")


def test_2624_preferred_without_nodes_is_local_and_default_takes_none() -> None:
    assert mpol_new(MpolMode.PREFERRED, M(""), M("0-1"), era="2.6.24").mode is MpolMode.LOCAL
    with pytest.raises(CpusetError):
        mpol_new(MpolMode.DEFAULT, M("0"), M("0-1"), era="2.6.24")


def test_2624_mode_flags_keep_the_modern_creation_rules() -> None:
    relative = mpol_new(MpolMode.BIND, M("1-3"), M("4-7"), MpolFlag.RELATIVE_NODES, era="2.6.24")
    assert str(relative.nodes) == "5-7"


def test_2624_preferred_node_is_remapped_from_the_policys_mems() -> None:
    preferred = mpol_new(MpolMode.PREFERRED, M("1"), M("0-1"), era="2.6.24")
    moved = rebind(preferred, M("2-3"), era="2.6.24")
    assert (str(moved.nodes), str(moved.cpuset_mems_allowed)) == ("3", "2-3")


def test_2624_preferred_with_a_mode_flag_keeps_its_node() -> None:
    static = mpol_new(MpolMode.PREFERRED, M("0"), M("0-1"), MpolFlag.STATIC_NODES, era="2.6.24")
    assert rebind(static, M("2-3"), old_mems=M("0-1"), era="2.6.24") is static


def _pages(policy: MemPolicy, mems: NodeMask, count: int, era: RebindEra) -> list[int | None]:
    chosen: list[int | None] = []
    for _ in range(count):
        node, policy = alloc_node(policy, mems, cpu_node=0, machine=MACHINE, era=era)
        chosen.append(node)
    return chosen


def _interleave_then_rebind(
    nodes: NodeMask, old: NodeMask, new: NodeMask, before: int, after: int, era: RebindEra
) -> list[int | None]:
    policy = mpol_new(MpolMode.INTERLEAVE, nodes, old, era=era)
    chosen: list[int | None] = []
    for _ in range(before):
        node, policy = alloc_node(policy, old, cpu_node=0, machine=MACHINE, era=era)
        chosen.append(node)
    policy = rebind(policy, new, old_mems=old, era=era)
    return chosen + _pages(policy, new, after, era)


@pytest.mark.parametrize(
    ("era", "expected"),
    [("2.6.24", [0, 1, 0, 2, 0, 2]), ("modern", [0, 1, 2, 0, 2, 0])],
)
def test_2624_interleave_goes_on_from_the_unchanged_il_next(
    era: RebindEra, expected: list[int]
) -> None:
    assert _interleave_then_rebind(M("0-1"), M("0-1"), M("0,2"), 2, 4, era) == expected


def _kernel_il_next(
    nodes: NodeMask, old: NodeMask, new: NodeMask, before: int, after: int, era: RebindEra
) -> list[int]:
    """2.6.14 / 2.6.24 interleave_nodes over task->il_next, rebind in between.

    A 2.6.24 il_next outside the rebound nodes yields one page from that node's
    zonelist fallback, which the model does not reproduce: it is left out here.
    """
    il_next = nodes.first()

    def take() -> int:
        nonlocal il_next
        nid = il_next
        il_next = next((n for n in nodes if n > nid), nodes.first())
        return nid

    chosen = [take() for _ in range(before)]
    nodes = remap(nodes, old, new)
    if era == "2.6.14":
        il_next = bitremap(il_next, old, new)
    if il_next not in nodes:
        take()
    return chosen + [take() for _ in range(after)]


@given(
    st.integers(1, 255),
    st.integers(1, 255),
    st.integers(1, 255),
    st.integers(0, 5),
    st.sampled_from(["2.6.14", "2.6.24"]),
)
def test_2_6_interleave_rotor_follows_il_next_across_a_rebind(
    nodes: int, old: int, new: int, before: int, era: RebindEra
) -> None:
    old_mems, new_mems = CpuMask(old), CpuMask(new)
    policy_nodes = CpuMask(nodes) & old_mems or old_mems
    actual = _interleave_then_rebind(policy_nodes, old_mems, new_mems, before, 6, era)
    assert actual == _kernel_il_next(policy_nodes, old_mems, new_mems, before, 6, era)


@pytest.mark.parametrize(("era", "expected"), [("2.6.24", 0), ("2.6.14", 0), ("modern", 1)])
def test_bind_allocates_from_its_lowest_node_in_the_2_6_eras(era: RebindEra, expected: int) -> None:
    policy = mpol_new(MpolMode.BIND, M("0-1"), M("0-3"), era=era)
    assert alloc_node(policy, M("0-3"), cpu_node=1, machine=MACHINE, era=era)[0] == expected


def test_2624_bind_skips_policy_nodes_outside_mems_allowed() -> None:
    policy = MemPolicy(mode=MpolMode.BIND, nodes=M("0-2"), cpuset_mems_allowed=M("0-2"))
    chosen = [
        alloc_node(policy, M("1-3"), cpu_node=c, machine=MACHINE, era="2.6.24")[0] for c in range(4)
    ]
    assert chosen == [1, 1, 1, 1]


@pytest.mark.parametrize(
    ("era", "expected"),
    [("2.6.24", [(2, 1), (1, 2), (0, 1)]), ("modern", [(0, 1)])],
)
def test_2624_do_migrate_pages_moves_sources_already_in_the_destination(
    era: RebindEra, expected: list[tuple[int, int]]
) -> None:
    assert migrate_pages_plan(M("0-2"), M("1-2"), era=era) == expected


@pytest.mark.parametrize(
    ("cpuset_era", "expected"),
    [("2.6.14", "2.6.14"), ("2.6.24", "2.6.24"), ("v1", "modern"), ("v2", "modern")],
)
def test_policy_era_keeps_the_2_6_cpuset_eras_and_maps_the_rest_to_modern(
    cpuset_era: str, expected: RebindEra
) -> None:
    assert policy_era(cpuset_era) == expected
