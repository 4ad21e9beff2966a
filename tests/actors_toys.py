"""Toy actor systems for the runtime's tests (they know nothing about scheduling).

* ``ping_pong``: two actors trading asks and tells, logging events;
* ``fan_in``: clients hitting a serializing server at the same instants
  (TASKLET mode: refused requests are retried at the next tick);
* ``equal_timers``: actors whose timers fire at the same instants, reporting
  to a recorder, so the seed decides the order of simultaneous deliveries;
* ``ask_chain``: an ask relayed down a chain of actors and answered back up.

Run as a script (``python tests/actors_toys.py SEED DIR``) it runs every toy
into DIR and prints one SHA-256 over all the logs: the subprocess determinism
test compares that line across fresh interpreters, where trio's scheduler
shuffles for real (this module must not import hypothesis).
"""

from __future__ import annotations

import enum
import hashlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from actors import Context, LogFormat, LogLevel, LogSpec, SerialMode, Simulation, message
from topology.cpumask import CpuMask

TICK_NS = 1_000


@message("toy.Ping")
@dataclass(frozen=True, slots=True, kw_only=True)
class Ping:
    """pinger -> ponger: a number to increment."""

    n: int


@message("toy.Pong")
@dataclass(frozen=True, slots=True, kw_only=True)
class Pong:
    """ponger -> pinger: the incremented number."""

    n: int


@message("toy.Request")
@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    """client -> server: please serve request *n*; *cpus* is carried for the codec's sake."""

    n: int
    cpus: CpuMask


@message("toy.Served")
@dataclass(frozen=True, slots=True, kw_only=True)
class Served:
    """server's job -> client: request *n* was served."""

    n: int


@message("toy.Refused")
@dataclass(frozen=True, slots=True, kw_only=True)
class Refused:
    """server -> client: request *n* found the serializer busy; retry."""

    n: int


@message("toy.Tick")
@dataclass(frozen=True, slots=True, kw_only=True)
class Tick:
    """timer actor -> recorder: my timer number *k* fired."""

    k: int


@message("toy.Hop")
@dataclass(frozen=True, slots=True, kw_only=True)
class Hop:
    """chain link i -> link i+1: relay this ask; *path* lists the links so far."""

    path: tuple[str, ...]


@message("toy.HopReply")
@dataclass(frozen=True, slots=True, kw_only=True)
class HopReply:
    """the last link -> back up the chain: the full path."""

    path: tuple[str, ...]


@message("toy.Color")
class Color(enum.IntEnum):
    """A registered enum whose members equal those of `Size` (codec cache keys)."""

    RED = 1


@message("toy.Size")
class Size(enum.IntEnum):
    """See `Color`."""

    BIG = 1


@message("toy.Weight")
@dataclass(frozen=True, slots=True, kw_only=True)
class Weight:
    """a small record with a float: 0.0 and -0.0 are equal but pack differently."""

    x: float


@message("toy.Bag")
@dataclass(frozen=True, slots=True, kw_only=True)
class Bag:
    """anyone -> anyone: a frozen message with a mutable field (it must travel as a copy)."""

    items: dict[str, int]


# -- ping-pong -------------------------------------------------------------------


async def pinger(ctx: Context, peer: str, rounds: int) -> None:
    n = 0
    for _ in range(rounds):
        reply = await ctx.ask(peer, Ping(n=n), Pong)
        n = reply.n
        ctx.log.info("pong_received", n=n)
        ctx.tell(peer, Ping(n=-n))
        await ctx.sleep_until(ctx.now_ns + TICK_NS)


async def ponger(ctx: Context) -> None:
    while True:
        for env in await ctx.receive():
            assert isinstance(env.msg, Ping)
            if env.ask_id:
                ctx.reply(env, Pong(n=env.msg.n + 1))
            else:
                ctx.log.debug("ping_told", n=env.msg.n)


def ping_pong(sim: Simulation, rounds: int = 5) -> None:
    sim.spawn("ponger", ponger)
    sim.spawn("pinger", pinger, "ponger", rounds)


# -- fan-in to a serializing server ----------------------------------------------------


class Server:
    """A class-based actor: serves one request at a time through a TASKLET serializer."""

    def __init__(self, cost_ns: int) -> None:
        self.cost_ns = cost_ns

    async def __call__(self, ctx: Context) -> None:
        serial = ctx.open_serializer("worker", SerialMode.TASKLET)
        while True:
            for env in await ctx.receive():
                request = env.msg
                assert isinstance(request, Request)
                if not serial.start_soon(self.serve, env.sender, request.n, label=env.sender):
                    ctx.tell(env.sender, Refused(n=request.n))

    async def serve(self, ctx: Context, client: str, n: int) -> None:
        await ctx.sleep_until(ctx.now_ns + self.cost_ns)
        ctx.log.info("request_served", client=client, n=n)
        ctx.tell(client, Served(n=n))


async def client(ctx: Context, requests: int) -> None:
    served = 0
    ctx.tell("server", Request(n=served, cpus=CpuMask.of([ctx.rng.randrange(130)])))
    while served < requests:
        for env in await ctx.receive():
            if isinstance(env.msg, Served):
                served += 1
            else:
                await ctx.sleep_until(ctx.now_ns + TICK_NS)
            if served < requests:
                ctx.tell("server", Request(n=served, cpus=CpuMask.span(0, 127)))


def fan_in(sim: Simulation, clients: int = 6, requests: int = 3) -> None:
    sim.spawn("server", Server(cost_ns=TICK_NS // 2))
    for i in range(clients):
        sim.spawn(f"client{i}", client, requests)


# -- timers at equal instants -----------------------------------------------------


async def ticker(ctx: Context, ticks: int) -> None:
    for k in range(ticks):
        await ctx.sleep_until((k + 1) * TICK_NS)
        ctx.tell("recorder", Tick(k=k))


async def recorder(ctx: Context, order: list[tuple[int, str]]) -> None:
    while True:
        for env in await ctx.receive():
            order.append((ctx.now_ns, env.sender))


def equal_timers(sim: Simulation, tickers: int = 8, ticks: int = 3) -> list[tuple[int, str]]:
    """The returned list fills with (vtime, sender) in the order the recorder received ticks."""
    order: list[tuple[int, str]] = []
    sim.spawn("recorder", recorder, order)
    for i in range(tickers):
        sim.spawn(f"ticker{i}", ticker, ticks)
    return order


# -- ask chains --------------------------------------------------------------------


async def link(ctx: Context, next_link: str | None) -> None:
    while True:
        for env in await ctx.receive():
            hop = env.msg
            assert isinstance(hop, Hop)
            path = (*hop.path, ctx.name)
            if next_link is None:
                ctx.reply(env, HopReply(path=path))
            else:
                answer = await ctx.ask(next_link, Hop(path=path), HopReply)
                ctx.reply(env, answer)


async def chain_head(ctx: Context, first: str, rounds: int) -> None:
    for _ in range(rounds):
        answer = await ctx.ask(first, Hop(path=(ctx.name,)), HopReply)
        ctx.log.info("chain_answered", path=answer.path)
        await ctx.sleep_until(ctx.now_ns + TICK_NS)


def ask_chain(sim: Simulation, depth: int = 4, rounds: int = 3) -> None:
    names = [f"link{i}" for i in range(depth)]
    for name, next_link in zip(names, [*names[1:], None], strict=True):
        sim.spawn(name, link, next_link)
    sim.spawn("head", chain_head, names[0], rounds)
    sim.spawn("head2", chain_head, names[0], rounds)


TOYS: dict[str, Callable[[Simulation], object]] = {
    "ping_pong": ping_pong,
    "fan_in": fan_in,
    "equal_timers": equal_timers,
    "ask_chain": ask_chain,
}


def run_toy(
    name: str,
    seed: int,
    path: Path | None,
    *,
    level: LogLevel = LogLevel.MESSAGES,
    fmt: LogFormat = LogFormat.MSGPACK,
    event_level: str = "debug",
) -> Simulation:
    spec = LogSpec(path=path, level=level, format=fmt, event_level=event_level)
    sim = Simulation(seed=seed, log=spec, scenario=f"toy {name}", params={"toy": name})
    TOYS[name](sim)
    sim.run_sync()
    return sim


def main(argv: list[str]) -> int:
    seed, directory = int(argv[0]), Path(argv[1])
    digest = hashlib.sha256()
    for name in TOYS:
        path = directory / f"{name}.msgpack"
        run_toy(name, seed, path)
        digest.update(path.read_bytes())
    print(digest.hexdigest(), "hypothesis" in sys.modules)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
