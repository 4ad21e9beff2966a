"""Machines from ``lscpu -p`` output and sysfs snapshots (topology/sources.py).

Fixtures in tests/data/: ``lscpu-2socket-ht.txt`` (2 sockets x 4 cores x 2
HyperThreads, the real ``lscpu -p`` header) and ``sysfs-2node-8cpu/`` (a copy of
/sys/devices/system for 2 sockets = 2 nodes x 2 cores x 2 threads, SLIT 10/21).
Both number CPUs the way x86 firmware does: first threads of every core, then
the second threads.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from topology.machine import CpuTopo, Machine, MachineError
from topology.presets import load_machine
from topology.sources import from_lscpu, from_lscpu_file, from_sysfs

DATA = Path(__file__).parent / "data"
LSCPU = DATA / "lscpu-2socket-ht.txt"
SYSFS = DATA / "sysfs-2node-8cpu"
SYSTEM = "sys/devices/system"


def shape(m: Machine) -> list[tuple[int, int, int, int]]:
    """(node, package, core, thread) per CPU."""
    return [(c.node, c.package, c.core, c.thread) for c in m.cpus]


def error_of(text: str, source: str = "box.txt") -> str:
    with pytest.raises(MachineError) as info:
        from_lscpu(text, source=source)
    return str(info.value)


@pytest.fixture
def system(tmp_path: Path) -> Path:
    """A writable copy of the sysfs fixture; returns its devices/system directory."""
    shutil.copytree(SYSFS, tmp_path / "snap")
    return tmp_path / "snap" / SYSTEM


def sysfs_error(path: Path) -> str:
    with pytest.raises(MachineError) as info:
        from_sysfs(path)
    return str(info.value)


SYSFS_SHAPE = [
    (0, 0, 0, 0),
    (0, 0, 1, 0),
    (1, 1, 2, 0),
    (1, 1, 3, 0),
    (0, 0, 0, 1),
    (0, 0, 1, 1),
    (1, 1, 2, 1),
    (1, 1, 3, 1),
]


# -- lscpu -p: the fixture ---------------------------------------------------------------


def test_lscpu_fixture_is_a_two_socket_ht_box() -> None:
    m = from_lscpu_file(LSCPU)
    assert (m.nr_cpus, m.nr_nodes, m.has_smt, m.summary()) == (
        16,
        2,
        True,
        f"{LSCPU}: 16 CPUs, 2 nodes, 2 packages, 8 cores, SMT",
    )


def test_lscpu_fixture_pairs_each_cpu_with_its_hyperthread_eight_above() -> None:
    m = from_lscpu_file(LSCPU)
    assert [str(m.sibling_mask(c)) for c in (0, 3, 4, 15)] == ["0,8", "3,11", "4,12", "7,15"]
    assert [str(m.node_mask(n)) for n in (0, 1)] == ["0-3,8-11", "4-7,12-15"]
    assert (m.cpus[8], m.cpus[12]) == (CpuTopo(8, 0, 0, 0, 1), CpuTopo(12, 1, 1, 4, 1))


def test_lscpu_distances_are_assumed_uniform_20() -> None:
    m = from_lscpu_file(LSCPU)
    assert (m.distances, m.description) == (
        ((10, 20), (20, 10)),
        "from lscpu -p, distances assumed 20",
    )


# -- lscpu -p: format variants -------------------------------------------------------------


def test_lscpu_user_defined_columns_give_the_same_machine() -> None:
    rows = [line.split(",") for line in LSCPU.read_text().splitlines() if line[0] != "#"]
    text = "# CPU,Core,Socket,Node,L1d:L1i:L2:L3\n" + "".join(
        f"{r[0]},{r[1]},{r[2]},{r[3]},{r[5]}:{r[6]}:{r[7]}:{r[8]}\n" for r in rows
    )
    assert shape(from_lscpu(text)) == shape(from_lscpu_file(LSCPU))


def test_lscpu_header_locates_columns_in_any_order() -> None:
    text = "# Node,Socket,CPU,Core\n0,0,0,0\n0,0,1,0\n1,1,2,1\n1,1,3,1\n"
    assert shape(from_lscpu(text)) == [(0, 0, 0, 0), (0, 0, 0, 1), (1, 1, 1, 0), (1, 1, 1, 1)]


def test_lscpu_without_header_reads_cpu_core_socket_node() -> None:
    assert shape(from_lscpu("0,0,0,1\n1,0,0,1\n2,1,1,0\n")) == [
        (1, 0, 0, 0),
        (1, 0, 0, 1),
        (0, 1, 1, 0),
    ]


def test_lscpu_without_node_column_puts_every_cpu_on_node_0() -> None:
    m = from_lscpu("# CPU,Core,Socket\n0,0,0\n1,1,1\n")
    assert (m.nr_nodes, shape(m)) == (1, [(0, 0, 0, 0), (0, 1, 1, 0)])


def test_lscpu_short_headerless_rows_default_the_missing_columns() -> None:
    # CPU only: every CPU its own core, one package per node, node 0.
    assert shape(from_lscpu("0\n1\n")) == [(0, 0, 0, 0), (0, 0, 1, 0)]


def test_lscpu_without_socket_column_makes_one_package_per_node() -> None:
    m = from_lscpu("# CPU,Core,Node\n0,0,0\n1,1,0\n2,2,1\n")
    assert [c.package for c in m.cpus] == [0, 0, 1]


def test_lscpu_physical_core_ids_repeating_per_socket_become_global() -> None:
    # lscpu -p --physical prints topology/core_id, which restarts in every package.
    m = from_lscpu("# CPU,Core,Socket,Node\n0,0,0,0\n1,1,0,0\n2,0,1,1\n3,1,1,1\n")
    assert [c.core for c in m.cpus] == [0, 1, 2, 3]


def test_lscpu_sparse_node_ids_are_renumbered_and_described() -> None:
    m = from_lscpu("# CPU,Core,Socket,Node\n0,0,0,0\n1,1,1,8\n")
    assert ([c.node for c in m.cpus], m.description) == (
        [0, 1],
        "from lscpu -p, distances assumed 20; node ids renumbered 0->0, 8->1",
    )


def test_lscpu_tolerates_crlf_blank_lines_spaces_and_online_y() -> None:
    text = "# CPU,Core,Socket,Node,Online\r\n\r\n 0 , 0 ,0,0,Y\r\n1,1,0,0,Y  \r\n"
    assert shape(from_lscpu(text)) == [(0, 0, 0, 0), (0, 0, 1, 0)]


def test_lscpu_reads_util_linux_2_38_output_with_online_after_the_caches() -> None:
    # `lscpu -p=CPU,CORE,SOCKET,NODE,CACHE,ONLINE -a` from util-linux 2.38.1, verbatim.
    text = (
        "# The following is the parsable format, which can be fed to other\n"
        "# programs. Each different item in every column has an unique ID\n"
        "# starting usually from zero.\n"
        "# CPU,Core,Socket,Node,,L1d,L1i,L2,L3,Online\n"
        "0,0,0,0,,0,0,0,0,Y\n"
        "1,1,0,0,,1,1,1,0,Y\n"
    )
    assert shape(from_lscpu(text)) == [(0, 0, 0, 0), (0, 0, 1, 0)]
    with pytest.raises(MachineError, match="line 6: CPU 1 is offline"):
        from_lscpu(text.replace("1,0,Y", "1,0,N"))


def test_lscpu_rows_may_come_in_any_order() -> None:
    assert shape(from_lscpu("1,0,0,0\n0,0,0,0\n")) == [(0, 0, 0, 0), (0, 0, 0, 1)]


# -- lscpu -p: errors name the source and the line ----------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0,0,0,0\n1,1,0,0\n3,3,0,0\n", "box.txt, line 3: CPU 2 missing before CPU 3 (offline?)"),
        ("1,0,0,0\n2,0,0,0\n", "box.txt, line 1: CPU 0 missing before CPU 1"),
        ("0,0,0,0\n4,1,0,0\n", "box.txt, line 2: CPU 1-3 missing before CPU 4"),
        ("999999999999\n", "box.txt, line 1: CPU 0-999999999998 missing before CPU 999999999999"),
        ("0,0,0,0\n0,1,0,0\n", "box.txt, line 2: CPU 0 is listed twice (also box.txt, line 1)"),
        (
            "# CPU,Core,Socket,Node,Online\n0,0,0,0,Y\n1,,,,N\n",
            "box.txt, line 3: CPU 1 is offline",
        ),
        (
            "# CPU,Core,Socket,Node\n0,0,0,0\n1,,,\n",
            "box.txt, line 3: Socket value '' is not a number (an offline CPU listed by",
        ),
        ("0,x,0,0\n", "box.txt, line 1: Core value 'x' is not a number"),
        ("0,0,-1,0\n", "box.txt, line 1: Socket value '-1' is not a number"),
        ("zero\n", "box.txt, line 1: CPU value 'zero' is not a number"),
        ("0,0,0,\u0661\n", "box.txt, line 1: Node value"),
        ("# Core,Socket,Node\n0,0,0\n", "box.txt, line 1: the header names no CPU column"),
        ("# CPU,Core,Socket,Node\n0,0\n", "box.txt, line 2: 2 fields, but node is field 4"),
        ("# just a comment\n\n", "box.txt: no CPU lines"),
        ("", "box.txt: no CPU lines"),
        (
            "# CPU,Core,Socket,Node\n0,0,0,0\n1,0,0,1\n",
            "box.txt, line 3: CPU 1 shares a core with CPU 0 but not its package/node",
        ),
    ],
)
def test_lscpu_errors_name_the_source_and_the_line(text: str, message: str) -> None:
    assert error_of(text).startswith(message)


def test_lscpu_core_across_nodes_cites_grp5() -> None:
    assert error_of("0,0,0,0\n1,0,0,1\n").endswith("(topology masks must nest, GRP-5)")


def test_lscpu_file_that_cannot_be_read_is_a_machine_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.txt"
    with pytest.raises(MachineError, match=f"{missing}: cannot read"):
        from_lscpu_file(missing)


def test_lscpu_file_that_is_not_ascii_is_a_machine_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"0,0,0,0\n\xff\n")
    with pytest.raises(MachineError, match=f"{bad}: not ASCII text"):
        from_lscpu_file(bad)


@given(st.text(alphabet=st.sampled_from("0123456789,#-YN \nCPUoreSckNd"), max_size=60))
def test_lscpu_any_text_gives_a_machine_or_an_error_naming_the_source(text: str) -> None:
    try:
        result = f"{from_lscpu(text, source='box.txt').nr_cpus >= 1}"
    except MachineError as exc:
        result = "error naming box.txt" if str(exc).startswith("box.txt") else str(exc)
    assert result in {"True", "error naming box.txt"}


# -- sysfs: the fixture ------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["", "sys", "sys/devices", SYSTEM])
def test_sysfs_snapshot_is_found_from_the_root_or_the_system_dir(where: str) -> None:
    m = from_sysfs(SYSFS / where)
    assert (shape(m), m.distances, m.name) == (
        SYSFS_SHAPE,
        ((10, 21), (21, 10)),
        str(SYSFS / where),
    )


def test_sysfs_fixture_masks() -> None:
    m = from_sysfs(SYSFS)
    assert [str(m.sibling_mask(0)), str(m.node_mask(1)), str(m.package_mask(6))] == [
        "0,4",
        "2-3,6-7",
        "2-3,6-7",
    ]


def test_sysfs_path_may_be_a_string() -> None:
    assert from_sysfs(str(SYSFS)).nr_cpus == 8


# -- sysfs: whatever subset of the files exists -----------------------------------------------


def remove(system: Path, pattern: str) -> None:
    for path in sorted(system.glob(pattern)):
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


def test_sysfs_hex_masks_alone_give_the_same_machine(system: Path) -> None:
    remove(system, "cpu/cpu*/topology/*_list")
    remove(system, "node/node*/cpulist")
    assert shape(from_sysfs(system)) == SYSFS_SHAPE


def test_sysfs_old_file_names_alone_give_the_same_machine(system: Path) -> None:
    remove(system, "cpu/cpu*/topology/core_cpus*")
    remove(system, "cpu/cpu*/topology/package_cpus*")
    assert shape(from_sysfs(system)) == SYSFS_SHAPE


def test_sysfs_per_package_core_ids_alone_become_global_cores(system: Path) -> None:
    for name in ("thread_siblings", "core_cpus", "core_siblings", "package_cpus"):
        remove(system, f"cpu/cpu*/topology/{name}*")
    assert shape(from_sysfs(system)) == SYSFS_SHAPE


def test_sysfs_without_topology_dirs_each_cpu_is_a_core_and_each_node_a_package(
    system: Path,
) -> None:
    remove(system, "cpu/cpu*/topology")
    m = from_sysfs(system)
    assert ([c.package for c in m.cpus], m.has_smt) == ([0, 0, 1, 1, 0, 0, 1, 1], False)


def test_sysfs_without_node_dirs_is_one_node(system: Path) -> None:
    remove(system, "node")
    m = from_sysfs(system)
    assert (m.nr_nodes, m.distances, {c.node for c in m.cpus}) == (1, ((10,),), {0})


def test_sysfs_without_distance_files_assumes_uniform_20(system: Path) -> None:
    remove(system, "node/node*/distance")
    assert from_sysfs(system).distances == ((10, 20), (20, 10))


def test_sysfs_sparse_node_ids_are_renumbered_and_described(system: Path) -> None:
    (system / "node/node1").rename(system / "node/node8")
    m = from_sysfs(system)
    assert ([c.node for c in m.cpus[:4]], m.description) == (
        [0, 0, 1, 1],
        "from a sysfs snapshot; node ids renumbered 0->0, 8->1",
    )


def test_sysfs_memory_only_node_is_kept(system: Path) -> None:
    (system / "node/node2").mkdir()
    (system / "node/node2/cpulist").write_text("\n")
    (system / "node/node0/distance").write_text("10 21 31\n")
    (system / "node/node1/distance").write_text("21 10 31\n")
    (system / "node/node2/distance").write_text("31 31 10\n")
    m = from_sysfs(system)
    assert (m.nr_nodes, str(m.nodes_with_cpus), m.distance(0, 2)) == (3, "0-1", 31)


def test_sysfs_cpu_in_no_node_list_is_on_node_0(system: Path) -> None:
    (system / "node/node1/cpulist").write_text("2,6\n")
    m = from_sysfs(system)
    assert ([m.node_of(c) for c in range(8)], str(m.package_mask(3))) == (
        [0, 0, 1, 0, 0, 0, 1, 0],
        "2-3,6-7",
    )


# -- sysfs: errors name the file -----------------------------------------------------------


def test_sysfs_missing_cpu_dir_is_named_as_a_gap(system: Path) -> None:
    remove(system, "cpu/cpu3")
    assert sysfs_error(system) == (
        f"{system}/cpu/cpu4: CPU 3 missing before CPU 4 (offline?); "
        f"{system} must number its CPUs 0..n-1"
    )


def test_sysfs_cpu_offline_in_cpu_online_is_refused(system: Path) -> None:
    (system / "cpu/online").write_text("0-6\n")
    assert sysfs_error(system) == (
        f"{system}/cpu/online: CPU 7 is offline; schedsim needs every CPU online"
    )


def test_sysfs_cpu_with_online_0_is_refused(system: Path) -> None:
    (system / "cpu/cpu5/online").write_text("0\n")
    assert sysfs_error(system) == f"{system}/cpu/cpu5/online: CPU 5 is offline"


def test_sysfs_cpu_on_two_nodes_is_refused(system: Path) -> None:
    (system / "node/node1/cpulist").write_text("1-3,6-7\n")
    assert sysfs_error(system) == f"{system}/node/node1/cpulist: CPU 1 is also on node 0"


def test_sysfs_bad_cpulist_names_the_file_and_the_kernel_error(system: Path) -> None:
    (system / "node/node1/cpulist").write_text("2-x\n")
    assert sysfs_error(system) == (
        f"{system}/node/node1/cpulist: expected a number in cpulist '2-x\\n' at '2-x'"
    )


def test_sysfs_mask_beyond_nr_cpus_is_refused_naming_the_file(system: Path) -> None:
    (system / "node/node1/cpulist").write_text("2-3,6-999999999\n")
    assert sysfs_error(system) == (
        f"{system}/node/node1/cpulist: bit beyond the mask width 8192 in cpulist "
        "'2-3,6-999999999\\n' at '6-999999999\\n'"
    )


def test_sysfs_huge_cpu_dir_number_is_a_gap_not_a_huge_mask(system: Path) -> None:
    remove(system, "cpu/online")
    (system / "cpu/cpu7").rename(system / "cpu/cpu999999999999")
    assert sysfs_error(system).startswith(
        f"{system}/cpu/cpu999999999999: CPU 7-999999999998 missing before CPU"
    )


def test_sysfs_node_without_cpulist_or_cpumap_is_refused(system: Path) -> None:
    remove(system, "node/node1/cpu*")
    assert sysfs_error(system) == f"{system}/node/node1: has neither cpulist nor cpumap"


@pytest.mark.parametrize(
    ("row0", "row1", "message"),
    [
        ("10 21 30", "21 10", "node/node0/distance: the row has 3 entries, expected 2"),
        (
            "10 21",
            "31 10",
            "node/node0/distance: entry 2 (to node 1) is 21 but distance(1,0) is 31",
        ),
        ("12 21", "21 10", "node/node0/distance: entry 1 (to node 0) is 12, must be LOCAL_DIST"),
        ("10 5", "5 10", "node/node0/distance: entry 2 (to node 1) = 5 is outside 11..255"),
        ("10 21", "21 12", "node/node1/distance: entry 2 (to node 1) is 12, must be LOCAL_DIST"),
        ("10 x", "21 10", "node/node0/distance: missing or not a list of numbers"),
    ],
)
def test_sysfs_bad_distance_names_the_file_and_entry(
    system: Path, row0: str, row1: str, message: str
) -> None:
    (system / "node/node0/distance").write_text(row0 + "\n")
    (system / "node/node1/distance").write_text(row1 + "\n")
    assert sysfs_error(system).startswith(f"{system}/{message}")


def test_sysfs_missing_one_distance_file_is_refused(system: Path) -> None:
    remove(system, "node/node1/distance")
    assert sysfs_error(system) == f"{system}/node/node1/distance: missing or not a list of numbers"


def test_sysfs_inconsistent_thread_siblings_violate_grp5(system: Path) -> None:
    topo = system / "cpu/cpu4/topology"
    (topo / "core_cpus_list").write_text("4\n")
    assert sysfs_error(system) == (
        f"{system}/cpu/cpu0/topology/core_cpus_list: thread siblings list 0,4 but "
        f"{topo}/core_cpus_list says 4 (topology masks must be equal or disjoint, GRP-5)"
    )


def test_sysfs_cpu_missing_from_its_own_siblings_list_is_refused(system: Path) -> None:
    (system / "cpu/cpu4/topology/core_cpus_list").write_text("0\n")
    assert sysfs_error(system) == (
        f"{system}/cpu/cpu4/topology/core_cpus_list: lists 0, which does not hold CPU 4"
    )


def test_sysfs_siblings_on_different_nodes_violate_grp5(system: Path) -> None:
    (system / "node/node0/cpulist").write_text("0-1,5\n")
    (system / "node/node1/cpulist").write_text("2-4,6-7\n")
    assert sysfs_error(system) == (
        f"{system}/cpu/cpu4/topology: CPU 4 shares a core with CPU 0 but not its "
        "package/node (topology masks must nest, GRP-5)"
    )


def test_sysfs_bad_core_id_names_the_file(system: Path) -> None:
    (system / "cpu/cpu2/topology/core_id").write_text("two\n")
    assert sysfs_error(system) == f"{system}/cpu/cpu2/topology/core_id: 'two' is not an integer"


def test_sysfs_non_ascii_file_names_the_file(system: Path) -> None:
    (system / "cpu/cpu2/topology/core_id").write_bytes(b"\xff\n")
    assert sysfs_error(system) == f"{system}/cpu/cpu2/topology/core_id: not ASCII text"


def test_sysfs_unlisted_cpu_without_node0_is_refused(system: Path) -> None:
    (system / "node/node0").rename(system / "node/node2")
    (system / "node/node1/distance").write_text("10 21\n")
    (system / "node/node2/distance").write_text("21 10\n")
    (system / "node/node2/cpulist").write_text("\n")  # a memory-only node2
    assert sysfs_error(system).startswith(
        f"{system}/cpu/cpu0: CPU 0 is in no node's cpulist and there is no node0"
    )


def test_sysfs_path_that_is_not_a_directory_is_refused(tmp_path: Path) -> None:
    assert sysfs_error(tmp_path / "none") == (
        f"{tmp_path / 'none'}: not a directory (expected a copy of /sys/devices/system)"
    )


def test_sysfs_directory_without_cpu_dir_is_refused(tmp_path: Path) -> None:
    assert sysfs_error(tmp_path) == (f"{tmp_path}: no cpu/ here nor under [[sys/]devices/]system")


def test_sysfs_cpu_dir_without_cpus_is_refused(tmp_path: Path) -> None:
    (tmp_path / "cpu/cpufreq").mkdir(parents=True)
    assert sysfs_error(tmp_path) == f"{tmp_path / 'cpu'}: no cpuN directories"


# -- load_machine dispatches on what the spec names ---------------------------------------------


def test_load_machine_reads_an_lscpu_file_and_a_sysfs_dir() -> None:
    assert (load_machine(str(LSCPU)).nr_cpus, load_machine(str(SYSFS)).nr_cpus) == (16, 8)


def test_load_machine_prefers_an_existing_file_over_a_synthetic_string(tmp_path: Path) -> None:
    odd = tmp_path / "node:2"
    shutil.copy(LSCPU, odd)
    assert load_machine(str(odd)).nr_cpus == 16
