"""``schedsim topo``: output, machine sources, JSON, exit codes, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import runner

Capture = pytest.CaptureFixture[str]


def run(argv: list[str], capsys: Capture) -> tuple[int, str, str]:
    code = runner.main(["topo", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_no_flags_prints_the_default_machine_then_its_dmesg_dump(capsys: Capture) -> None:
    code, out, err = run([], capsys)
    lines = out.splitlines()
    assert (code, err) == (0, "")
    assert lines[0] == (
        "smt-numa-8: 8 CPUs, 2 nodes, 2 packages, 4 cores, SMT; era 2.6.14; partitions 0-7"
    )
    assert lines[1:4] == [
        "CPU0 attaching sched-domain:",
        " domain 0: span 00000003",
        "  groups: 00000001 00000002",
    ]
    assert sum(line.endswith("attaching sched-domain:") for line in lines) == 8


def test_list_names_every_preset_and_marks_the_default(capsys: Capture) -> None:
    code, out, _ = run(["--list"], capsys)
    names = [line.split()[0] for line in out.splitlines() if not line.startswith(" ")]
    assert (code, names) == (
        0,
        ["ht-up", "smt-numa-8", "numa-2x2", "dual-socket", "quad-node", "sgi-altix-512"],
    )
    assert "(default)" in next(line for line in out.splitlines() if line.startswith("smt-numa-8"))


def test_cpu_selects_the_cpus_printed(capsys: Capture) -> None:
    code, out, _ = run(["--machine", "quad-node", "--era", "modern", "--cpu", "5"], capsys)
    assert (code, out.splitlines()[1]) == (0, "CPU5 attaching sched-domain(s):")
    assert sum("attaching" in line for line in out.splitlines()) == 1


def test_partitions_and_relax_domain_level_reach_the_builder(capsys: Capture) -> None:
    argv = ["--era", "modern", "--partition", "0-3", "--partition", "4-7", "--format", "json"]
    code, out, _ = run([*argv, "--relax-domain-level", "1"], capsys)
    data = json.loads(out)
    assert (code, data["partitions"], data["relax_domain_level"]) == (0, ["0-3", "4-7"], [1, 1])
    smt, mc = data["cpus"][0]["domains"]
    assert ("SD_BALANCE_NEWIDLE" in smt["flags"], "SD_BALANCE_NEWIDLE" in mc["flags"]) == (
        True,
        False,
    )


def test_json_gives_levels_spans_groups_flags_and_parameters(capsys: Capture) -> None:
    code, out, _ = run(["--format", "json", "--cpu", "0"], capsys)
    data = json.loads(out)
    sibling = data["cpus"][0]["domains"][0]
    assert (code, data["era"], data["errors"], len(data["cpus"])) == (0, "2.6.14", [], 1)
    assert {
        k: sibling[k] for k in ("name", "sd_level", "span", "imbalance_pct", "busy_factor")
    } == {
        "name": "SIBLING",
        "sd_level": 1,
        "span": "0-1",
        "imbalance_pct": 110,
        "busy_factor": 8,
    }
    assert (sibling["flags_value"], sibling["flags"][0]) == (183, "SD_LOAD_BALANCE")
    assert sibling["groups"] == [
        {"span": "0", "id": 0, "power": 128},
        {"span": "1", "id": 1, "power": 128},
    ]
    assert data["cpus"][0]["domains"][1]["groups"][0]["power"] == 140


def test_json_of_the_2_6_13_oops_carries_the_errors_and_the_open_ring(capsys: Capture) -> None:
    argv = ["--machine", "numa-2x2", "--era", "2.6.13", "--partition", "1-3", "--partition", "0"]
    code, out, err = run([*argv, "--format", "json"], capsys)
    data = json.loads(out)
    node = data["cpus"][2]["domains"][1]
    assert (code, node["groups_ring_closed"], [g["span"] for g in node["groups"]]) == (
        1,
        False,
        ["2-3", "0"],
    )
    assert data["errors"][0] == {
        "cpu": 1,
        "level": 0,
        "message": "ERROR: domain->groups does not contain CPU1",
    }
    assert err == "schedsim topo: 7 domain check errors\n"


def test_modern_json_reports_capacity_and_balance_masks(capsys: Capture) -> None:
    code, out, _ = run(["--machine", "quad-node", "--era", "modern", "--format", "json"], capsys)
    top = json.loads(out)["cpus"][0]["domains"][-1]
    assert (code, top["groups"][1]) == (
        0,
        {"span": "4-15", "id": 12, "capacity": 12288, "balance_mask": "12-15"},
    )
    assert "busy_idx" not in top


def test_lscpu_file_is_read_through_topology_sources(tmp_path: Path, capsys: Capture) -> None:
    text = "# CPU,Core,Socket,Node\n0,0,0,0\n1,0,0,0\n2,1,1,1\n3,1,1,1\n"
    (tmp_path / "lscpu.txt").write_text(text)
    code, out, _ = run(["--lscpu", str(tmp_path / "lscpu.txt"), "--cpu", "2"], capsys)
    assert (code, out.splitlines()[2:4]) == (
        0,
        [" domain 0: span 0000000c", "  groups: 00000004 00000008"],
    )


def test_sysfs_snapshot_is_read_through_topology_sources(tmp_path: Path, capsys: Capture) -> None:
    system = tmp_path / "devices" / "system"
    for cpu in range(4):
        topo = system / "cpu" / f"cpu{cpu}" / "topology"
        topo.mkdir(parents=True)
        (topo / "core_cpus_list").write_text(f"{cpu}\n")
        (topo / "package_cpus_list").write_text("0-1\n" if cpu < 2 else "2-3\n")
    for node, cpus, row in ((0, "0-1", "10 20"), (1, "2-3", "20 10")):
        (system / "node" / f"node{node}").mkdir(parents=True)
        (system / "node" / f"node{node}" / "cpulist").write_text(cpus + "\n")
        (system / "node" / f"node{node}" / "distance").write_text(row + "\n")
    code, out, _ = run(["--sysfs", str(tmp_path), "--era", "modern", "--cpu", "0"], capsys)
    assert (code, out.splitlines()[2:]) == (
        0,
        [
            " domain-0: span=0-1 level=MC",
            "  groups: 0:{ span=0 }, 1:{ span=1 }",
            "  domain-1: span=0-3 level=NUMA",
            "   groups: 0:{ span=0-1 cap=2048 }, 2:{ span=2-3 cap=2048 }",
        ],
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--partition", "0-3,x"], "schedsim topo: expected a number in cpulist '0-3,x' at 'x'"),
        (
            ["--partition", "0-3", "--partition", "3-5"],
            "schedsim topo: partitions 0 (0-3) and 1 (3-5) overlap on CPUs 3: "
            "sched-domain partitions must be disjoint",
        ),
        (
            ["--partition", "4-9"],
            "schedsim topo: bit beyond the mask width 8 in cpulist '4-9' at '4-9'",
        ),
        (["--era", "2.6.99"], "schedsim topo: argument --era: invalid choice: '2.6.99'"),
        (["--machine", "no-such-box"], "schedsim topo: machine 'no-such-box' is neither a preset"),
        (["--cpu", "8"], "schedsim topo: --cpu 8: smt-numa-8 has CPUs 0-7"),
        (["--format", "xml"], "schedsim topo: argument --format: invalid choice: 'xml'"),
        (
            ["--lscpu", "/nonexistent/lscpu.txt"],
            "schedsim topo: [Errno 2] No such file or directory",
        ),
        (
            ["--machine", "node:2 core:x"],
            "schedsim topo: synthetic topology 'node:2 core:x', column 13",
        ),
        (
            ["--machine", "quad-node", "--lscpu", "f"],
            "schedsim topo: argument --lscpu: not allowed",
        ),
    ],
)
def test_bad_input_is_one_line_on_stderr_and_exit_2(
    argv: list[str], message: str, capsys: Capture
) -> None:
    code, out, err = run(argv, capsys)
    assert (code, out, err.count("\n"), err.startswith(message)) == (2, "", 1, True), err
    assert "Traceback" not in err


def test_cpuset_command_runs_the_seed_000_recipe_and_isolates_cpu_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = tmp_path / "seed000.sh"
    script.write_text(
        "cd /dev/cpuset\nmkdir newcpuset\ncd newcpuset\n"
        "echo 0 >cpus\necho 0 >mems\necho 1 >cpu_exclusive\n"
    )
    code = runner.main(
        ["cpuset", "--machine", "numa-2x2", "--era", "2.6.14", "--domains", str(script)]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "CPU0 attaching NULL sched-domain." in out
    assert "{1-3} {0}" in out


def test_cpuset_command_reports_an_unreadable_script_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = runner.main(["cpuset", "/no/such/script.sh"])
    err = capsys.readouterr().err
    assert (code, err) == (
        2,
        "schedsim cpuset: cannot read /no/such/script.sh: No such file or directory\n",
    )
