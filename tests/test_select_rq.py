"""Wakeup placement (topology/select_rq.py) against SPEC CS-CPU-4 (select_fallback_rq)."""

from __future__ import annotations

import pytest

from topology.cpumask import CpuMask
from topology.select_rq import WakePlacement, select_wake_cpu

ALL = CpuMask.span(0, 7)
NODE0, NODE1 = CpuMask.span(0, 3), CpuMask.span(4, 7)


def test_wake_on_the_previous_cpu_while_it_is_allowed_and_online() -> None:
    assert select_wake_cpu(5, ALL, ALL, NODE1, ALL, ALL) == WakePlacement(5)


def test_wake_prefers_an_allowed_cpu_on_the_previous_node_cs_cpu_4() -> None:
    online = ALL - CpuMask.of([5])
    assert select_wake_cpu(5, CpuMask.of([1, 6]), online, NODE1, ALL, ALL) == WakePlacement(6)


def test_wake_falls_back_to_any_allowed_online_cpu_cs_cpu_4() -> None:
    online = ALL - CpuMask.of([5])
    assert select_wake_cpu(5, CpuMask.of([2, 5]), online, NODE1, ALL, ALL) == WakePlacement(2)


def test_wake_falls_back_to_the_cpuset_and_widens_affinity_cs_cpu_4() -> None:
    online = ALL - CpuMask.of([5])
    cpuset = CpuMask.of([3, 4])
    result = select_wake_cpu(5, CpuMask.of([5]), online, NODE1, cpuset, ALL)
    assert result == WakePlacement(3, cpuset)


def test_wake_falls_back_to_every_possible_cpu_last_cs_cpu_4() -> None:
    online = CpuMask.of([6, 7])
    result = select_wake_cpu(5, CpuMask.of([5]), online, NODE1, CpuMask.of([4, 5]), ALL)
    assert result == WakePlacement(6, ALL)


def test_wake_with_no_online_cpu_is_an_error() -> None:
    with pytest.raises(ValueError, match="no online CPU"):
        select_wake_cpu(0, ALL, CpuMask.of([]), NODE0, ALL, ALL)
