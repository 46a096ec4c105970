"""The benchmark on Kubernetes at the process boundary: which helmfile and kubectl commands
`compose bench` and `compose bench results` run, and what comes back."""

import csv
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from composer import bench, kube, report
from composer import project as p
from composer.cli import main
from composer.local import aiperf_runs, venvs
from tests.support.cases import CASES, copy_case
from tests.support.local import BROWSER

SAMPLE = Path(__file__).parent / "support" / "aiperf-0.13.0-profile_export_aiperf.json"
SWEEP = Path(__file__).parent / "support" / "aiperf-0.13.0-sweep"  # tests/test_report.py says what it is


@pytest.fixture
def proj(tmp_path, monkeypatch):
    proj = copy_case(next(c for c in CASES if c.name == "everything-on"), tmp_path / "proj")
    p.generate(proj)
    monkeypatch.chdir(proj.root)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
    (tmp_path / "kubeconfig").write_text("current-context: staging\n")
    # no aiperf venv: the report's plots are not drawn, and say so (the test with plots undoes this)
    monkeypatch.setenv("COMPOSE_VENVS", str(tmp_path / "no-venvs"))
    return proj


SYNC = [
    "helmfile",
    "--file",
    "helmfile.d/staging.yaml",
    "--environment",
    "staging",
    "--selector",
    "component=benchmark",
    "sync",
]
DELETE = [
    "kubectl",
    "--context",
    "staging",
    "-n",
    "llm-staging",
    "delete",
    "job",
    "-l",
    "app.kubernetes.io/instance=full-benchmark",
    "--ignore-not-found",
    "--wait=true",
]


@pytest.mark.unit
def test_bench_reruns_the_job_then_syncs_only_the_benchmark_release(proj, fp):
    """helm leaves an unchanged Job alone: the finished one goes first, so every `bench` runs the sweep."""
    fp.register(DELETE, stdout='job.batch "full-benchmark-1a2b3c4d" deleted\n')
    fp.register(SYNC)
    r = CliRunner().invoke(main, ["bench", "--env", "staging"])
    assert r.exit_code == 0, r.output
    assert [c for c in fp.calls if c[0] in ("kubectl", "helmfile")] == [DELETE, SYNC]
    assert "compose bench results --env staging" in r.output


@pytest.mark.unit
def test_bench_stops_when_the_old_job_cannot_be_removed(proj, fp):
    fp.register(DELETE, returncode=1, stderr="Error from server (Forbidden): jobs.batch is forbidden\n")
    r = CliRunner().invoke(main, ["bench", "--env", "staging"])
    assert r.exit_code == 1
    assert r.output == (
        "error: could not remove the previous benchmark Job: Error from server (Forbidden): jobs.batch is forbidden\n"
    )
    assert fp.call_count(SYNC) == 0


@pytest.mark.unit
def test_reader_pod_mounts_the_claim_read_only():
    pod = kube.reader_pod(name="r", namespace="ns", claim="full-benchmark-artifacts", image="img")
    (vol,) = pod["spec"]["volumes"]
    assert vol["persistentVolumeClaim"] == {"claimName": "full-benchmark-artifacts", "readOnly": True}
    assert pod["spec"]["containers"][0]["volumeMounts"][0]["readOnly"] is True


@pytest.mark.unit
def test_results_copies_artifacts_back_and_summarizes_each_run(proj, fp):
    plan = p.plans(proj, ["staging"])["staging"]
    runs = plan.release("benchmark").values["runs"]
    ctx = ["kubectl", "--context", "staging"]
    fp.register(ctx + ["apply", "-f", "-"])
    fp.register(
        ctx + ["-n", "llm-staging", "wait", "--for=condition=Ready", "pod/full-benchmark-reader", "--timeout=300s"]
    )

    def copy(process):
        dest = Path(process.args[-1])
        for run in runs:
            (dest / run["name"]).mkdir(parents=True)
            shutil.copy(SAMPLE, dest / run["name"] / "profile_export_aiperf.json")

    fp.register(ctx + ["-n", "llm-staging", "cp", "full-benchmark-reader:/artifacts", fp.any()], callback=copy)
    delete = ctx + ["-n", "llm-staging", "delete", "pod", "full-benchmark-reader", "--ignore-not-found", "--wait=false"]
    fp.register(delete)
    r = CliRunner().invoke(main, ["bench", "results", "--env", "staging", "-o", "json"])
    assert r.exit_code == 0, r.output
    result = json.loads(r.output)
    assert [x["name"] for x in result["runs"]] == ["c1", "c8", "c32"]
    assert [x["concurrency"] for x in result["runs"]] == [1, 8, 32]
    expected = json.loads(SAMPLE.read_text())["request_count"]["avg"]
    assert all(x["summary"]["requests"] == expected for x in result["runs"])
    assert Path(result["artifact_dir"]).parent == proj.root / "results" / "staging"
    assert fp.call_count(delete) == 1
    # throughput per GPU: the deployment's GPUs, derived once, never typed in the benchmark config
    dep = p.load_deployment(proj, "staging")
    assert result["gpus"] == dep.gpu_count > 1
    tokens = json.loads(SAMPLE.read_text())["output_token_throughput"]["avg"]
    assert all(
        x["summary"]["output_token_throughput_per_gpu"] == pytest.approx(tokens / dep.gpu_count) for x in result["runs"]
    )
    # the report, over the copied-back artifacts: the same table, sweep.csv and report.md as locally
    text = bench.format_result(result)
    assert "tok/s/GPU" in text and "GPUs: 3" in text
    assert f"timings: {report.CLUSTER_TIMINGS}" in text
    dest = Path(result["artifact_dir"])
    with open(dest / "sweep.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["concurrency"]) for r in rows] == [1, 8, 32]
    assert all(float(r["output_tokens_per_s_per_gpu"]) == pytest.approx(tokens / 3) for r in rows)
    assert "- GPUs: 3" in (dest / "report.md").read_text()
    # without the aiperf venv there are no plots, and one line says why
    assert result["plots"] == [] and result["plot_note"].startswith("not drawn: the aiperf venv is not installed")
    assert f"plots: {result['plot_note']}" in text
    assert f"No plots: {result['plot_note']}." in (dest / "report.md").read_text()


@pytest.mark.local
@pytest.mark.skipif(
    not venvs.venv_bin("aiperf", "python", environ={}).exists() or not BROWSER,
    reason="needs the aiperf venv (scripts/install-local-runtime) and Chromium (scripts/setup)",
)
def test_results_report_plots_with_aiperf_per_gpu_and_the_sla(proj, fp, monkeypatch):
    """`compose bench results` over real AIPerf artifacts (the sweep fixture, as the Job leaves
    them): the aiperf venv's plotter draws AIPerf's per-GPU plots with the deployment's GPU count
    and compose's percentile plots with benchmark.config.sla."""
    monkeypatch.delenv("COMPOSE_VENVS")
    staging = proj.root / "environments" / "staging.yaml"
    staging.write_text(staging.read_text() + "benchmark:\n  config:\n    sla: {ttft: 30, itl: 2}\n")
    p.generate(proj)
    ctx = ["kubectl", "--context", "staging"]
    fp.register(ctx + ["apply", "-f", "-"])
    fp.register(ctx + ["-n", "llm-staging", "wait", fp.any()])

    def copy(process):
        dest = Path(process.args[-1])
        for name, run in (("c1", "c1"), ("c8", "c2"), ("c32", "c1")):
            shutil.copytree(SWEEP / run, dest / name)

    fp.register(ctx + ["-n", "llm-staging", "cp", fp.any()], callback=copy)
    fp.register(ctx + ["-n", "llm-staging", "delete", "pod", fp.any()])
    fp.pass_command([str(venvs.venv_bin("aiperf", "python")), str(aiperf_runs.PLOT_SCRIPT), fp.any()])
    r = CliRunner().invoke(main, ["bench", "results", "--env", "staging", "-o", "json"])
    assert r.exit_code == 0, r.output
    result = json.loads(r.output)
    dest = Path(result["artifact_dir"])
    names = sorted(Path(x).name for x in result["plots"])
    assert "pareto_curve_throughput_per_gpu_vs_latency.png" in names
    assert "pareto_curve_throughput_per_gpu_vs_interactivity.png" in names
    assert "ttft_percentiles_vs_concurrency.png" in names and "itl_percentiles_vs_concurrency.png" in names
    fig = json.loads((dest / "plots" / "ttft_percentiles_vs_concurrency.json").read_text())
    assert [(s["y0"], s["y1"]) for s in fig["layout"]["shapes"]] == [(30, 30)]
    md = (dest / "report.md").read_text()
    assert all(f"](plots/{n})" in md for n in names)
    # the goodput AIPerf measured against the SLA the Job was given
    with open(dest / "sweep.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    good = json.loads((SWEEP / "c2" / bench.EXPORT_JSON).read_text())["good_request_count"]["avg"]
    assert [r["concurrency"] for r in rows] == ["1", "8", "32"] and int(rows[1]["good_requests"]) == good
    text = bench.format_result(result)
    assert "SLA: TTFT <= 30 ms and ITL <= 2 ms" in text and "goodput req/s" in text


@pytest.mark.unit
def test_results_divide_by_the_gpus_the_run_recorded(proj, fp):
    """Results measured with 2 GPUs stay per 2 GPUs after the model was scaled: the count comes from
    what the Job's run.py recorded in _summary.json, not from today's values."""
    plan = p.plans(proj, ["staging"])["staging"]
    runs = plan.release("benchmark").values["runs"]
    ctx = ["kubectl", "--context", "staging"]
    fp.register(ctx + ["apply", "-f", "-"])
    fp.register(ctx + ["-n", "llm-staging", "wait", fp.any()])

    def copy(process):
        dest = Path(process.args[-1])
        for run in runs:
            (dest / run["name"]).mkdir(parents=True)
            shutil.copy(SAMPLE, dest / run["name"] / "profile_export_aiperf.json")
        (dest / "_summary.json").write_text(json.dumps({"deployment": {"gpus": 2}, "runs": []}))

    fp.register(ctx + ["-n", "llm-staging", "cp", fp.any()], callback=copy)
    fp.register(ctx + ["-n", "llm-staging", "delete", "pod", fp.any()])
    r = CliRunner().invoke(main, ["bench", "results", "--env", "staging", "-o", "json"])
    assert r.exit_code == 0, r.output
    result = json.loads(r.output)
    assert p.load_deployment(proj, "staging").gpu_count != 2
    tokens = json.loads(SAMPLE.read_text())["output_token_throughput"]["avg"]
    assert result["gpus"] == 2
    assert all(x["summary"]["output_token_throughput_per_gpu"] == pytest.approx(tokens / 2) for x in result["runs"])


@pytest.mark.unit
def test_recorded_gpus_ignores_what_is_not_a_count(tmp_path):
    summary = tmp_path / "_summary.json"
    assert kube.recorded_gpus(summary) is None  # an older chart's run, or none at all
    for text, expected in (
        ('{"deployment": {"gpus": 0}}', 0),
        ('{"deployment": {"gpus": null}}', None),
        ('{"deployment": {"gpus": true}}', None),
        ('{"runs": []}', None),
        ("[1]", None),
        ("{", None),
    ):
        summary.write_text(text)
        assert kube.recorded_gpus(summary) == expected, text


@pytest.mark.cli
def test_the_job_entrypoint_records_the_gpus_it_ran_against(tmp_path):
    """charts/benchmark/files/run.py, run as the Job runs it: the GPU count from the ConfigMap file
    goes into _summary.json and to every run as DEPLOYMENT_GPU_COUNT."""
    import http.server
    import subprocess
    import sys
    import threading

    class Models(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({"data": [{"id": "m"}]}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Models)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        artifacts, scripts = tmp_path / "artifacts", tmp_path / "scripts"
        scripts.mkdir()
        (scripts / "deployment.json").write_text('{"gpus": 6}')
        writes = (
            "import os; open('profile_export_aiperf.json', 'w').write('{}'); "
            "print('gpus', os.environ['DEPLOYMENT_GPU_COUNT'])"
        )
        (scripts / "runs.json").write_text(json.dumps([{"name": "c1", "args": [sys.executable, "-c", writes]}]))
        env = {
            "PATH": "/usr/bin:/bin",
            "TARGET_URL": f"http://127.0.0.1:{server.server_port}",
            "TARGET_MODEL": "m",
            "RUNS_FILE": str(scripts / "runs.json"),
            "ARTIFACTS_DIR": str(artifacts),
            "DEPLOYMENT_FILE": str(scripts / "deployment.json"),
            "WAIT_INTERVAL_SECONDS": "1",
        }
        run_py = Path(__file__).parents[1] / "charts" / "benchmark" / "files" / "run.py"
        r = subprocess.run([sys.executable, str(run_py)], env=env, capture_output=True, text=True, timeout=60)
    finally:
        server.shutdown()
        server.server_close()
    assert r.returncode == 0, r.stdout + r.stderr
    assert json.loads((artifacts / "_summary.json").read_text())["deployment"] == {"gpus": 6}
    assert "gpus 6" in (artifacts / "c1" / "benchmark.log").read_text()
    assert kube.recorded_gpus(artifacts / "_summary.json") == 6


@pytest.mark.unit
def test_results_cleans_up_the_reader_when_copy_fails(proj, fp):
    ctx = ["kubectl", "--context", "staging"]
    fp.register(ctx + ["apply", "-f", "-"])
    fp.register(ctx + ["-n", "llm-staging", "wait", fp.any()], returncode=1, stderr="error: timed out waiting\n")
    delete = ctx + ["-n", "llm-staging", "delete", "pod", "full-benchmark-reader", "--ignore-not-found", "--wait=false"]
    fp.register(delete)
    r = CliRunner().invoke(main, ["bench", "results", "--env", "staging"])
    assert r.exit_code == 1
    assert "timed out waiting" in r.output
    assert fp.call_count(delete) == 1
