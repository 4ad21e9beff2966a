"""Scenario files (actors/scenario.py, actors/tomlread.py): TOML -> SimConfig; FILE:LINE errors."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.config import (
    AffinityStep,
    AttachStep,
    BalanceMode,
    CostModel,
    HotplugStep,
    KillStep,
    MempolicySpec,
    MempolicyStep,
    RebindMode,
    ShellStep,
    SimConfig,
    SpawnStep,
    TaskKind,
    TaskSpec,
)
from actors.scenario import (
    Expectation,
    ScenarioError,
    load_scenario,
    parse_duration,
    parse_scenario,
)
from actors.tomlread import Key, locate
from topology import CpuMask, MaskParseError
from topology.machine import Machine, MachineError
from topology.presets import load_machine

DATA = Path(__file__).parent / "data"
SCENARIOS = DATA / "scenarios"
MS = 1_000_000


def error_of(text: str) -> str:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "s.toml")
    return str(info.value)


def same_machine(a: Machine, b: Machine) -> bool:
    return (a.cpus, a.distances) == (b.cpus, b.distances)


# -- a valid file ----------------------------------------------------------------------


def test_full_scenario_parses_into_exactly_the_config_it_describes() -> None:
    scenario = load_scenario(SCENARIOS / "full.toml")
    hog = TaskSpec(name="hog", count=4, line=33)
    rt = TaskSpec(
        name="rt",
        kind=TaskKind.PERIODIC,
        cpuset="/rt",
        cpus=CpuMask.parse("0-1"),
        cpu=1,
        start_ns=5 * MS,
        run_ms=3,
        sleep_ms=7,
        mempolicy=MempolicySpec(mode="bind", nodes=CpuMask.parse("0-1"), flags="static"),
        pages_per_ms=10,
        line=37,
    )
    burst = TaskSpec(
        name="burst",
        kind=TaskKind.FORK_BURST,
        lifetime_ms=20,
        children=2,
        fork_every_ms=30,
        line=49,
    )
    interleave = MempolicySpec(mode="interleave", nodes=CpuMask.parse("0-1"))
    expected = SimConfig(
        machine=scenario.config.machine,
        machine_desc="numa-2x2",
        cpuset_era="2.6.14",
        domain_era="2.6.13",
        balance=BalanceMode.PERCPU,
        hz=250,
        slice_ms=50,
        exact_ticks=True,
        rebind=RebindMode.DIRECT,
        cost=CostModel(base_ns=3_000, per_cpu_ns=100),
        newidle=False,
        active_balance=False,
        setup="mkdir /dev/cpuset/rt\necho 0-1 > /dev/cpuset/rt/cpus\n",
        tasks=(hog, rt, burst),
        steps=(
            ShellStep(
                at_ns=100 * MS,
                text='echo 2-3 > /dev/cpuset/rt/cpus\nname = "not a key"\n',
                line=62,
            ),
            HotplugStep(at_ns=150 * MS, cpu=3, online=False, line=77),
            AffinityStep(at_ns=200 * MS, task="hog.0", cpus=CpuMask.parse("2-3"), line=69),
            MempolicyStep(at_ns=200 * MS, task="rt", policy=interleave, line=73),
            KillStep(at_ns=300 * MS, task="hog", line=58),
            SpawnStep(at_ns=400 * MS, task="burst", line=81),
            AttachStep(at_ns=500 * MS, task="rt.0", cpuset="/", line=85),
        ),
        duration_ns=1_500 * MS,
        check=False,
        sample_ms=2,
        bugs=frozenset({"no-grace-period", "no-requeue-check"}),
    )
    assert scenario.config == expected
    assert same_machine(scenario.config.machine, load_machine("numa-2x2"))
    assert (scenario.name, scenario.seed, scenario.log_path) == ("full", 7, "out.jsonl")
    assert (scenario.log_format, scenario.log_level) == ("jsonl", "messages")
    assert scenario.description == (
        "full: every key of the scenario format, once\n(the parser test reads it field by field)"
    )
    assert scenario.text == (SCENARIOS / "full.toml").read_text()


def test_full_scenario_expectations_carry_converted_args_line_and_text() -> None:
    expects = load_scenario(SCENARIOS / "full.toml").expects
    assert expects == (
        Expectation(
            kind="ran_only_on",
            args=(("cpus", CpuMask.parse("0-1")), ("task", "rt")),
            line=88,
            text='ran_only_on = { task = "rt", cpus = "0-1" }',
        ),
        Expectation(
            kind="imbalance_below",
            args=(("after_ns", 200 * MS), ("value", 0.5)),
            line=91,
            text='imbalance_below = { value = 0.5, after = "200ms" }',
        ),
        Expectation(
            kind="no_violation", args=(("value", True),), line=94, text="no_violation = true"
        ),
        Expectation(
            kind="counter",
            args=(("name", "tasklet_refusals"), ("op", ">"), ("value", 0)),
            line=97,
            text='counter = { name = "tasklet_refusals", op = ">", value = 0 }',
        ),
        Expectation(
            kind="converged_by",
            args=(("by_ns", 300 * MS),),
            line=100,
            text='converged_by = "300ms"',
        ),
    )


def test_minimal_scenario_gets_every_documented_default() -> None:
    scenario = parse_scenario('[[tasks]]\nname = "a"\n', "dir/min.toml")
    config = scenario.config
    expected = SimConfig(
        machine=config.machine, machine_desc="smt-numa-8", tasks=(TaskSpec(name="a", line=1),)
    )
    assert config == expected
    assert same_machine(config.machine, load_machine("smt-numa-8"))
    assert (scenario.name, scenario.seed, scenario.log_path, scenario.expects) == (
        "min",
        1,
        None,
        (),
    )
    assert (scenario.log_format, scenario.log_level, scenario.description) == (
        "msgpack",
        "events",
        "",
    )


@pytest.mark.parametrize(
    ("run", "expected"),
    [
        ("", "msgpack"),
        ('log = "x.jsonl"', "jsonl"),
        ('log = "x.msgpack"', "msgpack"),
        ('log = "x.jsonl"\nlog_format = "msgpack"', "msgpack"),
    ],
)
def test_log_format_defaults_to_the_log_file_suffix(run: str, expected: str) -> None:
    assert parse_scenario(f"[run]\n{run}\n").log_format == expected


def test_steps_at_the_same_time_keep_file_order() -> None:
    text = '[[tasks]]\nname = "a"\n' + "".join(
        f'[[at]]\ntime = "{t}ms"\n{verb} = "a"\n'
        for t, verb in [(5, "kill"), (1, "spawn"), (5, "spawn"), (1, "kill")]
    )
    steps = parse_scenario(text).config.steps
    assert [(type(s).__name__, s.at_ns // MS, s.line) for s in steps] == [
        ("SpawnStep", 1, 8),
        ("KillStep", 1, 14),
        ("KillStep", 5, 5),
        ("SpawnStep", 5, 11),
    ]


def test_cpuset_mount_prefixes_are_stripped() -> None:
    text = '[[tasks]]\nname = "a"\ncpuset = "/dev/cpuset/x/"\n[[tasks]]\nname = "b"\n'
    text += 'cpuset = "/sys/fs/cgroup/y/z"\n[[tasks]]\nname = "c"\ncpuset = "/dev/cpuset"\n'
    tasks = parse_scenario(text).config.tasks
    assert [spec.cpuset for spec in tasks] == ["/x", "/y/z", "/"]


def test_relative_machine_files_resolve_against_the_scenario_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    lscpu = load_scenario(SCENARIOS / "lscpu.toml").config
    assert lscpu.machine_desc == "../lscpu-2socket-ht.txt"
    assert same_machine(lscpu.machine, load_machine(str(DATA / "lscpu-2socket-ht.txt")))
    text = '[machine]\ntopology = "sysfs-2node-8cpu"\n'
    sysfs = parse_scenario(text, base_dir=str(DATA)).config.machine
    assert same_machine(sysfs, load_machine(str(DATA / "sysfs-2node-8cpu")))


# -- errors, each at its line -------------------------------------------------------------

TASKS = '[[tasks]]\nname = "hog"\ncount = 2\n'  # lines 1-3
TASK_KEYS = (
    "children, count, cpu, cpus, cpuset, fork_every, kind, lifetime, mempolicy, name, "
    "pages_per_ms, run, sleep, start"
)
TABLES = "[machine], [run], [[tasks]], [[at]], [[expect]]"
DURATION = "must be a duration like '1.5s', '200ms', '100us', '5000ns' or a number of ms"
ACTIONS = "shell, setaffinity, set_mempolicy, hotplug, spawn, kill, migrate"


def mask_error(text: str) -> str:
    with pytest.raises(MaskParseError) as info:
        CpuMask.parse(text)
    return str(info.value)


def machine_error(spec: str) -> str:
    with pytest.raises(MachineError) as info:
        load_machine(spec)
    return str(info.value)


ERRORS: list[tuple[str, str]] = [
    # unknown tables and keys
    ("[run]\nseed = 1\n[machin]\nhz = 1\n", f"3: unknown table 'machin' (known: {TABLES})"),
    ("seed = 3\n", f"1: unknown table 'seed' (known: {TABLES})"),
    (
        TASKS + '[[tasks]]\nname = "b"\ncpuz = "0"\n',
        f"6: unknown key 'cpuz' in [[tasks]] (known: {TASK_KEYS})",
    ),
    (
        '[[tasks]]\nname = "a"\nmempolicy = { mode = "bind", nodez = "0" }\n',
        "3: unknown key 'nodez' in mempolicy in [[tasks]] (known: flags, mode, nodes)",
    ),
    (
        '[machine]\nhz = 1000\n\n[machine.cost]\nbase = "1us"\nper_cpus = 3\n',
        "6: unknown key 'per_cpus' in [machine.cost] (known: base, per_cpu)",
    ),
    (
        '[[at]]\ntime = 0\nkil = "x"\n',
        "3: unknown key 'kil' in [[at]] (known: hotplug, kill, migrate, set_mempolicy, "
        "setaffinity, shell, spawn, time)",
    ),
    ('[tasks]\nname = "a"\n', "1: tasks must be an array of tables: write [[tasks]]"),
    # types
    ('[[tasks]]\nname = "a"\ncount = "4"\n', "3: count must be an integer, not '4'"),
    ("[machine]\n\nhz = true\n", "3: hz must be an integer, not True"),
    ("[run]\nsetup = 3\n", "2: setup must be a string, not 3"),
    ('[[expect]]\nno_violation = "yes"\n', "2: no_violation must be true or false, not 'yes'"),
    ('[[tasks]]\nname = "a"\nchildren = -1\n', "3: children must be >= 0, not -1"),
    ('[[tasks]]\nname = "a.b"\n', "2: task name 'a.b' must match [A-Za-z0-9_-]+"),
    ("[[tasks]]\ncount = 2\n", "1: [[tasks]] needs name (a string)"),
    (
        '[[tasks]]\nname = "a"\ncpuset = "rt"\n',
        "3: cpuset must be an absolute path like '/rt', not 'rt'",
    ),
    # cpulists and machines
    ('[[tasks]]\nname = "a"\ncpus = "0-"\n', f"3: bad cpus: {mask_error('0-')}"),
    (
        TASKS
        + '[[at]]\ntime = 0\nset_mempolicy = { task = "hog", mode = "bind", nodes = "1-0" }\n',
        f"6: bad nodes: {mask_error('1-0')}",
    ),
    ('[machine]\nera = "v2"\ntopology = "nope"\n', f"3: {machine_error('nope')}"),
    # enums
    (
        '[[tasks]]\nname = "a"\nkind = "hogg"\n',
        "3: unknown kind 'hogg' (known: 'hog', 'periodic', 'fork-burst', 'exiting', 'pinned')",
    ),
    (
        '[machine]\nbalancer = "softirq"\n',
        "2: unknown balancer 'softirq' (known: 'tasklet', 'percpu', 'softirq-serialize')",
    ),
    (
        '[machine]\nera = "2.6.13"\n',
        "2: unknown era '2.6.13' (known: '2.6.14', '2.6.24', 'v1', 'v2')",
    ),
    (
        '[run]\nlog_level = "debug"\n',
        "2: unknown log_level 'debug' (known: 'off', 'events', 'messages')",
    ),
    (
        '[[expect]]\ncounter = { name = "x", op = "=>", value = 1 }\n',
        "2: unknown op '=>' (known: '>', '>=', '<', '<=', '==', '!=')",
    ),
    (
        '[run]\nbugs = [\n  "no-grace-period",\n  "no-such-bug",\n]\n',
        "2: unknown bug switch 'no-such-bug' (known: legacy-2.6.13-groups, no-generation-check, "
        "no-grace-period, no-requeue-check, rebind-outside-task-context)",
    ),
    # task references
    (
        TASKS + '[[at]]\ntime = "1ms"\nkill = "hogg"\n',
        "6: unknown task group 'hogg' (defined: hog)",
    ),
    (
        TASKS + '[[at]]\ntime = 0\nsetaffinity = { task = "hog.2", cpus = "0" }\n',
        "6: no task 'hog.2': group 'hog' has hog.0 .. hog.1",
    ),
    (
        TASKS + '[[at]]\ntime = 0\nkill = "hog.01"\n',
        "6: bad task instance 'hog.01': write hog.0 .. hog.N",
    ),
    (
        TASKS + '[[at]]\ntime = 0\nspawn = "hog.0"\n',
        "6: spawn takes a task group, not the instance 'hog.0'",
    ),
    (
        '[[expect]]\nran_only_on = { task = "x", cpus = "0" }\n',
        "2: unknown task group 'x' (defined: none)",
    ),
    # times
    (TASKS + '[[at]]\ntime = "soon"\nkill = "hog"\n', f"5: time {DURATION}, not 'soon'"),
    (
        TASKS + '[[tasks]]\nname = "b"\nstart = "1.5ns"\n',
        "6: start '1.5ns' is not a whole number of ns",
    ),
    (TASKS + '[[at]]\nkill = "hog"\n', "4: [[at]] needs time (a duration)"),
    ('[machine]\nslice = "1500us"\n', "2: slice must be a whole number of ms, not '1500us'"),
    (TASKS + 'run = "2.5ms"\n', "4: run must be a whole number of ms, not '2.5ms'"),
    # one action, one kind
    (TASKS + '[[at]]\ntime = "1ms"\n', f"4: [[at]] needs one action ({ACTIONS})"),
    (
        TASKS + '[[at]]\ntime = "1ms"\nkill = "hog"\nspawn = "hog"\n',
        "7: [[at]] has two actions, 'kill' and 'spawn'; use one",
    ),
    (
        "[run]\n[[expect]]\n",
        "2: [[expect]] needs one kind (ran_only_on, imbalance_below, no_violation, counter, "
        "converged_by)",
    ),
    (
        '[[expect]]\nno_violation = true\nconverged_by = "1s"\n',
        "3: [[expect]] has two kinds, 'no_violation' and 'converged_by'; use one",
    ),
    (
        TASKS + '[[expect]]\nran_only_on = { task = "hog", cpuset = "/", cpus = "0" }\n',
        "5: ran_only_on in [[expect]] needs either task or cpuset",
    ),
    (
        TASKS + '[[at]]\ntime = 0\nmigrate = { task = "hog" }\n',
        "6: migrate in [[at]] needs cpuset (a path)",
    ),
    (
        '[machine]\ntopology = "ht-up"\n[[at]]\ntime = 0\nhotplug = { cpu = 2, online = false }\n',
        "5: cpu 2 is not on the machine (0-1)",
    ),
    # SimConfig.problems(), at the line they are about
    (
        '[machine]\ntopology = "ht-up"\nhz = 999\n',
        "3: hz must divide 1e9 and lie in 100..10000, not 999",
    ),
    ('[machine]\nslice = "0ms"\n', "2: slice_ms must be >= 1, not 0"),
    ("[run]\nsample = 0\n", "2: sample_ms must be >= 1, not 0"),
    (
        '[machine]\nera = "v2"\ndomain_era = "2.6.13"\n',
        "3: domain era '2.6.13' does not go with cpuset era 'v2' (use modern)",
    ),
    ('[[tasks]]\nname = "a"\ncount = 0\n', "3: task group 'a': count must be >= 1"),
    ('[[tasks]]\nname = "a"\n\n[[tasks]]\nname = "a"\n', "4: task group 'a' is defined twice"),
    ('[[tasks]]\nname = "p"\nkind = "pinned"\n', "3: task group 'p': a pinned task needs cpus"),
    (
        '[machine]\ntopology = "numa-2x2"\n[[tasks]]\nname = "a"\ncpu = 9\n',
        "5: task group 'a': cpu 9 is not on the machine",
    ),
    # TOML syntax, from tomllib's position
    ("[machine]\nhz = = 3\n", "2: Invalid value (column 6)"),
    ("[run]\nseed = 1\n[run]\n", "3: Cannot declare ('run',) twice (column 5)"),
    ('[run]\nsetup = """\nmkdir /x\n', "3: Unterminated string (at end of file)"),
]


@pytest.mark.parametrize(("text", "expected"), ERRORS)
def test_every_error_names_the_file_and_the_line_it_is_about(text: str, expected: str) -> None:
    assert error_of(text) == f"s.toml:{expected}"


def test_scenario_error_carries_path_line_and_message() -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scenario("[machine]\nhz = 999\n", "a/b.toml")
    error = info.value
    assert (error.path, error.line) == ("a/b.toml", 2)
    assert error.message == "hz must divide 1e9 and lie in 100..10000, not 999"
    assert isinstance(error, ValueError)


def test_load_scenario_reports_an_unreadable_file_at_line_1(tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"
    with pytest.raises(ScenarioError) as info:
        load_scenario(missing)
    assert str(info.value) == f"{missing}:1: No such file or directory"
    (tmp_path / "bin.toml").write_bytes(b"\xff\xfe")
    with pytest.raises(ScenarioError, match=r"bin\.toml:1: not UTF-8 text"):
        load_scenario(tmp_path / "bin.toml")


# -- the locator -----------------------------------------------------------------------


def test_key_lines_inside_a_shell_string_are_not_taken_for_keys() -> None:
    text = (
        '[[tasks]]\nname = "a"\n'  # 1-2
        '[[at]]\ntime = 0\nshell = """\n'  # 3-5
        '[[tasks]]\ncpus = "x"\nname = "b" # not a comment\n'  # 6-8
        '"""\n'  # 9
        "[[tasks]]\nname = 'c'\ncpuz = 1\n"  # 10-12
    )
    assert error_of(text) == f"s.toml:12: unknown key 'cpuz' in [[tasks]] (known: {TASK_KEYS})"
    text = text.replace("cpuz = 1\n", "")
    (step,) = parse_scenario(text).config.steps
    assert step == ShellStep(
        at_ns=0, text='[[tasks]]\ncpus = "x"\nname = "b" # not a comment\n', line=5
    )


def test_locator_knows_dotted_keys_subtables_inline_keys_and_odd_strings() -> None:
    text = "\n".join(
        [
            "[[tasks]]",  # 1
            'name = "a"',  # 2
            "[tasks.mempolicy]",  # 3
            "mode = 'bind' # x = 1",  # 4
            "[[tasks]]",  # 5
            'mempolicy.nodes = "0"',  # 6
            "[[at]]",  # 7
            'shell = """say "hi" and \\""" \'\'\' x = 1"""',  # 8
            'kill = """',  # 9
            'a = """""',  # 10: the string ends with two quotes
            "bugs = [",  # 11
            '  "x = 1",',  # 12
            "  [3], { y = 2 },",  # 13: [3] is no table header
            "]",  # 14
            "hotplug = { cpu = 1, online = true }",  # 15
            "lit = '''",  # 16
            'z = """',  # 17
            "'''",  # 18
            "last = 1",  # 19
            'end = """a""""  # the string ends with a quote',  # 20
        ]
    )
    lines = locate(text).lines
    assert lines == {
        ("tasks", 0): 1,
        ("tasks", 0, "name"): 2,
        ("tasks", 0, "mempolicy"): 3,
        ("tasks", 0, "mempolicy", "mode"): 4,
        ("tasks", 1): 5,
        ("tasks", 1, "mempolicy", "nodes"): 6,
        ("at", 0): 7,
        ("at", 0, "shell"): 8,
        ("at", 0, "kill"): 9,
        ("at", 0, "bugs"): 11,
        ("at", 0, "hotplug"): 15,
        ("at", 0, "hotplug", "cpu"): 15,
        ("at", 0, "hotplug", "online"): 15,
        ("at", 0, "lit"): 16,
        ("at", 0, "last"): 19,
        ("at", 0, "end"): 20,
    }
    code = locate(text).code
    assert (code[3], code[19]) == ("mode = 'bind'", 'end = """a""""')


BASIC_LINES = ["x = 1", "[[tasks]]", "name = 'b'", "# c", "a = '''", "k = { a = 1 }", "y = [", "]"]
LITERAL_LINES = ['x = "1"', "[run]", 'a = """', "s = '", "} = {", "[[at]]"]


@st.composite
def toml_documents(draw: st.DrawFn) -> tuple[str, dict[Key, int]]:
    """A TOML text of keys with awkward values, and the line each key is on."""
    out: list[str] = []
    expected: dict[Key, int] = {}
    table: Key = ()
    counts: dict[str, int] = {}
    for item in range(draw(st.integers(1, 12))):
        if draw(st.booleans()):
            name = draw(st.sampled_from(["tasks", "at", "expect"]))
            counts[name] = counts.get(name, 0) + 1
            table = (name, counts[name] - 1)
            out.append(f"[[{name}]]")
            expected[table] = len(out)
        key = (*table, f"k{item}")
        expected[key] = len(out) + 1
        kind = draw(st.sampled_from(["int", "str", "basic", "literal", "inline", "array"]))
        if kind == "int":
            out.append(f"k{item} = {draw(st.integers())}  # = 1")
        elif kind == "str":
            out.append(f"k{item} = {json.dumps(draw(st.text()))}")
        elif kind in ("basic", "literal"):
            quote, pool = ('"""', BASIC_LINES) if kind == "basic" else ("'''", LITERAL_LINES)
            body = draw(st.lists(st.sampled_from(pool), max_size=4))
            out += [f"k{item} = {quote}", *body, quote]
        elif kind == "inline":
            out.append(f"k{item} = {{ a = 1, b = {json.dumps(draw(st.text()))} }}")
            expected[(*key, "a")] = expected[(*key, "b")] = len(out)
        else:
            values = st.one_of(st.text().map(json.dumps), st.integers().map("[{}]".format))
            body = [value + "," for value in draw(st.lists(values, max_size=3))]
            out += [f"k{item} = [", *body, "]"]
    return "\n".join(out) + "\n", expected


@given(toml_documents())
def test_locator_finds_every_key_of_any_document(document: tuple[str, dict[Key, int]]) -> None:
    text, expected = document
    assert locate(text).lines == expected


# -- durations and the description ----------------------------------------------------------

UNITS = {"ns": 1, "us": 1_000, "ms": MS, "s": 1_000 * MS}


@given(st.integers(0, 10**15), st.sampled_from(sorted(UNITS)))
def test_parse_duration_reads_an_integer_in_any_unit(amount: int, unit: str) -> None:
    assert parse_duration(f"{amount}{unit}") == amount * UNITS[unit]


@given(st.integers(0, 10**15))
def test_parse_duration_round_trips_a_decimal_in_seconds_and_ms(ns: int) -> None:
    assert parse_duration(f"{ns // 10**9}.{ns % 10**9:09d}s") == ns
    assert parse_duration(f"{ns // MS}.{ns % MS:06d}ms") == ns


@given(st.integers(0, 10**9))
def test_parse_duration_takes_a_bare_number_as_milliseconds(ms: int) -> None:
    assert parse_duration(ms) == ms * MS
    assert parse_duration(ms + 0.5) == ms * MS + MS // 2


@pytest.mark.parametrize("value", ["1 h", "", "-1ms", "1e3ms", True, None, -3, float("nan")])
def test_parse_duration_refuses_what_is_no_duration(value: object) -> None:
    with pytest.raises(ValueError, match=r"^after must be a duration like"):
        parse_duration(value, "after")


def test_parse_duration_refuses_fractions_of_a_nanosecond() -> None:
    with pytest.raises(ValueError, match=r"^duration '1\.5ns' is not a whole number of ns$"):
        parse_duration("1.5ns")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("# a: one line\n#\n#   indented\n\n# not this\n[run]\n", "a: one line\n\n  indented"),
        ("#tight\n[run]\n", "tight"),
        ("[run]\n# not a description\n", ""),
        ("", ""),
    ],
)
def test_description_is_the_leading_comment_block(text: str, expected: str) -> None:
    assert parse_scenario(text).description == expected


def test_scenario_is_a_frozen_value() -> None:
    scenario = parse_scenario("")
    with pytest.raises(dataclasses.FrozenInstanceError):
        scenario.seed = 2  # type: ignore[misc]
