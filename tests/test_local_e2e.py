"""The real thing: Dynamo 1.4.0 processes serving a DGD on this machine, benchmarked by real AIPerf.

No fakes. Each test: up -> a chat completion through the frontend -> aiperf (20 requests) ->
zero errors in AIPerf's own JSON -> down -> not one PID we started is left.
"""
from __future__ import annotations

import json
import random
import socket
import time
from pathlib import Path

import pytest
import requests

from composer import bench, proc
from composer.local import chat, launch, status, down, venvs
from tests.support.local_dgd import MODEL, mocker_docs

pytestmark = [
    pytest.mark.local,
    pytest.mark.skipif(
        not (venvs.venv_bin("ai-dynamo", "python").exists() and venvs.venv_bin("aiperf", "aiperf").exists()),
        reason=f"local runtime venvs missing under {venvs.venvs_root()}: run scripts/install-local-runtime"),
]
REQUESTS = 20


def free_port_block(n: int) -> int:
    """A base port with n free ports after it (the frontend, then one system port per worker),
    below 32767: Dynamo 1.4.0 reads DYN_SYSTEM_PORT as a signed 16-bit number."""
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(20000, 32000)
        if all(_free(base + i) for i in range(n)):
            return base
    raise RuntimeError("no free port block")


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def serve_and_bench(docs, tmp_path: Path, n_ports: int) -> dict:
    state = tmp_path / "state"
    pids: list[int] = []
    t0 = time.monotonic()
    try:
        up = launch(docs, state_dir=state, http_port=free_port_block(n_ports), timeout=90)
        pids = [p["pid"] for p in up["processes"]]
        assert up["model"] == MODEL and up["model_source"] in ("stand-in", "cache")
        assert chat(up["url"], MODEL, "Hello there", max_tokens=8).strip()

        st = status(state)
        assert st["running"] and all(p["alive"] for p in st["processes"])
        assert st["frontend"]["healthy"] and st["frontend"]["serving"]
        assert all(p["health"] != "unreachable" for p in st["processes"] if p["role"] != "frontend")

        result = bench.run_local(model=MODEL, url=up["url"], tokenizer=st["tokenizer"],
                                 artifact_dir=tmp_path / "bench", concurrencies=[4], isl=64, osl=16,
                                 request_count=REQUESTS)
        export = json.loads(Path(result["runs"][0]["json"]).read_text())
        assert export["request_count"]["avg"] == REQUESTS
        assert "error_request_count" not in export and export["error_summary"] == []
        assert result["runs"][0]["summary"]["errors"] == 0
        assert export["output_sequence_length"]["avg"] == 16
        served = {p["name"]: requests_served(p["ports"][0]) for p in up["processes"] if p["role"] != "frontend"}
    finally:
        stopped = down(state)
    assert sorted(stopped["pids"]) == sorted(pids)
    assert not [p for p in pids if proc.alive(p) or proc.group_members(p)]
    assert not (state / "state.json").exists()
    print(f"\nrequests served per worker: {served}")
    timings = {"served": served, "ready_seconds": up["ready_seconds"], "aiperf_seconds": result["runs"][0]["seconds"],
               "bench_seconds_with_plot": result["seconds"], "total_seconds": round(time.monotonic() - t0, 1)}
    print(f"\n{len(pids)} processes, timings: {timings}")
    return timings


def requests_served(system_port: int) -> float:
    """dynamo_component_requests_total from a worker's /metrics (its DYN_SYSTEM_PORT)."""
    text = requests.get(f"http://127.0.0.1:{system_port}/metrics", timeout=5).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("dynamo_component_requests_total{"))


def test_aggregated_round_robin(tmp_path):
    # No DYN_ROUTER_MODE on the frontend: round-robin, over two mocker replicas.
    timings = serve_and_bench(mocker_docs(decode_replicas=2), tmp_path, n_ports=3)
    a, b = timings["served"]["decode-0"], timings["served"]["decode-1"]
    assert a + b >= REQUESTS + 2 and abs(a - b) <= 2  # readiness probe + our chat + aiperf, taking turns
    assert timings["total_seconds"] < 120


def test_disaggregated_kv(tmp_path):
    timings = serve_and_bench(mocker_docs(disagg=True, router="kv"), tmp_path, n_ports=3)
    # Every request is prefilled by the prefill worker, then decoded by the decode worker.
    assert timings["served"]["prefill-0"] >= REQUESTS + 2
    assert timings["served"]["decode-0"] >= REQUESTS + 2
    assert timings["total_seconds"] < 120
