"""The benchmark on Kubernetes at the process boundary: which helmfile and kubectl commands
`compose bench` and `compose bench results` run, and what comes back."""
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from composer import bench, kube
from composer import project as p
from composer.cli import main
from tests.support.cases import CASES, copy_case

SAMPLE = Path(__file__).parent / "support" / "aiperf-0.13.0-profile_export_aiperf.json"


@pytest.fixture
def proj(tmp_path, monkeypatch):
    proj = copy_case(next(c for c in CASES if c.name == "everything-on"), tmp_path / "proj")
    p.generate(proj)
    monkeypatch.chdir(proj.root)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
    (tmp_path / "kubeconfig").write_text("current-context: staging\n")
    return proj


SYNC = ["helmfile", "--file", "helmfile.d/staging.yaml", "--environment", "staging",
        "--selector", "component=benchmark", "sync"]
DELETE = ["kubectl", "--context", "staging", "-n", "llm-staging", "delete", "job", "-l",
          "app.kubernetes.io/instance=full-benchmark", "--ignore-not-found", "--wait=true"]


def test_bench_reruns_the_job_then_syncs_only_the_benchmark_release(proj, fp):
    """helm leaves an unchanged Job alone: the finished one goes first, so every `bench` runs the sweep."""
    fp.register(DELETE, stdout='job.batch "full-benchmark-1a2b3c4d" deleted\n')
    fp.register(SYNC)
    r = CliRunner().invoke(main, ["bench", "--env", "staging"])
    assert r.exit_code == 0, r.output
    assert [c for c in fp.calls if c[0] in ("kubectl", "helmfile")] == [DELETE, SYNC]
    assert "compose bench results --env staging" in r.output


def test_bench_stops_when_the_old_job_cannot_be_removed(proj, fp):
    fp.register(DELETE, returncode=1, stderr='Error from server (Forbidden): jobs.batch is forbidden\n')
    r = CliRunner().invoke(main, ["bench", "--env", "staging"])
    assert r.exit_code == 1
    assert r.output == ("error: could not remove the previous benchmark Job: "
                        "Error from server (Forbidden): jobs.batch is forbidden\n")
    assert fp.call_count(SYNC) == 0


def test_reader_pod_mounts_the_claim_read_only():
    pod = kube.reader_pod(name="r", namespace="ns", claim="full-benchmark-artifacts", image="img")
    (vol,) = pod["spec"]["volumes"]
    assert vol["persistentVolumeClaim"] == {"claimName": "full-benchmark-artifacts", "readOnly": True}
    assert pod["spec"]["containers"][0]["volumeMounts"][0]["readOnly"] is True


def test_results_copies_artifacts_back_and_summarizes_each_run(proj, fp):
    plan = p.plans(proj, ["staging"])["staging"]
    runs = plan.release("benchmark").values["runs"]
    ctx = ["kubectl", "--context", "staging"]
    fp.register(ctx + ["apply", "-f", "-"])
    fp.register(ctx + ["-n", "llm-staging", "wait", "--for=condition=Ready", "pod/full-benchmark-reader",
                       "--timeout=300s"])

    def copy(process):
        dest = Path(process.args[-1])
        for run in runs:
            (dest / run["name"]).mkdir(parents=True)
            shutil.copy(SAMPLE, dest / run["name"] / "profile_export_aiperf.json")

    fp.register(ctx + ["-n", "llm-staging", "cp", "full-benchmark-reader:/artifacts", fp.any()], callback=copy)
    delete = ctx + ["-n", "llm-staging", "delete", "pod", "full-benchmark-reader", "--ignore-not-found",
                    "--wait=false"]
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
    assert all(x["summary"]["output_token_throughput_per_gpu"] == pytest.approx(tokens / dep.gpu_count)
               for x in result["runs"])
    assert bench.format_result(result).splitlines()[0].split()[-1] == "tok/s/GPU"


def test_results_cleans_up_the_reader_when_copy_fails(proj, fp):
    ctx = ["kubectl", "--context", "staging"]
    fp.register(ctx + ["apply", "-f", "-"])
    fp.register(ctx + ["-n", "llm-staging", "wait", fp.any()], returncode=1, stderr="error: timed out waiting\n")
    delete = ctx + ["-n", "llm-staging", "delete", "pod", "full-benchmark-reader", "--ignore-not-found",
                    "--wait=false"]
    fp.register(delete)
    r = CliRunner().invoke(main, ["bench", "results", "--env", "staging"])
    assert r.exit_code == 1
    assert "timed out waiting" in r.output
    assert fp.call_count(delete) == 1
