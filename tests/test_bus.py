"""The bus (actors/bus.py, actors/context.py): delta cycles, primitives, and how runs end."""

from __future__ import annotations

import gc
import random

import actors_toys as toys
import pytest
import trio

from actors import (
    ActorCrashed,
    Context,
    DeadLetter,
    Deadlock,
    Livelock,
    ProtocolError,
    Simulation,
    UnknownActor,
    simulation,
)
from actors.messages import REGISTRY
from actors.simulation import paused_gc
from topology.cpumask import CpuMask

Seen = list[tuple[int, int, str, object]]


async def collector(ctx: Context, seen: Seen) -> None:
    """Records (vtime, delta, sender, message) for every delivery, batch by batch."""
    while True:
        for env in await ctx.receive():
            seen.append((ctx.now_ns, ctx.delta, env.sender, env.msg))


async def batches(ctx: Context, sizes: list[int]) -> None:
    while True:
        sizes.append(len(await ctx.receive()))


async def sender(ctx: Context, dst: str, count: int) -> None:
    for n in range(count):
        ctx.tell(dst, toys.Ping(n=n))


def run(sim: Simulation, until_ns: int | None = None) -> str:
    return sim.run_sync(until_ns).status


def test_tell_is_delivered_in_the_next_delta_at_the_same_instant() -> None:
    seen: Seen = []
    sim = Simulation()
    sim.spawn("inbox", collector, seen)
    sim.spawn("sender", sender, "inbox", 1)
    run(sim)
    # delta 1 delivers the starts; the tell sent during it is delta 2, still at 0 ns
    assert seen == [(0, 2, "sender", toys.Ping(n=0))]


def test_all_messages_of_one_delta_arrive_in_one_wakeup() -> None:
    sizes: list[int] = []
    sim = Simulation()
    sim.spawn("inbox", batches, sizes)
    for i in range(3):
        sim.spawn(f"sender{i}", sender, "inbox", 4)
    run(sim)
    assert sizes == [12]


def test_one_senders_messages_keep_their_order() -> None:
    seen: Seen = []
    sim = Simulation(seed=3)
    sim.spawn("inbox", collector, seen)
    sim.spawn("sender", sender, "inbox", 20)
    run(sim)
    assert [msg for _, _, _, msg in seen] == [toys.Ping(n=n) for n in range(20)]


def test_an_immutable_message_is_handed_over_and_a_mutable_one_copied() -> None:
    # Frozen all the way down, a message cannot change, so the bus hands over the
    # sender's object (no decode); a dict field could, so that one arrives decoded.
    shared = toys.Request(n=1, cpus=CpuMask.span(0, 200))
    bag = toys.Bag(items={"a": 1})
    seen: Seen = []

    async def send_two(ctx: Context) -> None:
        ctx.tell("inbox", shared)
        ctx.tell("inbox", bag)

    sim = Simulation()
    sim.spawn("inbox", collector, seen)
    sim.spawn("sender", send_two)
    run(sim)
    got_shared, got_bag = (entry[3] for entry in seen)
    assert got_shared is shared
    assert (got_bag == bag, got_bag is bag) == (True, False)
    bag.items["a"] = 2  # the sender mutates its dict after sending
    assert got_bag == toys.Bag(items={"a": 1})


def test_only_messages_frozen_all_the_way_down_count_as_immutable() -> None:
    assert REGISTRY.immutable(toys.Request)
    assert REGISTRY.immutable(toys.Hop)
    assert not REGISTRY.immutable(toys.Bag)
    assert not REGISTRY.immutable(dict)


async def asker(ctx: Context, replies: list[tuple[int, object]]) -> None:
    reply = await ctx.ask("ponger", toys.Ping(n=41), toys.Pong)
    replies.append((ctx.delta, reply))
    replies.extend((ctx.delta, env.msg) for env in await ctx.receive())


async def heckler(ctx: Context) -> None:
    ctx.tell("asker", toys.Tick(k=1))


def test_ask_returns_the_reply_and_keeps_other_mail_for_receive() -> None:
    replies: list[tuple[int, object]] = []
    sim = Simulation()
    sim.spawn("ponger", toys.ponger)
    sim.spawn("asker", asker, replies)
    sim.spawn("heckler", heckler)
    run(sim)
    # the ask is delivered in delta 2, the reply in delta 3; the Tick waited in the mailbox
    assert replies == [(3, toys.Pong(n=42)), (3, toys.Tick(k=1))]


async def sleeper(ctx: Context, wakes: list[tuple[int, int]], times: list[int]) -> None:
    for t in times:
        await ctx.sleep_until(t)
        wakes.append((ctx.now_ns, ctx.delta))


def test_sleep_until_jumps_virtual_time_straight_to_the_timer() -> None:
    wakes: list[tuple[int, int]] = []
    sim = Simulation()
    sim.spawn("sleeper", sleeper, wakes, [10**12, 10**12 + 5, 3 * 10**12])
    run(sim)
    assert wakes == [(10**12, 2), (10**12 + 5, 3), (3 * 10**12, 4)]


def test_sleep_until_now_yields_for_one_delta() -> None:
    wakes: list[tuple[int, int]] = []
    sim = Simulation()
    sim.spawn("sleeper", sleeper, wakes, [0, 0])
    run(sim)
    assert wakes == [(0, 2), (0, 3)]


def test_tell_at_a_future_instant_is_delivered_then() -> None:
    seen: Seen = []

    async def later(ctx: Context) -> None:
        ctx.tell("inbox", toys.Ping(n=2), at_ns=2_000)
        ctx.tell("inbox", toys.Ping(n=1), at_ns=1_000)

    sim = Simulation()
    sim.spawn("inbox", collector, seen)
    sim.spawn("later", later)
    run(sim)
    assert [(t, msg) for t, _, _, msg in seen] == [(1_000, toys.Ping(n=1)), (2_000, toys.Ping(n=2))]


def test_run_stops_at_the_deadline() -> None:
    wakes: list[tuple[int, int]] = []
    sim = Simulation()
    sim.spawn("sleeper", sleeper, wakes, list(range(1_000, 100_000, 1_000)))
    result = sim.run_sync(until_ns=5_500)
    assert (result.status, result.now_ns, [t for t, _ in wakes]) == (
        "deadline",
        5_500,
        [1_000, 2_000, 3_000, 4_000, 5_000],
    )


def test_run_ends_quiescent_when_everyone_waits_in_receive() -> None:
    sim = Simulation()
    toys.ping_pong(sim, rounds=3)
    result = sim.run_sync()
    stats = sim.statistics()
    assert (result.status, stats.status, result.now_ns) == ("quiescent", "quiescent", 3_000)


async def cross_asker(ctx: Context, peer: str) -> None:
    await ctx.ask(peer, toys.Ping(n=0))


def test_deadlock_is_raised_and_names_the_waiters() -> None:
    sim = Simulation()
    sim.spawn("a", cross_asker, "b")
    sim.spawn("b", cross_asker, "a")
    with pytest.raises(Deadlock) as caught:
        sim.run_sync()
    assert caught.value.waiting == (
        "'a' waits for a reply from 'b' to toy.Ping (ask #1)",
        "'b' waits for a reply from 'a' to toy.Ping (ask #1)",
    )
    assert (caught.value.vtime_ns, sim.statistics().status) == (0, "deadlock")


async def fragile(ctx: Context) -> None:
    while True:
        for env in await ctx.receive():
            if isinstance(env.msg, toys.Ping) and env.msg.n == 3:
                raise ValueError("three is right out")


async def pinger_at(ctx: Context, times: list[int]) -> None:
    for n, t in enumerate(times):
        await ctx.sleep_until(t)
        ctx.tell("fragile", toys.Ping(n=n))


def test_crash_is_one_error_naming_vtime_actor_and_message() -> None:
    sim = Simulation()
    sim.spawn("fragile", fragile)
    sim.spawn("pinger", pinger_at, [1_000, 2_000, 3_000, 4_000, 5_000])
    with pytest.raises(ActorCrashed) as caught:
        sim.run_sync()
    crash = caught.value
    assert (crash.actor, crash.vtime_ns, crash.handling) == (
        "fragile",
        4_000,
        "Ping(n=3) (tell from 'pinger')",
    )
    assert isinstance(crash.__cause__, ValueError)
    assert str(crash) == (
        "actor 'fragile' crashed while handling Ping(n=3) (tell from 'pinger'): "
        "ValueError('three is right out') (vtime 4000 ns, delta 9)"
    )


def test_crash_stops_the_run_at_the_end_of_its_delta() -> None:
    sim = Simulation()
    sim.spawn("fragile", fragile)
    sim.spawn("pinger", pinger_at, [1_000, 2_000, 3_000, 4_000, 5_000])
    with pytest.raises(ActorCrashed):
        sim.run_sync()
    stats = sim.statistics()
    assert (stats.status, stats.now_ns, stats.timers) == ("crashed", 4_000, 4)


async def quitter(ctx: Context) -> None:
    return


def test_message_to_a_finished_actor_is_a_dead_letter() -> None:
    sim = Simulation()
    sim.spawn("quitter", quitter)
    sim.spawn("pinger", sender, "quitter", 1)
    with pytest.raises(DeadLetter, match=r"toy\.Ping from 'pinger' to 'quitter', which has fin"):
        sim.run_sync()
    assert sim.statistics().status == "dead letter"


def test_telling_an_unknown_actor_crashes_the_sender() -> None:
    sim = Simulation()
    sim.spawn("pinger", sender, "nobody", 1)
    with pytest.raises(ActorCrashed) as caught:
        sim.run_sync()
    assert (caught.value.actor, type(caught.value.__cause__)) == ("pinger", UnknownActor)


async def double_replier(ctx: Context) -> None:
    for env in await ctx.receive():
        ctx.reply(env, toys.Pong(n=1))
        ctx.reply(env, toys.Pong(n=2))


async def tell_replier(ctx: Context) -> None:
    for env in await ctx.receive():
        ctx.reply(env, toys.Pong(n=1))


@pytest.mark.parametrize(
    ("server", "client"),
    [(double_replier, cross_asker), (tell_replier, sender)],
    ids=["second reply", "reply to a tell"],
)
def test_reply_misuse_is_a_protocol_error(server: object, client: object) -> None:
    sim = Simulation()
    sim.spawn("server", server)  # type: ignore[arg-type]
    if client is sender:
        sim.spawn("client", sender, "server", 1)
    else:
        sim.spawn("client", cross_asker, "server")
    with pytest.raises(ActorCrashed) as caught:
        sim.run_sync()
    assert (caught.value.actor, type(caught.value.__cause__)) == ("server", ProtocolError)


async def wrong_type_asker(ctx: Context) -> None:
    await ctx.ask("ponger", toys.Ping(n=0), toys.Tick)


def test_ask_refuses_a_reply_of_the_wrong_type() -> None:
    sim = Simulation()
    sim.spawn("ponger", toys.ponger)
    sim.spawn("asker", wrong_type_asker)
    with pytest.raises(ActorCrashed, match=r"answered toy\.Ping with Pong"):
        sim.run_sync()


async def chatterbox(ctx: Context, peer: str) -> None:
    ctx.tell(peer, toys.Ping(n=0))
    while True:
        for env in await ctx.receive():
            ctx.tell(peer, env.msg)


def test_livelock_at_one_instant_is_detected() -> None:
    sim = Simulation(max_deltas_per_instant=50)
    sim.spawn("a", chatterbox, "b")
    sim.spawn("b", chatterbox, "a")
    with pytest.raises(Livelock, match="more than 50 deltas at one instant; still sending: a, b"):
        sim.run_sync()


async def parent(ctx: Context, seen: Seen) -> None:
    ctx.spawn("child", collector, seen)
    ctx.tell("child", toys.Ping(n=7))


def test_spawned_actor_starts_next_delta_and_gets_mail_sent_at_once() -> None:
    seen: Seen = []
    sim = Simulation()
    sim.spawn("parent", parent, seen)
    run(sim)
    assert seen == [(0, 2, "parent", toys.Ping(n=7))]


def test_two_actors_cannot_share_a_name() -> None:
    sim = Simulation()
    sim.spawn("twin", quitter)
    with pytest.raises(ValueError, match="already exists"):
        sim.spawn("twin", quitter)


def test_each_actor_draws_from_its_own_seeded_stream() -> None:
    draws: dict[str, float] = {}

    async def draw(ctx: Context) -> None:
        draws[ctx.name] = ctx.rng.random()

    sim = Simulation(seed=11)
    sim.spawn("x", draw)
    sim.spawn("y", draw)
    run(sim)
    assert draws == {name: random.Random(f"11:{name}").random() for name in ("x", "y")}


def test_statistics_count_deliveries_by_kind() -> None:
    sim = Simulation()
    toys.ping_pong(sim, rounds=3)
    run(sim)
    stats = sim.statistics()
    counts = (stats.starts, stats.asks, stats.replies, stats.tells, stats.timers)
    assert counts == (2, 3, 3, 3, 3)
    assert stats.deliveries == sum(counts)
    assert [(a.name, a.state, a.sent, a.received) for a in stats.actors] == [
        ("pinger", "finished", 9, 7),
        ("ponger", "receiving", 3, 7),
    ]


def test_a_run_cannot_be_repeated() -> None:
    sim = Simulation()
    run(sim)
    with pytest.raises(RuntimeError, match="runs once"):
        run(sim)


async def test_run_works_inside_a_running_trio_program() -> None:
    sim = Simulation()
    toys.ping_pong(sim, rounds=2)
    result = await sim.run()
    assert (result.status, result.now_ns) == ("quiescent", 2_000)


async def test_cancelling_the_caller_cancels_the_run() -> None:
    with trio.CancelScope() as scope:

        async def canceller(ctx: Context) -> None:
            await ctx.sleep_until(5_000)
            scope.cancel()
            await ctx.sleep_until(6_000)

        sim = Simulation()
        sim.spawn("canceller", canceller)
        await sim.run()
    assert (scope.cancelled_caught, sim.statistics().now_ns) == (True, 5_000)


async def gc_state(ctx: Context, seen: list[bool]) -> None:
    seen.append(gc.isenabled())


def test_the_collector_is_paused_during_a_run_and_restored_after() -> None:
    seen: list[bool] = []
    sim = Simulation()
    sim.spawn("probe", gc_state, seen)
    assert gc.isenabled()
    run(sim)
    assert (seen, gc.isenabled()) == ([False], True)
    kept: list[bool] = []
    sim = Simulation(tune_gc=False)
    sim.spawn("probe", gc_state, kept)
    run(sim)
    assert kept == [True]


async def allocator(ctx: Context, keep: list[list[int]]) -> None:
    for _ in range(5):
        keep.extend([i] for i in range(50))  # live containers: the valve's measure
        await ctx.sleep_until(ctx.now_ns + 1)


@pytest.mark.parametrize("enabled", [True, False])
def test_the_valve_collects_only_when_the_caller_had_the_collector_on(
    enabled: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(simulation, "GC_VALVE", 100)
    collections: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections.append(info["generation"])

    sim = Simulation()
    sim.spawn("allocator", allocator, [])
    if not enabled:
        gc.disable()
    gc.callbacks.append(count)
    try:
        run(sim)
        assert gc.isenabled() is enabled
    finally:
        gc.callbacks.remove(count)
        gc.enable()
    # 250 live lists against a valve of 100: full collections, unless the caller said no
    assert (collections.count(2) >= 2) is enabled


def test_overlapping_pauses_end_in_any_order_and_the_last_one_restores() -> None:
    first, second = paused_gc(), paused_gc()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert not gc.isenabled()  # the other pause is still on
    second.__exit__(None, None, None)
    assert gc.isenabled()


async def cycle_maker(ctx: Context, keep: list[list[int]]) -> None:
    keep.extend([i] for i in range(200_000))
    loop: list[object] = []
    loop.append(loop)  # cyclic garbage, only the collector can free it
    del loop


def test_a_run_hands_its_objects_to_the_oldest_generation_untraced_yet_collectable() -> None:
    starts: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            starts.append(info["generation"])

    gc.collect()
    sim = Simulation()
    keep: list[list[int]] = []
    sim.spawn("maker", cycle_maker, keep)
    thresholds = gc.get_threshold()
    gc.set_threshold(100_000)  # the teardown's own allocations stay below it
    gc.callbacks.append(count)
    try:
        run(sim)  # re-enabled as they stood, 200k lists would be traced on the way out
        assert starts == []
        assert gc.get_freeze_count() == 0  # nothing left frozen
    finally:
        gc.callbacks.remove(count)
        gc.set_threshold(*thresholds)
    assert gc.collect() >= 1  # the run's cycle is still the collector's to free
