"""Newly-idle balancing (topology/idle_balance.py) against SPEC §2.9 and LBO-2."""

from __future__ import annotations

from topology.idle_balance import NewidleLevel, idle_balance, idle_balance_2620, newidle_outcome
from topology.loadbalance import DomainRuntime


def test_idle_balance_stops_at_the_first_level_that_pulled_spec_2_9() -> None:
    levels = [NewidleLevel(True), NewidleLevel(True), NewidleLevel(True)]
    assert idle_balance(levels, lambda lvl: 1 if lvl == 1 else 0) == (0, 1)


def test_idle_balance_skips_levels_without_sd_balance_newidle_spec_2_9() -> None:
    levels = [NewidleLevel(False), NewidleLevel(True), NewidleLevel(False)]
    assert idle_balance(levels, lambda lvl: 0) == (1,)


def test_idle_balance_2620_recomputes_next_balance_from_idle_intervals_when_nothing_pulled() -> (
    None
):
    levels = [NewidleLevel(True, True, 10, 4), NewidleLevel(True, True, 0, 64)]
    assert idle_balance_2620(levels, lambda lvl: 0, 20, 1000) == ((0, 1), 14)


def test_idle_balance_2620_keeps_next_balance_when_a_task_was_pulled_spec_2_9() -> None:
    levels = [NewidleLevel(True, True, 10, 4), NewidleLevel(True, True, 0, 64)]
    assert idle_balance_2620(levels, lambda lvl: 1, 20, 1000) == ((0,), None)


def test_newidle_outcome_resets_failures_on_success_or_balance_but_never_backs_off_lbo_2() -> None:
    state = DomainRuntime(5, 8, 3)
    assert newidle_outcome(state, imbalanced=True, nr_moved=1) == DomainRuntime(5, 8, 0)
    assert newidle_outcome(state, imbalanced=False, nr_moved=0) == DomainRuntime(5, 8, 0)
    assert newidle_outcome(state, imbalanced=True, nr_moved=0) == state


def test_newidle_outcome_on_a_busy_smt_level_keeps_the_failure_count_lbo_4() -> None:
    state = DomainRuntime(5, 8, 3)
    assert newidle_outcome(state, imbalanced=False, nr_moved=0, smt_sibling_busy=True) == state
