"""The run log: a header, then one record per delivery and per actor event, then an end record.

Levels (`LogLevel`):

* ``messages`` (default): every delivered message — kind, sender, receiver,
  tag, correlation id and the exact payload bytes — plus every actor event;
  two runs compare at message granularity.
* ``events``: actor events only, plus one ``G`` record per delta carrying a
  rolling BLAKE2b digest of every delivery so far, so a divergence is still
  caught (at delta granularity) in a much smaller file.
* ``off``: no file.

Records (msgpack arrays; the jsonl form is the same as objects with these keys)::

    H  {"seq": 0, "k": "H", "format", "schedsim", "seed", "scenario", "params", ...}
    D  [seq, "D", vtime_ns, delta, kind, sender, receiver, tag, corr, payload]
    E  [seq, "E", vtime_ns, delta, actor, level, event, {key: value...}]
    G  [seq, "G", vtime_ns, delta, deliveries, digest]
    X  [seq, "X", vtime_ns, delta, status, {key: value...}]

*seq* numbers the records from 0.  In a msgpack file the D records of one
delta are stored together as one ``B`` record, ``[seq, "B", vtime_ns, delta,
[[kind, sender, receiver, tag, corr, payload], ...]]``, standing for D records
seq, seq+1, ...; the reader (actors/logread.py) expands it, so readers and
`compare` only ever see D records.  (One C-level pack per delta instead of
one Python call per delivery: the default level then costs ~1.1x no log.)
*kind* is start, tell, ask, reply or timer; *corr* is the ask id of an ask and
its reply, the timer id of a timer, else 0; *payload* is the message exactly
as sent (None for starts and timers).

Order inside a delta is canonical: its deliveries in delivery order, then the
events of each actor woken in it, actors in the order they were woken, each
actor's events in the order it emitted them.  Events are rendered while the
actor runs (so a value that cannot be encoded fails in that actor) and held
until the delta ends, because trio runs the woken actors in random order.

structlog is the front end (`actor_logger`): each actor gets a bound logger
built with `structlog.wrap_logger` around its own `EventSink`; structlog's
global configuration is never touched (only runner.py may configure it).
Disabled levels are structlog's no-op methods; guard costly arguments with
``if ctx.debug:``.  structlog's BytesLogger is not used: it appends a newline
to each record, a stray byte in a msgpack stream.
"""

from __future__ import annotations

import enum
import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import IO, Any

import msgpack
import structlog
from structlog.typing import EventDict

from actors.clock import KIND_NAMES
from actors.codec import CodecError, decode, pack_default, to_jsonable

__all__ = [
    "DELIVERY_FIELDS",
    "FIELDS",
    "LEVELS",
    "LOG_FORMAT_VERSION",
    "EventSink",
    "LogFormat",
    "LogLevel",
    "LogSpec",
    "RunLog",
    "actor_logger",
    "open_run_log",
    "schedsim_version",
]

LOG_FORMAT_VERSION = 1

FIELDS: Mapping[str, tuple[str, ...]] = {
    "D": ("seq", "k", "vtime_ns", "delta", "kind", "sender", "receiver", "tag", "corr", "payload"),
    "E": ("seq", "k", "vtime_ns", "delta", "actor", "level", "event"),
    "G": ("seq", "k", "vtime_ns", "delta", "deliveries", "digest"),
    "X": ("seq", "k", "vtime_ns", "delta", "status"),
    "B": ("seq", "k", "vtime_ns", "delta", "deliveries"),
}
"""Positional fields of each record kind; E and X end with a map merged into the object view."""

DELIVERY_FIELDS = FIELDS["D"][4:]
"""The fields of one delivery inside a B record."""

LEVELS: Mapping[str, int] = {"debug": 10, "info": 20, "warning": 30, "error": 40, "critical": 50}
_RESERVED = frozenset(FIELDS["E"])
_EVENT_HEAD = b"\x98"  # fixarray of 8: seq, "E", then the six rendered fields
_EVENT_KIND = msgpack.packb("E")
_BATCHED_ROWS = 4096  # deliveries held in memory before they are written out


class LogLevel(enum.Enum):
    OFF = "off"
    EVENTS = "events"
    MESSAGES = "messages"


class LogFormat(enum.Enum):
    MSGPACK = "msgpack"
    JSONL = "jsonl"


@dataclass(frozen=True, slots=True, kw_only=True)
class LogSpec:
    """Where and how a run logs.  No *path* means no log at all."""

    path: str | os.PathLike[str] | None = None
    level: LogLevel = LogLevel.MESSAGES
    format: LogFormat = LogFormat.MSGPACK
    event_level: str = "info"

    def __post_init__(self) -> None:
        if self.event_level not in LEVELS:
            raise ValueError(f"event_level must be one of {sorted(LEVELS)}")


def schedsim_version() -> str:
    try:
        return metadata.version("schedsim")
    except metadata.PackageNotFoundError:
        return "0+unknown"


@dataclass(slots=True)
class _Digest:
    deliveries: int = 0
    hash: hashlib.blake2b = field(default_factory=lambda: hashlib.blake2b(digest_size=16))


class RunLog:
    """One run's log file (msgpack stream); `JsonlRunLog` renders the same records as JSON."""

    def __init__(self, stream: IO[bytes], level: LogLevel) -> None:
        self.level = level
        self.records = 0
        self.bytes = 0
        self._stream = stream
        self._pack = msgpack.Packer(default=pack_default, strict_types=True).pack
        self._bulk = msgpack.Packer().pack  # deliveries hold only plain values
        # B records accumulate in a packer's own buffer: no bytes object, no write() per delta
        self._batches = msgpack.Packer(autoreset=False)
        self._pack_batch = self._batches.pack
        self._batched = 0
        self._digest = _Digest()

    # -- writing --------------------------------------------------------------

    def _write(self, data: bytes, count: int) -> None:
        if self._batched:
            self._drain()
        self._stream.write(data)
        self.records += count
        self.bytes += len(data)

    def _drain(self) -> None:
        data = self._batches.bytes()
        self._batches.reset()
        self._batched = 0
        self._stream.write(data)
        self.bytes += len(data)

    def header(self, fields: Mapping[str, object]) -> None:
        self._write(self._pack({"seq": 0, "k": "H", **fields}), 1)

    def deliveries(self, now: int, delta: int, batch: Sequence[tuple[Any, ...]]) -> None:
        """The D records of one delta (``messages`` level), stored as one B record."""
        if len(batch) == 1:  # the common case of staggered timers, spared a comprehension
            e = batch[0]
            rows = [(KIND_NAMES[e[3]], e[1], e[4].name, e[7], e[5], e[6])]
        else:
            rows = _rows(batch)
        self._pack_batch([self.records, "B", now, delta, rows])
        self.records += len(rows)
        self._batched += len(rows) + 8
        if self._batched > _BATCHED_ROWS:
            self._drain()

    def digest(self, now: int, delta: int, batch: Sequence[tuple[Any, ...]]) -> None:
        """Fold one delta's deliveries into the rolling digest and write its G record."""
        state = self._digest
        state.hash.update(self._bulk(_rows(batch)))
        state.deliveries += len(batch)
        self._write_digest(now, delta, state.deliveries, state.hash.digest())

    def _write_digest(self, now: int, delta: int, deliveries: int, digest: bytes) -> None:
        self._write(self._pack([self.records, "G", now, delta, deliveries, digest]), 1)

    def render_event(
        self, vtime_ns: int, delta: int, actor: str, level: str, event: str, kv: dict[str, Any]
    ) -> bytes:
        """An E record without its seq (the seq is known only when the delta is written out)."""
        return self._pack([vtime_ns, delta, actor, level, event, kv])[1:]

    def events(self, bodies: Sequence[bytes]) -> None:
        """Write rendered events (from `render_event`), numbering them."""
        seq, pack = self.records - 1, self._pack
        out = []
        for body in bodies:
            seq += 1
            out.append(_EVENT_HEAD + pack(seq) + _EVENT_KIND + body)
        self._write(b"".join(out), len(bodies))

    def end(self, now: int, delta: int, status: str, info: Mapping[str, object]) -> None:
        if self.level is LogLevel.EVENTS:
            info = {**info, "digest": self.rolling_digest()}
        self._write(self._pack([self.records, "X", now, delta, status, dict(info)]), 1)

    def rolling_digest(self) -> str:
        return self._digest.hash.hexdigest()

    def close(self) -> None:
        try:
            if self._batched:
                self._drain()
        finally:
            self._stream.close()


class JsonlRunLog(RunLog):
    """The same records as JSON objects, one per line, for people and jq."""

    def _line(self, record: Mapping[str, object]) -> bytes:
        return (json.dumps(to_jsonable(record), separators=(",", ":")) + "\n").encode()

    def header(self, fields: Mapping[str, object]) -> None:
        self._write(self._line({"seq": 0, "k": "H", **fields}), 1)

    def deliveries(self, now: int, delta: int, batch: Sequence[tuple[Any, ...]]) -> None:
        seq = self.records - 1
        out = []
        for entry in batch:
            seq += 1
            payload = entry[6]
            head = (seq, "D", now, delta, KIND_NAMES[entry[3]])
            record = dict(zip(FIELDS["D"][:5], head, strict=True))
            record.update(sender=entry[1], receiver=entry[4].name, tag=entry[7], corr=entry[5])
            record["msg"] = None if payload is None else _message_view(payload)
            out.append(self._line(record))
        self._write(b"".join(out), len(batch))

    def _write_digest(self, now: int, delta: int, deliveries: int, digest: bytes) -> None:
        values = (self.records, "G", now, delta, deliveries, digest.hex())
        self._write(self._line(dict(zip(FIELDS["G"], values, strict=True))), 1)

    def render_event(
        self, vtime_ns: int, delta: int, actor: str, level: str, event: str, kv: dict[str, Any]
    ) -> bytes:
        values = ("E", vtime_ns, delta, actor, level, event)
        record: dict[str, object] = dict(zip(FIELDS["E"][1:], values, strict=True))
        record.update(kv)
        text: str = json.dumps(to_jsonable(record), separators=(",", ":"))
        return text[1:].encode()

    def events(self, bodies: Sequence[bytes]) -> None:
        seq = self.records
        lines = [b'{"seq":%d,%s\n' % (seq + i, body) for i, body in enumerate(bodies)]
        self._write(b"".join(lines), len(bodies))

    def end(self, now: int, delta: int, status: str, info: Mapping[str, object]) -> None:
        if self.level is LogLevel.EVENTS:
            info = {**info, "digest": self.rolling_digest()}
        values = (self.records, "X", now, delta, status)
        self._write(self._line({**dict(zip(FIELDS["X"], values, strict=True)), **info}), 1)


def _rows(batch: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Timeline entries -> (kind, sender, receiver, tag, corr, payload) rows."""
    return [(KIND_NAMES[e[3]], e[1], e[4].name, e[7], e[5], e[6]) for e in batch]


def _message_view(payload: bytes) -> object:
    try:
        msg = decode(payload)
    except CodecError:
        return {"_hex": payload.hex()}
    view = to_jsonable(msg)
    if isinstance(view, dict):
        view.pop("_tag", None)
    return view


def open_run_log(spec: LogSpec | None) -> RunLog | None:
    """Open the log file of *spec* for writing (None when logging is off)."""
    if spec is None or spec.path is None or spec.level is LogLevel.OFF:
        return None
    stream = open(spec.path, "wb")  # noqa: SIM115 - closed by the run on every exit path
    if spec.format is LogFormat.JSONL:
        return JsonlRunLog(stream, spec.level)
    return RunLog(stream, spec.level)


# -- structlog front end ------------------------------------------------------------


class EventSink:
    """The 'logger' structlog wraps for an actor: rendered events wait here until the delta ends.

    The first event of a delta enlists the sink in *dirty* (shared by the run), so the
    end of a delta visits only the actors that logged.
    """

    __slots__ = ("buffer", "dirty")

    def __init__(self, dirty: list[EventSink]) -> None:
        self.buffer: list[bytes] = []
        self.dirty = dirty

    def add(self, body: bytes) -> None:
        if not self.buffer:
            self.dirty.append(self)
        self.buffer.append(body)


def actor_logger(
    name: str, sink: EventSink, log: RunLog | None, stamp: Callable[[], tuple[int, int]], level: str
) -> Any:
    """A bound structlog logger for actor *name*: events carry vtime_ns, actor and delta."""

    def add_stamp(_: object, __: str, event_dict: EventDict) -> EventDict:
        if "vtime_ns" in event_dict or "delta" in event_dict:
            raise ValueError("log keys 'vtime_ns' and 'delta' are set by the bus")
        event_dict["vtime_ns"], event_dict["delta"] = stamp()
        return event_dict

    def render(_: object, method: str, event_dict: EventDict) -> EventDict:
        if log is None:
            raise structlog.DropEvent
        kv = dict(event_dict)
        head = (kv.pop("vtime_ns"), kv.pop("delta"), kv.pop("actor"), method, kv.pop("event"))
        if not _RESERVED.isdisjoint(kv):
            raise ValueError(f"log keys {sorted(_RESERVED & kv.keys())} are reserved")
        sink.add(log.render_event(*head, kv))
        raise structlog.DropEvent

    threshold = LEVELS[level] if log is not None else LEVELS["critical"]
    return structlog.wrap_logger(
        sink,
        processors=[add_stamp, render],
        wrapper_class=structlog.make_filtering_bound_logger(threshold),
        context_class=dict,
        cache_logger_on_first_use=True,
        actor=name,
    ).bind()
