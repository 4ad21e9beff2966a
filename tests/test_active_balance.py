"""Active balancing (topology/active_balance.py) against SPEC §2.10 and MIG-1."""

from __future__ import annotations

from topology.active_balance import ActiveLevel, active_balance_domain, active_load_balance
from topology.cpumask import CpuMask
from topology.loadbalance import MovableTask

ALL = CpuMask.span(0, 7)


def test_active_balance_domain_is_the_lowest_balancing_level_spanning_busiest_spec_2_10() -> None:
    levels = [ActiveLevel(CpuMask.of([0, 1])), ActiveLevel(CpuMask.span(0, 3)), ActiveLevel(ALL)]
    assert [active_balance_domain(levels, cpu) for cpu in (1, 2, 6)] == [0, 1, 2]


def test_active_balance_domain_skips_levels_without_sd_load_balance_spec_2_10() -> None:
    levels = [ActiveLevel(CpuMask.span(0, 3), load_balance=False), ActiveLevel(ALL)]
    assert active_balance_domain(levels, 2) == 1


def test_active_balance_domain_is_none_when_no_level_spans_busiest_spec_2_10() -> None:
    assert active_balance_domain([ActiveLevel(CpuMask.of([0, 1]))], 5) is None


def test_active_load_balance_pushes_the_only_task_spec_2_10() -> None:
    """The kernel's nr_running <= 1 counts the migration thread running the push."""
    assert active_load_balance([MovableTask(7, ALL)], 0, 0, 2, 1, 10**9) == 7


def test_active_load_balance_does_nothing_with_no_task_spec_2_10() -> None:
    assert active_load_balance([], 0, 0, 2, 1, 10**9) is None


def test_active_load_balance_moves_one_task_from_the_tail_bypassing_cache_hotness() -> None:
    # nr_balance_failed = cache_nice_tries + 1 (left by LBO-1): hot tasks may move.
    queue = [MovableTask(7, ALL, last_ran_ns=0), MovableTask(8, ALL, last_ran_ns=0)]
    assert active_load_balance(queue, 3, 1, 2, 1, 10**9) == 8


def test_active_load_balance_keeps_hot_tasks_when_failures_are_low_mig_1() -> None:
    queue = [MovableTask(7, ALL, last_ran_ns=0), MovableTask(8, ALL, last_ran_ns=0)]
    assert active_load_balance(queue, 3, 1, 0, 1, 10**9) is None


def test_active_load_balance_skips_tasks_pinned_away_from_the_target_mig_1() -> None:
    queue = [MovableTask(7, ALL), MovableTask(8, CpuMask.of([5]))]
    assert active_load_balance(queue, 3, 0, 2, 1, 0) == 7
