"""What the tests that run the graph for real (real Dynamo and AIPerf processes) share."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from composer import dynamo
from composer.local import ports, venvs
from tests.support.project import compose

MODEL = "Qwen/Qwen3-0.6B"
REQUESTS = 20  # what values() asks AIPerf for
BROWSER = shutil.which("chromium") or shutil.which("google-chrome")  # what kaleido draws PNGs with


def needs_local_runtime(dynamo_version: str = dynamo.DEFAULT_VERSION) -> pytest.MarkDecorator:
    """Skip where the venvs of ai-dynamo `dynamo_version` and aiperf are missing, except in CI (the
    CI variable set, as CI services and .ci/run do): scripts/setup installs them there, so a missing
    one fails the test, with compose's own message naming the command to run, instead of hiding it."""
    missing = [
        str(path)
        for path in (venvs.venv_bin("ai-dynamo", "python", version=dynamo_version), venvs.venv_bin("aiperf", "aiperf"))
        if not path.exists()
    ]
    return pytest.mark.skipif(
        bool(missing) and not os.environ.get("CI"),
        reason=f"local runtime venvs missing ({', '.join(missing)}): run scripts/install-local-runtime {dynamo_version}",
    )


NEEDS_LOCAL_RUNTIME = needs_local_runtime()

free_port_block = ports.free_block


def values(
    *,
    disagg: bool,
    routing: str,
    decode_replicas: int,
    dynamo_version: str = dynamo.DEFAULT_VERSION,
    concurrency: tuple[int, ...] = (4,),
    decode_gpus: int | None = None,
    sla: str = "",
) -> str:
    """`concurrency`: the sweep, REQUESTS requests at each level; `decode_gpus`: GPUs per decode
    worker, those of the deployment the mocker stands for (the report's per-GPU numbers); `sla`:
    benchmark.config.sla as inline YAML, e.g. "{ttft: 50}"."""
    # the mocker's config file in the shape its version reads (composer/dynamo.py Release)
    engine = (
        "\n      inline:\n        engine:\n          speedup_ratio: 10.0"
        if dynamo.release(dynamo_version).mocker_engine_args_nested
        else "\n      inline:\n        speedup_ratio: 10.0"
    )
    gpus = {"decode": decode_gpus}
    roles = "\n".join(
        f"  {role}:\n    replicas: {n}\n"
        + (f"    gpus: {gpus[role]}\n" if gpus.get(role) is not None else "")
        + f"    extraConfig:{engine}"
        for role, n in [("decode", decode_replicas)] + ([("prefill", 1)] if disagg else [])
    )
    return (
        f"dynamoNamespace: e2e\nmodel:\n  name: {MODEL}\n  backend:\n    type: mocker\n"
        f"  disaggregation: {str(disagg).lower()}\n  routingPolicy: {routing}\n{roles}\n"
        f"benchmark:\n  enabled: true\n  config:\n    concurrency: {list(concurrency)}\n    requestCount: {REQUESTS}\n"
        "    isl: 64\n    osl: 16\n" + (f"    sla: {sla}\n" if sla else "")
    )


def local_up(proj: Path, env: dict | None = None) -> dict:
    """`compose up --env local`, which must succeed, then what `compose status -o json` says."""
    up = compose("up", "--env", "local", cwd=proj, env=env)
    assert up.returncode == 0, up.stderr
    return json.loads(compose("status", "--env", "local", "-o", "json", cwd=proj).stdout)
