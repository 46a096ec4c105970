"""`compose bench compare`: deltas between results directories, and the overlaid plots."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest

from composer import bench, bench_compare
from composer.local import venvs
from tests.support.local import BROWSER, NEEDS_LOCAL_RUNTIME
from tests.support.project import compose, make_project

# A real aiperf 0.13.0 export (4 concurrent streams, 40 requests against a mocker).
SAMPLE = json.loads((Path(__file__).parent / "support" / "aiperf-0.13.0-profile_export_aiperf.json").read_text())


def _export(scale: float) -> dict:
    """The sample with its latencies and throughput scaled: a slower or faster deployment."""
    data = copy.deepcopy(SAMPLE)
    for tag in ("time_to_first_token", "inter_token_latency", "request_latency", "output_token_throughput"):
        for stat, v in list(data[tag].items()):
            if isinstance(v, (int, float)):
                data[tag][stat] = v * scale
    return data


def _local_results(d: Path, scales: dict[str, float]) -> Path:
    """A local run's results directory: summary.json (what `compose bench --env local` writes)."""
    d.mkdir(parents=True)
    runs = [{"name": name, "summary": bench.summarize(_export(s))} for name, s in scales.items()]
    (d / "summary.json").write_text(json.dumps({"runs": runs}))
    return d


def _cluster_results(d: Path, scales: dict[str, float], gpus: int | None = None) -> Path:
    """What `compose bench results` copies back from a cluster: per-run exports, the Job's _summary.json."""
    for name, s in scales.items():
        (d / name).mkdir(parents=True)
        (d / name / bench.EXPORT_JSON).write_text(json.dumps(_export(s)))
    if gpus is not None:
        (d / "_summary.json").write_text(json.dumps({"deployment": {"gpus": gpus}}))
    return d


@pytest.mark.unit
def test_deltas_per_level_in_every_run_baseline_first(tmp_path):
    a = bench_compare.load(_local_results(tmp_path / "a", {"c1": 1.0, "c4": 1.0, "c8": 1.0}))
    b = bench_compare.load(_cluster_results(tmp_path / "b", {"c4": 1.5, "c1": 0.5}))
    result = bench_compare.compare([("A", a), ("B", b)])
    assert [lv["level"] for lv in result["levels"]] == ["c1", "c4"]  # ordered by level, c8 only in A
    assert result["not_in_every_run"] == {"A": ["c8"]}
    ttft = result["levels"][1]["metrics"]["ttft_p50_ms"]
    base = SAMPLE["time_to_first_token"]["p50"]
    assert ttft["values"] == [pytest.approx(base), pytest.approx(1.5 * base)]
    assert ttft["deltas"][0]["abs"] == pytest.approx(0.5 * base)
    assert ttft["deltas"][0]["pct"] == pytest.approx(50.0)
    c1 = result["levels"][0]["metrics"]
    assert c1["output_tokens_per_s"]["deltas"][0]["pct"] == pytest.approx(-50.0)
    assert set(c1) == {
        "ttft_p50_ms",
        "ttft_p99_ms",
        "itl_p50_ms",
        "itl_p99_ms",
        "latency_p50_ms",
        "latency_p99_ms",
        "output_tokens_per_s",
    }  # no run knows its GPUs: no tokens/s/GPU


@pytest.mark.unit
def test_tokens_per_gpu_from_the_gpus_a_cluster_run_recorded(tmp_path):
    a = bench_compare.load(_cluster_results(tmp_path / "a", {"r2": 1.0}, gpus=2))
    b = bench_compare.load(_cluster_results(tmp_path / "b", {"r2": 1.0}, gpus=4))
    per_gpu = bench_compare.compare([("A", a), ("B", b)])["levels"][0]["metrics"]["output_tokens_per_s_per_gpu"]
    tps = SAMPLE["output_token_throughput"]["avg"]
    assert per_gpu["values"] == [pytest.approx(tps / 2), pytest.approx(tps / 4)]
    assert per_gpu["deltas"][0]["pct"] == pytest.approx(-50.0)


@pytest.mark.unit
def test_figures_have_one_trace_per_run_over_the_rates(tmp_path):
    a = bench_compare.load(_local_results(tmp_path / "a", {"r0.5": 1.0, "r2": 1.0}))
    b = bench_compare.load(_local_results(tmp_path / "b", {"r2": 2.0, "r0.5": 2.0}))
    figs = bench_compare.figures(bench_compare.compare([("A", a), ("B", b)]))
    assert [f["file"] for f in figs] == ["ttft.png", "itl.png", "throughput.png"]
    assert figs[0]["x_title"] == "request rate (requests/s)"
    assert [t["name"] for t in figs[2]["traces"]] == ["A", "B"]
    assert figs[2]["traces"][0]["x"] == [0.5, 2.0]
    assert figs[2]["traces"][1]["y"][0] == pytest.approx(2 * figs[2]["traces"][0]["y"][0])


def _project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "proj", envs={"local": "target: local\n"})


@pytest.mark.cli
def test_a_run_is_a_directory_or_an_environments_latest(tmp_path):
    proj = _project(tmp_path)
    base = _local_results(proj / "results/local/20260101-000000", {"c4": 1.0})
    _local_results(proj / "results/local/20260102-000000", {"c4": 2.0})
    out = tmp_path / "cmp"
    done = compose("bench", "compare", str(base), "local", "--out", str(out), "-o", "json", cwd=proj)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["dirs"] == [str(base), str(proj / "results/local/20260102-000000")]
    assert result["runs"] == ["local/20260101-000000", "local/20260102-000000"]
    assert result["levels"][0]["metrics"]["ttft_p50_ms"]["deltas"][0]["pct"] == pytest.approx(100.0)
    assert json.loads((out / "compare.json").read_text())["levels"] == result["levels"]


@pytest.mark.cli
def test_without_the_aiperf_venv_the_numbers_stand_and_the_plots_say_why(tmp_path):
    proj = _project(tmp_path)
    _local_results(proj / "a", {"c4": 1.0})
    _local_results(proj / "b", {"c4": 1.1})
    done = compose(
        "bench", "compare", "a", "b", "--out", "cmp", cwd=proj, env={"COMPOSE_VENVS": str(tmp_path / "none")}
    )
    assert done.returncode == 0, done.stderr
    assert "plots: not drawn:" in done.stdout and "(+10.0%)" in done.stdout
    assert (proj / "cmp/compare.json").is_file()


@pytest.mark.cli
def test_no_plots_writes_only_the_numbers(tmp_path):
    proj = _project(tmp_path)
    _local_results(proj / "a", {"c4": 1.0})
    _local_results(proj / "b", {"c4": 0.9})
    done = compose("bench", "compare", "a", "b", "--out", "cmp", "--no-plots", cwd=proj)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (proj / "cmp").iterdir()) == ["compare.json"]
    assert "plots: not drawn (--no-plots)" in done.stdout


@pytest.mark.cli
@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: None, "nosuch: no such results directory, nor an environment with results"),
        (lambda p: (p / "nosuch").mkdir(), "nosuch: not a benchmark results directory (no summary.json"),
        (
            lambda p: (p / "nosuch").mkdir() or (p / "nosuch/summary.json").write_text("{}"),
            "summary.json is not a benchmark summary",
        ),
        (lambda p: (p / "results/nosuch").mkdir(parents=True), "environment 'nosuch' has no benchmark results"),
    ],
)
def test_a_missing_or_invalid_run_is_bad_input(tmp_path, make, message):
    proj = _project(tmp_path)
    base = _local_results(proj / "results/local/20260101-000000", {"c4": 1.0})
    make(proj)
    done = compose("bench", "compare", str(base), "nosuch", "--out", str(tmp_path / "cmp"), cwd=proj)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "cmp").exists()  # nothing written


@pytest.mark.cli
def test_runs_without_a_common_level_are_bad_input(tmp_path):
    proj = _project(tmp_path)
    a = _local_results(proj / "a", {"c4": 1.0})
    b = _local_results(proj / "b", {"r2": 1.0})
    done = compose("bench", "compare", "a", "b", cwd=proj)
    assert done.returncode == 2
    assert "no level (concurrency or request rate) is in every run" in done.stderr
    assert not (proj / "results").exists()
    assert a.is_dir() and b.is_dir()


@pytest.mark.local
@NEEDS_LOCAL_RUNTIME
@pytest.mark.skipif(BROWSER is None, reason="kaleido draws PNGs with Chromium, which is not installed")
def test_the_overlaid_plots_are_drawn_by_plotly_in_the_aiperf_venv(tmp_path):
    proj = _project(tmp_path)
    _local_results(proj / "a", {"c1": 1.0, "c4": 1.0})
    _local_results(proj / "b", {"c1": 1.2, "c4": 0.8})
    done = compose("bench", "compare", "a", "b", cwd=proj)
    assert done.returncode == 0, done.stderr
    (out,) = (proj / "results").glob("compare-*")
    for name in ("ttft.png", "itl.png", "throughput.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"plots: ttft.png, itl.png, throughput.png in {out}" in done.stdout
    assert "c4:" in done.stdout and "(-20.0%)" in done.stdout
    assert shutil.which(str(venvs.venv_bin("aiperf", "python")))
