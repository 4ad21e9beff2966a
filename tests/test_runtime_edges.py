"""Runtime edge cases found by review: logging while cancelled, deep records, deadlines.

Each test fails on the code before its fix (a KeyError and no end record; a segfault; a
run that ignores a trio deadline; a TypeError from the log reader).
"""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import actors_toys  # noqa: F401  (registers toy.Ping and toy.Hop)
import msgpack
import pytest
import trio

from actors import Context, LogFormat, LogSpec, Simulation
from actors.codec import EXT_RECORD, MAX_RECORD_DEPTH, CodecError, decode
from actors.logread import LogCorrupt, LogReader


async def leaves_a_note(ctx: Context) -> None:
    try:
        await ctx.sleep_until(10_000)
    finally:
        ctx.log.info("bye", who=ctx.name)


async def ticker(ctx: Context) -> None:
    for t in range(1, 50):
        await ctx.sleep_until(t)


def test_actors_logging_as_they_are_cancelled_end_the_run_cleanly(tmp_path: Path) -> None:
    """At the deadline the parked actors are cancelled; their events (none of them was
    woken by the last delta) follow in actor-name order, then the end record."""
    log = tmp_path / "run.jsonl"
    sim = Simulation(seed=1, log=LogSpec(path=log, format=LogFormat.JSONL))
    for name in ("c", "a", "d", "b"):
        sim.spawn(name, leaves_a_note)
    sim.spawn("ticker", ticker)
    result = sim.run_sync(until_ns=100)
    assert result.status == "deadline"
    records = [json.loads(line) for line in log.read_text().splitlines()]
    tail = [(r["k"], r.get("actor")) for r in records if r["k"] in "EX"]
    assert tail == [("E", "a"), ("E", "b"), ("E", "c"), ("E", "d"), ("X", None)]


def nested(depth: int) -> bytes:
    inner = msgpack.packb(["toy.Ping", 1])
    for _ in range(depth):
        inner = msgpack.packb(["toy.Hop", msgpack.ExtType(EXT_RECORD, inner)])
    return inner


def test_records_nested_too_deep_are_refused_not_a_crash() -> None:
    assert decode(nested(MAX_RECORD_DEPTH - 2)) is not None
    with pytest.raises(CodecError, match="nested more than"):
        decode(nested(1000))
    data = msgpack.packb({"seq": 0, "k": "H"}) + msgpack.packb(
        [1, "E", 0, 0, "a", "info", "ev", {"v": msgpack.ExtType(EXT_RECORD, nested(1000))}]
    )
    with pytest.raises(LogCorrupt, match="nested more than"):
        list(LogReader(io.BytesIO(data)))


@pytest.mark.parametrize(
    "data",
    [
        msgpack.packb({"k": "H"}) + msgpack.packb([1, {"x": 1}, 0]),
        b'{"k": "H"}\n{"k": ["E"]}\n',
    ],
    ids=["msgpack-kind-map", "jsonl-kind-list"],
)
def test_a_record_kind_of_the_wrong_type_is_log_corrupt(data: bytes) -> None:
    with pytest.raises(LogCorrupt):
        list(LogReader(io.BytesIO(data)))


async def forever(ctx: Context) -> None:
    t = 0
    while True:
        t += 1
        await ctx.sleep_until(t)


async def test_a_trio_deadline_stops_a_run_whose_actor_only_wakes_itself() -> None:
    sim = Simulation(seed=1)
    sim.spawn("f", forever)
    start = time.perf_counter()
    with trio.move_on_after(0.2) as scope:
        await sim.run(4_000_000)  # ~15 s of wall time if the deadline went unseen
    assert scope.cancelled_caught
    assert time.perf_counter() - start < 5
