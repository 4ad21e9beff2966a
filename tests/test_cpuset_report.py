"""What ``schedsim cpuset`` prints (cpuset/report.py)."""

from __future__ import annotations

import json

import pytest

from cpuset import CpusetFS, render_report, report_facts, run_shell
from cpuset.report import run_cpuset_script
from topology.presets import preset

SCRIPT = """cd /dev/cpuset
echo 0 > sched_load_balance
mkdir rt batch
echo 2-3 > rt/cpus
echo 1 > rt/mems
echo 1 > rt/cpu_exclusive
echo 0 > rt/sched_load_balance
echo 0-1 > batch/cpus
echo 0 > batch/mems
echo 1-2 > batch/cpus
"""


def ran() -> CpusetFS:
    fs = CpusetFS(preset("numa-2x2"), era="v1")
    run_shell(fs, SCRIPT)
    return fs


def test_text_report_lists_cpusets_partitions_and_null_cpus() -> None:
    text = render_report(ran())
    assert text.split("\n")[1:7] == [
        "  path               cpus  mems  flags                        tasks",
        "  /dev/cpuset        0-3   0-1   cpu_exclusive,mem_exclusive  1,2",
        "  /dev/cpuset/rt     2-3   1     cpu_exclusive                -",
        "  /dev/cpuset/batch  0-1   0     sched_load_balance           -",
        "sched-domain partitions (generation 6)",
        "  {0-1}",
    ]
    assert "  CPUs in no partition (NULL domain): 2-3" in text.split("\n")


def test_domains_section_shows_the_null_domain_cpus_and_no_errors() -> None:
    lines = render_report(ran(), domains=True).split("\n")
    assert ("CPU2 attaching NULL sched-domain." in lines, lines[-2]) == (True, "debug errors: none")


def test_json_report_carries_the_same_facts() -> None:
    fs = ran()
    data = json.loads(render_report(fs, fmt="json"))
    facts = report_facts(fs)
    assert (data["partitions"]["doms"], data["cpusets"][1]["flags"]) == (
        list(facts.partitions.doms),
        ["cpu_exclusive"],
    )


def test_v2_report_shows_effective_cpus_and_partition_states() -> None:
    fs = CpusetFS(preset("smt-numa-8"), era="v2")
    run_shell(
        fs,
        "cd /sys/fs/cgroup\necho +cpuset > cgroup.subtree_control\nmkdir P\n"
        "echo 4-7 > P/cpuset.cpus\necho isolated > P/cpuset.cpus.partition\n",
    )
    lines = render_report(fs).split("\n")
    assert lines[1].split() == ["path", "cpus", "mems", "effective", "partition", "tasks"]
    assert lines[3].split() == ["/sys/fs/cgroup/P", "4-7", "-", "4-7", "isolated", "-"]
    assert "  cpuset.cpus.isolated: 4-7" in lines


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown format"):
        render_report(ran(), fmt="yaml")


def test_run_cpuset_script_returns_failures_as_stderr_and_the_report() -> None:
    run = run_cpuset_script(preset("numa-2x2"), SCRIPT, era="v1", name="iso.sh")
    assert (run.failures, run.stderr) == (
        1,
        "iso.sh: line 10: echo: write error: Invalid argument\n",
    )
    assert run.stdout == render_report(ran())


def test_run_cpuset_script_refuses_a_domain_era_of_another_cpuset_era() -> None:
    with pytest.raises(ValueError, match="does not go with cpuset era 'v2'"):
        run_cpuset_script(preset("numa-2x2"), "true\n", era="v2", domain_era="2.6.14")
    with pytest.raises(ValueError, match="unknown cpuset era"):
        run_cpuset_script(preset("numa-2x2"), "true\n", era="2.6.11")
