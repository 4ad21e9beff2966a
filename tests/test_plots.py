"""The figures of ``schedsim plot`` (actors/plots.py) and the PNGs runner.py draws from them."""

from __future__ import annotations

import struct
import sys
from dataclasses import replace
from pathlib import Path

import pytest

import runner
from actors.plots import (
    balance_latencies,
    figures,
    migrations_per_level,
    runqueue_heatmap,
    step_means,
)
from actors.recorder import RunTrace
from actors.scenario import load_scenario
from actors.trace import TracedRun, run_traced

MS = 1_000_000
SHIPPED = runner.shipped_scenarios()
PNG = b"\x89PNG\r\n\x1a\n"


def traced(name: str, until_ns: int) -> TracedRun:
    scenario = load_scenario(SHIPPED[name])
    scenario = replace(scenario, config=replace(scenario.config, duration_ns=until_ns))
    return run_traced(scenario, scenario.seed)


@pytest.fixture(scope="module")
def demo() -> TracedRun:
    return traced("demo", 60 * MS)


def test_step_means_weigh_each_value_by_its_time_in_the_bin() -> None:
    assert step_means([(0, 0), (250, 2), (750, 0)], 1000, 4) == [0.0, 2.0, 2.0, 0.0]
    assert step_means([(0, 0), (100, 4)], 1000, 2) == [3.2, 4.0]


def test_runqueue_heatmap_has_a_row_per_cpu_and_a_column_per_time_bin(demo: TracedRun) -> None:
    trace = RunTrace()
    trace.nr_running += [(0, 0, 3), (10 * MS, 0, 1), (5 * MS, 2, 2), (12 * MS, 2, 2)]
    figure = runqueue_heatmap(replace(demo, trace=trace), nbins=12)
    (panel,) = figure.panels
    bins = 12  # of 5 ms over the 60 ms run
    assert len(panel.matrix) == 4
    assert panel.matrix[0] == (3.0, 3.0) + (1.0,) * (bins - 2)
    assert panel.matrix[2] == (0.0,) + (2.0,) * (bins - 1)
    assert panel.matrix[1] == panel.matrix[3] == (0.0,) * bins
    assert panel.extent == (0.0, 60.0, -0.5, 3.5)
    assert (panel.xlabel, panel.ylabel) == ("virtual time (ms)", "CPU")
    assert figure.title == "Runqueues: demo (seed 1, era 2.6.14, percpu balancer)"


def test_balance_latency_runs_from_the_first_refusal_of_a_streak_to_the_next_pass() -> None:
    trace = RunTrace()
    trace.instant(1 * MS, 1, "tasklet_refused")
    trace.instant(2 * MS, 1, "tasklet_refused")
    trace.instant(7 * MS, 2, "tasklet_refused")
    trace.passes += [
        (1, 5 * MS, 5 * MS + 10, "tasklet", ()),
        (1, 6 * MS, 6 * MS + 10, "tasklet", ()),
        (2, 3 * MS, 3 * MS + 10, "newidle", ()),
        (2, 9 * MS, 9 * MS + 10, "tasklet", ()),
    ]
    assert balance_latencies(trace) == [4 * MS, 0, 2 * MS]


def test_balance_latencies_of_seed004_tasklet_stay_within_the_cpu_statistics() -> None:
    """A CPU is refused only once its next_balance fell due: the latency the CPU statistics
    measure from that jiffy bounds the one measured from the first refusal."""
    run = traced("seed004-tasklet", 40 * MS)
    latencies = balance_latencies(run.trace)
    stats = run.result.statistics
    assert len(latencies) == stats.total("passes")
    assert 0 < max(latencies) <= max(c.latency_max_ns for c in stats.cpus)


def test_migrations_per_level_count_every_balance_migration(demo: TracedRun) -> None:
    (panel,) = migrations_per_level(demo).panels
    stats = demo.result.statistics
    for k, level in enumerate(panel.categories):
        moved = sum(c.migrations_in.get(level, 0) for c in stats.cpus)
        assert sum(s.y[k] for s in panel.series) == moved
    actor = demo.run.env.cpus[0]
    assert actor is not None
    assert list(panel.categories) == [sd.name for sd in actor.chain]
    assert panel.stacked
    assert panel.ylabel == "migrations (tasks)"


def test_every_figure_names_scenario_seed_and_era_and_labels_its_axes(demo: TracedRun) -> None:
    made = figures(demo)
    assert [f.name for f in made] == [
        "runqueue-heatmap",
        "imbalance",
        "migrations-per-level",
        "balance-latency",
    ]
    for figure in made:
        assert "demo (seed 1, era 2.6.14" in figure.title
        for panel in figure.panels:
            assert panel.xlabel
            assert panel.ylabel.endswith(")") or panel.ylabel in ("CPU", "balance passes")


# -- schedsim plot ------------------------------------------------------------------------


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def colours(path: Path) -> int:
    image = pytest.importorskip("matplotlib.image").imread(path)
    return len({tuple(px) for row in image[::7] for px in row[::7]})


@pytest.fixture(scope="module")
def tasklet_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    log = tmp_path_factory.mktemp("plot") / "tasklet.msgpack"
    args = ["run", "seed004-tasklet", "--duration", "30ms", "--log", str(log), "--json"]
    assert runner.main([*args, "--no-progress"]) == 0
    return log


def test_plot_writes_every_figure_and_the_balancer_modes_of_seed004(
    tasklet_log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "figures"
    capsys.readouterr()
    assert runner.main(["plot", str(tasklet_log), "-o", str(out)]) == 0
    names = ["runqueue-heatmap", "imbalance", "migrations-per-level", "balance-latency"]
    names.append("balancer-modes")
    assert capsys.readouterr().out.splitlines() == [str(out / f"{n}.png") for n in names]
    for name in names:
        path = out / f"{name}.png"
        height = 900 if name == "balancer-modes" else 500
        assert png_size(path) == (1000, height)
        assert path.stat().st_size > 10_000
        assert colours(path) > 8


def test_plot_without_matplotlib_says_how_to_install_it(
    tasklet_log: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    capsys.readouterr()
    assert runner.main(["plot", str(tasklet_log), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err == f"schedsim plot: {runner.PLOT_EXTRA}\n"
    assert "pip install 'schedsim[plot]'" in err
    assert not (tmp_path / "out").exists()


def test_plot_of_a_missing_log_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("matplotlib")
    assert runner.main(["plot", str(tmp_path / "none.msgpack"), "-o", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("schedsim plot: ")
    assert err.count("\n") == 1
