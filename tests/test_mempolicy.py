"""Memory policies: creation, rebinding, node choice, page migration order (SPEC §4, CS-MEM-2)."""

from __future__ import annotations

import errno

import pytest
from hypothesis import given, settings
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
from cpuset.mempolicy import alloc_interleaved
from topology import CpuMask, bitremap
from topology.presets import preset
from topology.synthetic import parse_synthetic

M = CpuMask.parse


def plain(mode: MpolMode, nodes: str, mems: str) -> MemPolicy:
    return MemPolicy(mode=mode, nodes=M(nodes), cpuset_mems_allowed=M(mems))


@pytest.mark.parametrize(
    ("nodes", "old", "new", "expected"),
    [
        ("1,5,7", "4-7", "12-15", "1,13,15"),
        ("1,3", "0-3", "4-5", "5"),
        ("1,3", "0-3", "2-5", "3,5"),
        ("1,6", "0-3", "4-7", "5-6"),
    ],
)
def test_plain_rebind_is_nodes_remap_of_the_worked_examples(
    nodes: str, old: str, new: str, expected: str
) -> None:
    policy = rebind(plain(MpolMode.BIND, nodes, old), M(new))
    assert (str(policy.nodes), str(policy.cpuset_mems_allowed)) == (expected, new)


@pytest.mark.parametrize(
    ("mems", "expected"),
    [("4-7", "5-7"), ("1-3", "1-3"), ("1-7", "2-4"), ("1,5-6", "1,5-6"), ("1,5-7", "5-7")],
)
def test_relative_nodes_follow_the_mpol_f_relative_nodes_commit_example(
    mems: str, expected: str
) -> None:
    policy = MemPolicy(
        mode=MpolMode.INTERLEAVE,
        flags=MpolFlag.RELATIVE_NODES,
        nodes=M("1-3"),
        user_nodemask=M("1-3"),
    )
    assert str(rebind(policy, M(mems)).nodes) == expected


def test_mp_reb_ex_cpuset_mems_0_1_to_2_3_then_to_2() -> None:
    mems = M("0-1")
    interleave = mpol_new(MpolMode.INTERLEAVE, M("1"), mems)
    static = mpol_new(MpolMode.INTERLEAVE, M("1"), mems, MpolFlag.STATIC_NODES)
    relative = mpol_new(MpolMode.INTERLEAVE, M("1"), mems, MpolFlag.RELATIVE_NODES)
    bind = mpol_new(MpolMode.BIND, M("0-1"), mems)
    preferred = mpol_new(MpolMode.PREFERRED, M("1"), mems)
    step1 = [rebind(p, M("2-3")) for p in (interleave, static, relative, bind, preferred)]
    assert [str(p.nodes) for p in step1] == ["3", "2-3", "3", "2-3", "1"]
    step2 = rebind(step1[0], M("2"))
    assert str(step2.nodes) == "2"


def test_preferred_keeps_its_node_and_allocation_falls_back_within_the_mems() -> None:
    machine = preset("quad-node")
    preferred = rebind(mpol_new(MpolMode.PREFERRED, M("1"), M("0-1")), M("2"))
    node, _ = alloc_node(preferred, M("2"), cpu_node=0, machine=machine)
    assert (str(preferred.nodes), node) == ("1", 2)


def test_2614_preferred_node_is_remapped() -> None:
    preferred = mpol_new(MpolMode.PREFERRED, M("1"), M("0-1"))
    assert str(rebind(preferred, M("2-3"), era="2.6.14").nodes) == "3"


def test_2614_rebind_uses_the_tasks_old_mems_and_remaps_the_rotor() -> None:
    policy = MemPolicy(mode=MpolMode.INTERLEAVE, nodes=M("0-1"), il_prev=1)
    moved = rebind(policy, M("2-3"), old_mems=M("0-1"), era="2.6.14")
    assert (str(moved.nodes), moved.il_prev) == ("2-3", 3)


@pytest.mark.parametrize(
    ("nodes", "old", "new", "before", "expected"),
    [
        ("0-1,3", "0-3", "1-3", 3, [0, 1, 3, 1, 2, 1, 2]),
        ("1,3", "0-3", "1-3", 0, [2, 1, 2, 1]),
    ],
)
def test_2614_rebind_remaps_the_next_interleave_node_il_next(
    nodes: str, old: str, new: str, before: int, expected: list[int]
) -> None:
    machine = preset("quad-node")
    policy = mpol_new(MpolMode.INTERLEAVE, M(nodes), M(old), era="2.6.14")
    chosen = []
    for step in range(len(expected)):
        if step == before:
            policy = rebind(policy, M(new), old_mems=M(old), era="2.6.14")
        mems = M(old) if step < before else M(new)
        node, policy = alloc_node(policy, mems, cpu_node=0, machine=machine, era="2.6.14")
        chosen.append(node)
    assert chosen == expected


def test_2614_set_mempolicy_drops_the_nodes_outside_mems_allowed() -> None:
    mems = M("0-1")
    bind = mpol_new(MpolMode.BIND, M("0,2"), mems, era="2.6.14")
    preferred = mpol_new(MpolMode.PREFERRED, M("2-3"), mems, era="2.6.14")
    default = mpol_new(MpolMode.DEFAULT, M("2"), mems, era="2.6.14")
    assert (str(bind.nodes), preferred.mode, default.mode) == (
        "0",
        MpolMode.LOCAL,
        MpolMode.DEFAULT,
    )
    with pytest.raises(CpusetError):
        mpol_new(MpolMode.INTERLEAVE, M("2-3"), mems, era="2.6.14")


def test_rebind_to_the_same_mems_changes_nothing() -> None:
    policy = plain(MpolMode.INTERLEAVE, "1", "0-1")
    assert rebind(policy, M("0-1")) is policy


def test_default_and_local_policies_are_never_rebound() -> None:
    for mode in (MpolMode.DEFAULT, MpolMode.LOCAL):
        policy = MemPolicy(mode=mode)
        assert rebind(policy, M("3")) is policy


def test_creation_intersects_or_folds_the_users_nodes() -> None:
    allowed = M("4-7")
    assert str(mpol_new(MpolMode.BIND, M("5-9"), allowed).nodes) == "5-7"
    assert str(mpol_new(MpolMode.BIND, M("1-3"), allowed, MpolFlag.RELATIVE_NODES).nodes) == "5-7"
    static = mpol_new(MpolMode.BIND, M("5,9"), allowed, MpolFlag.STATIC_NODES)
    assert (str(static.nodes), str(static.user_nodemask)) == ("5", "5,9")


def test_creation_of_preferred_keeps_only_the_first_node() -> None:
    assert str(mpol_new(MpolMode.PREFERRED, M("2-3"), M("0-3")).nodes) == "2"


def test_preferred_without_nodes_is_local() -> None:
    assert mpol_new(MpolMode.PREFERRED, M(""), M("0-1")).mode is MpolMode.LOCAL


@pytest.mark.parametrize("flags", [MpolFlag.STATIC_NODES, MpolFlag.RELATIVE_NODES])
def test_default_ignores_a_mode_flag_when_given_no_nodes(flags: MpolFlag) -> None:
    assert mpol_new(MpolMode.DEFAULT, M(""), M("0-1"), flags) == MemPolicy()


@pytest.mark.parametrize(
    ("mode", "nodes", "flags"),
    [
        (MpolMode.BIND, "2", MpolFlag.NONE),
        (MpolMode.DEFAULT, "0", MpolFlag.STATIC_NODES),
        (MpolMode.LOCAL, "", MpolFlag.RELATIVE_NODES),
        (MpolMode.INTERLEAVE, "", MpolFlag.NONE),
        (MpolMode.DEFAULT, "0", MpolFlag.NONE),
        (MpolMode.BIND, "0", MpolFlag.STATIC_NODES | MpolFlag.RELATIVE_NODES),
        (MpolMode.PREFERRED, "", MpolFlag.STATIC_NODES),
    ],
)
def test_creation_refuses_what_set_mempolicy_refuses(
    mode: MpolMode, nodes: str, flags: MpolFlag
) -> None:
    with pytest.raises(CpusetError) as info:
        mpol_new(mode, M(nodes), M("0-1"), flags)
    assert info.value.errno == errno.EINVAL


def test_interleave_allocates_round_robin_over_the_allowed_nodes() -> None:
    machine = preset("quad-node")
    policy = mpol_new(MpolMode.INTERLEAVE, M("0-3"), M("0-3"))
    chosen = []
    for _ in range(6):
        node, policy = alloc_node(policy, M("1-3"), cpu_node=0, machine=machine)
        chosen.append(node)
    assert chosen == [1, 2, 3, 1, 2, 3]


def test_bind_allocates_on_the_allowed_node_nearest_the_cpu() -> None:
    machine = preset("quad-node")
    policy = mpol_new(MpolMode.BIND, M("1-3"), M("0-3"))
    assert [alloc_node(policy, M("0-3"), cpu_node=c, machine=machine)[0] for c in range(4)] == [
        1,
        1,
        2,
        3,
    ]


def test_local_allocation_falls_back_to_the_nearest_allowed_node() -> None:
    machine = preset("quad-node")
    node, _ = alloc_node(MemPolicy(), M("2-3"), cpu_node=1, machine=machine)
    assert node == 3


def test_stale_bind_outside_the_mems_cannot_allocate() -> None:
    machine = preset("quad-node")
    policy = mpol_new(MpolMode.BIND, M("0"), M("0-1"))
    assert alloc_node(policy, M("2-3"), cpu_node=0, machine=machine)[0] is None


@pytest.mark.parametrize(
    ("src", "dst", "expected"),
    [
        ("2-4", "3-5", [(4, 5), (3, 4), (2, 3)]),
        ("0-7", "3-5", [(7, 4), (6, 3), (2, 5), (1, 4), (0, 3)]),
        ("0-1", "0-1", []),
    ],
)
def test_do_migrate_pages_order_of_the_worked_examples(
    src: str, dst: str, expected: list[tuple[int, int]]
) -> None:
    assert migrate_pages_plan(M(src), M(dst)) == expected


@given(st.integers(0, 255), st.integers(1, 255))
def test_migrate_plan_moves_each_source_once_to_its_remapped_node(src: int, dst: int) -> None:
    from_mems, to_mems = CpuMask(src), CpuMask(dst)
    plan = migrate_pages_plan(from_mems, to_mems)
    sources = [s for s, _ in plan]
    assert len(sources) == len(set(sources))
    for s, d in plan:
        assert (s in from_mems, d, d != s) == (True, bitremap(s, from_mems, to_mems), True)
    if len(from_mems) == len(to_mems):
        expected = {s for s in from_mems if bitremap(s, from_mems, to_mems) != s}
        assert set(sources) == expected


@given(st.integers(1, 255), st.integers(1, 255), st.integers(1, 255))
def test_rebound_bind_and_interleave_policies_stay_within_the_new_mems(
    nodes: int, old: int, new: int
) -> None:
    for mode in (MpolMode.BIND, MpolMode.INTERLEAVE):
        policy = MemPolicy(
            mode=mode,
            nodes=CpuMask(nodes) & CpuMask(old) or CpuMask(old),
            cpuset_mems_allowed=CpuMask(old),
        )
        rebound = rebind(policy, CpuMask(new))
        assert (bool(rebound.nodes), rebound.nodes <= CpuMask(new)) == (True, True)


@settings(max_examples=300, deadline=None)
@given(
    nodes=st.integers(min_value=0, max_value=255),
    mems=st.integers(min_value=0, max_value=255),
    il_prev=st.integers(min_value=-1, max_value=7),
    count=st.integers(min_value=0, max_value=40),
)
def test_alloc_interleaved_equals_one_alloc_node_per_page(
    nodes: int, mems: int, il_prev: int, count: int
) -> None:
    """The bulk interleave (a huge pages_per_ms no longer loops per page) gives the
    pages and the rotor of *count* alloc_node calls."""
    from collections import Counter

    machine = parse_synthetic("node:8 core:1 pu:1")
    policy = MemPolicy(mode=MpolMode.INTERLEAVE, nodes=CpuMask(nodes), il_prev=il_prev)
    naive: Counter[int] = Counter()
    state: MemPolicy | None = policy
    for _ in range(count):
        assert state is not None
        node, state = alloc_node(state, CpuMask(mems), 0, machine)
        if node is None:
            state = None
            break
        naive[node] += 1
    bulk = alloc_interleaved(policy, CpuMask(mems), count)
    if state is None:
        assert bulk is None
        return
    assert bulk is not None
    pages, after = bulk
    assert dict(pages) == dict(naive)
    assert after == state
    if nodes & mems:
        huge = alloc_interleaved(policy, CpuMask(mems), 10**12)
        assert huge is not None
        assert sum(n for _, n in huge[0]) == 10**12
