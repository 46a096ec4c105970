"""charts/benchmark, rendered by real helm: every ci/ scenario lints and renders valid objects, the
schema refuses what it must, the Job executes exactly the argv it was given, and the rendered
entrypoint itself runs here with python against a fake frontend and a fake aiperf."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.support.component_charts import (
    CHARTS_DIR,
    by_kind,
    check_schema_rejects,
    container_env,
    one,
    operator_pod,
    scenario_values,
    scenarios,
    selects,
)

CHART = "benchmark"
SCENARIOS = scenarios(CHART)
pytestmark = pytest.mark.helm


NEGATIVE = [
    ("benchmark", {"bogus": 1}, "Additional property bogus is not allowed"),
    ("benchmark", {"target": {"url": "http://x:8000", "model": "m", "port": 8000}}, "Additional property port"),
    ("benchmark", {"target": {"model": "m"}, "image": "i", "runs": [{"name": "a", "args": ["x"]}]}, "target.url"),
    ("benchmark", {"target": {"url": "http://x:8000", "model": "m"}, "image": "i"}, "runs"),
    (
        "benchmark",
        {
            "target": {"url": "http://x:8000", "model": "m"},
            "image": "i",
            "runs": [{"name": "a", "args": ["aiperf", "--concurrency", 4]}],
        },
        "runs.0.args.2",
    ),
]


@pytest.mark.parametrize("chart, values, message", NEGATIVE, ids=[f"{c}-{m.split()[0]}" for c, _, m in NEGATIVE])
def test_schema_rejects(helm, chart, values, message):
    check_schema_rejects(helm, chart, values, message)


@pytest.mark.parametrize("chart, values_file", SCENARIOS)
def test_benchmark_job_executes_the_given_argv(helm, chart, values_file):
    values = scenario_values(values_file)
    docs = helm.render(chart, files=[values_file])
    job, cm = one(docs, "Job"), one(docs, "ConfigMap")
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    env = container_env(container)

    # The argv the entrypoint executes is runs.json, mounted read-only from the rendered ConfigMap.
    assert json.loads(cm["data"]["runs.json"]) == values["runs"]
    script_dir = mounts["scripts"]["mountPath"]
    assert mounts["scripts"]["readOnly"] is True
    assert volumes["scripts"]["configMap"]["name"] == cm["metadata"]["name"]
    assert container["command"] == ["python3", f"{script_dir}/run.py"]
    assert "args" not in container
    assert env["RUNS_FILE"] == f"{script_dir}/runs.json"
    assert cm["data"]["run.py"] == (CHARTS_DIR / "benchmark" / "files" / "run.py").read_text().rstrip("\n")

    assert env["TARGET_URL"] == values["target"]["url"]
    assert env["TARGET_MODEL"] == values["target"]["model"]
    assert container["image"] == values["image"]

    # Each run writes under <mountPath>/<name>, on the artifacts volume.
    mount_path = values.get("artifacts", {}).get("mountPath", "/artifacts")
    assert env["ARTIFACTS_DIR"] == mount_path == mounts["artifacts"]["mountPath"]
    for run in values["runs"]:
        args = run["args"]
        dirs = [args[i + 1] for i, a in enumerate(args) if a == "--artifact-dir"]
        dirs += [a.split("=", 1)[1] for a in args if a.startswith("--artifact-dir=")]
        assert len(dirs) == 1 and (dirs[0].rstrip("/") + "/").startswith(f"{mount_path}/{run['name']}/")

    persistence = values.get("artifacts", {}).get("persistence", {})
    pvcs = by_kind(docs, "PersistentVolumeClaim")
    if persistence.get("enabled", True) is False:
        assert volumes["artifacts"] == {"name": "artifacts", "emptyDir": {}} and not pvcs
    elif persistence.get("existingClaim"):
        assert volumes["artifacts"]["persistentVolumeClaim"]["claimName"] == persistence["existingClaim"]
        assert not pvcs
    else:
        (pvc,) = pvcs
        assert volumes["artifacts"]["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"]

    # Non-root, one attempt, cleaned up after a week by default.
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == 1000
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert pod["restartPolicy"] == "Never" and job["spec"]["backoffLimit"] == values.get("backoffLimit", 0)
    assert job["spec"]["ttlSecondsAfterFinished"] == values.get("ttlSecondsAfterFinished", 604800)
    if values.get("hfTokenSecret"):
        assert container["envFrom"] == [{"secretRef": {"name": values["hfTokenSecret"]}}]
    else:
        assert "envFrom" not in container


BENCH = {
    "target": {"url": "http://qwen-test-frontend.llm.svc.cluster.local:8000", "model": "Qwen/Qwen3-0.6B"},
    "image": "nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.4.0",
}


def _run(name, *extra, artifact_dir=None):
    return {"name": name, "args": ["aiperf", "profile", *extra, "--artifact-dir", artifact_dir or f"/artifacts/{name}"]}


@pytest.mark.parametrize(
    "runs, message",
    [
        ([_run("c1"), _run("c1")], 'runs[1].name "c1" is used twice'),
        ([{"name": "c1", "args": ["aiperf", "profile"]}], "must contain --artifact-dir exactly once (found 0)"),
        ([{"name": "c1", "args": ["aiperf", "--artifact-dir"]}], '--artifact-dir is "" but must be /artifacts/c1'),
        ([_run("c1", "--artifact-dir", "/artifacts/c1")], "exactly once (found 2)"),
        ([_run("c1", artifact_dir="/tmp/c1")], '--artifact-dir is "/tmp/c1" but must be /artifacts/c1'),
        ([_run("c1", artifact_dir="/artifacts/c10")], "must be /artifacts/c1 or a directory below it"),
        ([_run("c1"), _run("c2", artifact_dir="/artifacts/c1")], "runs[1] (c2)"),
    ],
)
def test_benchmark_refuses_runs_that_write_elsewhere(helm, runs, message):
    proc = helm.template("benchmark", {**BENCH, "runs": runs}, check=False)
    assert proc.returncode != 0
    assert message in proc.stderr, proc.stderr


@pytest.mark.parametrize(
    "release, values, job, configmap, pvc",
    [
        ("benchmark", {}, "benchmark", "benchmark-scripts", "benchmark-artifacts"),
        ("qwen", {}, "qwen-benchmark", "qwen-benchmark-scripts", "qwen-benchmark-artifacts"),
        (
            "qwen",
            {"runId": "3f9a1c2b"},
            "qwen-benchmark-3f9a1c2b",
            "qwen-benchmark-scripts",
            "qwen-benchmark-artifacts",
        ),
        ("qwen", {"fullnameOverride": "perf"}, "perf", "perf-scripts", "perf-artifacts"),
        # Long names are cut so that the suffixes (and runId) survive within 63 characters.
        (
            "qwen",
            {"fullnameOverride": "a" * 63, "runId": "abc123"},
            "a" * 56 + "-abc123",
            "a" * 55 + "-scripts",
            "a" * 53 + "-artifacts",
        ),
    ],
)
def test_benchmark_naming(helm, release, values, job, configmap, pvc):
    docs = helm.render("benchmark", {**BENCH, "runs": [_run("c1")], **values}, release=release)
    assert one(docs, "Job")["metadata"]["name"] == job and len(job) <= 63 and len(pvc) <= 63
    assert one(docs, "ConfigMap")["metadata"]["name"] == configmap
    assert one(docs, "PersistentVolumeClaim")["metadata"]["name"] == pvc


def test_benchmark_checksum_changes_with_the_runs(helm):
    def checksum(runs):
        job = one(helm.render("benchmark", {**BENCH, "runs": runs}), "Job")
        return job["spec"]["template"]["metadata"]["annotations"]["dynamo-compose/benchmark-checksum"]

    assert checksum([_run("c1")]) == checksum([_run("c1")])
    assert checksum([_run("c1")]) != checksum([_run("c1", "--concurrency", "2")])


def test_benchmark_anti_affinity_selects_the_model_pods(helm):
    job = one(
        helm.render("benchmark", {**BENCH, "runs": [_run("c1")], "antiAffinity": {"dgdName": "qwen-test"}}), "Job"
    )
    term = job["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"][
        "preferredDuringSchedulingIgnoredDuringExecution"
    ][0]["podAffinityTerm"]
    assert selects(term["labelSelector"], operator_pod("qwen-test", "VllmDecodeWorker", "worker")["labels"])
    assert not selects(term["labelSelector"], operator_pod("other", "VllmDecodeWorker", "worker")["labels"])
    plain = one(helm.render("benchmark", {**BENCH, "runs": [_run("c1")]}), "Job")
    assert "affinity" not in plain["spec"]["template"]["spec"]


# The entrypoint itself, run here with python against a fake frontend and a fake aiperf.

FAKE_AIPERF = r"""
import json, os, sys
args = sys.argv[1:]
out = args[args.index("--artifact-dir") + 1]
with open(os.environ["CALLS"], "a") as f:
    f.write(json.dumps({"argv": args, "cwd": os.getcwd()}) + "\n")
if "--fail" in args:
    print("aiperf: failing on purpose"); sys.exit(3)
if "--no-export" in args:
    sys.exit(0)
os.makedirs(out, exist_ok=True)
with open(os.path.join(out, "profile_export_aiperf.json"), "w") as f:
    json.dump({"request_throughput": {"avg": 1.0}}, f)
print("aiperf: done", out)
"""


class _FakeFrontend:
    """/v1/models answers 503 `not_ready` times, then lists `models`."""

    def __init__(self, models, not_ready=0):
        self.models, self.not_ready, self.hits = models, not_ready, 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                fake.hits += 1
                if self.path != "/v1/models" or fake.hits <= fake.not_ready:
                    self.send_response(503 if self.path == "/v1/models" else 404)
                    self.end_headers()
                    return
                body = json.dumps({"object": "list", "data": [{"id": m, "object": "model"} for m in fake.models]})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _run_entrypoint(helm, tmp_path, runs, models, not_ready=0, timeout="30"):
    """Render the chart with `runs`, then run the rendered run.py exactly as the Job would (its env, its
    ConfigMap files), with the artifacts directory and the frontend replaced by local ones."""
    artifacts = tmp_path / "artifacts"
    frontend = _FakeFrontend(models, not_ready)
    try:
        values = {
            **BENCH,
            "target": {"url": frontend.url, "model": BENCH["target"]["model"]},
            "artifacts": {"mountPath": str(artifacts)},
            "runs": runs,
            "waitForModel": {"timeoutSeconds": 1, "intervalSeconds": 1},
        }
        docs = helm.render("benchmark", values)
        cm, job = one(docs, "ConfigMap"), one(docs, "Job")
        scripts = tmp_path / "scripts"
        scripts.mkdir()
        for key, text in cm["data"].items():
            (scripts / key).write_text(text)
        env = {
            **os.environ,
            **container_env(job["spec"]["template"]["spec"]["containers"][0]),
            "RUNS_FILE": str(scripts / "runs.json"),
            "CALLS": str(tmp_path / "calls.jsonl"),
            "WAIT_TIMEOUT_SECONDS": timeout,
            "WAIT_INTERVAL_SECONDS": "0.05",
            "HOME": str(tmp_path),
        }
        proc = subprocess.run(
            [sys.executable, str(scripts / "run.py")], env=env, capture_output=True, text=True, timeout=120
        )
    finally:
        frontend.close()
    calls_file = tmp_path / "calls.jsonl"
    calls = [json.loads(line) for line in calls_file.read_text().splitlines()] if calls_file.exists() else []
    summary_file = artifacts / "_summary.json"
    summary = json.loads(summary_file.read_text()) if summary_file.exists() else None
    return proc, calls, summary, artifacts


def _fake_run(artifacts_name, name, *extra):
    return {
        "name": name,
        "args": [sys.executable, "-c", FAKE_AIPERF, *extra, "--artifact-dir", f"{artifacts_name}/{name}"],
    }


def test_benchmark_entrypoint_waits_then_runs_argv_in_order(helm, tmp_path):
    a = str(tmp_path / "artifacts")
    odd = "a&b<c>$(HOME) 'q' \"dq\" {{ x }} ${datasource}"
    runs = [
        _fake_run(a, "c4", "--concurrency", "4", "--extra-inputs", odd),
        _fake_run(a, "c1", "--concurrency", "1"),
        {"name": "c16", "args": [sys.executable, "-c", FAKE_AIPERF, "--artifact-dir", f"{a}/c16/raw"]},
    ]
    proc, calls, summary, artifacts = _run_entrypoint(helm, tmp_path, runs, ["other", "Qwen/Qwen3-0.6B"], not_ready=3)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # argv reaches the program unchanged, in the given order, run from <mountPath>/<name>.
    assert [c["argv"] for c in calls] == [r["args"][3:] for r in runs]
    assert [c["cwd"] for c in calls] == [str(artifacts / r["name"]) for r in runs]
    assert (artifacts / "c4" / "profile_export_aiperf.json").exists()
    assert (artifacts / "c16" / "raw" / "profile_export_aiperf.json").exists()
    assert "aiperf: done" in (artifacts / "c1" / "benchmark.log").read_text()
    assert "aiperf: done" in proc.stdout
    assert summary["modelReady"] is True
    assert [(r["name"], r["ok"], r["args"]) for r in summary["runs"]] == [(r["name"], True, r["args"]) for r in runs]


def test_benchmark_entrypoint_fails_when_a_run_fails_but_runs_the_rest(helm, tmp_path):
    a = str(tmp_path / "artifacts")
    runs = [_fake_run(a, "c1", "--fail"), _fake_run(a, "c2", "--no-export"), _fake_run(a, "c4")]
    proc, calls, summary, _ = _run_entrypoint(helm, tmp_path, runs, ["Qwen/Qwen3-0.6B"])
    assert proc.returncode == 1
    assert len(calls) == 3
    assert [(r["name"], r["returncode"], r["ok"]) for r in summary["runs"]] == [
        ("c1", 3, False),
        ("c2", 0, False),
        ("c4", 0, True),
    ]
    assert "2 of 3 runs failed: c1, c2" in proc.stdout


def test_benchmark_entrypoint_gives_up_when_the_model_never_appears(helm, tmp_path):
    a = str(tmp_path / "artifacts")
    proc, calls, summary, _ = _run_entrypoint(helm, tmp_path, [_fake_run(a, "c1")], ["some/other-model"], timeout="0.3")
    assert proc.returncode == 1
    assert calls == []
    assert summary["modelReady"] is False and summary["runs"] == []
    assert "not listed yet" in proc.stdout and "the model was never served" in proc.stdout


def test_benchmark_entrypoint_fails_at_once_on_an_image_without_aiperf(helm, tmp_path, monkeypatch):
    """The model is never served here, and the wait is 60 s: it exits 127 before waiting, naming what is missing."""
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))  # an image whose PATH has no aiperf
    a = str(tmp_path / "artifacts")
    runs = [{"name": "c1", "args": ["aiperf", "profile", "--artifact-dir", f"{a}/c1"]}, _fake_run(a, "c2")]
    proc, calls, _, _ = _run_entrypoint(helm, tmp_path, runs, ["some/other-model"], timeout="60")
    assert proc.returncode == 127, proc.stdout + proc.stderr
    assert "FAILED: this image has no aiperf" in proc.stdout
    assert "not listed yet" not in proc.stdout and calls == []


def test_benchmark_notes(helm):
    notes = helm.notes("benchmark", {**BENCH, "runs": [_run("c1"), _run("c4")], "runId": "abc"})
    assert "job/benchmark-abc" in notes
    assert "c4 -> /artifacts/c4/" in notes
    assert "PVC benchmark-artifacts" in notes


def test_a_secret_name_of_digits_stays_a_string(helm):
    """A Secret's name may be all digits: written bare, YAML would read it as a number."""
    job = one(helm.render("benchmark", {**BENCH, "runs": [_run("c1")], "hfTokenSecret": "0"}), "Job")
    assert job["spec"]["template"]["spec"]["containers"][0]["envFrom"] == [{"secretRef": {"name": "0"}}]
