"""actors/logread.py: streaming bounded reading, truncation, corruption, compare, dump."""

from __future__ import annotations

import io
import json
from pathlib import Path

import actors_toys as toys
import msgpack
import pytest

from actors import LogSpec, Simulation
from actors.log import LogFormat
from actors.logread import Divergence, LogCorrupt, LogReader, compare, main


def toy_log(tmp_path: Path, fmt: LogFormat = LogFormat.MSGPACK, seed: int = 1) -> Path:
    path = tmp_path / f"ask_chain-{seed}.{fmt.value}"
    toys.run_toy("ask_chain", seed, path, fmt=fmt)
    return path


def record_ends(path: Path, fmt: LogFormat) -> list[int]:
    """Byte offset where each physical record ends."""
    data = path.read_bytes()
    if fmt is LogFormat.JSONL:
        return [i + 1 for i, byte in enumerate(data) if byte == ord("\n")]
    unpacker = msgpack.Unpacker(strict_map_key=False)
    unpacker.feed(data)
    ends = []
    for _ in unpacker:
        ends.append(unpacker.tell())
    return ends


def test_whole_log_reads_to_its_end_record(tmp_path: Path) -> None:
    path = toy_log(tmp_path)
    reader = LogReader(path)
    found = list(reader)
    assert (reader.format, reader.truncated, reader.ended) == ("msgpack", False, True)
    assert (reader.header, found[-1]["k"], reader.records) == (found[0], "X", len(found))


@pytest.mark.parametrize("fmt", list(LogFormat), ids=lambda fmt: fmt.value)
def test_cut_log_yields_whole_records_then_reports_the_cut(tmp_path: Path, fmt: LogFormat) -> None:
    path = toy_log(tmp_path, fmt)
    full = list(LogReader(path))
    ends = record_ends(path, fmt)
    data = path.read_bytes()
    cuts = {*range(1, 60), *range(len(data) - 60, len(data)), *(end - 1 for end in ends)}
    for cut in sorted(cuts - set(ends)):
        reader = LogReader(io.BytesIO(data[:cut]))
        found = list(reader)
        whole = [end for end in ends if end <= cut]
        assert found == full[: len(found)]
        assert (reader.truncated, reader.truncated_at) == (True, whole[-1] if whole else 0)
        assert reader.ended is False


def test_cut_at_a_record_boundary_reads_as_unended(tmp_path: Path) -> None:
    path = toy_log(tmp_path)
    ends = record_ends(path, LogFormat.MSGPACK)
    reader = LogReader(io.BytesIO(path.read_bytes()[: ends[-2]]))
    list(reader)
    assert (reader.truncated, reader.ended) == (False, False)


@pytest.mark.parametrize(
    "data",
    [
        b"\xdb\xff\xff\xff\xff",  # a 4 GiB str
        b"\xdd\xff\xff\xff\xff",  # a 4 Gi-element array
        b"\xdf\xff\xff\xff\xff",  # a 4 Gi-entry map
        b"\xc6\xff\xff\xff\xff",  # a 4 GiB bin
    ],
    ids=["str", "array", "map", "bin"],
)
def test_hostile_length_is_refused_without_allocating_it(data: bytes) -> None:
    stream = io.BytesIO(msgpack.packb({"k": "H"}) + data + bytes(3 << 20))
    with pytest.raises(LogCorrupt, match="at byte 5"):  # right after the 5-byte header
        list(LogReader(stream, max_record_bytes=1 << 20))


def test_record_over_the_limit_is_corrupt(tmp_path: Path) -> None:
    big = msgpack.packb([1, "E", 0, 0, "a", "info", "big", {"blob": b"x" * 5000}])
    with pytest.raises(LogCorrupt, match="exceeds"):
        list(LogReader(io.BytesIO(msgpack.packb({"k": "H"}) + big), max_record_bytes=1000))


def test_garbage_is_corrupt_after_the_good_records() -> None:
    good = msgpack.packb({"seq": 0, "k": "H"})
    reader = LogReader(io.BytesIO(good + b"\xc1"))
    found: list[dict[str, object]] = []
    with pytest.raises(LogCorrupt, match=f"at byte {len(good)}"):
        found.extend(reader)
    assert found == [{"seq": 0, "k": "H"}]


def test_a_value_that_is_not_a_record_is_corrupt() -> None:
    with pytest.raises(LogCorrupt, match="not a log record"):
        list(LogReader(io.BytesIO(msgpack.packb([1, "Q"]))))


def test_jsonl_line_over_the_limit_is_corrupt() -> None:
    line = json.dumps({"k": "H", "pad": "x" * 500}).encode() + b"\n"
    with pytest.raises(LogCorrupt, match="exceeds 100 bytes"):
        list(LogReader(io.BytesIO(line), max_record_bytes=100))


def test_identical_runs_do_not_diverge(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    assert compare(toy_log(tmp_path / "a"), toy_log(tmp_path)) is None


def ping_log(path: Path, rounds: int) -> Path:
    sim = Simulation(seed=1, log=LogSpec(path=path), scenario="ping pong")
    sim.spawn("ponger", toys.ponger)
    sim.spawn("pinger", toys.pinger, "ponger", rounds)
    sim.run_sync()
    return path


def test_compare_names_the_first_differing_record(tmp_path: Path) -> None:
    a = ping_log(tmp_path / "a.msgpack", rounds=3)
    b = ping_log(tmp_path / "b.msgpack", rounds=4)
    records_a, records_b = list(LogReader(a)), list(LogReader(b))
    first = next(i for i, (x, y) in enumerate(zip(records_a, records_b, strict=False)) if x != y)
    divergence = compare(a, b)
    assert divergence == Divergence(first, records_a[first], records_b[first], 3_000)
    assert (records_a[first]["k"], records_b[first]["kind"]) == ("X", "ask")
    assert str(divergence).startswith(f"logs diverge at record {first} (vtime 3000 ns):")


def test_compare_reports_where_a_cut_log_ends(tmp_path: Path) -> None:
    full = toy_log(tmp_path)
    ends = record_ends(full, LogFormat.MSGPACK)
    cut = tmp_path / "cut.msgpack"
    cut.write_bytes(full.read_bytes()[: ends[-3]])
    records = list(LogReader(full))
    divergence = compare(full, cut)
    assert divergence is not None
    assert (divergence.a, divergence.b) == (records[divergence.index], None)
    assert divergence.index == len(list(LogReader(cut)))


def test_dump_prints_every_record_as_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = toy_log(tmp_path)
    assert main([str(path)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    asks = [r for r in lines if r["k"] == "D" and r["kind"] == "ask"]
    assert (len(lines), asks[0]["msg"]) == (len(list(LogReader(path))), {"path": ["head"]})
