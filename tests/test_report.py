"""The benchmark report (composer/report.py): its numbers against the AIPerf exports they come
from, its files, the SLA reaching AIPerf as --goodput, and (in the real aiperf venv) the plots:
AIPerf's per-GPU ones, which need the GPU count compose gives it, and compose's own with the SLA.

The sweep fixture is two real runs of AIPerf 0.13.0 against the local mocker (concurrency 1 and
2, 20 requests each) with --goodput "time_to_first_token:30 inter_token_latency:2": their
profile_export_aiperf.json and per-request profile_export.jsonl, which `aiperf plot` reads."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from composer import bench, report
from composer import project as p
from composer.local import aiperf_runs, venvs
from composer.plan import benchmark_runs, benchmark_values
from tests.support.local import BROWSER
from tests.support.project import make_project

SWEEP = Path(__file__).parent / "support" / "aiperf-0.13.0-sweep"
SLA = {"ttft": 30, "itl": 2}  # what the fixture's runs were given


def exports() -> dict[int, dict]:
    return {c: json.loads((SWEEP / f"c{c}" / bench.EXPORT_JSON).read_text()) for c in (1, 2)}


def fixture_runs(root: Path) -> list[dict]:
    """The fixture's runs copied under `root`, shaped as run_local and bench.collect return them."""
    runs = []
    for c in (2, 1):  # out of order: the report sorts by concurrency
        shutil.copytree(SWEEP / f"c{c}", root / f"c{c}")
        runs.append({"name": f"c{c}", "concurrency": c, "json": str(root / f"c{c}" / bench.EXPORT_JSON)})
    return runs


# -- the SLA reaches AIPerf --------------------------------------------------------------------


@pytest.mark.unit
@pytest.mark.parametrize(
    "sla, flags",
    [
        ({"ttft": 200, "itl": 12.5}, ["--goodput", "time_to_first_token:200 inter_token_latency:12.5"]),
        ({"itl": 5.0}, ["--goodput", "inter_token_latency:5"]),
        ({}, []),
        (None, []),
    ],
)
def test_the_sla_goes_to_aiperf_as_goodput(sla, flags):
    argv = bench.aiperf_argv(
        model="m", url="u", tokenizer="t", concurrency=1, request_count=1, isl=8, osl=8, artifact_dir="/a", sla=sla
    )
    assert ("--goodput" in argv) == bool(flags)
    if flags:
        i = argv.index("--goodput")
        assert argv[i : i + 2] == flags


@pytest.mark.unit
def test_the_cluster_job_and_the_local_run_measure_the_same_goodput(tmp_path):
    overlay = "cluster: {namespace: llm}\nbenchmark: {enabled: true, config: {concurrency: [1, 4], sla: {ttft: 250}}}\n"
    proj = p.Project.at(make_project(tmp_path / "proj", envs={"dev": overlay}) / "values.yaml")
    dep = p.load_deployment(proj, "dev")
    job = benchmark_values(dep)["runs"]
    local = benchmark_runs(dep, url="http://127.0.0.1:1", tokenizer="/t", artifact_dir="/r")
    for runs in (job, local):
        assert [r["args"][r["args"].index("--goodput") + 1] for r in runs] == ["time_to_first_token:250"] * 2


# -- the numbers -------------------------------------------------------------------------------


@pytest.mark.unit
def test_sweep_csv_holds_aiperfs_numbers_per_concurrency(tmp_path):
    data = report.build(fixture_runs(tmp_path), gpus=2, sla=SLA, timing_note="n")
    report.write_files(tmp_path, data, plots=[], plot_note=None)
    with open(tmp_path / "sweep.csv", newline="") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames) == report.COLUMNS
        rows = list(reader)
    assert [r["concurrency"] for r in rows] == ["1", "2"]
    for row, (c, export) in zip(rows, sorted(exports().items())):
        assert int(row["requests"]) == export["request_count"]["avg"] == 20
        assert row["errors"] == "0"
        for prefix, tag in (
            ("ttft", "time_to_first_token"),
            ("itl", "inter_token_latency"),
            ("request_latency", "request_latency"),
        ):
            for pct in ("p50", "p90", "p99"):
                assert float(row[f"{prefix}_{pct}_ms"]) == export[tag][pct], (c, prefix, pct)
        tokens = export["output_token_throughput"]["avg"]
        assert float(row["output_tokens_per_s"]) == tokens
        assert float(row["output_tokens_per_s_per_gpu"]) == pytest.approx(tokens / 2)
        assert float(row["output_tokens_per_s_per_user"]) == export["output_token_throughput_per_user"]["avg"]
        # goodput is AIPerf's own: it was given the SLA
        good = export["good_request_count"]["avg"]
        assert int(row["good_requests"]) == good
        assert float(row["goodput_requests_per_s"]) == export["goodput"]["avg"]
        assert float(row["good_requests_pct"]) == pytest.approx(100 * good / 20)
        assert float(row["good_requests_pct"]) == pytest.approx(100 * export["good_request_fraction"]["avg"])


@pytest.mark.unit
def test_without_gpus_or_goodput_the_cells_are_empty(tmp_path):
    data = report.build(fixture_runs(tmp_path), gpus=0, timing_note="n")
    without = exports()
    for export in without.values():  # as AIPerf writes them without --goodput
        for tag in ("good_request_count", "goodput", "good_request_fraction"):
            export.pop(tag)
    rows = [report.sweep_row(e, concurrency=c, gpus=0) for c, e in sorted(without.items())]
    body = report.to_csv(rows).splitlines()[1:]
    assert all(line.endswith(",,,") for line in body)  # good requests, goodput, %
    assert all(line.split(",")[report.COLUMNS.index("output_tokens_per_s_per_gpu")] == "" for line in body)
    assert "none given" in report.format_text(data) and "GPUs: none counted" in report.format_text(data)


@pytest.mark.unit
def test_the_printed_sweep_fits_120_columns_and_shows_goodput_with_an_sla(tmp_path):
    data = report.build(fixture_runs(tmp_path), gpus=2, sla=SLA, timing_note="timings simulated for h200_sxm")
    text = report.format_text(data)
    assert max(len(line) for line in text.splitlines()) <= 120, text
    latency, throughput = text.split("\n\n")[:2]
    assert latency.splitlines()[0].split() == [
        "conc",
        "requests",
        "errors",
        *("TTFT", "p50", "ms", "TTFT", "p90", "ms", "TTFT", "p99", "ms"),
        *("ITL", "p50", "ms", "ITL", "p90", "ms", "ITL", "p99", "ms"),
    ]
    assert throughput.splitlines()[0].split()[:7] == ["conc", "e2e", "p50", "ms", "e2e", "p90", "ms"]
    assert "tok/s/GPU" in throughput and "tok/s/user" in throughput and "goodput req/s" in throughput
    # a large deployment's numbers fit too
    big = [{k: (100000 if k in ("requests", "good_requests") else 123456.78) for k in report.COLUMNS}]
    wide = report.format_text({**data, "rows": [{**r, "concurrency": 4096} for r in big]})
    assert max(len(line) for line in wide.splitlines()) <= 120, wide
    c2 = throughput.splitlines()[2].split()
    assert c2[0] == "2" and c2[-3] == str(exports()[2]["good_request_count"]["avg"].__int__())
    assert "SLA: TTFT <= 30 ms and ITL <= 2 ms" in text
    assert "GPUs: 2" in text and "timings: timings simulated for h200_sxm" in text
    # without an SLA, no goodput columns
    plain = report.format_text(report.build(fixture_runs(tmp_path / "b"), gpus=2, timing_note="n"))
    assert "goodput req/s" not in plain


@pytest.mark.unit
def test_format_result_prints_the_report(tmp_path):
    runs = fixture_runs(tmp_path)
    data = report.write_files(
        tmp_path, report.build(runs, gpus=2, sla=SLA, timing_note="n"), plots=[], plot_note="no browser"
    )
    text = bench.format_result(
        {"runs": runs, "artifact_dir": str(tmp_path), "seconds": 1.0, "plots": [], "plot_note": "x", "report": data}
    )
    assert text.startswith(report.format_text(data))
    assert f"report: {tmp_path / 'report.md'}" in text


@pytest.mark.unit
def test_report_md_links_the_plots_and_says_what_the_timings_are(tmp_path):
    plots = tmp_path / "plots"
    plots.mkdir()
    for name in ("pareto_curve_throughput_per_gpu_vs_latency.png", "ttft_percentiles_vs_concurrency.png"):
        (plots / name).write_bytes(b"\x89PNG")
    data = report.build(fixture_runs(tmp_path), gpus=2, sla=SLA, timing_note="mocker timings, not a prediction")
    out = report.write_files(tmp_path, data, plots=sorted(str(x) for x in plots.glob("*.png")), plot_note=None)
    md = (tmp_path / "report.md").read_text()
    links = [line.split("](")[1].rstrip(")") for line in md.splitlines() if line.startswith("![")]
    assert links == [
        "plots/pareto_curve_throughput_per_gpu_vs_latency.png",
        "plots/ttft_percentiles_vs_concurrency.png",
    ]
    assert all((tmp_path / link).is_file() for link in links)  # relative to report.md
    assert "- Timings: mocker timings, not a prediction" in md
    assert "- GPUs: 2" in md and "- SLA: TTFT <= 30 ms and ITL <= 2 ms" in md
    table = [line for line in md.splitlines() if line.startswith("| ")]
    assert table[0].startswith("| conc | requests | errors | TTFT p50 ms") and len(table) == 3
    assert "[sweep.csv](sweep.csv)" in md
    assert out["files"]["report.md"] == str(tmp_path / "report.md")
    # the plotter's input is the report's data
    assert json.loads((tmp_path / "sweep.json").read_text())["rows"] == out["rows"]


@pytest.mark.unit
def test_a_prediction_is_shown_beside_what_was_measured_at_its_concurrency(tmp_path):
    predicted = {"ttftMs": 40.0, "itlMs": 1.5, "tokensPerSecondPerGpu": 900, "concurrency": 2}
    dep = SimpleNamespace(gpu_count=4, values={"benchmark": {"config": {"sla": SLA}}, "tune": {"predicted": predicted}})
    spec = report.spec(dep, timing_note="n")
    assert spec == {"gpus": 4, "sla": SLA, "predicted": predicted, "timing_note": "n"}
    assert report.spec(dep, gpus=8, timing_note="n")["gpus"] == 8  # the simulated deployment's count
    data = report.build(fixture_runs(tmp_path), **{**spec, "gpus": 2})
    row = data["rows"][1]
    assert [(m["metric"], m["predicted"], m["measured"]) for m in data["predicted"]["metrics"]] == [
        ("TTFT p50 (ms)", 40.0, row["ttft_p50_ms"]),
        ("ITL p50 (ms)", 1.5, row["itl_p50_ms"]),
        ("output tokens/s per GPU", 900, row["output_tokens_per_s_per_gpu"]),
    ]
    text = report.format_text(data)
    assert "predicted vs measured at concurrency 2:" in text
    (line,) = [x for x in text.splitlines() if x.startswith("  TTFT p50 (ms)")]
    assert line.split()[-2:] == ["40.00", f"{row['ttft_p50_ms']:,.2f}"]
    md = report.to_markdown({**data, "plots": []})
    assert f"| TTFT p50 (ms) | 40.00 | {row['ttft_p50_ms']:,.2f} |" in md
    # predicted where the sweep did not go
    far = report.build(
        fixture_runs(tmp_path / "b"), gpus=2, predicted={**predicted, "concurrency": 64}, timing_note="n"
    )
    assert "(not measured by this sweep)" in report.format_text(far)
    assert all(m["measured"] is None for m in far["predicted"]["metrics"])
    assert report.build(fixture_runs(tmp_path / "c"), gpus=2, timing_note="n")["predicted"] is None


# -- the plots, in the real aiperf venv --------------------------------------------------------

needs_plots = pytest.mark.skipif(
    not venvs.venv_bin("aiperf", "python").exists() or not BROWSER,
    reason="needs the aiperf venv (scripts/install-local-runtime) and Chromium (scripts/setup)",
)


@pytest.mark.local
@needs_plots
def test_the_gpu_count_makes_aiperf_draw_its_per_gpu_plots_and_ours_carry_the_sla(tmp_path):
    runs = fixture_runs(tmp_path)
    data = report.build(runs, gpus=2, sla=SLA, timing_note="n")
    sweep = report.write_plot_input(tmp_path, data)
    dirs = [tmp_path / "c1", tmp_path / "c2"]
    files, note = aiperf_runs.draw(dirs, tmp_path / "plots", ["--gpus", "2", "--sweep", str(sweep)])
    names = [Path(f).name for f in files]
    assert note is None and names == [
        "itl_percentiles_vs_concurrency.png",
        "latency_throughput_uncertainty.png",
        "pareto_curve_throughput_per_gpu_vs_interactivity.png",
        "pareto_curve_throughput_per_gpu_vs_latency.png",
        "ttft_percentiles_vs_concurrency.png",
        "ttft_vs_throughput.png",
    ]
    assert all(Path(f).read_bytes().startswith(b"\x89PNG") for f in files)
    for metric, sla in SLA.items():
        fig = json.loads((tmp_path / "plots" / f"{metric}_percentiles_vs_concurrency.json").read_text())
        assert [t["name"] for t in fig["data"]] == ["p50", "p90", "p99"]
        assert [t["x"] for t in fig["data"]] == [[1, 2]] * 3
        assert [t["y"] for t in fig["data"]] == [
            [r[f"{metric}_{q}_ms"] for r in data["rows"]] for q in ("p50", "p90", "p99")
        ]
        (line,) = fig["layout"]["shapes"]
        assert (line["y0"], line["y1"], line["yref"]) == (sla, sla, "y")  # the SLA, across the plot

    # without a GPU count, AIPerf finds none (no GPU telemetry) and skips its per-GPU plots
    files, _ = aiperf_runs.draw(dirs, tmp_path / "no-gpus")
    assert [Path(f).name for f in files] == ["ttft_vs_throughput.png"]
