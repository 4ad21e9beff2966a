"""The -mm global balance tasklet (topology/tasklet.py) against SPEC LB-T2 / LB-SER-2."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from topology.tasklet import (
    Tasklet,
    TaskletError,
    TaskletStep,
    tasklet_action,
    tasklet_schedule,
    tasklet_unlock,
    wants_balance,
)


def test_wants_balance_once_jiffies_reach_next_balance_lb_t2() -> None:
    assert [wants_balance(j, 10) for j in (9, 10, 11)] == [False, True, True]


def test_tasklet_two_cpus_reaching_next_balance_in_the_same_tick_one_is_refused_lb_t2() -> None:
    t, first = tasklet_schedule(Tasklet(), 2)
    t, second = tasklet_schedule(t, 5)
    assert (first, second, t) == (True, False, Tasklet(queued_on=2))


def test_tasklet_runs_on_the_cpu_that_queued_it_and_balances_that_cpu_lb_t2() -> None:
    t, _ = tasklet_schedule(Tasklet(), 2)
    t, _ = tasklet_schedule(t, 5)
    t, step = tasklet_action(t, 2)
    assert (step, t.running_on, t.sched) == (TaskletStep.RAN, 2, False)


def test_tasklet_action_on_a_cpu_that_does_not_hold_it_is_an_error() -> None:
    t, _ = tasklet_schedule(Tasklet(), 2)
    with pytest.raises(TaskletError):
        tasklet_action(t, 5)


def test_tasklet_can_be_requeued_by_another_cpu_while_running_lb_t2() -> None:
    t, _ = tasklet_schedule(Tasklet(), 0)
    t, _ = tasklet_action(t, 0)
    t, accepted = tasklet_schedule(t, 3)
    assert (accepted, t) == (True, Tasklet(queued_on=3, running_on=0))


def test_tasklet_requeued_instance_spins_until_the_running_one_finishes_lb_t2() -> None:
    t, _ = tasklet_schedule(Tasklet(), 0)
    t, _ = tasklet_action(t, 0)
    t, _ = tasklet_schedule(t, 3)
    t, spin = tasklet_action(t, 3)
    assert (spin, t) == (TaskletStep.REQUEUED, Tasklet(queued_on=3, running_on=0))
    t = tasklet_unlock(t, 0)
    t, step = tasklet_action(t, 3)
    assert (step, t) == (TaskletStep.RAN, Tasklet(running_on=3))


def test_tasklet_refuses_while_pending_even_if_the_earlier_request_came_from_itself() -> None:
    t, _ = tasklet_schedule(Tasklet(), 1)
    t, again = tasklet_schedule(t, 1)
    assert again is False


def test_tasklet_unlock_by_a_cpu_not_running_it_is_an_error() -> None:
    t, _ = tasklet_schedule(Tasklet(), 1)
    t, _ = tasklet_action(t, 1)
    with pytest.raises(TaskletError):
        tasklet_unlock(t, 0)


Op = tuple[str, int]


@given(
    st.lists(
        st.tuples(st.sampled_from(["schedule", "action", "unlock"]), st.integers(0, 3)),
        max_size=40,
    )
)
def test_tasklet_never_runs_on_two_cpus_and_refusals_match_a_plain_model_lb_ser_2(
    ops: list[Op],
) -> None:
    t = Tasklet()
    pending: int | None = None
    running: int | None = None
    for op, cpu in ops:
        if op == "schedule":
            t, accepted = tasklet_schedule(t, cpu)
            assert accepted == (pending is None)
            pending = cpu if pending is None else pending
        elif op == "action" and pending == cpu:
            t, step = tasklet_action(t, cpu)
            assert step == (TaskletStep.REQUEUED if running is not None else TaskletStep.RAN)
            if step is TaskletStep.RAN:
                pending, running = None, cpu
        elif op == "unlock" and running == cpu:
            t = tasklet_unlock(t, cpu)
            running = None
        assert (t.queued_on, t.running_on) == (pending, running)
