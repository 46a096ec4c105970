"""benchmark.config's sweep settings (request rates, a floor on requests, extra AIPerf args) and the
progress a local run shows while AIPerf runs (parsed from AIPerf's own progress bars)."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

from composer import bench, proc
from composer.bench_progress import Meter, parse_aiperf_progress
from composer.errors import UsageError
from composer.local import aiperf_runs
from composer.plan import benchmark_runs, benchmark_values
from tests.support.project import compose, make_project

SUPPORT = Path(__file__).parent / "support"
SAMPLE = SUPPORT / "aiperf-0.13.0-profile_export_aiperf.json"
# What `aiperf profile --ui-type simple` (0.13.0) wrote on stderr for 8 warm-up and 80 measured
# requests against a local mocker: tqdm frames ending in carriage returns, with colours.
SIMPLE_UI = SUPPORT / "aiperf-0.13.0-simple-ui-stderr.txt"
COMMON = dict(model="m", url="http://127.0.0.1:1", tokenizer="t", isl=64, osl=16)


def _values(config: str) -> str:
    return (
        "dynamoNamespace: sweep\nmodel:\n  name: Qwen/Qwen3-0.6B\n  backend:\n    type: mocker\n"
        "benchmark:\n  enabled: true\n  config:\n" + textwrap.indent(textwrap.dedent(config), "    ")
    )


def _deployment(tmp_path: Path, config: str):
    from composer import project as p

    proj = make_project(tmp_path / "proj", _values(config), {"local": "target: local\n"})
    return p.load_deployment(p.Project.find(str(proj / "values.yaml")), "local")


def _flag(argv, name):
    return argv[argv.index(name) + 1] if name in argv else None


# -- request rates, the floor, extra args --------------------------------------------------------


@pytest.mark.unit
def test_a_rate_sweep_runs_one_level_per_rate_in_its_own_directory(tmp_path):
    dep = _deployment(tmp_path, "requestRate: [0.5, 2, 4]\n")
    runs = benchmark_runs(dep, url="http://f:8000", tokenizer="t", artifact_dir="/artifacts")
    assert [r["name"] for r in runs] == ["r0.5", "r2", "r4"]
    for run, rate, count in zip(runs, ("0.5", "2", "4"), ("5", "20", "40")):
        argv = run["args"]
        assert _flag(argv, "--request-rate") == rate
        assert _flag(argv, "--request-count") == count  # 10 s of traffic at that rate
        assert _flag(argv, "--artifact-dir") == f"/artifacts/{run['name']}"
        assert "--concurrency" not in argv  # the default concurrency list caps nothing
    # the Job renders the same runs
    assert benchmark_values(dep)["runs"][1]["args"][argv.index("--request-rate") + 1] == "2"


@pytest.mark.unit
def test_one_concurrency_beside_rates_caps_requests_in_flight_at_every_rate(tmp_path):
    dep = _deployment(tmp_path, "requestRate: [1, 8]\nconcurrency: [4]\nrequestCount: 30\n")
    runs = benchmark_runs(dep, url="http://f:8000", tokenizer="t", artifact_dir="/a")
    assert [(_flag(r["args"], "--concurrency"), _flag(r["args"], "--request-rate")) for r in runs] == [
        ("4", "1"),
        ("4", "8"),
    ]
    assert {_flag(r["args"], "--request-count") for r in runs} == {"30"}
    assert [bench.run_level(r["args"]) for r in runs] == [
        {"concurrency": 4, "request_rate": 1.0},
        {"concurrency": 4, "request_rate": 8.0},
    ]


@pytest.mark.unit
def test_min_requests_floors_each_level_unless_request_count_fixes_it(tmp_path):
    dep = _deployment(tmp_path, "concurrency: [1, 8]\nminRequests: 50\n")
    runs = benchmark_runs(dep, url="u", tokenizer="t", artifact_dir="/a")
    assert [_flag(r["args"], "--request-count") for r in runs] == ["50", "80"]  # max(50, 10 x c)
    dep = _deployment(tmp_path / "fixed", "concurrency: [1, 8]\nminRequests: 50\nrequestCount: 7\n")
    runs = benchmark_runs(dep, url="u", tokenizer="t", artifact_dir="/a")
    assert [_flag(r["args"], "--request-count") for r in runs] == ["7", "7"]


@pytest.mark.unit
def test_warmup_and_extra_args_reach_every_run(tmp_path):
    dep = _deployment(tmp_path, "concurrency: [2]\nwarmupRequestCount: 6\nextraArgs: [--request-rate-mode, poisson]\n")
    (run,) = benchmark_runs(dep, url="u", tokenizer="t", artifact_dir="/a")
    assert _flag(run["args"], "--warmup-request-count") == "6"
    assert run["args"][-2:] == ["--request-rate-mode", "poisson"]  # appended


@pytest.mark.unit
def test_the_builder_refuses_extra_args_that_set_what_compose_sets():
    with pytest.raises(UsageError, match="--isl=9.*--synthetic-input-tokens-mean"):
        bench.checked_extra_args(["--foo", "--isl=9"])
    with pytest.raises(UsageError, match="rates repeat"):
        bench.rate_argvs([2, 2.0], artifact_dir="/a", **COMMON)


@pytest.mark.unit
def test_every_flag_compose_refuses_in_extra_args_is_one_aiperf_0_13_knows():
    """Checked against `aiperf profile --help` of 0.13.0 when it was written: the aliases listed."""
    assert bench.own_flag("--num-requests") == "--request-count"
    assert bench.own_flag("-m") == "--model"
    assert bench.own_flag("--ui=dashboard") == "--ui-type"
    assert bench.own_flag("--request-rate-mode") is None
    # every flag the builder itself writes is refused
    argv = bench.aiperf_argv(**COMMON, concurrency=1, request_count=1, artifact_dir="/a", warmup_request_count=1)
    written = {a for a in argv[2:] if a.startswith("--")} - {"--extra-inputs"}
    assert {bench.own_flag(a) for a in written} == written


@pytest.mark.cli
def test_validate_locates_bad_benchmark_settings(tmp_path):
    proj = make_project(
        tmp_path / "proj",
        _values("requestRate: [1, 2]\nconcurrency: [1, 4]\nextraArgs: [--verbose, --concurrency=9]\n"),
        {"local": "target: local\n"},
    )
    done = compose("validate", cwd=proj)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert any(
        line.startswith("values.yaml:")
        and "/benchmark/config/concurrency: with requestRate set the sweep is over request rates" in line
        for line in lines
    ), done.stderr
    assert any(
        "/benchmark/config/extraArgs/1: '--concurrency=9' sets what compose sets itself" in line for line in lines
    )
    assert "hint: set benchmark.config.concurrency" in done.stderr
    assert not (proj / "helmfile.d").exists()  # nothing written


# -- progress while AIPerf runs ------------------------------------------------------------------


@pytest.mark.unit
def test_parse_reads_the_newest_bar_of_captured_aiperf_output():
    text = SIMPLE_UI.read_text()
    assert parse_aiperf_progress(text) == {"phase": "processing records", "done": 80, "total": 80, "eta_s": 0}
    profiling = text[: text.index("Profiling: 80/80")]
    assert parse_aiperf_progress(profiling) == {"phase": "profiling", "done": 76, "total": 80, "eta_s": 0}
    warmup = text[: text.index("Warmup: 4/8") + 1]
    assert parse_aiperf_progress(warmup) == {"phase": "warmup", "done": 0, "total": 8, "eta_s": None}
    assert parse_aiperf_progress("02:36:06.526 INFO     Starting AIPerf System\n") is None
    assert parse_aiperf_progress("Profiling: 1,200/4,000 |\x1b[32m###\x1b[0m|  30% [01:02:03<1:00:05]\r") == {
        "phase": "profiling",
        "done": 1200,
        "total": 4000,
        "eta_s": 3605,
    }


class _Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def _frames(done: int, total: int, remaining: str = "00:04") -> str:
    return f"Profiling: {done}/{total} |\x1b[32m#   \x1b[0m| {100 * done // total:3d}% [00:01<{remaining}]\r"


@pytest.mark.unit
def test_without_a_terminal_a_line_at_each_quarter_only():
    out: list[str] = []
    clock = _Clock()
    meter = Meter(out.append, tty=False, clock=clock)
    meter.start("c4")
    for done in range(0, 101):
        clock.now += 0.1
        meter.feed(_frames(done, 100))
    meter.end()
    assert [line.split(":", 1)[1].split(",")[0] for line in out] == [
        " profiling 0/100 requests",
        " profiling 25/100 requests",
        " profiling 50/100 requests",
        " profiling 75/100 requests",
        " profiling 100/100 requests",
    ]
    assert out[1] == "  aiperf c4: profiling 25/100 requests, 3 s elapsed, ETA 4 s\n"


@pytest.mark.unit
def test_on_a_terminal_one_line_rewritten_then_cleared():
    out: list[str] = []
    meter = Meter(out.append, tty=True, clock=_Clock())
    meter.start("r2")
    text = SIMPLE_UI.read_text()
    for i in range(0, len(text), 37):  # pieces that split frames anywhere
        meter.feed(text[i : i + 37])
    meter.end()
    assert all(w.startswith("\r\x1b[K") and "\n" not in w for w in out)
    assert out[-1] == "\r\x1b[K"  # cleared for what comes next
    shown = [w[len("\r\x1b[K") :] for w in out[:-1]]
    assert "  aiperf r2: warmup 8/8 requests, 0 s elapsed, ETA 0 s" in shown
    assert "  aiperf r2: processing records 0/80 records, 0 s elapsed" in shown
    assert "  aiperf r2: profiling 76/80 requests, 0 s elapsed, ETA 0 s" in shown
    assert all(a != b for a, b in zip(shown, shown[1:]))  # only changes are written


@pytest.mark.cli
def test_watch_hands_over_stderr_while_the_child_runs(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(
        "import sys, time\n"
        "sys.stdout.write('table\\n')\n"
        "for i in range(3):\n"
        "    sys.stderr.write(f'Profiling: {i}/2 |#| 50% [00:00<00:01]\\r'); sys.stderr.flush(); time.sleep(0.3)\n"
    )
    seen: list[tuple[float, str]] = []
    import time

    t0 = time.monotonic()
    done = proc.watch([sys.executable, str(script)], lambda text: seen.append((time.monotonic() - t0, text)))
    assert done.returncode == 0 and done.stdout == "table\n"
    assert done.stderr == "".join(t for _, t in seen)
    assert len(seen) >= 2 and seen[0][0] < seen[-1][0] - 0.3  # pieces came while it ran, not at its end


@pytest.mark.cli
def test_a_metered_local_run_asks_aiperf_for_its_progress_bars_and_shows_them(tmp_path, monkeypatch):
    """aiperf here is a stand-in (for the venv's python running local/aiperf_profile.py) that
    writes the captured progress output and a real export."""
    venv = tmp_path / "venvs/aiperf-0.13.0/bin"
    venv.mkdir(parents=True)
    (venv / "aiperf").write_text("#!/bin/sh\nexit 1\n")
    (venv / "aiperf").chmod(0o755)
    stand_in = venv / "python"
    stand_in.write_text(
        f"#!{sys.executable}\n"
        "import sys, time, pathlib, shutil\n"
        "argv = sys.argv\n"
        "assert argv[argv.index('--ui-type') + 1] == 'simple', argv\n"
        f"text = pathlib.Path({str(SIMPLE_UI)!r}).read_text()\n"
        "for i in range(0, len(text), 200):\n"
        "    sys.stderr.write(text[i:i + 200]); sys.stderr.flush(); time.sleep(0.01)\n"
        "out = pathlib.Path(argv[argv.index('--artifact-dir') + 1])\n"
        f"shutil.copy({str(SAMPLE)!r}, out / 'profile_export_aiperf.json')\n"
    )
    stand_in.chmod(0o755)
    monkeypatch.setenv("COMPOSE_VENVS", str(tmp_path / "venvs"))
    runs = [{"name": n, "args": a} for n, a in bench.rate_argvs([2], artifact_dir=str(tmp_path / "b"), **COMMON)]
    shown: list[str] = []
    said: list[str] = []
    result = aiperf_runs.run_local(
        runs=runs, artifact_dir=tmp_path / "b", plots=False, progress=said.append, meter=Meter(shown.append, tty=False)
    )
    assert said == ["aiperf r2: request rate 2 req/s, 20 requests"]
    assert [line.split(",")[0] for line in shown] == [
        "  aiperf r2: profiling 0/80 requests",
        "  aiperf r2: profiling 76/80 requests",
        "  aiperf r2: profiling 80/80 requests",
    ]
    (run,) = result["runs"]
    assert (run["request_rate"], run["concurrency"]) == (2.0, None)
    assert "Profiling: 80/80" in (tmp_path / "b/r2/aiperf-console.log").read_text()
    assert json.loads(Path(run["json"]).read_text())["aiperf_version"]


@pytest.mark.unit
def test_the_sweep_table_names_a_rate_runs_target_rate():
    export = json.loads(SAMPLE.read_text())
    export["input_config"]["phases"] = [{"kind": "profiling", "type": "poisson", "requests": 40, "rate": 2.5}]
    summary = bench.summarize(export)
    assert (summary["request_rate"], summary["concurrency"]) == (2.5, None)
    head, row = bench.format_sweep([summary]).splitlines()
    assert head.split()[:3] == ["target", "req/s", "concurrency"]
    assert row.split()[:2] == ["2.5", "-"]


@pytest.mark.unit
def test_on_a_terminal_time_moves_on_while_aiperf_starts_and_between_its_bars():
    out: list[str] = []
    clock = _Clock()
    meter = Meter(out.append, tty=True, clock=clock)
    meter.start("c4")
    clock.now += 3
    meter.tick()
    assert out[-1] == "\r\x1b[K  aiperf c4: starting AIPerf, 3 s elapsed"
    meter.feed(_frames(10, 100, remaining="00:09"))
    clock.now += 4
    meter.tick()
    assert out[-1] == "\r\x1b[K  aiperf c4: profiling 10/100 requests, 7 s elapsed, ETA 5 s"
    plain: list[str] = []
    quiet = Meter(plain.append, tty=False, clock=clock)
    quiet.start("c4")
    quiet.tick()
    assert plain == []  # not a terminal: no line for the clock alone


@pytest.mark.cli
def test_ctrl_c_while_watching_stops_the_child_and_what_it_started(tmp_path):
    import os
    import signal
    import threading
    import time

    from composer.errors import Interrupted

    pids = tmp_path / "pids"
    script = (
        "import os, subprocess, time\n"
        "c = subprocess.Popen(['sleep', '60'])\n"
        f"open({str(pids)!r} + '.tmp', 'w').write(f'{{os.getpid()}} {{c.pid}}')\n"
        f"os.replace({str(pids)!r} + '.tmp', {str(pids)!r})\n"  # whole, once it exists
        "time.sleep(60)\n"
    )

    def ctrl_c() -> None:  # a real SIGINT, as a terminal sends, once the child and its own child run
        deadline = time.monotonic() + 60
        while not pids.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=ctrl_c, daemon=True).start()
    with pytest.raises(Interrupted, match="interrupted: stopped aiperf c4"):
        proc.watch([sys.executable, "-c", script], lambda _t: None, name="aiperf c4")
    assert proc.wait_gone([int(p) for p in pids.read_text().split()], 5) == []
