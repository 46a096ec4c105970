"""The small recipes, run for real: `compose init --recipe ...`, then the scaffolded local
environment (mocker) goes up, serves, is benchmarked by AIPerf and comes down clean."""

import json
from pathlib import Path

import pytest

from composer import proc
from composer.local import chat
from tests.support.cases import small_recipes
from tests.support.local import NEEDS_LOCAL_RUNTIME, free_port_block, local_up
from tests.support.project import compose

pytestmark = [pytest.mark.local, NEEDS_LOCAL_RUNTIME]
SMALL = small_recipes()


@pytest.mark.parametrize("recipe", SMALL)
def test_small_recipe_runs_locally(tmp_path, recipe):
    proj = tmp_path / "proj"
    init = compose("init", "--recipe", recipe, "--dir", str(proj), cwd=tmp_path)
    assert init.returncode == 0, init.stderr
    local = proj / "environments" / "local.yaml"
    port = free_port_block(1 + 4)  # the frontend, and the largest small recipe has four workers
    local.write_text(local.read_text() + f"local:\n  httpPort: {port}\n")
    pids = []
    try:
        st = local_up(proj)
        pids = [p["pid"] for p in st["processes"]]
        assert chat(st["url"], st["model"], "Hi", max_tokens=4).strip()
        bench = compose("bench", "--env", "local", "-o", "json", cwd=proj)
        assert bench.returncode == 0, bench.stderr
        for run in json.loads(bench.stdout)["runs"]:
            export = json.loads(Path(run["json"]).read_text())
            assert run["summary"]["errors"] == 0 and "error_request_count" not in export
            assert export["request_count"]["avg"] == run["summary"]["requests"] > 0
    finally:
        down = compose("down", "--env", "local", cwd=proj)
    assert down.returncode == 0
    assert pids and not [p for p in pids if proc.alive(p)]
