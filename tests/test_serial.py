"""actors/serial.py: one job at a time, TASKLET (LB-T2) and TRYLOCK (LB-T3/LB-T4) refusals."""

from __future__ import annotations

import actors_toys as toys
import pytest

from actors import ActorCrashed, Context, ProtocolError, SerialMode, SerialStatistics, Simulation

JOB_NS = 1_000
Spans = list[tuple[str, int, int]]


async def job(ctx: Context, name: str, spans: Spans) -> None:
    start = ctx.now_ns
    await ctx.sleep_until(start + JOB_NS)
    spans.append((name, start, ctx.now_ns))


async def owner(
    ctx: Context, mode: SerialMode, plan: list[tuple[int, list[str]]], answers: list[object]
) -> None:
    """At each planned instant, submit the named jobs in order; record accepted/refused."""
    serial = ctx.open_serializer("tasklet", mode)
    spans: Spans = []
    answers.append(spans)
    for at_ns, names in plan:
        await ctx.sleep_until(at_ns)
        await drain(ctx)
        for name in names:
            answers.append((ctx.now_ns, name, serial.start_soon(job, name, spans, label=name)))
    await ctx.sleep_until(100 * JOB_NS)
    await drain(ctx)
    answers.append(serial.statistics())


async def drain(ctx: Context) -> None:
    """Let JobDone reports reach the serializer (the owner's receive consumes them)."""
    ctx.tell(ctx.name, toys.Tick(k=0))
    await ctx.receive()


def run_owner(mode: SerialMode, plan: list[tuple[int, list[str]]]) -> list[object]:
    answers: list[object] = []
    sim = Simulation(seed=5)
    sim.spawn("balancer", owner, mode, plan, answers)
    sim.run_sync()
    return answers


def test_tasklet_accepts_one_waiting_job_and_absorbs_the_next() -> None:
    answers = run_owner(SerialMode.TASKLET, [(10, ["cpu0", "cpu1", "cpu2"])])
    assert answers[1:4] == [(10, "cpu0", True), (10, "cpu1", True), (10, "cpu2", False)]


def test_tasklet_jobs_run_one_after_the_other() -> None:
    answers = run_owner(SerialMode.TASKLET, [(10, ["cpu0", "cpu1", "cpu2"])])
    assert answers[0] == [("cpu0", 10, 10 + JOB_NS), ("cpu1", 10 + JOB_NS, 10 + 2 * JOB_NS)]


def test_tasklet_accepts_again_once_the_waiting_job_has_started() -> None:
    plan = [(10, ["cpu0", "cpu1"]), (10 + JOB_NS + 1, ["cpu2", "cpu3"])]
    answers = run_owner(SerialMode.TASKLET, plan)
    assert answers[3:5] == [(JOB_NS + 11, "cpu2", True), (JOB_NS + 11, "cpu3", False)]


def test_trylock_refuses_while_a_job_runs() -> None:
    answers = run_owner(SerialMode.TRYLOCK, [(10, ["cpu0", "cpu1"]), (500, ["cpu1"])])
    assert answers[1:4] == [(10, "cpu0", True), (10, "cpu1", False), (500, "cpu1", False)]


def test_trylock_accepts_once_the_job_is_done() -> None:
    answers = run_owner(SerialMode.TRYLOCK, [(10, ["cpu0"]), (10 + JOB_NS, ["cpu1"])])
    assert answers[1:3] == [(10, "cpu0", True), (10 + JOB_NS, "cpu1", True)]


def test_statistics_count_refusals_per_label_and_time_spent() -> None:
    plan = [(10, ["cpu0", "cpu1", "cpu2", "cpu2"]), (5_000, ["cpu0"])]
    stats = run_owner(SerialMode.TASKLET, plan)[-1]
    assert stats == SerialStatistics(
        name="balancer/tasklet",
        mode="tasklet",
        submitted=5,
        accepted=3,
        refused=2,
        completed=3,
        in_flight=0,
        busy_ns=3 * JOB_NS,
        max_wait_ns=JOB_NS,
        refused_by=(("cpu2", 2),),
    )


async def greedy_job(ctx: Context) -> None:
    await ctx.receive()


async def bad_owner(ctx: Context) -> None:
    serial = ctx.open_serializer("tasklet", SerialMode.TRYLOCK)
    serial.start_soon(greedy_job)
    await ctx.receive()


def test_a_job_cannot_receive_and_its_worker_is_named_in_the_crash() -> None:
    sim = Simulation()
    sim.spawn("balancer", bad_owner)
    with pytest.raises(ActorCrashed) as caught:
        sim.run_sync()
    assert (caught.value.actor, type(caught.value.__cause__)) == ("balancer/tasklet", ProtocolError)
    assert "JobQueued(serial='tasklet', job=1, label='greedy_job')" in caught.value.handling


def test_fan_in_serves_every_request_exactly_once_despite_refusals() -> None:
    sim = Simulation(seed=2)
    toys.fan_in(sim, clients=6, requests=3)
    sim.run_sync()
    (stats,) = sim.statistics().serializers
    assert (stats.accepted, stats.completed, stats.refused > 0) == (18, 18, True)


def test_a_serializer_name_is_unique_per_owner() -> None:
    async def twice(ctx: Context) -> None:
        ctx.open_serializer("s", SerialMode.TASKLET)
        ctx.open_serializer("s", SerialMode.TASKLET)

    sim = Simulation()
    sim.spawn("owner", twice)
    with pytest.raises(ActorCrashed, match="already has a serializer named 's'"):
        sim.run_sync()
