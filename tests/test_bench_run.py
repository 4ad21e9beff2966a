"""bench/run.py's table: medians, ranges, pairwise ratios, target verdicts, alignment.

Fixed numbers only: nothing here runs or times a benchmark.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pytest

# bench/ is no installed package: plain `pytest` (unlike `python -m pytest`) needs the root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.run import (
    Row,
    Target,
    format_table,
    format_value,
    header_line,
    ratios,
    row_cells,
    sections_of,
)


def test_row_median_and_range_of_three_runs() -> None:
    row = Row("s", "three", "s", (3.0, 1.0, 2.0))
    assert row.median == 2.0
    assert row_cells(row)[:5] == ["three", "2.00", "(1.00-3.00)", "s", "3"]


def test_row_median_of_an_even_count_is_the_mean_of_the_middle_two() -> None:
    assert Row("s", "four", "s", (4.0, 1.0, 2.0, 3.0)).median == 2.5


def test_target_verdict_is_ok_when_the_median_keeps_the_bound() -> None:
    at_most = Target("<=", 1.3, "x")
    at_least = Target(">=", 0.35, "x")
    assert Row("s", "a", "x", (1.2, 1.25, 1.9), at_most).verdict == "ok"
    assert Row("s", "b", "x", (0.3, 0.35, 0.36), at_least).verdict == "ok"


def test_target_verdict_is_missed_when_the_median_breaks_the_bound() -> None:
    at_most = Target("<=", 1.3, "x")
    at_least = Target(">=", 0.35, "x")
    assert Row("s", "a", "x", (1.0, 1.31, 1.4), at_most).verdict == "MISSED"
    assert Row("s", "b", "x", (0.2, 0.34, 0.9), at_least).verdict == "MISSED"


def test_row_without_target_or_samples_has_no_verdict() -> None:
    assert Row("s", "a", "x", (1.0, 2.0, 3.0)).verdict == ""
    assert Row("s", "b", "x", (), Target("<=", 1.0)).verdict == ""


def test_target_prints_operator_value_and_unit() -> None:
    assert [str(Target("<=", 600.0, " s")), str(Target(">=", 0.35, "x"))] == [
        "<= 600 s",
        ">= 0.35x",
    ]


def test_ratios_pair_the_ith_runs_and_skip_failed_ones() -> None:
    assert ratios([2.0, None, 9.0, 4.0], [1.0, 3.0, 3.0, 0.0]) == (2.0, 3.0)


def test_format_value_keeps_about_three_significant_digits() -> None:
    values = [1_234_567.0, 123.4, 12.34, 1.234, 0.01234]
    assert [format_value(v) for v in values] == ["1,234,567", "123", "12.3", "1.23", "0.0123"]


def test_format_value_gives_ratios_three_decimals_below_ten() -> None:
    assert [format_value(1.3024, "x"), format_value(12.345, "x")] == ["1.302", "12.35"]


def test_failed_row_shows_a_dash_and_its_note() -> None:
    row = Row("simulate", "tasklet 64 CPUs wall", "s", (), note="3 run(s) FAILED")
    assert row_cells(row) == ["tasklet 64 CPUs wall", "-", "", "s", "0", "", "", "3 run(s) FAILED"]


def test_single_run_row_says_so_instead_of_a_range() -> None:
    assert row_cells(Row("big", "wall", "s", (512.0,)))[1:3] == ["512", "(1 run)"]


def test_table_puts_rows_under_sections_with_aligned_columns() -> None:
    rows = [
        Row("engine", "bus", "ev/s", (350_000.0, 340_000.0, 360_000.0)),
        Row("engine", "bus/simpy", "x", (0.5, 0.6, 0.55), Target(">=", 0.35, "x")),
        Row("stress", "sweep", "seeds/min", (1000.0, 1200.0, 1100.0), Target(">=", 2000.0)),
    ]
    assert format_table(rows).splitlines() == [
        "              median          (min-max)  unit       runs",
        "engine",
        "  bus        350,000  (340,000-360,000)  ev/s          3",
        "  bus/simpy    0.550      (0.500-0.600)  x             3  target >= 0.35x  ok",
        "stress",
        "  sweep        1,100      (1,000-1,200)  seeds/min     3  target >= 2000   MISSED",
    ]


def test_sections_default_to_all_but_big() -> None:
    assert sections_of(None, big=False) == [
        "engine",
        "domains",
        "simulate",
        "logging",
        "replay",
        "stress",
    ]
    assert sections_of(None, big=True)[-1] == "big"


def test_only_keeps_suite_order_and_rejects_unknown_names() -> None:
    assert sections_of("stress, engine", big=False) == ["engine", "stress"]
    assert sections_of("stress", big=True) == ["stress", "big"]
    with pytest.raises(argparse.ArgumentTypeError, match="unknown section"):
        sections_of("engine,warp", big=False)


def test_header_line_names_date_python_cpus_and_load() -> None:
    info = {
        "plan": "quick",
        "date": "2024-01-02T03:04:05",
        "python": "3.11.7",
        "cpus": 2,
        "loadavg": [0.5, 1.25, 2.0],
    }
    assert header_line(info) == (
        "schedsim bench (quick)  2024-01-02T03:04:05  Python 3.11.7  2 CPUs  "
        "load average 0.50 1.25 2.00"
    )


def test_row_as_dict_carries_samples_median_range_and_verdict() -> None:
    row = Row("logging", "events/off", "x", (1.1, 1.4, 1.2), Target("<=", 1.3, "x"))
    assert row.as_dict() == {
        "section": "logging",
        "name": "events/off",
        "unit": "x",
        "samples": [1.1, 1.4, 1.2],
        "median": 1.2,
        "min": 1.1,
        "max": 1.4,
        "target": "<= 1.3x",
        "verdict": "ok",
        "note": "",
    }
