"""The real thing, as a user runs it: `compose up/status/bench/down --env local` on a values
file, so what runs is the DynamoGraphDeployment our chart renders, as real Dynamo processes
(mocker engine) of the project's version (compose's default, 1.6.1; one test pins 1.4.0),
benchmarked by real AIPerf 0.13.0. No fakes.

Each test: up -> a chat completion through the frontend -> bench (AIPerf's own JSON: the
requested count, zero errors) -> down -> not one PID we started is alive.
Timings are printed (the README and closing notes quote them), never asserted.
"""

from __future__ import annotations

import csv
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
import requests

from composer import bench, dynamo, proc
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


def run_flow(
    tmp_path: Path, *, disagg: bool, routing: str, decode_replicas: int, env: dict | None = None, **sweep: Any
) -> dict:
    """`sweep`: values()' benchmark options (concurrency, decode_gpus, sla)."""
    n_ports = 1 + decode_replicas + (1 if disagg else 0)
    env_file = f"target: local\nlocal:\n  httpPort: {free_port_block(n_ports)}\n"
    proj = make_project(
        tmp_path / "proj",
        values(disagg=disagg, routing=routing, decode_replicas=decode_replicas, **sweep),
        {"local": env_file},
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

        # the system's temp dir, as compose and AIPerf see it: short, AIPerf's IPC sockets live there
        with tempfile.TemporaryDirectory() as short:
            tmp = Path(short)
            b = compose("bench", "--env", "local", "-o", "json", cwd=proj, env={**(env or {}), "TMPDIR": short})
            assert b.returncode == 0, b.stderr
            result = json.loads(b.stdout)
            # AIPerf's memory-mapped dataset lives in the run's own directory and is gone after it
            run_dirs = [Path(r["artifact_dir"]) for r in result["runs"]]
            assert all(d.is_dir() for d in run_dirs)
            assert not [*tmp.glob("aiperf_mmap_*"), *(m for d in run_dirs for m in d.glob("aiperf_mmap_*"))]
        assert [r["concurrency"] for r in result["runs"]] == list(sweep.get("concurrency", (4,)))
        for run in result["runs"]:
            export = json.loads(Path(run["json"]).read_text())
            assert export["request_count"]["avg"] == REQUESTS
            assert "error_request_count" not in export and export["error_summary"] == []
            assert run["summary"]["errors"] == 0
            assert export["output_sequence_length"]["avg"] == 16
        per_worker = {p["name"]: served(p["ports"][0]) for p in st["processes"] if p["role"] != "frontend"}
        results = compose("bench", "results", "--env", "local", "-o", "json", cwd=proj)
        assert json.loads(results.stdout)["runs"][-1]["json"] == run["json"]
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
    return {
        **timings,
        "served": per_worker,
        "plots": result["plots"],
        "plot_note": result["plot_note"],
        "result": result,
    }


def test_aggregated_round_robin_sweep_report(tmp_path):
    """A sweep of two levels with an SLA, the mocker standing for a deployment of 2 GPUs (two
    decode workers of 1 GPU): the report's files, AIPerf's goodput, and AIPerf's Pareto plots,
    which it draws only when given a GPU count."""
    flow = run_flow(
        tmp_path,
        disagg=False,
        routing="round-robin",
        decode_replicas=2,
        concurrency=(1, 2),
        decode_gpus=1,
        sla="{ttft: 10000, itl: 1000}",  # met by every request: goodput counts them all
    )
    a, b = flow["served"]["decode-0"], flow["served"]["decode-1"]
    # readiness probe + our chat + aiperf, taking turns
    assert a + b >= 2 * REQUESTS + 2 and abs(a - b) <= 2
    result = flow["result"]
    rep = result["report"]
    assert rep["gpus"] == 2 and rep["sla"] == {"ttft": 10000.0, "itl": 1000.0}
    assert rep["timing_note"].startswith("the mocker's own, not a prediction of any GPU")
    assert all("--goodput" in run["argv"] for run in result["runs"])
    dest = Path(result["artifact_dir"])
    with open(dest / "sweep.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["concurrency"] for r in rows] == ["1", "2"]
    for row, run in zip(rows, result["runs"]):
        export = json.loads(Path(run["json"]).read_text())
        assert int(row["good_requests"]) == export["good_request_count"]["avg"] == REQUESTS
        tokens = export["output_token_throughput"]["avg"]
        assert float(row["output_tokens_per_s_per_gpu"]) == pytest.approx(tokens / 2)
    assert (dest / "report.md").is_file() and "goodput req/s" in bench.format_result(result)
    if BROWSER:  # scripts/setup installs one where it can
        names = [Path(p).name for p in flow["plots"]]
        assert "pareto_curve_throughput_per_gpu_vs_latency.png" in names, names
        assert "pareto_curve_throughput_per_gpu_vs_interactivity.png" in names
        assert "ttft_percentiles_vs_concurrency.png" in names and "itl_percentiles_vs_concurrency.png" in names
        assert all(Path(p).read_bytes().startswith(b"\x89PNG") for p in flow["plots"])
        md = (dest / "report.md").read_text()
        assert all(f"](plots/{n})" in md for n in names)


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
    assert "TTFT p99 ms" in r.stdout and "tok/s/user" in r.stdout  # the sweep report's tables
    (summary,) = (proj / "results" / "local").glob("*/summary.json")
    runs = json.loads(summary.read_text())["runs"]
    # the twin of the example's GPUs: a sweep over three concurrencies, said to be simulated
    assert [(run["concurrency"], run["summary"]["requests"], run["summary"]["errors"]) for run in runs] == [
        (1, 10, 0),
        (4, 40, 0),
        (8, 80, 0),
    ]
    assert "timings: simulated for 2 x h200_sxm by the local twin" in r.stdout
    assert "simulated for 2 x h200_sxm" in (summary.parent / "report.md").read_text()
    assert "stopped 3 processes" in r.stdout
    plots = sorted(p.name for p in summary.parent.glob("plots/*.png"))
    if BROWSER:  # AIPerf's Pareto plot, drawn because compose gives it the simulated deployment's GPUs
        assert "pareto_curve_throughput_per_gpu_vs_interactivity.png" in plots, plots
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
