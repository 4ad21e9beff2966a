"""A scheduler run is reproducible byte for byte in fresh interpreters (DESIGN.md invariant 7).

Fresh subprocesses, not this one: importing hypothesis puts trio's scheduler
in its deterministic mode, and PYTHONHASHSEED varies per interpreter, so only
a fresh process shows that order never comes from trio, hash() or sets.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import hashlib, sys
from actors.config import CostModel, ShellStep, SimConfig, TaskKind, TaskSpec, BalanceMode
from actors.log import LogLevel, LogSpec
from actors.sched import SchedRun
from topology.presets import load_machine
MS = 1_000_000
config = SimConfig(
    machine=load_machine("smt-numa-8"),
    balance=BalanceMode(sys.argv[3]),
    cpuset_era="2.6.24" if sys.argv[3] == "softirq-serialize" else "2.6.14",
    setup="mkdir /dev/cpuset/a\\necho 4-7 > /dev/cpuset/a/cpus\\necho 1 > /dev/cpuset/a/mems\\n",
    tasks=(
        TaskSpec(name="hog", count=12, cpu=0, pages_per_ms=1),
        TaskSpec(name="p", kind=TaskKind.PERIODIC, count=5, run_ms=2, sleep_ms=3, cpuset="/a"),
        TaskSpec(name="fb", kind=TaskKind.FORK_BURST, children=3, fork_every_ms=15),
    ),
    steps=(ShellStep(at_ns=40 * MS, text="echo 0 > /dev/cpuset/a/mems\\n"),),
    cost=CostModel(base_ns=100_000, per_cpu_ns=30_000),
    duration_ns=80 * MS,
)
log = LogSpec(path=sys.argv[1], level=LogLevel.MESSAGES)
result = SchedRun(config, seed=int(sys.argv[2]), log=log).run()
assert result.error is None, result.error
print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())
"""


def fresh_run(tmp_path: Path, tag: str, seed: int, mode: str, hashseed: int) -> str:
    env = {**os.environ, "PYTHONHASHSEED": str(hashseed)}
    log = tmp_path / f"{tag}.msgpack"
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(log), str(seed), mode],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=300,
    )
    return out.stdout.strip()


def test_fresh_interpreters_write_the_same_scheduler_log(tmp_path: Path) -> None:
    hashes = {
        (mode, fresh_run(tmp_path, f"{mode}-{i}", 3, mode, hashseed))
        for i, (mode, hashseed) in enumerate(
            [(m, h) for m in ("tasklet", "percpu", "softirq-serialize") for h in (0, 77)]
        )
    }
    assert len(hashes) == 3
    other = fresh_run(tmp_path, "other-seed", 4, "tasklet", 5)
    assert other not in {digest for _, digest in hashes}
    assert all(len(digest) == len(hashlib.sha256().hexdigest()) for _, digest in hashes)
