"""The real thing, as a user runs it: `compose up/status/bench/down --env local` on a values
file, so what runs is the DynamoGraphDeployment our chart renders, as real Dynamo processes
(mocker engine) of the project's version (compose's default, 1.6.1; one test pins 1.4.0),
benchmarked by real AIPerf 0.13.0. No fakes.

Each test: up -> a chat completion through the frontend -> bench (AIPerf's own JSON: the
requested count, zero errors) -> down -> not one PID we started is alive.
Timings are printed (the README and closing notes quote them), never asserted.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from composer import dynamo, proc
from composer.local import aiperf_runs, chat, venvs
from tests.support.local import (
    BROWSER,
    MODEL,
    NEEDS_LOCAL_RUNTIME,
    REQUESTS,
    free_port_block,
    local_up,
    needs_local_runtime,
    values,
)
from tests.support.project import compose, make_project

pytestmark = [pytest.mark.local, NEEDS_LOCAL_RUNTIME]


def served(system_port: int) -> float:
    """dynamo_component_requests_total from a worker's /metrics (its DYN_SYSTEM_PORT)."""
    text = requests.get(f"http://127.0.0.1:{system_port}/metrics", timeout=5).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("dynamo_component_requests_total{")
    )


def dynamo_of(proj: Path, st: dict) -> str:
    """The Dynamo version the graph runs: the state file's, checked against the interpreter every
    process was started with (argv[0], from /proc)."""
    state = json.loads((proj / ".compose" / "local" / "local" / "state.json").read_text())
    version = state["dynamo_version"]
    python = str(venvs.venv_bin("ai-dynamo", "python", version=version))
    for p in st["processes"]:
        argv = Path(f"/proc/{p['pid']}/cmdline").read_bytes().split(b"\0")
        assert argv[0].decode() == python, (p["name"], argv[:3])
    return version


def run_flow(tmp_path: Path, *, disagg: bool, routing: str, decode_replicas: int, env: dict | None = None) -> dict:
    n_ports = 1 + decode_replicas + (1 if disagg else 0)
    env_file = f"target: local\nlocal:\n  httpPort: {free_port_block(n_ports)}\n"
    proj = make_project(
        tmp_path / "proj", values(disagg=disagg, routing=routing, decode_replicas=decode_replicas), {"local": env_file}
    )
    pids: list[int] = []
    try:
        st = local_up(proj)
        pids = [p["pid"] for p in st["processes"]]
        assert st["running"] and all(p["alive"] for p in st["processes"])
        assert st["frontend"]["serving"]
        assert {p["health"] for p in st["processes"] if p["role"] != "frontend"} == {"ready"}
        assert sorted(p["component"] for p in st["processes"]) == sorted(
            ["frontend"] + ["decode"] * decode_replicas + (["prefill"] if disagg else [])
        )
        assert chat(st["url"], MODEL, "Hello there", max_tokens=8).strip()
        assert dynamo_of(proj, st) == dynamo.DEFAULT_VERSION  # the project pins no platform.version

        b = compose("bench", "--env", "local", "-o", "json", cwd=proj, env=env)
        assert b.returncode == 0, b.stderr
        result = json.loads(b.stdout)
        (run,) = result["runs"]
        export = json.loads(Path(run["json"]).read_text())
        assert export["request_count"]["avg"] == REQUESTS
        assert "error_request_count" not in export and export["error_summary"] == []
        assert run["summary"]["errors"] == 0
        assert export["output_sequence_length"]["avg"] == 16
        per_worker = {p["name"]: served(p["ports"][0]) for p in st["processes"] if p["role"] != "frontend"}
        results = compose("bench", "results", "--env", "local", "-o", "json", cwd=proj)
        assert json.loads(results.stdout)["runs"][0]["json"] == run["json"]
    finally:
        down = compose("down", "--env", "local", cwd=proj)
    assert down.returncode == 0, down.stderr
    assert pids and not [p for p in pids if proc.alive(p) or proc.group_members(p)]
    assert not (proj / ".compose" / "local" / "local" / "state.json").exists()
    timings = {
        "ready_seconds": st["ready_seconds"],
        "aiperf_seconds": run["seconds"],
        "bench_seconds": result["seconds"],
    }
    print(f"\n{len(pids)} processes: {timings}")
    return {**timings, "served": per_worker, "plots": result["plots"], "plot_note": result["plot_note"]}


def test_aggregated_round_robin(tmp_path):
    flow = run_flow(tmp_path, disagg=False, routing="round-robin", decode_replicas=2)
    a, b = flow["served"]["decode-0"], flow["served"]["decode-1"]
    # readiness probe + our chat + aiperf, taking turns
    assert a + b >= REQUESTS + 2 and abs(a - b) <= 2
    if BROWSER:  # scripts/setup installs one where it can
        assert [Path(p).name for p in flow["plots"]] == ["ttft_over_time.png", "ttft_timeline.png"]
        assert all(Path(p).read_bytes().startswith(b"\x89PNG") for p in flow["plots"])


def test_disaggregated_kv_and_no_browser_for_the_plots(tmp_path):
    flow = run_flow(
        tmp_path, disagg=True, routing="kv", decode_replicas=1, env={"BROWSER_PATH": str(tmp_path / "no-browser")}
    )
    # every request is prefilled by the prefill worker, then decoded by the decode worker
    assert flow["served"]["prefill-0"] >= REQUESTS + 2
    assert flow["served"]["decode-0"] >= REQUESTS + 2
    # the benchmark stands; the missing browser is named instead of the plots
    assert (flow["plots"], flow["plot_note"]) == ([], aiperf_runs.CHROME_HINT)


@needs_local_runtime("1.4.0")
def test_a_project_that_pins_dynamo_1_4_0_runs_it(tmp_path):
    """platform.version in the local environment picks the ai-dynamo venv, and the mocker config
    gets 1.4's flat shape: disaggregated kv, so each request goes prefill then decode (the worker
    type written where 1.4.0 reads it) with KV events over ZMQ."""
    env_file = f"target: local\nplatform:\n  version: 1.4.0\nlocal:\n  httpPort: {free_port_block(3)}\n"
    proj = make_project(
        tmp_path / "proj",
        values(disagg=True, routing="kv", decode_replicas=1, dynamo_version="1.4.0"),
        {"local": env_file},
    )
    pids: list[int] = []
    try:
        st = local_up(proj)
        pids = [p["pid"] for p in st["processes"]]
        assert st["frontend"]["serving"] and {p["health"] for p in st["processes"] if p["role"] != "frontend"} == {
            "ready"
        }
        assert dynamo_of(proj, st) == "1.4.0"
        for _ in range(3):
            assert chat(st["url"], MODEL, "Hello there", max_tokens=8).strip()
        ports = {p["name"]: p["ports"][0] for p in st["processes"]}
        assert served(ports["prefill-0"]) >= 3 and served(ports["decode-0"]) >= 3
    finally:
        down = compose("down", "--env", "local", cwd=proj)
    assert down.returncode == 0, down.stderr
    assert pids and not [p for p in pids if proc.alive(p) or proc.group_members(p)]
    print(f"\n1.4.0: {len(pids)} processes, ready in {st['ready_seconds']} s")


def test_down_with_nothing_running_is_a_no_op(tmp_path):
    proj = make_project(
        tmp_path / "proj", values(disagg=False, routing="none", decode_replicas=1), {"local": "target: local\n"}
    )
    r = compose("down", "--env", "local", cwd=proj)
    assert r.returncode == 0 and "nothing runs locally" in r.stdout


def test_quickstart_of_the_example_project(tmp_path):
    """The README's main job, on a copy of the repo's own values.yaml and environments/."""
    proj = make_project(tmp_path / "proj")
    local = proj / "environments" / "local.yaml"
    local.write_text(local.read_text() + f"local:\n  httpPort: {free_port_block(3)}\n")
    r = compose("quickstart", cwd=proj)
    assert r.returncode == 0, r.stderr
    assert "errors" in r.stdout and "artifacts: " in r.stdout
    assert "time to first token (ms)" in r.stdout and "p99" in r.stdout  # the per-run distribution
    (summary,) = (proj / "results" / "local").glob("*/summary.json")
    (run,) = json.loads(summary.read_text())["runs"]
    assert run["summary"]["errors"] == 0 and run["summary"]["requests"] == 40
    assert "stopped 3 processes" in r.stdout
    plots = sorted(p.name for p in summary.parent.glob("plots/*.png"))
    if BROWSER:
        assert plots, "aiperf plot drew nothing although a browser is installed"
    assert not (proj / ".compose" / "local" / "local" / "state.json").exists()


def test_quickstart_leaves_alone_a_graph_it_did_not_start(tmp_path):
    proj = make_project(
        tmp_path / "proj",
        values(disagg=False, routing="none", decode_replicas=1),
        {"local": f"target: local\nlocal:\n  httpPort: {free_port_block(2)}\n"},
    )
    pids: list[int] = []
    try:
        st = local_up(proj)
        pids = [p["pid"] for p in st["processes"]]
        r = compose("quickstart", cwd=proj)
        after = json.loads(compose("status", "--env", "local", "-o", "json", cwd=proj).stdout)
        assert [p["pid"] for p in after["processes"] if p["alive"]] == pids  # still the user's graph
        assert chat(after["url"], MODEL, "Still there?", max_tokens=8).strip()
        assert r.returncode == 1 and "stopped" not in r.stdout
        assert "the local graph of environment 'local' already runs" in r.stderr
        assert "left that one alone" in r.stderr
    finally:
        down = compose("down", "--env", "local", cwd=proj)
    assert down.returncode == 0, down.stderr
    assert pids and not [p for p in pids if proc.alive(p) or proc.group_members(p)]
