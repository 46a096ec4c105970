"""What the tests that run the graph for real (real Dynamo and AIPerf processes) share."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from composer.local import ports, venvs
from tests.support.project import compose

MODEL = "Qwen/Qwen3-0.6B"
REQUESTS = 20  # what values() asks AIPerf for
BROWSER = shutil.which("chromium") or shutil.which("google-chrome")  # what kaleido draws PNGs with
NEEDS_LOCAL_RUNTIME = pytest.mark.skipif(
    not (venvs.venv_bin("ai-dynamo", "python").exists() and venvs.venv_bin("aiperf", "aiperf").exists()),
    reason=f"local runtime venvs missing under {venvs.venvs_root()}: run scripts/install-local-runtime",
)

free_port_block = ports.free_block


def values(*, disagg: bool, routing: str, decode_replicas: int) -> str:
    roles = "\n".join(
        f"  {role}:\n    replicas: {n}\n    extraConfig:\n      inline:\n        speedup_ratio: 10.0"
        for role, n in [("decode", decode_replicas)] + ([("prefill", 1)] if disagg else [])
    )
    return (
        f"dynamoNamespace: e2e\nmodel:\n  name: {MODEL}\n  backend:\n    type: mocker\n"
        f"  disaggregation: {str(disagg).lower()}\n  routingPolicy: {routing}\n{roles}\n"
        f"benchmark:\n  enabled: true\n  config:\n    concurrency: [4]\n    requestCount: {REQUESTS}\n"
        "    isl: 64\n    osl: 16\n"
    )


def local_up(proj: Path, env: dict | None = None) -> dict:
    """`compose up --env local`, which must succeed, then what `compose status -o json` says."""
    up = compose("up", "--env", "local", cwd=proj, env=env)
    assert up.returncode == 0, up.stderr
    return json.loads(compose("status", "--env", "local", "-o", "json", cwd=proj).stdout)
