"""Machines: validation (GRP-5, SLIT), synthetic strings, distance rules and presets.

Covers topology/machine.py, topology/synthetic.py and topology/presets.py.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from topology import CpuMask
from topology.machine import LOCAL_DISTANCE, CpuTopo, Machine, MachineError, slit_problem
from topology.presets import DEFAULT_MACHINE, PRESETS, load_machine, preset
from topology.synthetic import (
    MAX_NUMNODES,
    NR_CPUS_MAX,
    distance_rule,
    parse_distances,
    parse_synthetic,
)

TWO_NODES = ((10, 20), (20, 10))


def cpu(n: int, node: int, package: int, core: int, thread: int = 0) -> CpuTopo:
    return CpuTopo(cpu=n, node=node, package=package, core=core, thread=thread)


def smt_box() -> Machine:
    """2 nodes x 1 package x 2 cores x 2 threads, CPUs numbered depth first."""
    return parse_synthetic("node:2 core:2 pu:2 distances=10,20;20,10", name="box")


# -- Machine: derived masks ------------------------------------------------------------


def test_machine_masks_mirror_the_kernel_topology_masks() -> None:
    box = smt_box()
    assert [
        str(box.sibling_mask(5)),
        str(box.core_group_mask(5)),
        str(box.package_mask(5)),
        str(box.node_mask(1)),
        box.node_of(5),
        box.distance(0, 1),
    ] == ["4-5", "4-7", "4-7", "4-7", 1, 20]


def test_machine_sizes_and_whole_machine_masks() -> None:
    box = smt_box()
    assert (box.nr_cpus, box.nr_nodes, str(box.all_cpus), str(box.all_nodes)) == (
        8,
        2,
        "0-7",
        "0-1",
    )
    assert (box.has_smt, box.distinct_distances) == (True, (10, 20))


def test_machine_summary_names_the_counts() -> None:
    assert smt_box().summary() == "box: 8 CPUs, 2 nodes, 2 packages, 4 cores, SMT"


def test_machine_core_group_is_package_within_node_when_a_package_spans_nodes() -> None:
    # Magny-Cours style: one package holding two nodes.
    m = parse_synthetic("package:1 node:2 core:2")
    assert (str(m.package_mask(0)), str(m.core_group_mask(0)), str(m.node_mask(0))) == (
        "0-3",
        "0-1",
        "0-1",
    )


def test_machine_memory_only_node_has_an_empty_cpu_mask() -> None:
    table = ((10, 20, 30), (20, 10, 30), (30, 30, 10))
    m = Machine(cpus=(cpu(0, 0, 0, 0), cpu(1, 1, 1, 1)), distances=table)
    assert (m.nr_nodes, str(m.nodes_with_cpus), m.node_mask(2)) == (3, "0-1", CpuMask())


# -- Machine: validation -----------------------------------------------------------------


def test_machine_needs_a_cpu() -> None:
    with pytest.raises(MachineError, match="at least one CPU"):
        Machine(cpus=(), distances=((10,),))


def test_machine_cpus_must_be_numbered_from_zero() -> None:
    with pytest.raises(MachineError, match=r"numbered 0\.\.1"):
        Machine(cpus=(cpu(0, 0, 0, 0), cpu(2, 0, 0, 1)), distances=((10,),))


def test_machine_refuses_negative_topology_ids() -> None:
    with pytest.raises(MachineError, match="CPU 0 has a negative topology id"):
        Machine(cpus=(cpu(0, -1, 0, 0),), distances=((10,),))


def test_machine_distance_table_must_cover_every_node_with_cpus() -> None:
    with pytest.raises(MachineError, match="distance table has 1 rows but CPUs use node 1"):
        Machine(cpus=(cpu(0, 0, 0, 0), cpu(1, 1, 1, 1)), distances=((10,),))


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (((10, 20), ()), "m: distance row 1 has 0 entries, expected 2"),
        (((10, 20), (20,)), "m: distance row 1 has 1 entries, expected 2"),
        (((12, 20), (20, 10)), r"m: distance\(0,0\) is 12, must be LOCAL_DISTANCE=10"),
        (((10, 10), (10, 10)), r"m: distance\(0,1\) = 10 is outside 11\.\.255"),
        (((10, 256), (256, 10)), r"m: distance\(0,1\) = 256 is outside 11\.\.255"),
        (((10, 20), (30, 10)), r"m: distance\(0,1\) is 20 but distance\(1,0\) is 30"),
    ],
)
def test_machine_refuses_a_slit_the_kernel_refuses(
    table: tuple[tuple[int, ...], ...], message: str
) -> None:
    with pytest.raises(MachineError, match=message):
        Machine(cpus=(cpu(0, 0, 0, 0),), distances=table, name="m")


def test_slit_problem_locates_the_first_bad_entry() -> None:
    assert (slit_problem(TWO_NODES), slit_problem(((10, 20), (21, 10)))) == (
        None,
        (0, 1, "is 20 but distance(1,0) is 21 (not symmetric)"),
    )


def test_machine_core_split_across_packages_violates_grp5() -> None:
    cpus = (cpu(0, 0, 0, 0), cpu(1, 0, 1, 0, thread=1))
    with pytest.raises(
        MachineError, match=r"core 0 spans package/node \(0, 0\) and \(1, 0\).*GRP-5"
    ):
        Machine(cpus=cpus, distances=((10,),))


def test_machine_core_split_across_nodes_violates_grp5() -> None:
    cpus = (cpu(0, 0, 0, 0), cpu(1, 1, 0, 0, thread=1))
    with pytest.raises(MachineError, match=r"at CPU 1 \(topology masks must nest, GRP-5\)"):
        Machine(cpus=cpus, distances=TWO_NODES)


# -- synthetic strings ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "cpus", "nodes", "packages", "cores"),
    [
        ("node:4 core:2 pu:2", 16, 4, 4, 8),
        ("package:2 core:8 pu:2", 32, 1, 2, 16),
        ("core:4", 4, 1, 1, 4),
        ("pu:2", 2, 1, 1, 1),
        ("node:2 package:2 core:1", 4, 2, 4, 4),
        ("package:2 node:2 core:2", 8, 4, 2, 8),
    ],
)
def test_synthetic_string_gives_the_product_of_its_levels(
    text: str, cpus: int, nodes: int, packages: int, cores: int
) -> None:
    m = parse_synthetic(text)
    counted = (
        m.nr_cpus,
        m.nr_nodes,
        len({c.package for c in m.cpus}),
        len({c.core for c in m.cpus}),
    )
    assert counted == (cpus, nodes, packages, cores)


@pytest.mark.parametrize(
    "text",
    [
        "numa:2 socket:1 core:2 thread:2",
        "NUMANode:2 pkg:1 Core:2 PU:2",
        "NODE:2 PACKAGE:1 CORE:2 THREAD:2",
        "  node:2   package:1 core:2 pu:2  ",
    ],
)
def test_synthetic_level_aliases_and_case_give_the_same_machine(text: str) -> None:
    canonical = parse_synthetic("node:2 package:1 core:2 pu:2")
    assert (parse_synthetic(text).cpus, parse_synthetic(text).distances) == (
        canonical.cpus,
        canonical.distances,
    )


def test_synthetic_numbers_cpus_depth_first_with_threads_innermost() -> None:
    assert parse_synthetic("node:2 core:2 pu:2").cpus[:3] == (
        cpu(0, 0, 0, 0, 0),
        cpu(1, 0, 0, 0, 1),
        cpu(2, 0, 0, 1, 0),
    )


def test_synthetic_name_defaults_to_the_normalised_text() -> None:
    assert parse_synthetic("  node:2\tcore:2 ").name == "node:2 core:2"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "column 1: no levels given"),
        ("node:2 cache:2", "column 8: unknown level 'cache:2'"),
        ("node:2 core", "column 8: unknown level 'core'"),
        ("node:0", "column 6: count '0' must be a positive integer"),
        ("node:-1", "column 6: count '-1' must be a positive integer"),
        ("node:x", "column 6: count 'x' must be a positive integer"),
        ("node:\u00b2", "column 6: count '\u00b2' must be a positive integer"),
        ("node:2 numa:2", "column 8: level 'node' given twice"),
        ("pu:2 core:2", "column 6: level 'core' must come before 'pu'"),
        ("core:2 node:2", "column 8: level 'node' must come before 'core'"),
        ("pu:2 socket:2", "column 6: level 'package' must come before 'pu'"),
        ("node:2 distances=uniform distances=ring", "column 26: distances= given twice"),
        ("node:2 distances=10,20", "column 18: distance table has 1 rows for 2 nodes"),
        ("node:2 distances=10,2_0;20,10", "column 18: distance row '10,2_0' is not a list"),
        ("node:2 distances=ring:x", "column 18: rule argument 'x' must be a non-negative"),
        ("node:2 distances=star", "column 18: unknown distance rule 'star'"),
        ("node:4 distances=tree:1", "column 18: tree fanout must be at least 2"),
        ("node:2 distances=", "column 18: unknown distance rule ''"),
    ],
)
def test_synthetic_errors_name_the_text_and_the_column(text: str, message: str) -> None:
    with pytest.raises(MachineError) as info:
        parse_synthetic(text)
    assert str(info.value).startswith(f"synthetic topology {text!r}, {message}")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("node:2 distances=ring:0", "column 18: distance(0,1) = 10 is outside 11..255"),
        ("node:2 distances=10,20;30,10", "column 18: distance(0,1) is 20 but distance(1,0) is 30"),
        ("node:2 distances=10,20;20", "column 18: distance row 1 has 1 entries, expected 2"),
    ],
)
def test_synthetic_distances_outside_the_slit_rules_name_the_column(
    text: str, message: str
) -> None:
    with pytest.raises(MachineError) as info:
        parse_synthetic(text)
    assert str(info.value).startswith(f"synthetic topology {text!r}, {message}")


def test_synthetic_refuses_more_than_nr_cpus_max_cpus() -> None:
    with pytest.raises(
        MachineError, match=f"column 1: 8193 CPUs is more than NR_CPUS={NR_CPUS_MAX}"
    ):
        parse_synthetic("node:1 core:8193")


def test_synthetic_refuses_more_than_max_numnodes_nodes() -> None:
    with pytest.raises(MachineError, match=f"more than MAX_NUMNODES={MAX_NUMNODES} nodes"):
        parse_synthetic("node:1025 core:1")


def test_synthetic_distances_rows_give_the_slit() -> None:
    m = parse_synthetic("node:3 distances=10,20,30;20,10,20;30,20,10")
    assert m.distances == ((10, 20, 30), (20, 10, 20), (30, 20, 10))


def test_synthetic_without_distances_is_uniform_20() -> None:
    assert parse_synthetic("node:3").distances == ((10, 20, 20), (20, 10, 20), (20, 20, 10))


@pytest.mark.parametrize(
    ("rule", "n", "arg", "row0"),
    [
        ("uniform", 3, None, (10, 20, 20)),
        ("uniform", 3, 30, (10, 30, 30)),
        ("ring", 4, None, (10, 20, 30, 20)),
        ("ring", 5, 5, (10, 15, 20, 20, 15)),
        ("tree", 4, None, (10, 20, 30, 30)),
        ("tree", 8, 4, (10, 20, 20, 20, 30, 30, 30, 30)),
    ],
)
def test_distance_rule_first_row(rule: str, n: int, arg: int | None, row0: tuple[int, ...]) -> None:
    assert distance_rule(rule, n, arg)[0] == row0


@pytest.mark.parametrize("rule", ["uniform", "ring", "tree"])
def test_distance_rule_tables_are_valid_slits(rule: str) -> None:
    table = distance_rule(rule, 16)
    assert slit_problem(table) is None


def test_distance_rule_saturates_at_255() -> None:
    assert max(distance_rule("ring", 64, 10)[0]) == 255


def test_parse_distances_tolerates_spaces_and_empty_rows() -> None:
    assert parse_distances(" 10, 20 ; 20 ,10 ;", 2) == TWO_NODES


@given(
    st.integers(1, 4),
    st.integers(1, 3),
    st.integers(1, 4),
    st.integers(1, 3),
    st.sampled_from(["uniform", "ring", "tree"]),
)
def test_synthetic_machine_has_the_shape_its_string_says(
    nodes: int, packages: int, cores: int, pus: int, rule: str
) -> None:
    m = parse_synthetic(f"node:{nodes} package:{packages} core:{cores} pu:{pus} distances={rule}")
    shape = (
        m.nr_cpus,
        m.nr_nodes,
        {len(m.sibling_mask(c)) for c in range(m.nr_cpus)},
        {len(m.package_mask(c)) for c in range(m.nr_cpus)},
        {len(m.node_mask(n)) for n in range(nodes)},
        [c.thread for c in m.cpus[:pus]],
    )
    assert shape == (
        nodes * packages * cores * pus,
        nodes,
        {pus},
        {cores * pus},
        {packages * cores * pus},
        list(range(pus)),
    )


@given(st.text(alphabet=st.sampled_from("nodecrpuamkgsthi:=0123456789,; "), max_size=40))
def test_synthetic_any_text_gives_a_machine_or_a_machine_error(text: str) -> None:
    prefix = f"synthetic topology {text!r}, column "
    try:
        result = f"{parse_synthetic(text).nr_cpus >= 1}"
    except MachineError as exc:
        result = "error naming the text" if str(exc).startswith(prefix) else str(exc)
    assert result in {"True", "error naming the text"}


# -- presets -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "cpus", "nodes", "smt", "distances"),
    [
        ("ht-up", 2, 1, True, (10,)),
        ("smt-numa-8", 8, 2, True, (10, 20)),
        ("numa-2x2", 4, 2, False, (10, 20)),
        ("dual-socket", 32, 2, True, (10, 21)),
        ("quad-node", 16, 4, False, (10, 16, 22)),
        ("sgi-altix-512", 512, 256, False, (10, 20, 30, 40, 50, 60, 70, 80, 90)),
    ],
)
def test_preset_has_its_documented_size(
    name: str, cpus: int, nodes: int, smt: bool, distances: tuple[int, ...]
) -> None:
    m = preset(name)
    assert (m.name, m.nr_cpus, m.nr_nodes, m.has_smt, m.distinct_distances) == (
        name,
        cpus,
        nodes,
        smt,
        distances,
    )


def test_presets_all_load_with_a_description() -> None:
    assert [bool(preset(name).description) for name in PRESETS] == [True] * len(PRESETS)


def test_default_machine_is_a_preset() -> None:
    assert load_machine(DEFAULT_MACHINE).name == DEFAULT_MACHINE


def test_numa_2x2_is_the_seed_000_box() -> None:
    m = preset("numa-2x2")
    assert [str(m.node_mask(n)) for n in range(2)] == ["0-1", "2-3"]


def test_unknown_preset_lists_the_known_names() -> None:
    with pytest.raises(MachineError, match=r"unknown machine preset 'vax' \(known: ht-up, "):
        preset("vax")


def test_load_machine_reads_a_synthetic_string() -> None:
    assert load_machine("node:2 core:2").nr_cpus == 4


def test_load_machine_refuses_what_it_cannot_place() -> None:
    with pytest.raises(MachineError, match="neither a preset"):
        load_machine("no-such-machine")


def test_local_distance_is_10() -> None:
    assert LOCAL_DISTANCE == 10
