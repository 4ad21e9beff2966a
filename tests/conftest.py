"""Test configuration: Hypothesis depth by profile (HYPOTHESIS_PROFILE=ci for deeper runs)."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from actors.config import TaskKind
from actors.messages import TaskRecord
from actors.task import Task
from cpuset.mempolicy import MemPolicy
from topology import CpuMask

settings.register_profile("default", max_examples=60, deadline=None)
settings.register_profile(
    "ci", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=20, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def _task_records() -> st.SearchStrategy[TaskRecord]:
    """TaskRecord holds a whole task: draw real tasks, not arbitrary tuples."""
    masks = st.integers(min_value=1, max_value=(1 << 80) - 1).map(CpuMask)
    tasks = st.builds(
        Task,
        pid=st.integers(min_value=2, max_value=1 << 22),
        name=st.text(max_size=8),
        kind=st.sampled_from([kind.value for kind in TaskKind]),
        cpus_allowed=masks,
        cpuset=st.sampled_from(["/", "/a", "/a/b"]),
        policy=st.just(MemPolicy()),
        mems_allowed=masks,
        runtime_ns=st.integers(min_value=0, max_value=1 << 40),
        pages=st.lists(st.tuples(st.integers(0, 7), st.integers(1, 99)), max_size=3).map(tuple),
    )
    return tasks.map(Task.record)


st.register_type_strategy(TaskRecord, _task_records())
