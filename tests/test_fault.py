"""`compose fault`: on Kubernetes at the process boundary (which pod is picked, the kubectl argv,
failures); locally against stand-in processes and a stand-in frontend, so the kill, the
recovery measurement and the report are checked without Dynamo (tests/test_fault_local.py
does it for real)."""

from __future__ import annotations

import json
import shutil
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from composer import fault, proc
from composer.cli import main
from composer.local.runtime import write_state
from tests.support.project import make_project

SAMPLE = Path(__file__).parent / "support" / "aiperf-0.13.0-profile_export_aiperf.json"
VALUES = "dynamoNamespace: demo\nmodel:\n  name: Qwen/Qwen3-0.6B\n  backend:\n    type: vllm\n"
ENVS = {
    "dev": "cluster:\n  kubeContext: dev\n  namespace: llm\n",
    "prod": "cluster:\n  kubeContext: dev\n  namespace: llm\n  production: true\n",
    "local": "target: local\nmodel:\n  backend:\n    type: mocker\n",
}
CTX = ["kubectl", "--context", "dev", "-n", "llm"]
SELECTOR = "nvidia.com/dynamo-graph-deployment-name=demo,nvidia.com/dynamo-component=decode"
LIST = CTX + ["get", "pods", "-l", SELECTOR, "-o", "json"]


def pod(name, phase="Running", deleting=False):
    meta = {"name": name, **({"deletionTimestamp": "2026-01-01T00:00:00Z"} if deleting else {})}
    return {"metadata": meta, "status": {"phase": phase}}


PODS = {"items": [pod("demo-decode-b"), pod("demo-decode-a", "Pending"), pod("demo-decode-0", deleting=True)]}


@pytest.fixture
def proj(tmp_path, monkeypatch):
    root = make_project(tmp_path / "proj", VALUES, ENVS)
    monkeypatch.chdir(root)
    (tmp_path / "kubeconfig").write_text("current-context: dev\n")
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "kubectl").write_text("#!/bin/sh\nexit 99\n")
    (bin_dir / "kubectl").chmod(0o755)
    monkeypatch.setattr(proc, "search_path", lambda: str(bin_dir))
    return root


# -- Kubernetes ----------------------------------------------------------------------------------


@pytest.mark.unit
def test_kill_deletes_the_first_running_pod_of_the_component(proj, fp):
    fp.register(LIST, stdout=json.dumps(PODS))
    delete = CTX + ["delete", "pod", "demo-decode-b", "--grace-period=1", "--wait=false"]
    fp.register(delete, stdout='pod "demo-decode-b" deleted\n')
    r = CliRunner().invoke(main, ["fault", "kill", "--component", "decode", "--env", "dev"])
    assert r.exit_code == 0, r.output
    assert fp.call_count(delete) == 1
    assert "deleted pod llm/demo-decode-b (decode, SIGKILL via --grace-period=1)" in r.output
    assert f"kubectl --context dev -n llm get pods -l {SELECTOR} -w" in r.output


@pytest.mark.unit
def test_kill_by_replica_and_term(proj, fp):
    fp.register(LIST, stdout=json.dumps(PODS))
    delete = CTX + ["delete", "pod", "demo-decode-a", "--wait=false"]  # TERM: the pod's own grace period
    fp.register(delete)
    r = CliRunner().invoke(
        main, ["fault", "kill", "--component", "decode", "--env", "dev", "--replica", "0", "--signal", "TERM"]
    )
    assert r.exit_code == 0, r.output
    assert fp.call_count(delete) == 1


@pytest.mark.unit
@pytest.mark.parametrize(
    "pods, args, message, code",
    [
        ({"items": []}, [], "no pod of component 'decode' found", 1),
        (PODS, ["--replica", "2"], "decode has 2 pod(s): --replica 0..1", 2),
    ],
)
def test_kill_refuses_what_is_not_there(proj, fp, pods, args, message, code):
    fp.register(LIST, stdout=json.dumps(pods))
    r = CliRunner().invoke(main, ["fault", "kill", "--component", "decode", "--env", "dev", *args])
    assert r.exit_code == code and message in r.output
    assert len(fp.calls) == 1  # nothing deleted


@pytest.mark.unit
def test_kill_reports_kubectl_failures(proj, fp):
    fp.register(LIST, returncode=1, stderr="error: You must be logged in to the server (Unauthorized)\n")
    r = CliRunner().invoke(main, ["fault", "kill", "--component", "decode", "--env", "dev"])
    assert r.exit_code == 1 and "(Unauthorized)" in r.output
    fp.register(LIST, stdout=json.dumps(PODS))
    fp.register(
        CTX + ["delete", "pod", fp.any()],
        returncode=1,
        stderr='Error from server (Forbidden): pods "demo-decode-b" is forbidden\n',
    )
    r = CliRunner().invoke(main, ["fault", "kill", "--component", "decode", "--env", "dev"])
    assert r.exit_code == 1 and "deleting pod llm/demo-decode-b failed (exit 1)" in r.output


@pytest.mark.unit
def test_kill_is_guarded(proj, fp, tmp_path):
    (tmp_path / "kubeconfig").write_text("current-context: kind-other\n")
    r = CliRunner().invoke(main, ["fault", "kill", "--component", "decode", "--env", "dev"])
    assert r.exit_code == 1 and "pinned to kube context 'dev'" in r.output
    (tmp_path / "kubeconfig").write_text("current-context: dev\n")
    r = CliRunner().invoke(main, ["fault", "kill", "--component", "decode", "--env", "prod"])
    assert r.exit_code == 2 and "pass --yes" in r.output
    assert not fp.calls


@pytest.mark.unit
def test_fault_bench_is_local_only(proj, fp):
    r = CliRunner().invoke(main, ["fault", "bench", "--component", "decode", "--env", "dev"])
    assert r.exit_code == 1
    assert "compose bench --env dev" in r.output and "compose fault kill --env dev --component decode" in r.output


# -- local, with stand-in processes --------------------------------------------------------------


@pytest.fixture
def sleepers(tmp_path):
    """Two 'decode' processes and a 'frontend', recorded as `compose up` records them."""
    root = make_project(tmp_path / "local-proj", VALUES, {"local": ENVS["local"]})
    state_dir = root / ".compose" / "local" / "local"
    state_dir.mkdir(parents=True)
    children, procs = [], []
    for name, component in (("frontend-0", "frontend"), ("decode-0", "decode"), ("decode-1", "decode")):
        child = proc.spawn(["sleep", "60"], log=tmp_path / f"{name}.log")
        children.append(child)
        procs.append(
            {
                "name": name,
                "component": component,
                "role": "worker",
                "pid": child.pid,
                "start_ticks": proc.start_ticks(child.pid),
                "argv": ["sleep", "60"],
                "ports": [],
            }
        )
    write_state(state_dir, {"version": 1, "model": "m", "url": "http://127.0.0.1:9", "processes": procs})
    yield root, children
    for child in children:
        proc.stop(child, grace=1)


@pytest.mark.cli
@pytest.mark.parametrize(
    "args, killed, signal_name",
    [
        ([], "decode-0", "SIGKILL"),
        (["--replica", "1", "--signal", "TERM"], "decode-1", "SIGTERM"),
    ],
)
def test_local_kill(sleepers, monkeypatch, args, killed, signal_name):
    root, children = sleepers
    monkeypatch.chdir(root)
    r = CliRunner().invoke(main, ["fault", "kill", "--component", "decode", "--env", "local", *args])
    assert r.exit_code == 0, r.output
    by_name = dict(zip(["frontend-0", "decode-0", "decode-1"], children))
    assert f"killed {killed} (pid {by_name[killed].pid}) with {signal_name}: gone after" in r.output
    assert not proc.alive(by_name[killed].pid)
    assert [n for n, c in by_name.items() if proc.alive(c.pid)] == [n for n in by_name if n != killed]
    # again: the next one; then nothing is left to kill
    again = CliRunner().invoke(main, ["fault", "kill", "--component", "decode", "--env", "local"])
    assert again.exit_code == 0 and "no other decode runs" in again.output
    last = CliRunner().invoke(main, ["fault", "kill", "--component", "decode", "--env", "local"])
    assert last.exit_code == 1 and "no process of decode is running any more" in last.output
    assert proc.alive(by_name["frontend-0"].pid)


@pytest.mark.cli
def test_local_kill_needs_a_running_graph_and_a_known_component(sleepers, monkeypatch):
    root, children = sleepers
    monkeypatch.chdir(root)
    r = CliRunner().invoke(main, ["fault", "kill", "--component", "prefill", "--env", "local"])
    assert r.exit_code == 2 and "no component 'prefill' runs locally (components: decode, frontend)" in r.output
    shutil.rmtree(root / ".compose")
    r = CliRunner().invoke(main, ["fault", "kill", "--component", "decode", "--env", "local"])
    assert r.exit_code == 1 and "start it with `compose up --env local`" in r.output


class StandInFrontend:
    """/metrics counts requests started; chat completions fail `failures` times after the kill."""

    def __init__(self, failures: int):
        self.started, self.failures, self.kill_seen = 0, failures, threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_a):
                pass

            def do_GET(self):
                body = f'{fault.STARTED_METRIC}{{endpoint="chat_completions"}} {outer.started}\n'.encode()
                self.send_response(200)
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if outer.failures > 0:
                    outer.failures -= 1
                    self.send_response(500)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps({"choices": [{"message": {"content": "yes"}}]}).encode())

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.mark.cli
def test_injector_waits_for_load_kills_and_measures_recovery(tmp_path):
    frontend = StandInFrontend(failures=3)
    victim_child = proc.spawn(["sleep", "60"], log=tmp_path / "v.log")
    try:
        victim = {"name": "decode-1", "component": "decode", "pid": victim_child.pid}
        inj = fault.Injector(
            url=frontend.url, model="m", victim=victim, sig_name="KILL", after=0.2, streak=3, timeout=10
        )
        inj.start()
        time.sleep(0.3)
        assert inj.result["killed"] is None and proc.alive(victim_child.pid)  # no load yet: no kill
        frontend.started = 4  # the benchmark's first requests reach the frontend
        inj.join(15)
        inj.sweep_done.set()
        killed, rec = inj.result["killed"], inj.result["recovery"]
        assert killed["dead"] and not proc.alive(victim_child.pid) and killed["signal"] == "SIGKILL"
        assert killed["after_load_start_s"] >= 0.2
        assert rec["recovered"] and rec["failed_probes"] == 3 and rec["probes"] == 6
        assert rec["probe_errors"] == {"HTTP 500": 3}
        assert rec["seconds"] >= rec["first_success_s"] > 0
    finally:
        proc.stop(victim_child, grace=1)
        frontend.server.shutdown()


@pytest.mark.cli
def test_injector_reports_not_recovered_and_a_sweep_too_short(tmp_path):
    frontend = StandInFrontend(failures=10_000)
    child = proc.spawn(["sleep", "60"], log=tmp_path / "v.log")
    try:
        victim = {"name": "decode-0", "component": "decode", "pid": child.pid}
        inj = fault.Injector(
            url=frontend.url, model="m", victim=victim, sig_name="TERM", after=0.0, streak=2, timeout=0.5
        )
        frontend.started = 1
        inj.base = 0
        inj.start()
        inj.join(10)
        assert inj.result["recovery"]["recovered"] is False and inj.result["recovery"]["seconds"] is None
        text = fault.format_report(
            {
                "killed": inj.result["killed"],
                "recovery": inj.result["recovery"],
                "note": None,
                "runs": [],
                "survivors": [],
                "artifact_dir": "x",
            }
        )
        assert "recovery: NOT RECOVERED within 0.5 s" in text
        # the sweep ends before `after`: nothing is killed
        other = proc.spawn(["sleep", "60"], log=tmp_path / "o.log")
        inj2 = fault.Injector(
            url=frontend.url,
            model="m",
            victim={"name": "x", "component": "decode", "pid": other.pid},
            sig_name="KILL",
            after=30,
        )
        inj2.base = 0
        inj2.start()
        time.sleep(0.2)
        inj2.sweep_done.set()
        inj2.join(5)
        assert inj2.result["killed"] is None and "the sweep ended before the kill" in inj2.result["note"]
        assert proc.alive(other.pid)
        proc.stop(other, grace=1)
    finally:
        proc.stop(child, grace=1)
        frontend.server.shutdown()


@pytest.mark.unit
def test_compare_takes_the_numbers_from_aiperf_json(tmp_path):
    from composer import bench

    export = json.loads(SAMPLE.read_text())
    faulted = dict(export)
    faulted["error_request_count"] = {"unit": "requests", "avg": 6.0}
    faulted["request_count"] = {"unit": "requests", "avg": 34.0}
    faulted["osl_mismatch_count"] = {"unit": "requests", "avg": 2.0}
    faulted["time_to_first_token"] = {**export["time_to_first_token"], "avg": export["time_to_first_token"]["avg"] * 2}
    (tmp_path / "f.json").write_text(json.dumps(faulted))
    base = {"name": "c4", "concurrency": 4, "json": str(SAMPLE), "summary": bench.summarize(export)}
    fault_run = {"name": "c4", "concurrency": 4, "json": str(tmp_path / "f.json"), "summary": bench.summarize(faulted)}
    row = fault.compare(base, fault_run)
    assert row["requests"] == {"baseline": 40, "fault": 34}
    assert row["errors"] == {"baseline": 0, "fault": 6}
    assert row["cut_short"] == {"baseline": 0, "fault": 2}
    assert row["lost_pct"] == {"baseline": 0.0, "fault": 20.0}
    assert row["ttft_ms_avg"]["change_pct"] == 100.0
    assert row["itl_ms_p99"]["change_pct"] == 0.0
    text = fault.format_report(
        {"killed": None, "recovery": None, "note": "n", "runs": [row], "survivors": [], "artifact_dir": "x"}
    )
    assert "0 -> 6" in text and "0.0% -> 20.0%" in text and "(+100%)" in text


@pytest.mark.unit
@pytest.mark.parametrize(
    "supervisor, policy, others, ways, missing",
    [
        (
            True,
            "Always",
            False,
            ["the local runtime restarts decode-0 (restartPolicy Always)"],
            ["no other decode process runs"],
        ),
        (True, "Never", True, ["decode-1 keeps serving decode"], ["decode-0's restartPolicy is Never"]),
        (
            False,
            "Always",
            False,
            [],
            [
                "no supervisor runs for this graph, so nothing restarts a process that dies "
                "(`compose down`, then `compose up`, starts one)",
                "no other decode process runs",
            ],
        ),
    ],
    ids=["restarted", "never-but-a-replica", "nothing"],
)
def test_what_can_recover_from_a_kill(supervisor, policy, others, ways, missing):
    victim = {"name": "decode-0", "component": "decode", "pid": 1, "restart_policy": policy}
    state = {
        "supervisor": {"pid": 2} if supervisor else None,
        "processes": [victim, {"name": "decode-1", "component": "decode", "pid": 3}],
    }
    assert fault.recovery_paths(state, victim, lambda p: p["pid"] != 3 or others) == (ways, missing)
