"""Reading run logs back: a streaming, bounded reader, `compare`, and a jsonl dump for jq.

`LogReader` yields each record as a dict with the keys of actors/log.py
(msgpack arrays are given their field names; E and X maps are merged in), so
msgpack and jsonl logs read alike.  It is built for files it cannot trust:

* streaming: the file is read in chunks, never whole;
* bounded: msgpack's own limits (buffer, str, bin, array, map, ext sizes) and a
  line-length limit for jsonl stop a corrupt or hostile length field from
  exhausting memory (`LogCorrupt`);
* crash-tolerant: a file cut short yields every whole record, then stops with
  ``reader.truncated`` set and ``reader.truncated_at`` the offset of the cut
  record (a crash can only cut the tail).

``python -m actors.logread RUN.msgpack | jq ...`` prints any log as jsonl.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import zip_longest
from typing import IO, Any

import msgpack

from actors.codec import CodecError, decode, ext_hook, to_jsonable
from actors.log import DELIVERY_FIELDS, FIELDS

__all__ = ["Divergence", "LogCorrupt", "LogReader", "compare", "main"]

Record = dict[str, Any]
DEFAULT_MAX_RECORD = 16 << 20
CHUNK = 1 << 16


class LogCorrupt(ValueError):
    """Bytes that are not a log (as opposed to a log cut short)."""

    def __init__(self, text: str, offset: int) -> None:
        super().__init__(f"{text} at byte {offset}")
        self.offset = offset


def record_views(record: object, offset: int) -> list[Record]:
    """A msgpack record (array, or the header map) as dicts (a B record expands to D records)."""
    if isinstance(record, dict):
        return [record]
    if (
        not isinstance(record, tuple)
        or len(record) < 2
        or not isinstance(record[1], str)
        or record[1] not in FIELDS
    ):
        raise LogCorrupt(f"not a log record: {record!r:.80}", offset)
    names = FIELDS[record[1]]
    if record[1] == "B":
        return _expand(record, offset)
    view = dict(zip(names, record, strict=False))
    if len(record) == len(names) + 1 and isinstance(record[-1], dict):
        view.update(record[-1])
    elif len(record) != len(names):
        raise LogCorrupt(f"{record[1]} record with {len(record)} fields", offset)
    return [view]


def _expand(record: tuple[Any, ...], offset: int) -> list[Record]:
    if len(record) != len(FIELDS["B"]) or not isinstance(record[4], tuple):
        raise LogCorrupt(f"malformed B record {record!r:.80}", offset)
    seq, _, vtime_ns, delta, rows = record
    views = []
    for i, row in enumerate(rows):
        if not isinstance(row, tuple) or len(row) != len(DELIVERY_FIELDS):
            raise LogCorrupt(f"malformed delivery {row!r:.80}", offset)
        view: Record = {"seq": seq + i, "k": "D", "vtime_ns": vtime_ns, "delta": delta}
        view.update(zip(DELIVERY_FIELDS, row, strict=True))
        views.append(view)
    return views


class LogReader:
    """Iterate the records of one log file (see the module docstring)."""

    def __init__(
        self,
        source: str | os.PathLike[str] | IO[bytes],
        *,
        max_record_bytes: int = DEFAULT_MAX_RECORD,
    ) -> None:
        self.source = source
        self.max_record_bytes = max_record_bytes
        self.format: str | None = None
        self.header: Record | None = None
        self.records = 0
        self.truncated = False
        self.truncated_at: int | None = None
        self.ended = False
        self._whole = 0
        """True once the end record (k == "X") has been read: the run closed its log."""

    def __iter__(self) -> Iterator[Record]:
        if isinstance(self.source, (str, os.PathLike)):
            with open(self.source, "rb") as stream:
                yield from self._read(stream)
        else:
            yield from self._read(self.source)

    def _read(self, stream: IO[bytes]) -> Iterator[Record]:
        first = stream.read(1)
        self.format = "jsonl" if first == b"{" else "msgpack"
        reader = self._jsonl if self.format == "jsonl" else self._msgpack
        for record in reader(stream, first):
            if self.records == 0:
                self.header = record
            self.records += 1
            self.ended = record.get("k") == "X"
            yield record

    def _msgpack(self, stream: IO[bytes], first: bytes) -> Iterator[Record]:
        limit = self.max_record_bytes
        unpacker = msgpack.Unpacker(
            use_list=False,
            strict_map_key=False,
            ext_hook=ext_hook,
            max_buffer_size=limit + CHUNK,
            max_str_len=limit,
            max_bin_len=limit,
            max_array_len=limit // 2,
            max_map_len=limit // 4,
            max_ext_len=limit,
        )
        fed, chunk = 0, first
        self._whole = 0  # bytes up to the end of the last whole record
        while chunk:
            try:
                unpacker.feed(chunk)
            except msgpack.BufferFull:
                raise LogCorrupt(f"a record exceeds {limit} bytes", self._whole) from None
            fed += len(chunk)
            yield from self._unpack_all(unpacker)
            chunk = stream.read(CHUNK)
        if self._whole < fed:
            self.truncated, self.truncated_at = True, self._whole

    def _unpack_all(self, unpacker: msgpack.Unpacker) -> Iterator[Record]:
        # tell() also counts the bytes of a record parsed only in part, hence _whole
        while True:
            try:
                record = unpacker.unpack()
            except msgpack.OutOfData:
                return
            except (ValueError, msgpack.UnpackException) as exc:
                raise LogCorrupt(f"undecodable record ({exc})", self._whole) from None
            views = record_views(record, self._whole)
            self._whole = unpacker.tell()
            yield from views

    def _jsonl(self, stream: IO[bytes], first: bytes) -> Iterator[Record]:
        offset, pending = 0, first
        while True:
            line = pending + stream.readline(self.max_record_bytes + 1 - len(pending))
            pending = b""
            if not line:
                return
            if not line.endswith(b"\n"):
                if len(line) > self.max_record_bytes:
                    raise LogCorrupt(f"a line exceeds {self.max_record_bytes} bytes", offset)
                self.truncated, self.truncated_at = True, offset
                return
            try:
                record = json.loads(line)
            except ValueError as exc:
                raise LogCorrupt(f"not JSON ({exc})", offset) from None
            except RecursionError:  # json recurses once per level of nesting
                raise LogCorrupt("a record nested too deeply", offset) from None
            kind = record.get("k") if isinstance(record, dict) else None
            if not isinstance(kind, str) or kind not in {"H", "D", "E", "G", "X"}:
                raise LogCorrupt("not a log record", offset)
            yield record
            offset += len(line)


@dataclass(frozen=True, slots=True)
class Divergence:
    """The first record where two logs differ (None: that log has ended)."""

    index: int
    a: Record | None
    b: Record | None
    vtime_ns: int | None

    def __str__(self) -> str:
        return (
            f"logs diverge at record {self.index} (vtime {self.vtime_ns} ns):\n"
            f"  a: {self.a}\n  b: {self.b}"
        )


def compare(
    log_a: str | os.PathLike[str] | LogReader, log_b: str | os.PathLike[str] | LogReader
) -> Divergence | None:
    """The first divergence between two logs of the same format, or None if they agree."""
    reader_a = log_a if isinstance(log_a, LogReader) else LogReader(log_a)
    reader_b = log_b if isinstance(log_b, LogReader) else LogReader(log_b)
    for index, (a, b) in enumerate(zip_longest(reader_a, reader_b)):
        if a != b:
            vtime = (a or {}).get("vtime_ns", (b or {}).get("vtime_ns"))
            return Divergence(index, a, b, vtime)
    return None


def jsonl_view(record: Record) -> Record:
    """A record with its payload decoded for people (unknown tags stay hex)."""
    view = dict(record)
    payload = view.pop("payload", None)
    if isinstance(payload, bytes):
        try:
            msg = to_jsonable(decode(payload))
        except CodecError:
            msg = {"_hex": payload.hex()}
        if isinstance(msg, dict):
            msg.pop("_tag", None)
        view["msg"] = msg
    elif record.get("k") == "D":
        view["msg"] = None
    return view


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m actors.logread LOG``: print the log as JSON lines (for jq)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m actors.logread LOG", file=sys.stderr)
        return 2
    reader = LogReader(args[0])
    for record in reader:
        print(json.dumps(to_jsonable(jsonl_view(record)), separators=(",", ":")))
    if reader.truncated:
        print(f"log truncated at byte {reader.truncated_at}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
