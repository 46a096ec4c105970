"""The local twin, end to end: `compose up` + `compose bench` on a graph whose local environment
names a GPU, against AIConfigurator's static estimate of the same configuration. Real Dynamo,
real AIPerf, the pinned AIConfigurator; no fakes.

The graph: Qwen3-8B on vLLM, disaggregated, TP1 + TP1 on an H200, 8,000 input tokens: a prefill
of ~200 ms by AIConfigurator, so that what the twin adds on this CPU (the frontend, the router and
the disaggregated hop: 10-25 ms on two busy cores, measured) stays small beside the GPU time it
simulates. AIPerf opens a new connection per request: on a reused
one, Dynamo's frontend holds the first streamed chunk for the client's delayed ACK (~40 ms, Nagle;
README, "The local twin"), which is the frontend's, not the GPU's. The band is the fidelity
target, 20%, on the median of the requests.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from composer.local import twin
from composer.twin import WorkerPerf
from tests.support.local import NEEDS_LOCAL_RUNTIME, free_port_block
from tests.support.project import compose, make_project

pytestmark = [pytest.mark.local, NEEDS_LOCAL_RUNTIME]

MODEL = "Qwen/Qwen3-8B"
ISL, OSL = 8000, 32
BAND = 0.20
VALUES = f"""dynamoNamespace: twin-e2e
model:
  name: {MODEL}
  backend:
    type: vllm
  disaggregation: true
  routingPolicy: kv
  decode:
    gpus: 1
  prefill:
    gpus: 1
benchmark:
  enabled: true
  config:
    concurrency: [1]
    requestCount: 8
    isl: {ISL}
    osl: {OSL}
    extraArgs: [--connection-reuse-strategy, never]
"""
LOCAL = """target: local
cluster:
  gpuSku: h200_sxm
model:
  backend:
    type: mocker
  decode:
    gpus: 0
  prefill:
    gpus: 0
local:
  httpPort: {port}
"""


def test_the_twin_answers_at_the_gpus_speed(tmp_path):
    proj = make_project(tmp_path / "proj", VALUES, {"local": LOCAL.format(port=free_port_block(3))})
    try:
        up = compose("up", "--env", "local", cwd=proj)
        assert up.returncode == 0, up.stderr
        b = compose("bench", "--env", "local", "-o", "json", cwd=proj)
        assert b.returncode == 0, b.stderr
    finally:
        down = compose("down", "--env", "local", cwd=proj)
    assert down.returncode == 0, down.stderr
    state_note = "simulated for 2 x h200_sxm by the local twin"
    assert state_note in Path(json.loads(b.stdout)["report"]["files"]["report.md"]).read_text()
    (run,) = json.loads(b.stdout)["runs"]
    s = run["summary"]
    assert s["errors"] == 0 and s["requests"] == 8
    gpu = WorkerPerf(MODEL, "h200_sxm", "vllm", 1)
    est = twin.static_estimate(gpu, gpu, isl=ISL, osl=OSL, concurrency=1)
    ttft, itl = s["ttft_ms"]["p50"], s["itl_ms"]["p50"]
    print(f"\ntwin TTFT p50 {ttft:.1f} ms vs estimate {est['ttft_ms']:.1f}; ITL {itl:.2f} vs {est['itl_ms']:.2f}")
    assert abs(ttft / est["ttft_ms"] - 1) <= BAND
    assert abs(itl / est["itl_ms"] - 1) <= BAND
