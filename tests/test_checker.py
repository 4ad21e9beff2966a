"""The invariant checker catches what it is for: every probe can fail; injected bugs are found."""

from __future__ import annotations

import pytest

from actors.checker import Checker, InvariantViolation
from actors.config import (
    BalanceMode,
    CostModel,
    MempolicySpec,
    ShellStep,
    SimConfig,
    TaskKind,
    TaskSpec,
)
from actors.sched import SchedRun
from cpuset.mempolicy import MemPolicy, MpolMode
from topology import CpuMask
from topology.presets import load_machine

MS = 1_000_000


class Holder:
    def __init__(self, cpu: int, pids: list[int], allowed: CpuMask, online: bool = True) -> None:
        self.cpu, self.pids, self.allowed, self.online = cpu, pids, allowed, online

    def held_pids(self) -> list[int]:
        return list(self.pids)

    def runnable_affinity(self) -> list[tuple[int, CpuMask]]:
        return [(pid, self.allowed) for pid in self.pids]


def checker(serialized: bool = True) -> Checker:
    return Checker(2, lambda: (123, 4), serialized)


def violation(check: Checker) -> InvariantViolation:
    with pytest.raises(InvariantViolation) as info:
        check.after_delta()
    return info.value


def test_a_task_held_by_a_cpu_but_not_in_the_ledger_violates_conservation() -> None:
    check = checker()
    check.holders[0] = Holder(0, [7, 8], CpuMask.of([0, 1]))
    check.created(7, 0)
    check.arrived(7, 0)
    error = violation(check)
    assert (error.invariant, error.vtime_ns, error.delta) == (1, 123, 4)
    assert "holds pids [7, 8]" in error.text


def test_a_task_that_arrives_where_it_was_not_sent_violates_conservation() -> None:
    check = checker()
    check.holders[1] = Holder(1, [7], CpuMask.of([0, 1]))
    check.created(7, 0)
    check.arrived(7, 1)
    assert violation(check).invariant == 1


def test_a_consistent_ledger_passes() -> None:
    check = checker()
    check.holders[0] = Holder(0, [], CpuMask.of([0, 1]))
    check.holders[1] = Holder(1, [7], CpuMask.of([0, 1]))
    check.created(7, 0)
    check.arrived(7, 0)
    check.sent(7, 0, 1)
    check.arrived(7, 1)
    check.after_delta()
    check.audit_all()
    assert check.problems == []


def test_a_runnable_task_outside_its_cpus_violates_affinity() -> None:
    check = checker()
    check.holders[1] = Holder(1, [7], CpuMask.of([0]))
    check.created(7, 1)
    check.arrived(7, 1)
    assert violation(check).invariant == 2


def test_two_tasklet_passes_at_once_violate_serialization() -> None:
    check = checker(serialized=True)
    check.pass_started(0, 0, token=True)
    check.pass_started(1, 0, token=True)
    assert violation(check).invariant == 5


def test_overlapping_passes_are_fine_without_the_tasklet() -> None:
    check = checker(serialized=False)
    check.pass_started(0, 0, token=False)
    check.pass_started(1, 0, token=False)
    check.after_delta()
    assert check.max_concurrent_passes == 2


def test_retiring_a_generation_under_a_running_pass_violates_invariant_6() -> None:
    check = checker()
    check.pass_started(0, 3, token=True)
    check.retired(4)
    assert violation(check).invariant == 6


def test_acting_for_a_retired_generation_violates_invariant_6() -> None:
    check = checker()
    check.retired(2)
    check.acted(1, 1, "migrate")
    assert violation(check).invariant == 6


def test_a_policy_rebound_outside_the_new_mems_violates_invariant_4() -> None:
    check = checker()
    bind = MemPolicy(mode=MpolMode.BIND, nodes=CpuMask.of([0, 1]))
    check.rebound(7, bind, CpuMask.of([1, 2]))
    assert violation(check).invariant == 4


def test_an_allocation_without_a_node_violates_invariant_4() -> None:
    check = checker()
    check.alloc_failed(7, MemPolicy(mode=MpolMode.BIND, nodes=CpuMask.of([0])), CpuMask.of([1]))
    assert violation(check).invariant == 4


SPLIT_NODE = """\
mkdir /dev/cpuset/rt
echo 0 > /dev/cpuset/rt/cpus
echo 0 > /dev/cpuset/rt/mems
echo 1 > /dev/cpuset/rt/cpu_exclusive
"""


def test_the_legacy_2613_builder_is_caught_by_the_domain_checks() -> None:
    """Seed 000 / BUG13-2: a split node shares group tables between partitions (invariant 3)."""
    config = SimConfig(
        machine=load_machine("numa-2x2"),
        setup=SPLIT_NODE,
        tasks=(TaskSpec(name="hog", count=4, cpu=1),),
        duration_ns=50 * MS,
        bugs=frozenset({"legacy-2.6.13-groups"}),
    )
    result = SchedRun(config).run()
    assert isinstance(result.error, InvariantViolation)
    assert result.error.invariant == 3
    clean = SchedRun(
        SimConfig(
            machine=load_machine("numa-2x2"),
            setup=SPLIT_NODE,
            tasks=(TaskSpec(name="hog", count=4, cpu=1),),
            duration_ns=50 * MS,
        )
    ).run()
    assert clean.error is None


def racy(bugs: frozenset[str]) -> SimConfig:
    return SimConfig(
        machine=load_machine("numa-2x2"),
        balance=BalanceMode.PERCPU,
        slice_ms=1,
        tasks=(
            TaskSpec(name="hog", count=9, cpu=0),
            TaskSpec(name="p", kind=TaskKind.PERIODIC, count=4, run_ms=2, sleep_ms=3),
        ),
        cost=CostModel(base_ns=200_000, per_cpu_ns=100_000),
        duration_ns=100 * MS,
        bugs=bugs,
    )


def test_migrations_without_the_requeue_check_duplicate_tasks() -> None:
    """SPEC §6.10: a migration that does not re-check where the task is loses or doubles it."""
    result = SchedRun(racy(frozenset({"no-requeue-check"})), seed=1).run()
    assert isinstance(result.error, InvariantViolation)
    assert result.error.invariant == 1


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_racy_workload_is_clean_with_the_checks(seed: int) -> None:
    result = SchedRun(racy(frozenset()), seed=seed).run()
    assert result.error is None
    stats = result.statistics
    assert stats.total("passes") >= 10
    assert sum(task.migrations for task in stats.tasks) > 5


def rebinding(bugs: frozenset[str]) -> SimConfig:
    return SimConfig(
        machine=load_machine("numa-2x2"),
        setup="mkdir /dev/cpuset/a\necho 0-3 > /dev/cpuset/a/cpus\necho 0 > /dev/cpuset/a/mems\n",
        tasks=(
            TaskSpec(
                name="t",
                count=2,
                cpuset="/a",
                pages_per_ms=4,
                mempolicy=MempolicySpec(mode="bind", nodes=CpuMask.of([0])),
            ),
        ),
        steps=(ShellStep(at_ns=30 * MS, text="echo 1 > /dev/cpuset/a/mems\n"),),
        slice_ms=10,
        duration_ns=80 * MS,
        bugs=bugs,
    )


def test_a_writer_rewriting_a_policy_under_an_allocating_task_leaves_it_no_node() -> None:
    """SPEC §6.9 / seed 002: only the task's own context may rebind it (invariant 4)."""
    result = SchedRun(rebinding(frozenset({"rebind-outside-task-context"}))).run()
    assert isinstance(result.error, InvariantViolation)
    assert result.error.invariant == 4
    clean = SchedRun(rebinding(frozenset())).run()
    assert clean.error is None
    assert all(task.stale_allocations == 0 for task in clean.statistics.tasks)
