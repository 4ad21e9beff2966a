"""Full-simulation benchmark: the seed004 workload scaled to N CPUs, one run per process.

The workload is scenarios/seed004-tasklet.toml with the per-CPU load held
constant: 8 hogs per CPU and one fork-burst task (8 children every 10 ms,
living 5 ms) per 16 CPUs.  The machine has nodes of 8 CPUs (seed004's
``node:8 core:8``) unless ``--nodes`` says otherwise.  Seed004 forks its hogs
from CPU 0; here each node forks its own from its first CPU (and burst k
starts on CPU 16k), so the per-CPU load is the same at every size from the
first instant: a fork burst inside one jiffy stays on the forking CPU
(2.6.14 find_idlest_group sees its source_load as 0), and from CPU 0 alone
the spreading would take longer the more CPUs there are.  Each
run happens in a fresh interpreter so that its peak RSS is its own, and
reports one JSON object:

    python -m bench.simulate --cpus 64 --mode tasklet --duration-ms 1000
    {"wall_s": ..., "events": ..., "events_per_s": ..., "wall_per_sim_s": ...,
     "peak_rss_mib": ..., ...}

"Simulated events" are the bus's deliveries (timers, tells, asks, replies,
starts): every one is an actor waking for something.  ``--log off|events|
messages`` writes the run's log to a temporary file; ``--replay`` then also
replays that log and reports the replay's wall time.  A benchmark prints; it
never asserts.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

MODES = ("tasklet", "percpu", "softirq-serialize")
ERA = {"tasklet": "2.6.14", "percpu": "2.6.14", "softirq-serialize": "2.6.24"}


def scenario_text(
    mode: str, cpus: int, *, nodes: int | None = None, duration_ms: int = 1000, per_cpu: int = 8
) -> str:
    """The scaled seed004 scenario as TOML (see the module docstring)."""
    nodes = nodes if nodes is not None else max(1, cpus // 8)
    if cpus % nodes:
        raise ValueError(f"{cpus} CPUs do not split into {nodes} nodes")
    per_node = cpus // nodes
    parts = [
        f"# bench: seed004 workload scaled to {cpus} CPUs ({mode})",
        f'[machine]\ntopology = "node:{nodes} core:{per_node} pu:1"',
        f'era = "{ERA[mode]}"\nbalancer = "{mode}"',
        f'[run]\nduration = "{duration_ms}ms"',
    ]
    for node in range(nodes):
        first = node * per_node
        parts.append(
            f'[[tasks]]\nname = "hog-n{node}"\ncount = {per_cpu * per_node}\ncpu = {first}'
        )
    for k in range(max(1, cpus // 16)):
        parts.append(
            f'[[tasks]]\nname = "burst-{k}"\nkind = "fork-burst"\ncount = 1\ncpu = {16 * k}\n'
            'children = 8\nfork_every = "10ms"\nlifetime = "5ms"'
        )
    return "\n\n".join(parts) + "\n"


def peak_rss_mib() -> float:
    """This process's peak RSS: VmHWM, which execve resets (ru_maxrss keeps the high-water
    mark of the process that spawned us, e.g. bench/run.py's own)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def run_here(args: argparse.Namespace) -> dict[str, Any]:
    """One run in this process (the child side of `measure`)."""
    from actors.log import LogFormat, LogLevel, LogSpec
    from actors.replay import replay, run_params
    from actors.scenario import parse_scenario
    from actors.sched import SchedRun

    text = scenario_text(
        args.mode, args.cpus, nodes=args.nodes, duration_ms=args.duration_ms, per_cpu=args.per_cpu
    )
    with tempfile.TemporaryDirectory(prefix="schedsim-bench-") as tmp:
        path = Path(tmp) / "bench.toml"
        path.write_text(text)
        scenario = parse_scenario(text, str(path), base_dir=tmp)
        config = scenario.config
        if args.no_check:
            import dataclasses

            config = dataclasses.replace(config, check=False)
        log = None
        if args.log != "off":
            log = LogSpec(
                path=Path(tmp) / "run.msgpack", level=LogLevel(args.log), format=LogFormat.MSGPACK
            )
        params = {**run_params(scenario), "seed": 1, "duration_ns": config.duration_ns}
        run = SchedRun(config, seed=1, log=log, scenario=text, params=params)
        start = time.perf_counter()
        result = run.run()
        wall = time.perf_counter() - start
        replay_s = None
        if args.replay and log is not None:
            start = time.perf_counter()
            outcome = replay(Path(tmp) / "run.msgpack")
            replay_s = time.perf_counter() - start
            if not outcome.identical:
                raise SystemExit(f"replay diverged: {outcome.divergence}")
    sim = result.simulation
    sim_s = result.now_ns / 1e9
    return {
        "mode": args.mode,
        "cpus": args.cpus,
        "status": result.status,
        "error": None if result.error is None else str(result.error),
        "wall_s": wall,
        "sim_s": sim_s,
        "events": sim.deliveries,
        "deltas": sim.deltas,
        "events_per_s": sim.deliveries / wall,
        "wall_per_sim_s": wall / sim_s if sim_s else None,
        "peak_rss_mib": peak_rss_mib(),
        "passes": result.statistics.total("passes"),
        "migrations": sum(sum(c.migrations_in.values()) for c in result.statistics.cpus),
        "replay_s": replay_s,
    }


def measure(
    mode: str,
    cpus: int,
    *,
    nodes: int | None = None,
    duration_ms: int = 1000,
    log: str = "off",
    replay: bool = False,
    per_cpu: int = 8,
) -> dict[str, Any]:
    """One run in a fresh interpreter (its own peak RSS); the JSON it reports."""
    argv = [sys.executable, "-m", "bench.simulate", "--mode", mode, "--cpus", str(cpus)]
    argv += ["--duration-ms", str(duration_ms), "--log", log, "--per-cpu", str(per_cpu)]
    if nodes is not None:
        argv += ["--nodes", str(nodes)]
    if replay:
        argv.append("--replay")
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(argv, cwd=root, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"{' '.join(argv)} failed: {done.stderr.strip()[-400:]}")
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mode", choices=MODES, default="tasklet")
    parser.add_argument("--cpus", type=int, default=64)
    parser.add_argument("--nodes", type=int, default=None)
    parser.add_argument("--per-cpu", type=int, default=8, help="hogs per CPU")
    parser.add_argument("--duration-ms", type=int, default=1000)
    parser.add_argument("--log", choices=("off", "events", "messages"), default="off")
    parser.add_argument("--replay", action="store_true", help="replay the log, time it")
    parser.add_argument("--no-check", action="store_true", help="without the checker")
    print(json.dumps(run_here(parser.parse_args())))


if __name__ == "__main__":
    main()
