"""The schedsim command line (``schedsim ...`` and ``python runner.py ...`` are the same).

Only argument handling and output live here; every decision is made in
topology/, cpuset/ or actors/.  Bad input never gives a traceback: one line on
stderr and exit status 2.  Ctrl-C in any command is one line and exit status
130; a closed output pipe (``schedsim run | head``) is exit status 141.

``schedsim topo`` prints the sched domains the kernel of an era would build
for a machine (and optional partitions), in the kernel's own SCHED_DEBUG
printout or as JSON; exit status 1 when the debug checks report errors.

``schedsim run [SCENARIO|NAME]`` runs a scenario file (or a shipped one from
scenarios/, by name; default ``demo``) and prints its summary (rich tables,
or one JSON object with ``--json``).  Exit status: 0 when the run ends and
every expectation holds; 1 on a failed expectation or an invariant violation
the scenario does not expect (``no_violation = false``); 2 on a bad scenario
(one line ``FILE:LINE: message``) or bad arguments; 130 when interrupted.
``schedsim list`` names the shipped scenarios.

Observability: ``schedsim trace LOG -o FILE.json`` (or ``run --trace
FILE.json``) writes a Perfetto / Chrome timeline of the run; ``schedsim plot
LOG -o DIR`` writes PNG figures (matplotlib: the ``plot`` extra); ``schedsim
inspect LOG --schedstat [--at TIME]`` prints the statistics as /proc/schedstat.
"""

from __future__ import annotations

import sys

try:  # Ctrl-C while the modules load (the first ~0.4 s): one line, no traceback
    import argparse
    import importlib
    import json
    import os
    import time
    from collections.abc import Sequence
    from dataclasses import replace
    from pathlib import Path
    from typing import Any, NoReturn

    from rich import box
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table
    from rich.text import Text

    from actors.codec import to_jsonable
    from actors.errors import SimulationError
    from actors.expect import ExpectOutcome, check_expectations
    from actors.log import LogFormat, LogLevel, LogSpec
    from actors.logread import LogReader, jsonl_view
    from actors.plots import Figure, Panel, figures
    from actors.recorder import RunTrace
    from actors.replay import ReplayOutcome, inspect_at, render_state, replay, run_params
    from actors.scenario import Scenario, ScenarioError, load_scenario, parse_duration
    from actors.sched import SchedResult, SchedRun
    from actors.schedstat import schedstat_of_log
    from actors.stress import add_stress_arguments, stress_main
    from actors.summary import SummaryTable, summary_json, summary_sections
    from actors.trace import TracedRun, rerun_traced, run_traced, write_chrome_trace
    from cpuset import ERAS as CPUSET_ERAS
    from cpuset.report import FORMATS as CPUSET_FORMATS
    from cpuset.report import run_cpuset_script
    from topology import CpuMask, MaskParseError
    from topology.debug import sched_domain_debug
    from topology.domains import DEFAULT_ERA, ERAS, DomainAttr, PartitionError, build_sched_domains
    from topology.machine import Machine, MachineError
    from topology.presets import DEFAULT_MACHINE, PRESETS, load_machine
    from topology.printout import FORMATS
    from topology.sd_sysctl import build_as_dict
except KeyboardInterrupt:
    sys.stderr.write("schedsim: interrupted\n")
    raise SystemExit(130) from None

EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_DOMAIN_ERRORS = 1
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what a shell reports for a reader that went away
SCENARIOS = Path(__file__).parent / "scenarios"
DEFAULT_SCENARIO = "demo"
CONSOLE_WIDTH = 100
TOPO_FORMATS = ("dmesg", *FORMATS, "json")


class UsageError(Exception):
    """Bad input from the user: reported as one line, exit 2."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line (no usage dump)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _list_presets() -> int:
    width = max(len(n) for n in PRESETS)
    for name, (text, description) in PRESETS.items():
        default = " (default)" if name == DEFAULT_MACHINE else ""
        print(f"{name:<{width}}  {description}{default}\n{'':<{width}}  {text}")
    return 0


def _machine(args: argparse.Namespace) -> Machine:
    if args.lscpu is not None:
        from topology.sources import from_lscpu

        try:
            with open(args.lscpu, encoding="utf-8") as f:
                text = f.read()
        except UnicodeDecodeError as exc:
            raise UsageError(f"--lscpu {args.lscpu}: not UTF-8 text ({exc.reason})") from None
        return from_lscpu(text, source=args.lscpu)
    if args.sysfs is not None:
        from topology.sources import from_sysfs

        return from_sysfs(args.sysfs)
    return load_machine(args.machine)


def _cpus(machine: Machine, wanted: list[int] | None) -> list[int] | None:
    if wanted is None:
        return None
    for cpu in wanted:
        if not 0 <= cpu < machine.nr_cpus:
            raise UsageError(f"--cpu {cpu}: {machine.name} has CPUs 0-{machine.nr_cpus - 1}")
    return wanted


def cmd_topo(args: argparse.Namespace) -> int:
    if args.list:
        return _list_presets()
    machine = _machine(args)
    parts = None
    if args.partition:
        parts = [CpuMask.parse(text, nbits=machine.nr_cpus) for text in args.partition]
    attrs = [DomainAttr(args.relax_domain_level)] * (1 if parts is None else len(parts))
    cpus = _cpus(machine, args.cpu)
    build = build_sched_domains(machine, parts, era=args.era, attrs=attrs)
    fmt = None if args.format in ("dmesg", "json") else args.format
    report = sched_domain_debug(build, fmt=fmt, cpus=cpus)
    if args.format == "json":
        print(json.dumps(build_as_dict(build, report, cpus), indent=2))
    else:
        shown = ", ".join(str(p) for p in build.partitions) or "none"
        print(f"{machine.summary()}; era {build.era}; partitions {shown}")
        sys.stdout.write(report.text)
    if report.errors:
        print(f"schedsim topo: {len(report.errors)} domain check errors", file=sys.stderr)
        return EXIT_DOMAIN_ERRORS
    return 0


def _add_topo(sub: argparse._SubParsersAction[_Parser]) -> None:
    topo = sub.add_parser("topo", help="show the sched domains of a machine")
    source = topo.add_mutually_exclusive_group()
    source.add_argument(
        "--machine", default=DEFAULT_MACHINE, help="preset, synthetic string or path"
    )
    source.add_argument("--lscpu", metavar="FILE", help="machine from `lscpu -p` output")
    source.add_argument("--sysfs", metavar="DIR", help="machine from a sysfs snapshot")
    topo.add_argument("--era", choices=ERAS, default=DEFAULT_ERA, help="domain builder era")
    topo.add_argument(
        "--partition",
        action="append",
        metavar="CPULIST",
        help="a sched-domain partition (repeatable; default: all CPUs)",
    )
    topo.add_argument(
        "--relax-domain-level",
        type=int,
        default=-1,
        metavar="N",
        help="relax_domain_level for every partition (default -1: none)",
    )
    topo.add_argument("--format", choices=TOPO_FORMATS, default="dmesg", help="printout")
    topo.add_argument("--cpu", type=int, action="append", metavar="N", help="only CPU N")
    topo.add_argument("--list", action="store_true", help="list the machine presets")
    topo.set_defaults(func=cmd_topo)


def cmd_cpuset(args: argparse.Namespace) -> int:
    """Exit 0 when the script ran (refused writes included, as in a shell); 2 on bad input."""
    machine = load_machine(args.machine)
    try:
        if args.script == "-":
            text, name = sys.stdin.read(), None
        else:
            text, name = Path(args.script).read_text(encoding="utf-8"), args.script
    except OSError as exc:
        raise UsageError(f"cannot read {args.script}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"cannot read {args.script}: not UTF-8 text ({exc.reason})") from None
    try:
        run = run_cpuset_script(
            machine,
            text,
            era=args.era,
            name=name,
            domains=args.domains,
            domain_era=args.domain_era,
            fmt=args.format,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    sys.stderr.write(run.stderr)
    sys.stdout.write(run.stdout)
    return 0


def _add_cpuset(sub: argparse._SubParsersAction[_Parser]) -> None:
    p = sub.add_parser(
        "cpuset",
        help="run a /dev/cpuset admin script; show the cpusets, partitions and domains",
        description=(
            "Run SCRIPT.sh (or - for stdin) as a shell would against a fresh cpuset "
            "hierarchy of --machine; print the failing commands like bash does (stderr), "
            "then the tree, the sched-domain partitions and, with --domains, the domains."
        ),
    )
    p.add_argument("--machine", default=DEFAULT_MACHINE, help="preset, synthetic string or path")
    p.add_argument("--era", default="v1", choices=list(CPUSET_ERAS), help="cpuset generation")
    p.add_argument(
        "--domain-era",
        default=None,
        help="sched-domain builder era for --domains (2.6.14 cpusets: 2.6.14 or 2.6.13)",
    )
    p.add_argument("--domains", action="store_true", help="build and dump the sched domains")
    p.add_argument("--format", default="text", choices=list(CPUSET_FORMATS), help="report format")
    p.add_argument("script", help="the script to run, or - for standard input")
    p.set_defaults(func=cmd_cpuset)


# -- schedsim run / list ----------------------------------------------------------------


def shipped_scenarios() -> dict[str, Path]:
    """The scenarios shipped in scenarios/, by name (file stem), sorted."""
    return {path.stem: path for path in sorted(SCENARIOS.glob("*.toml"), key=lambda p: p.stem)}


def _resolve(spec: str | None) -> Path:
    """A scenario file: an existing path, else a shipped scenario's name."""
    shipped = shipped_scenarios()
    if spec is None:
        return shipped[DEFAULT_SCENARIO]
    path = Path(spec)
    if path.exists() or "/" in spec or spec.endswith(".toml"):
        return path  # load_scenario reports a missing file as FILE:1
    if spec in shipped:
        return shipped[spec]
    raise UsageError(f"no scenario file or shipped scenario {spec!r} (see: schedsim list)")


def _log_spec(args: argparse.Namespace, scenario: Scenario) -> LogSpec | None:
    """Where the run logs: --log wins over the scenario's ``log``, and over ``log_level = "off"``.

    An explicit --log asks for a file, so a scenario's ``off`` gives way to the
    default level (``events``); a scenario's own ``messages`` is kept.
    """
    path = args.log if args.log is not None else scenario.log_path
    if path is None:
        if args.log_format is not None:
            raise UsageError("--log-format needs --log (or a log in the scenario)")
        return None
    option = "--log" if args.log is not None else f"{scenario.path}: log"
    if not path or Path(path).is_dir():
        raise UsageError(f"{option} {path!r}: {_not_a_file(path)}")
    fmt = args.log_format
    if fmt is None:
        fmt = scenario.log_format if args.log is None else _format_of(args.log)
    level = LogLevel(scenario.log_level)
    if args.log is not None and level is LogLevel.OFF:
        level = LogLevel.EVENTS
    return LogSpec(path=path, level=level, format=LogFormat(fmt))


def _not_a_file(path: str) -> str:
    return "is a directory, not a file" if path else "needs a file name"


def _format_of(path: str) -> str:
    return "jsonl" if path.endswith(".jsonl") else "msgpack"


def _sched_run(args: argparse.Namespace, scenario: Scenario) -> tuple[SchedRun, int]:
    """The run *scenario* describes, with the command line's overrides, and its seed."""
    config = scenario.config
    if args.duration is not None:
        try:
            duration_ns = parse_duration(args.duration, "--duration")
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        config = replace(config, duration_ns=duration_ns)
    seed = scenario.seed if args.seed is None else args.seed
    params = {**run_params(scenario), "seed": seed, "duration_ns": config.duration_ns}
    log = _log_spec(args, scenario)
    trace = _run_trace(args)
    run = SchedRun(config, seed=seed, log=log, scenario=scenario.text, params=params, trace=trace)
    return run, seed


def _run_quietly_or_not(run: SchedRun, name: str, progress: bool) -> SchedResult:
    """Run; a progress bar on stderr (a terminal only) once the run has taken a second."""
    if not (progress and sys.stderr.isatty()):
        return run.run()
    started = time.monotonic()
    bar: Progress | None = None
    task = None
    duration = run.config.duration_ns

    def report(now_ns: int) -> None:
        nonlocal bar, task
        if bar is None:
            if time.monotonic() - started < 1.0:
                return
            bar = Progress(console=Console(file=sys.stderr), transient=True)
            bar.start()
            task = bar.add_task(f"{name}: virtual time", total=duration)
        assert task is not None
        bar.update(task, completed=now_ns)

    run.set_progress(report)
    try:
        return run.run()
    finally:
        if bar is not None:
            bar.stop()


def _exit_status(result: SchedResult, outcomes: Sequence[ExpectOutcome]) -> int:
    failed = [o for o in outcomes if not o.ok]
    if failed:
        print(
            f"schedsim run: {len(failed)} of {len(outcomes)} expectations failed",
            file=sys.stderr,
        )
        return EXIT_FAILED
    # every expectation held, so a no_violation among them was `false`: the error was expected
    expected = any(o.expectation.kind == "no_violation" for o in outcomes)
    if result.error is not None and not expected:
        return EXIT_FAILED
    return 0


def _rich_table(table: SummaryTable) -> Table:
    out = Table(
        title=table.title,
        title_justify="left",
        caption=table.note or None,
        caption_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
    )
    for column, numeric in zip(table.columns, table.numeric, strict=True):
        out.add_column(column, justify="right" if numeric else "left")
    for row in table.rows:
        out.add_row(*(Text(cell, style=_cell_style(cell)) for cell in row))
    return out


def _cell_style(cell: str) -> str:
    return {"FAIL": "bold red", "pass": "green"}.get(cell, "")


def render_summary(sections: Sequence[str | SummaryTable], console: Console) -> None:
    """Draw the sections of `actors.summary.summary_sections` with rich."""
    for k, section in enumerate(sections):
        if k:
            console.print()
        if isinstance(section, SummaryTable):
            console.print(_rich_table(section))
        else:
            console.print(Text(section))


def _interrupted(run: SchedRun, scenario: Scenario, seed: int, as_json: bool) -> int:
    """Ctrl-C: the runtime closed the log on its way out; print what the run did so far."""
    result = SchedResult(
        status="interrupted",
        now_ns=run.sim.now_ns,
        statistics=run.statistics(),
        simulation=run.sim.statistics(),
    )
    _print_summary(scenario.name, result, [], seed, run, as_json)
    print(f"interrupted at {run.sim.now_ns / 1e6:g} ms of virtual time", file=sys.stderr)
    return EXIT_INTERRUPTED


def cmd_run(args: argparse.Namespace) -> int:
    scenario = load_scenario(_resolve(args.scenario))
    run, seed = _sched_run(args, scenario)
    try:
        result = _run_quietly_or_not(run, scenario.name, args.progress)
    except KeyboardInterrupt:
        return _interrupted(run, scenario, seed, args.json)
    except SimulationError as exc:  # a crash of ours, not bad input: one line, the log is closed
        if os.environ.get("SCHEDSIM_DEBUG"):
            raise
        hint = "(SCHEDSIM_DEBUG=1 for the traceback)"
        print(f"schedsim run: internal error: {exc} {hint}", file=sys.stderr)
        return EXIT_INTERNAL
    except BaseExceptionGroup as group:
        if group.subgroup(KeyboardInterrupt) is None:
            raise
        return _interrupted(run, scenario, seed, args.json)
    if result.error is not None:
        print(f"schedsim: {result.error}", file=sys.stderr)
    outcomes = check_expectations(scenario.expects, result)
    _print_summary(scenario.name, result, outcomes, seed, run, args.json)
    _write_run_trace(args, scenario, seed, run, result)
    return _exit_status(result, outcomes)


def _print_summary(
    name: str,
    result: SchedResult,
    outcomes: Sequence[ExpectOutcome],
    seed: int,
    run: SchedRun,
    as_json: bool,
) -> None:
    config = run.config
    if as_json:
        summary = summary_json(name, result, list(outcomes), seed=seed, config=config)
        print(json.dumps(summary, indent=2, sort_keys=True))
        return
    tty = sys.stdout.isatty()  # not a terminal: plain text, whatever FORCE_COLOR says
    console = Console(
        file=sys.stdout,
        width=CONSOLE_WIDTH,
        highlight=False,
        color_system="auto" if tty else None,
    )
    sections = summary_sections(name, result, list(outcomes), seed=seed, config=config)
    render_summary(sections, console)


def _add_run(sub: argparse._SubParsersAction[_Parser]) -> None:
    p = sub.add_parser(
        "run",
        help="run a scenario and print its summary",
        description=(
            "Run SCENARIO (a .toml file, or the name of a shipped scenario: schedsim list; "
            f"default {DEFAULT_SCENARIO}) and print a summary; the options override the "
            "scenario's own values."
        ),
    )
    p.add_argument("scenario", nargs="?", metavar="SCENARIO|NAME", help="file or shipped name")
    p.add_argument("--seed", type=_seed, metavar="N", help="the run's seed (>= 0)")
    p.add_argument("--duration", metavar="T", help='virtual run length ("2s", "300ms", ms)')
    p.add_argument("--log", metavar="PATH", help="write the run log to PATH")
    p.add_argument("--log-format", choices=[f.value for f in LogFormat], help="log format")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.add_argument("--trace", metavar="FILE.json", help="write a Perfetto / Chrome timeline")
    p.add_argument(
        "--no-progress",
        dest="progress",
        action="store_false",
        help="no spinner on stderr (it only shows when stderr is a terminal)",
    )
    p.set_defaults(func=cmd_run)


def _seed(text: str) -> int:
    """A --seed: an integer >= 0, as ``seed`` in a scenario."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, not {value}")
    return value


def cmd_list(args: argparse.Namespace) -> int:
    shipped = shipped_scenarios()
    width = max((len(name) for name in shipped), default=0)
    for name, path in shipped.items():
        first = load_scenario(path).description.split("\n")[0]
        summary = first.removeprefix(f"{name}:").strip()
        default = " (default)" if name == DEFAULT_SCENARIO else ""
        print(f"{name:<{width}}  {summary}{default}")
    return 0


def _add_list(sub: argparse._SubParsersAction[_Parser]) -> None:
    p = sub.add_parser("list", help="list the shipped scenarios")
    p.set_defaults(func=cmd_list)


def cmd_replay(args: argparse.Namespace) -> int:
    """Exit 0 when the re-run repeats every record the log has (all of them, or of a log
    that ends early, those it has); 1 on a divergence; 2 when the file is no usable log."""
    try:
        outcome = replay(args.log)
    except ValueError as exc:
        raise UsageError(f"{args.log}: {exc}") from None
    if outcome.divergence is None:
        print(_replay_verdict(outcome))
        return 0
    if outcome.early is not None:
        print(f"log ends early ({outcome.early})")
    div = outcome.divergence
    print(f"diverged at record {div.index} (virtual time {div.vtime_ns} ns)")
    print(f"  logged:   {_one_line(div.a)}")
    print(f"  replayed: {_one_line(div.b)}")
    return EXIT_FAILED


def _replay_verdict(outcome: ReplayOutcome) -> str:
    if outcome.early is None:
        return f"identical ({outcome.records} records)"
    records = f"{outcome.records} record{'' if outcome.records == 1 else 's'}"
    text = f"log ends early ({outcome.early}): identical for its {records}"
    if outcome.partial:
        text += f" (then {outcome.partial} of the interrupted delta, logged in part)"
    return text


def _one_line(record: dict[str, Any] | None) -> str:
    if record is None:
        return "(no record: the log ends here)"
    return json.dumps(to_jsonable(jsonl_view(record)), sort_keys=True, default=str)


def cmd_inspect(args: argparse.Namespace) -> int:
    if args.schedstat:
        return _inspect_schedstat(args)
    if args.at is None:
        raise UsageError("the following arguments are required: --at (or --schedstat)")
    try:
        at_ns = parse_duration(args.at, "--at")
        state = inspect_at(args.log, at_ns)
    except ValueError as exc:
        raise UsageError(f"{args.log}: {exc}") from None
    if args.cpu is not None and not any(c.cpu == args.cpu for c in state.cpus):
        raise UsageError(f"--cpu {args.cpu}: the run has CPUs 0-{len(state.cpus) - 1}")
    print(render_state(state, args.cpu))
    return 0


def cmd_log(args: argparse.Namespace) -> int:
    reader = LogReader(args.log)
    try:
        for record in reader:
            if args.filter is not None and record.get("event") != args.filter:
                continue
            if record.get("k") == "G" and not args.jsonl:
                continue  # a delta's digest: for replay, not for people
            view = jsonl_view(record)
            if args.jsonl:  # bytes as hex, as in a jsonl log and `python -m actors.logread`
                print(json.dumps(to_jsonable(view), sort_keys=True, default=str))
            else:
                print(_human(view))
    except ValueError as exc:
        raise UsageError(f"{args.log}: {exc}") from None
    if reader.truncated:
        print(
            f"schedsim log: {args.log} is cut short at byte {reader.truncated_at}", file=sys.stderr
        )
    elif reader.records == 0:
        raise UsageError(f"{args.log}: empty (no run header: not a schedsim log)")
    return 0


def _human(view: dict[str, Any]) -> str:
    """One record for people: time in ms, who, what."""
    kind = view.get("k")
    when = view.get("vtime_ns")
    stamp = f"{when / 1e6:10.3f} ms" if isinstance(when, int) else " " * 13
    if kind == "H":
        return f"header: seed {view.get('seed')}, until {view.get('until_ns')} ns, " \
            f"schedsim {view.get('schedsim')}"  # fmt: skip
    if kind == "X":
        return f"{stamp}  end: {view.get('status')}"
    if kind == "E":
        skip = {"seq", "k", "vtime_ns", "delta", "actor", "level", "event"}
        rest = " ".join(f"{k}={v}" for k, v in sorted(view.items()) if k not in skip)
        return f"{stamp}  {view.get('actor')}: {view.get('event')} {rest}".rstrip()
    if kind == "D":
        msg = json.dumps(view.get("msg"), sort_keys=True, default=str)
        return f"{stamp}  {view.get('src')} -> {view.get('dst')}: {view.get('tag')} {msg}"
    return f"{stamp}  {kind}: " + json.dumps(view, sort_keys=True, default=str)


def _add_log_commands(sub: argparse._SubParsersAction[_Parser]) -> None:
    p = sub.add_parser("replay", help="re-run a log's scenario and compare record by record")
    p.add_argument("log", metavar="LOG")
    p.set_defaults(func=cmd_replay)
    p = sub.add_parser("inspect", help="the state of a logged run at a virtual time")
    p.add_argument("log", metavar="LOG")
    p.add_argument("--at", metavar="TIME", help='virtual time ("120ms", ms)')
    p.add_argument("--cpu", type=int, metavar="N", help="show one CPU and its tasks")
    p.add_argument(
        "--schedstat",
        action="store_true",
        help="print the statistics as /proc/schedstat (version 12) at --at or the end",
    )
    p.set_defaults(func=cmd_inspect)
    p = sub.add_parser("log", help="print a run log for people (or as JSON lines for jq)")
    p.add_argument("log", metavar="LOG")
    p.add_argument("--jsonl", action="store_true", help="one JSON object per record")
    p.add_argument("--filter", metavar="EVENT", help="only the events named EVENT")
    p.set_defaults(func=cmd_log)


# -- observability: run --trace, trace, plot, inspect --schedstat ---------------------

MODES_OF_SEED004 = ("seed004-tasklet", "seed004-percpu", "seed004-softirq")
PLOT_EXTRA = "matplotlib is not installed; install the plot extra: pip install 'schedsim[plot]'"


def _run_trace(args: argparse.Namespace) -> RunTrace | None:
    """A trace for ``run --trace FILE`` (its directory checked before the run)."""
    path = getattr(args, "trace", None)
    if path is None:
        return None
    parent = Path(path).parent
    if not parent.is_dir():
        raise UsageError(f"--trace {path}: no directory {parent}")
    if not path or Path(path).is_dir():
        raise UsageError(f"--trace {path!r}: {_not_a_file(path)}")
    return RunTrace()


def _write_run_trace(
    args: argparse.Namespace, scenario: Scenario, seed: int, run: SchedRun, result: SchedResult
) -> None:
    trace = run.env.trace
    if args.trace is None or trace is None:
        return
    write_chrome_trace(args.trace, TracedRun(scenario, seed, run, result, trace))
    print(f"schedsim run: timeline written to {args.trace}", file=sys.stderr)


def _rerun(log: str) -> TracedRun:
    try:
        return rerun_traced(log)
    except ValueError as exc:
        raise UsageError(f"{log}: {exc}") from None


def cmd_trace(args: argparse.Namespace) -> int:
    traced = _rerun(args.log)
    events = write_chrome_trace(args.output, traced)
    meta = traced.meta
    print(f"{args.output}: {events} trace events, {meta.scenario} seed {meta.seed}, "
          f"{meta.duration_ns / 1e6:g} ms of virtual time (open in ui.perfetto.dev)")  # fmt: skip
    return 0


def _inspect_schedstat(args: argparse.Namespace) -> int:
    if args.cpu is not None:
        raise UsageError("--cpu does not go with --schedstat (it prints every CPU)")
    try:
        at_ns = None if args.at is None else parse_duration(args.at, "--at")
        text = schedstat_of_log(args.log, at_ns)
    except ValueError as exc:
        raise UsageError(f"{args.log}: {exc}") from None
    sys.stdout.write(text)
    return 0


def _pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend (matplotlib is optional: typed as Any)."""
    try:
        matplotlib = importlib.import_module("matplotlib")
    except ImportError:
        raise UsageError(PLOT_EXTRA) from None
    matplotlib.use("Agg")
    return importlib.import_module("matplotlib.pyplot")


def _seed004_modes(traced: TracedRun) -> list[TracedRun]:
    """The three balancer modes of seed 004, with the logged run's seed and duration."""
    if traced.scenario.name != MODES_OF_SEED004[0]:
        return []
    runs = [traced]
    shipped = shipped_scenarios()
    for name in MODES_OF_SEED004[1:]:
        scenario = load_scenario(shipped[name])
        config = replace(scenario.config, duration_ns=traced.result.now_ns)
        runs.append(run_traced(replace(scenario, config=config), traced.seed))
    return runs


def cmd_plot(args: argparse.Namespace) -> int:
    plt = _pyplot()
    traced = _rerun(args.log)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    for figure in figures(traced, _seed004_modes(traced)):
        path = out / f"{figure.name}.png"
        _render_figure(plt, figure, path)
        print(path)
    return 0


def _render_figure(plt: Any, figure: Figure, path: Path) -> None:
    n = len(figure.panels)
    fig, axes = plt.subplots(n, 1, figsize=(10, 1 + 4 * n), squeeze=False)
    fig.suptitle(figure.title)
    for ax, panel in zip(axes[:, 0], figure.panels, strict=True):
        _draw_panel(fig, ax, panel)
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata={"Software": "schedsim"})
    plt.close(fig)


def _draw_panel(fig: Any, ax: Any, panel: Panel) -> None:
    if panel.kind == "heatmap":
        image = ax.imshow(panel.matrix, aspect="auto", origin="lower", extent=panel.extent,
                          interpolation="nearest", cmap="viridis")  # fmt: skip
        fig.colorbar(image, ax=ax, label=panel.zlabel)
    elif panel.kind == "line":
        for s in panel.series:
            ax.plot(s.x, s.y, label=s.label, drawstyle="steps-post", linewidth=1)
    elif panel.kind == "hist":
        ax.stairs(panel.series[0].y, panel.edges, fill=True)
    else:
        _draw_bars(ax, panel)
    if len(panel.series) > 1:
        ax.legend(loc="best", fontsize="small")
    ax.set(title=panel.title, xlabel=panel.xlabel, ylabel=panel.ylabel)
    if panel.log_y:
        ax.set_yscale("symlog", linthresh=1)
        ax.set_ylim(0, 5 * max(1.0, *_heights(panel)))  # room above the bars for the legend


def _heights(panel: Panel) -> list[float]:
    if panel.stacked:
        return [sum(column) for column in zip(*(s.y for s in panel.series), strict=True)]
    return [y for s in panel.series for y in s.y]


def _draw_bars(ax: Any, panel: Panel) -> None:
    if not panel.categories:
        ax.text(0.5, 0.5, "none", transform=ax.transAxes, ha="center", va="center")
        return
    n = len(panel.series)
    width = 0.8 if panel.stacked else 0.8 / max(n, 1)
    bottom = [0.0] * len(panel.categories)
    for k, s in enumerate(panel.series):
        x = [v if panel.stacked else v - 0.4 + width * (k + 0.5) for v in s.x]
        ax.bar(x, s.y, width, bottom=bottom if panel.stacked else None, label=s.label)
        if panel.stacked:
            bottom = [b + y for b, y in zip(bottom, s.y, strict=True)]
    ax.set_xticks(range(len(panel.categories)), panel.categories)


def _add_observe_commands(sub: argparse._SubParsersAction[_Parser]) -> None:
    p = sub.add_parser(
        "trace",
        help="re-run a log's scenario and write a Perfetto / Chrome timeline (JSON)",
        description="Open the file in ui.perfetto.dev or chrome://tracing.",
    )
    p.add_argument("log", metavar="LOG")
    p.add_argument("-o", "--output", required=True, metavar="FILE.json", help="the trace file")
    p.set_defaults(func=cmd_trace)
    p = sub.add_parser(
        "plot",
        help="re-run a log's scenario and write PNG figures (needs matplotlib: extra 'plot')",
    )
    p.add_argument("log", metavar="LOG")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="directory for the PNGs")
    p.set_defaults(func=cmd_plot)


def _add_stress(sub: argparse._SubParsersAction[_Parser]) -> None:
    p = sub.add_parser(
        "stress",
        help="seeded random cpuset/balancing programs with the invariant checker",
        description="Sweep seeds of random programs; on a violation keep the log and a "
        "minimal scenario that reproduces it (exit 1).",
    )
    add_stress_arguments(p)
    p.set_defaults(func=stress_main)


def build_parser() -> _Parser:
    parser = _Parser(prog="schedsim", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    _add_topo(sub)
    _add_cpuset(sub)
    _add_run(sub)
    _add_list(sub)
    _add_log_commands(sub)
    _add_stress(sub)
    _add_observe_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    words = list(sys.argv[1:] if argv is None else argv)
    known = ("topo", "cpuset", "run", "list", "replay", "inspect", "log", "trace", "plot", "stress")
    command = f"schedsim {words[0]}" if words and words[0] in known else "schedsim"
    try:
        args = parser.parse_args(words)
        code: int = args.func(args)
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        return _interrupted_command(command)
    except BaseExceptionGroup as group:  # trio wraps a Ctrl-C that reaches an actor
        if group.subgroup(KeyboardInterrupt) is None:
            raise
        return _interrupted_command(command)
    except ScenarioError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    except (UsageError, MachineError, MaskParseError, PartitionError, OSError) as exc:
        print(f"{command}: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_USAGE
    return code


def _interrupted_command(command: str) -> int:
    """Ctrl-C outside ``run``'s own handling: one line (a run closes its log on the way out)."""
    sys.stdout.flush()
    print(f"{command}: interrupted", file=sys.stderr)
    return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
