"""Newly-idle balancing (topology/idle_balance.py) against SPEC §2.9 and LBO-2."""

from __future__ import annotations

from topology.idle_balance import NewidleLevel, idle_balance, idle_balance_2624, newidle_outcome
from topology.loadbalance import DomainRuntime


def test_idle_balance_stops_at_the_first_level_that_pulled_spec_2_9() -> None:
    levels = [NewidleLevel(True), NewidleLevel(True), NewidleLevel(True)]
    assert idle_balance(levels, lambda lvl: 1 if lvl == 1 else 0) == (0, 1)


def test_idle_balance_skips_levels_without_sd_balance_newidle_spec_2_9() -> None:
    levels = [NewidleLevel(False), NewidleLevel(True), NewidleLevel(False)]
    assert idle_balance(levels, lambda lvl: 0) == (1,)


LEVELS = [NewidleLevel(True, True, 10, 4), NewidleLevel(True, True, 0, 64)]


def test_idle_balance_2624_folds_every_level_when_nothing_was_pulled_spec_2_9() -> None:
    """rq->next_balance had passed (10 < 20): the deadline is rewritten, min over the
    levels' last_balance + interval and jiffies + HZ."""
    assert idle_balance_2624(LEVELS, lambda lvl: 0, 20, 1000, 10) == ((0, 1), 14)


def test_idle_balance_2624_keeps_a_future_next_balance_when_nothing_was_pulled() -> None:
    assert idle_balance_2624(LEVELS, lambda lvl: 0, 20, 1000, 30) == ((0, 1), None)


def test_idle_balance_2624_writes_the_deadline_of_the_levels_visited_when_it_pulled() -> None:
    levels = [NewidleLevel(True, True, 10, 64), NewidleLevel(True, True, 0, 4)]
    assert idle_balance_2624(levels, lambda lvl: 1, 20, 1000, 30) == ((0,), 74)


def test_idle_balance_2624_starts_with_pulled_task_minus_1() -> None:
    """A first balancing level without SD_BALANCE_NEWIDLE stops the walk (2.6.24 quirk);
    levels without SD_LOAD_BALANCE are skipped, not folded; a -1 counts as pulled."""
    levels = [NewidleLevel(True, False, 0, 1), NewidleLevel(False, True, 10, 4), LEVELS[1]]
    assert idle_balance_2624(levels, lambda lvl: 0, 20, 1000, 30) == ((), 14)
    assert idle_balance_2624(LEVELS, lambda lvl: -1, 20, 1000, 30) == ((0,), 14)


def test_newidle_outcome_resets_failures_on_success_or_balance_but_never_backs_off_lbo_2() -> None:
    state = DomainRuntime(5, 8, 3)
    assert newidle_outcome(state, imbalanced=True, nr_moved=1) == DomainRuntime(5, 8, 0)
    assert newidle_outcome(state, imbalanced=False, nr_moved=0) == DomainRuntime(5, 8, 0)
    assert newidle_outcome(state, imbalanced=True, nr_moved=0) == state


def test_newidle_outcome_on_a_busy_smt_level_keeps_the_failure_count_lbo_4() -> None:
    state = DomainRuntime(5, 8, 3)
    assert newidle_outcome(state, imbalanced=False, nr_moved=0, smt_sibling_busy=True) == state
