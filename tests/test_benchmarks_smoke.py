"""benchmarks/run.py --quick --offline runs and reports every offline figure as a ratio against a
baseline from the same run. Timings are noise on a shared machine: only the shape is checked."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support.project import REPO

pytestmark = pytest.mark.helm

OFFLINE = {"generate_cold", "template_dev", "generate_n1", "generate_n10", "generate_n50", "generate_cli_n10"}
FIELDS = {
    "name",
    "description",
    "unit",
    "value",
    "subject",
    "baseline",
    "ratio",
    "cpu_ratio",
    "target",
    "meets_target",
    "note",
}


def test_quick_offline_run_reports_every_figure(tmp_path):
    r = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "run.py"), "--quick", "--offline", "--results-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=900,
    )
    assert r.returncode == 0, r.stderr

    table, _, rest = r.stdout.partition("\n\n")
    head = table.splitlines()[0]
    for column in ("figure", "median s", "baseline s", "ratio", "cpu ratio", "peak RSS MB", "target", "ok"):
        assert column in head
    for name in OFFLINE:
        assert f"| {name} " in table

    written = sorted(p.name for p in tmp_path.glob("*.json"))
    assert "latest.json" in written and len(written) == 2
    report = json.loads((tmp_path / "latest.json").read_text())
    assert json.loads(rest.rsplit("\nwritten: ", 1)[0]) == report  # the JSON printed is the JSON written
    assert report["mode"] == "quick" and "--quick" in report["command"]

    figures = {f["name"]: f for f in report["figures"]}
    assert set(figures) == OFFLINE
    assert {s["name"] for s in report["skipped"]} == {"up_local", "bench_local"}
    for name, f in figures.items():
        assert FIELDS <= set(f), name
        assert f["value"] > 0 and f["subject"]["n"] >= 1
        if f["baseline"] is None:  # absolute figures
            assert f["ratio"] is None
        else:
            assert f["ratio"] == round(f["subject"]["median"] / f["baseline"]["median"], 3)
    assert figures["generate_cold"]["target"] == {"kind": "max_seconds", "value": 0.25}
    assert figures["template_dev"]["target"] == {"kind": "max_ratio", "value": 1.10}
    assert figures["template_dev"]["baseline"]["name"].startswith("helmfile --file helmfile.d/dev.yaml")
    assert figures["generate_n50"]["target"] == {"kind": "max_seconds", "value": 2.0}
    for n in (10, 50):
        f = figures[f"generate_n{n}"]
        assert f["deployments"] == n and f["baseline"]["name"] == "generate_n1"
        assert abs(f["per_deployment_ratio"] - f["ratio"] / n) < 0.01
