"""actors/log.py: header, records, levels, formats, and a closed log on every way out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import actors_toys as toys
import msgpack
import pytest
import structlog
import trio

from actors import ActorCrashed, Context, LogFormat, LogLevel, LogSpec, Simulation
from actors.codec import decode
from actors.log import schedsim_version
from actors.logread import LogReader


def records(path: Path) -> list[dict[str, Any]]:
    reader = LogReader(path)
    found = list(reader)
    assert (reader.truncated, reader.ended) == (False, True)
    return found


def run_toy(
    tmp_path: Path, name: str = "ping_pong", file: str = "run", **spec: Any
) -> tuple[Simulation, Path]:
    path = tmp_path / f"{name}-{file}.log"
    sim = toys.run_toy(name, 4, path, **spec)
    return sim, path


def test_header_holds_what_a_rerun_needs(tmp_path: Path) -> None:
    _, path = run_toy(tmp_path)
    assert records(path)[0] == {
        "seq": 0,
        "k": "H",
        "format": 1,
        "schedsim": schedsim_version(),
        "seed": 4,
        "scenario": "toy ping_pong",
        "params": {"toy": "ping_pong"},
        "until_ns": None,
        "level": "messages",
        "event_level": "debug",
    }


def test_records_are_numbered_from_zero_in_file_order(tmp_path: Path) -> None:
    sim, path = run_toy(tmp_path, "fan_in")
    found = records(path)
    assert [r["seq"] for r in found] == list(range(len(found)))
    assert sim.statistics().log_records == len(found)


def test_default_level_records_every_delivery_with_its_payload(tmp_path: Path) -> None:
    sim, path = run_toy(tmp_path)
    deliveries = [r for r in records(path) if r["k"] == "D"]
    assert len(deliveries) == sim.statistics().deliveries
    first_ask = next(r for r in deliveries if r["kind"] == "ask")
    assert {k: first_ask[k] for k in ("sender", "receiver", "tag", "corr")} == {
        "sender": "pinger",
        "receiver": "ponger",
        "tag": "toy.Ping",
        "corr": 1,
    }
    assert decode(first_ask["payload"]) == toys.Ping(n=0)


def test_events_carry_vtime_delta_actor_level_and_fields(tmp_path: Path) -> None:
    _, path = run_toy(tmp_path)
    pongs = [r for r in records(path) if r["k"] == "E" and r["event"] == "pong_received"]
    assert pongs[0] == {
        "seq": pongs[0]["seq"],
        "k": "E",
        "vtime_ns": 0,
        "delta": 3,
        "actor": "pinger",
        "level": "info",
        "event": "pong_received",
        "n": 1,
    }
    assert [r["vtime_ns"] for r in pongs] == [0, 1_000, 2_000, 3_000, 4_000]


def test_debug_events_are_dropped_at_info_level(tmp_path: Path) -> None:
    _, debug_path = run_toy(tmp_path)
    _, info_path = run_toy(tmp_path, file="info", event_level="info")
    debug_events = {r["event"] for r in records(debug_path) if r["k"] == "E"}
    info_events = {r["event"] for r in records(info_path) if r["k"] == "E"}
    assert (debug_events, info_events) == ({"pong_received", "ping_told"}, {"pong_received"})


async def chatty(ctx: Context, label: str) -> None:
    await ctx.sleep_until(1_000)
    ctx.log.info("first", label=label)
    ctx.log.info("second", label=label)


def test_events_of_a_delta_follow_the_deliveries_in_wake_order(tmp_path: Path) -> None:
    path = tmp_path / "chatty.msgpack"
    sim = Simulation(seed=9, log=LogSpec(path=path))
    for name in ("a", "b", "c"):
        sim.spawn(name, chatty, name)
    sim.run_sync()
    found = [r for r in records(path) if r.get("vtime_ns") == 1_000 and r["k"] in "DE"]
    woken = [r["receiver"] for r in found if r["k"] == "D"]
    events = [(r["actor"], r["event"]) for r in found if r["k"] == "E"]
    assert [r["k"] for r in found] == ["D"] * 3 + ["E"] * 6
    assert events == [(name, event) for name in woken for event in ("first", "second")]


def test_events_level_keeps_events_and_a_rolling_digest_of_deliveries(tmp_path: Path) -> None:
    sim, path = run_toy(tmp_path, level=LogLevel.EVENTS)
    found = records(path)
    kinds = {r["k"] for r in found}
    digests = [r for r in found if r["k"] == "G"]
    assert (kinds, len(digests)) == ({"H", "E", "G", "X"}, sim.statistics().deltas)
    assert digests[-1]["deliveries"] == sim.statistics().deliveries
    assert found[-1]["digest"] == digests[-1]["digest"].hex()


def test_rolling_digest_changes_when_one_payload_changes(tmp_path: Path) -> None:
    def digest(rounds: int) -> str:
        path = tmp_path / f"{rounds}.msgpack"
        sim = Simulation(seed=1, log=LogSpec(path=path, level=LogLevel.EVENTS))
        sim.spawn("ponger", toys.ponger)
        sim.spawn("pinger", toys.pinger, "ponger", rounds)
        sim.run_sync()
        return str(records(path)[-1]["digest"])

    assert (digest(3) == digest(3), digest(3) == digest(4)) == (True, False)


def test_jsonl_format_has_the_same_records_as_objects(tmp_path: Path) -> None:
    _, binary = run_toy(tmp_path)
    _, text = run_toy(tmp_path, file="jsonl", fmt=LogFormat.JSONL)
    lines = [json.loads(line) for line in text.read_text().splitlines()]
    assert [(r["seq"], r["k"]) for r in lines] == [(r["seq"], r["k"]) for r in records(binary)]
    first_ask = next(r for r in lines if r["k"] == "D" and r["kind"] == "ask")
    assert (first_ask["tag"], first_ask["msg"]) == ("toy.Ping", {"n": 0})


def test_jsonl_renders_masks_as_cpulists(tmp_path: Path) -> None:
    _, text = run_toy(tmp_path, "fan_in", fmt=LogFormat.JSONL)
    lines = [json.loads(line) for line in text.read_text().splitlines()]
    masks = {r["msg"]["cpus"] for r in lines if r.get("tag") == "toy.Request"}
    assert "0-127" in masks


def test_msgpack_log_is_records_only_with_no_stray_bytes(tmp_path: Path) -> None:
    _, path = run_toy(tmp_path)
    unpacker = msgpack.Unpacker(strict_map_key=False)
    unpacker.feed(path.read_bytes())
    count = sum(1 for _ in unpacker)
    assert (unpacker.tell(), count > 10) == (path.stat().st_size, True)


def test_level_off_writes_no_file(tmp_path: Path) -> None:
    path = tmp_path / "off.msgpack"
    sim = Simulation(log=LogSpec(path=path, level=LogLevel.OFF))
    toys.ping_pong(sim)
    sim.run_sync()
    assert (path.exists(), sim.statistics().log_records) == (False, 0)


def test_structlog_global_configuration_is_left_alone(tmp_path: Path) -> None:
    before = structlog.get_config()
    run_toy(tmp_path)
    assert structlog.get_config() == before


async def crasher(ctx: Context) -> None:
    ctx.log.info("about_to_fail")
    await ctx.sleep_until(2_000)
    raise RuntimeError("boom")


def test_crashed_run_closes_its_log_with_the_error(tmp_path: Path) -> None:
    path = tmp_path / "crash.msgpack"
    sim = Simulation(log=LogSpec(path=path))
    sim.spawn("crasher", crasher)
    with pytest.raises(ActorCrashed):
        sim.run_sync()
    end = records(path)[-1]
    assert (end["status"], end["vtime_ns"], end["error"]) == (
        "crashed",
        2_000,
        "actor 'crasher' crashed while handling its timer: RuntimeError('boom') "
        "(vtime 2000 ns, delta 2)",
    )


async def interrupter(ctx: Context) -> None:
    await ctx.sleep_until(3_000)
    raise KeyboardInterrupt


def test_interrupted_run_closes_its_log(tmp_path: Path) -> None:
    path = tmp_path / "ki.msgpack"
    sim = Simulation(log=LogSpec(path=path))
    sim.spawn("interrupter", interrupter)
    with pytest.raises(KeyboardInterrupt):
        sim.run_sync()
    end = records(path)[-1]
    assert (end["status"], end["vtime_ns"]) == ("interrupted", 3_000)


async def test_cancelled_run_closes_its_log(tmp_path: Path) -> None:
    path = tmp_path / "cancel.msgpack"
    with trio.CancelScope() as scope:

        async def canceller(ctx: Context) -> None:
            await ctx.sleep_until(4_000)
            scope.cancel()
            await ctx.sleep_until(5_000)

        sim = Simulation(log=LogSpec(path=path))
        sim.spawn("canceller", canceller)
        await sim.run()
    end = records(path)[-1]
    assert (end["status"], end["vtime_ns"]) == ("cancelled", 4_000)


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"delta": 1}, "set by the bus"),
        ({"seq": 1}, "reserved"),
        ({"mask": {1, 2}}, "cannot encode"),
    ],
)
def test_bad_event_fields_crash_the_logging_actor(
    tmp_path: Path, fields: dict[str, object], error: str
) -> None:
    async def logger(ctx: Context) -> None:
        ctx.log.info("bad", **fields)

    sim = Simulation(log=LogSpec(path=tmp_path / "bad.msgpack"))
    sim.spawn("logger", logger)
    with pytest.raises(ActorCrashed, match=error) as caught:
        sim.run_sync()
    assert caught.value.actor == "logger"


def test_log_spec_refuses_an_unknown_event_level() -> None:
    with pytest.raises(ValueError, match="event_level"):
        LogSpec(event_level="loud")
