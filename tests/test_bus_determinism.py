"""Determinism of the bus: same seed -> same log bytes, whatever trio's scheduler does.

In-process tests run with hypothesis imported, which switches trio's scheduler
to its deterministic mode; the subprocess test runs fresh interpreters where
trio shuffles ready tasks for real (DESIGN.md, "Pitfalls measured").
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import actors_toys as toys
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors import ActorCrashed, Context, LogFormat, LogLevel, LogSpec, Simulation, message
from actors.logread import LogReader

TOYS = Path(toys.__file__)


def run_twice(tmp_path: Path, name: str, seed: int, **spec: object) -> tuple[bytes, bytes]:
    logs = []
    for run in ("first", "second"):
        path = tmp_path / f"{name}-{run}.log"
        toys.run_toy(name, seed, path, **spec)  # type: ignore[arg-type]
        logs.append(path.read_bytes())
    return logs[0], logs[1]


@pytest.mark.parametrize("name", list(toys.TOYS))
@pytest.mark.parametrize(
    ("level", "fmt"),
    [
        (LogLevel.MESSAGES, LogFormat.MSGPACK),
        (LogLevel.EVENTS, LogFormat.MSGPACK),
        (LogLevel.MESSAGES, LogFormat.JSONL),
    ],
    ids=["messages", "events", "jsonl"],
)
def test_toy_run_twice_with_one_seed_gives_identical_log_bytes(
    tmp_path: Path, name: str, level: LogLevel, fmt: LogFormat
) -> None:
    first, second = run_twice(tmp_path, name, 7, level=level, fmt=fmt)
    assert (len(first) > 100, first == second) == (True, True)


def in_process_hash(seed: int, directory: Path) -> str:
    digest = hashlib.sha256()
    for name in toys.TOYS:
        path = directory / f"{name}.msgpack"
        toys.run_toy(name, seed, path)
        digest.update(path.read_bytes())
    return digest.hexdigest()


def test_twenty_fresh_interpreters_write_the_same_logs(tmp_path: Path) -> None:
    outputs: list[str] = []
    for batch in range(5):  # 4 interpreters at a time
        procs = []
        for i in range(4):
            run_dir = tmp_path / f"run{batch * 4 + i}"
            run_dir.mkdir()
            command = [sys.executable, str(TOYS), "5", str(run_dir)]
            procs.append(subprocess.Popen(command, stdout=subprocess.PIPE, text=True))
        outputs.extend(proc.communicate(timeout=120)[0].strip() for proc in procs)
        assert [proc.returncode for proc in procs] == [0, 0, 0, 0]
    expected = f"{in_process_hash(5, tmp_path)} False"  # False: no hypothesis in the child
    assert Counter(outputs) == Counter({expected: 20})


def first_instant_order(seed: int) -> tuple[str, ...]:
    sim = Simulation(seed=seed)
    order = toys.equal_timers(sim, tickers=6, ticks=1)
    sim.run_sync()
    return tuple(sender for t, sender in order if t == toys.TICK_NS)


def test_seeds_reorder_simultaneous_deliveries() -> None:
    orders = {seed: first_instant_order(seed) for seed in range(10)}
    assert (len(set(orders.values())) > 1, first_instant_order(3) == orders[3]) == (True, True)
    assert all(sorted(order) == [f"ticker{i}" for i in range(6)] for order in orders.values())


async def doomed(ctx: Context) -> None:
    await ctx.sleep_until(1_000)
    raise RuntimeError(ctx.name)


def test_simultaneous_crashes_report_the_first_actor_woken(tmp_path: Path) -> None:
    reported = []
    for run in range(3):
        path = tmp_path / f"crash{run}.msgpack"
        sim = Simulation(seed=21, log=LogSpec(path=path))
        for name in ("p", "q", "r", "s"):
            sim.spawn(name, doomed)
        with pytest.raises(ActorCrashed) as caught:
            sim.run_sync()
        woken = [r["receiver"] for r in LogReader(path) if r.get("kind") == "timer"]
        reported.append((caught.value.actor, woken[0]))
    assert len(set(reported)) == 1
    assert reported[0][0] == reported[0][1]


# -- random programs (op lists) -------------------------------------------------


@message("test.det.Token")
@dataclass(frozen=True, slots=True, kw_only=True)
class Token:
    """program or server -> server: token *n* of *origin*, to forward *hops* more times."""

    origin: str
    n: int
    hops: int


@message("test.det.Ack")
@dataclass(frozen=True, slots=True, kw_only=True)
class Ack:
    """server -> program: token *n* arrived."""

    n: int


Ledger = list[tuple[str, int, int]]


async def server(ctx: Context, peers: int, sent: Ledger, received: Ledger) -> None:
    while True:
        for env in await ctx.receive():
            token = env.msg
            assert isinstance(token, Token)
            received.append((token.origin, token.n, token.hops))
            if env.ask_id:
                ctx.reply(env, Ack(n=token.n))
            if token.hops:
                forward = Token(origin=token.origin, n=token.n, hops=token.hops - 1)
                sent.append((forward.origin, forward.n, forward.hops))
                ctx.tell(f"server{ctx.rng.randrange(peers)}", forward)


async def child(ctx: Context, dst: str, sent: Ledger) -> None:
    sent.append((ctx.name, 0, 0))
    ctx.tell(dst, Token(origin=ctx.name, n=0, hops=0))


async def program(ctx: Context, ops: list[tuple[str, int, int]], sent: Ledger) -> None:
    for n, (op, target, amount) in enumerate(ops):
        dst = f"server{target}"
        token = Token(origin=ctx.name, n=n, hops=amount % 3)
        if op == "tell":
            sent.append((token.origin, token.n, token.hops))
            ctx.tell(dst, token, at_ns=ctx.now_ns + 500 * (amount % 3))
        elif op == "ask":
            sent.append((token.origin, token.n, token.hops))
            assert await ctx.ask(dst, token, Ack) == Ack(n=n)
        elif op == "sleep":
            await ctx.sleep_until(ctx.now_ns + 250 * amount)
        else:
            ctx.spawn(f"{ctx.name}.child{n}", child, dst, sent)


SERVERS = 3
ops = st.tuples(
    st.sampled_from(["tell", "ask", "sleep", "spawn"]),
    st.integers(0, SERVERS - 1),
    st.integers(0, 4),
)
programs = st.lists(st.lists(ops, max_size=8), min_size=1, max_size=4)


def run_program(
    seed: int, plan: list[list[tuple[str, int, int]]], path: Path
) -> tuple[Ledger, Ledger]:
    sent: Ledger = []
    received: Ledger = []
    sim = Simulation(seed=seed, log=LogSpec(path=path))
    for i in range(SERVERS):
        sim.spawn(f"server{i}", server, SERVERS, sent, received)
    for i, prog in enumerate(plan):
        sim.spawn(f"prog{i}", program, prog, sent)
    assert sim.run_sync().status == "quiescent"
    return sent, received


@settings(max_examples=40)
@given(seed=st.integers(0, 2**32), plan=programs)
def test_random_programs_are_deterministic_and_lose_no_message(
    tmp_path_factory: pytest.TempPathFactory, seed: int, plan: list[list[tuple[str, int, int]]]
) -> None:
    directory = tmp_path_factory.mktemp("programs")
    sent, received = run_program(seed, plan, directory / "a.msgpack")
    sent_again, received_again = run_program(seed, plan, directory / "b.msgpack")
    assert (directory / "a.msgpack").read_bytes() == (directory / "b.msgpack").read_bytes()
    assert Counter(received) == Counter(sent)
    assert (Counter(sent_again), Counter(received_again)) == (Counter(sent), Counter(received))


def test_public_trio_api_parking_writes_the_same_log(tmp_path: Path) -> None:
    logs = []
    for public in (False, True):
        path = tmp_path / f"public-{public}.msgpack"
        sim = Simulation(seed=8, log=LogSpec(path=path), public_trio_api=public)
        toys.fan_in(sim)
        sim.run_sync()
        logs.append(path.read_bytes())
    assert logs[0] == logs[1]
