"""AIPerf argv, result summaries, and the local run's plumbing (aiperf faked at the process boundary)."""

from __future__ import annotations

import copy
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from composer import bench, proc
from composer.errors import ComposeError, UsageError
from composer.local import aiperf_runs, venvs
from tests.support.local import BROWSER  # what kaleido draws PNGs with, if installed

# A real aiperf 0.13.0 export (4 concurrent streams, 40 requests against a 1.4.0 mocker).
SAMPLE = Path(__file__).parent / "support" / "aiperf-0.13.0-profile_export_aiperf.json"

COMMON = dict(model="Qwen/Qwen3-0.6B", url="http://127.0.0.1:8000", tokenizer="Qwen/Qwen3-0.6B", isl=64, osl=16)


@pytest.mark.unit
def test_aiperf_argv_follows_the_dynamo_recipe():
    assert bench.aiperf_argv(**COMMON, concurrency=4, request_count=40, artifact_dir="/results/c4") == [
        "aiperf",
        "profile",
        "--model",
        "Qwen/Qwen3-0.6B",
        "--url",
        "http://127.0.0.1:8000",
        "--endpoint-type",
        "chat",
        "--streaming",
        "--tokenizer",
        "Qwen/Qwen3-0.6B",
        "--concurrency",
        "4",
        "--request-count",
        "40",
        "--synthetic-input-tokens-mean",
        "64",
        "--synthetic-input-tokens-stddev",
        "0",
        "--output-tokens-mean",
        "16",
        "--output-tokens-stddev",
        "0",
        "--extra-inputs",
        "max_tokens:16",
        "--extra-inputs",
        "min_tokens:16",
        "--extra-inputs",
        "ignore_eos:true",
        "--artifact-dir",
        "/results/c4",
        "--ui-type",
        "none",
    ]


@pytest.mark.unit
def test_aiperf_argv_options():
    argv = bench.aiperf_argv(
        **COMMON,
        concurrency=1,
        request_count=10,
        artifact_dir="a",
        endpoint_type="completions",
        streaming=False,
        warmup_request_count=2,
        extra=("--random-seed", "100"),
    )
    assert argv[6:9] == ["--endpoint-type", "completions", "--tokenizer"]
    assert "--streaming" not in argv
    assert argv[-4:] == ["--warmup-request-count", "2", "--random-seed", "100"]


@pytest.mark.unit
@pytest.mark.parametrize(
    "bad",
    [
        dict(concurrency=0),
        dict(request_count=0),
        dict(isl=0),
        dict(osl=-1),
        dict(concurrency=True),
        dict(concurrency="4"),
        dict(warmup_request_count=-1),
    ],
)
def test_aiperf_argv_rejects_nonsense(bad):
    kw = {**COMMON, "concurrency": 1, "request_count": 10, "artifact_dir": "a", **bad}
    with pytest.raises(UsageError, match="benchmark .* must be an integer"):
        bench.aiperf_argv(**kw)


@pytest.mark.unit
def test_sweep_writes_one_dir_per_concurrency_with_ten_requests_each():
    sweep = bench.sweep_argvs([1, 4, 16], artifact_dir="/results/run", **COMMON)
    assert [(c, a[a.index("--request-count") + 1], a[a.index("--artifact-dir") + 1]) for c, a in sweep] == [
        (1, "10", "/results/run/c1"),
        (4, "40", "/results/run/c4"),
        (16, "160", "/results/run/c16"),
    ]
    assert sweep[1][1] == bench.aiperf_argv(**COMMON, concurrency=4, request_count=40, artifact_dir="/results/run/c4")


@pytest.mark.unit
def test_sweep_with_a_fixed_request_count():
    sweep = bench.sweep_argvs([2, 8], artifact_dir="out", request_count=20, **COMMON)
    assert [a[a.index("--request-count") + 1] for _, a in sweep] == ["20", "20"]


@pytest.mark.unit
@pytest.mark.parametrize("levels, message", [([], "list is empty"), ([2, 2], "repeat")])
def test_sweep_rejects_bad_lists(levels, message):
    with pytest.raises(UsageError, match=message):
        bench.sweep_argvs(levels, artifact_dir="out", **COMMON)


@pytest.mark.unit
def test_summarize_the_sample():
    data = json.loads(SAMPLE.read_text())
    s = bench.summarize(data)
    assert (s["requests"], s["errors"], s["error_rate_pct"], s["concurrency"]) == (40, 0, 0.0, 4)
    assert s["ttft_ms"] == {
        "avg": data["time_to_first_token"]["avg"],
        "p50": data["time_to_first_token"]["p50"],
        "p99": data["time_to_first_token"]["p99"],
        "unit": "ms",
    }
    assert s["ttft_ms"]["avg"] == pytest.approx(43.8391, abs=1e-4)
    assert s["itl_ms"]["p99"] == data["inter_token_latency"]["p99"]
    assert s["request_throughput"] == {
        "avg": data["request_throughput"]["avg"],
        "p50": None,
        "p99": None,
        "unit": "requests/s",
    }
    assert s["output_token_throughput"]["avg"] == data["output_token_throughput"]["avg"]
    assert s["output_token_throughput_per_user"]["p50"] == data["output_token_throughput_per_user"]["p50"]
    assert (s["isl"], s["osl"]) == (64.0, 16.0)
    assert s["duration_s"] == data["benchmark_duration"]["avg"]


@pytest.mark.unit
def test_summarize_counts_errors_which_aiperf_only_writes_when_there_are_some():
    data = json.loads(SAMPLE.read_text())
    data["request_count"]["avg"] = 37.0
    data["error_request_count"] = {"unit": "requests", "avg": 3.0}
    data["request_error_rate"] = {"unit": "%", "avg": 7.5}
    s = bench.summarize(data)
    assert (s["requests"], s["errors"], s["error_rate_pct"]) == (37, 3, 7.5)
    del data["request_error_rate"]
    assert bench.summarize(data)["error_rate_pct"] == 7.5
    assert bench.summarize({})["requests"] == 0


@pytest.mark.unit
def test_format_table():
    s = bench.summarize(json.loads(SAMPLE.read_text()))
    lines = bench.format_table(s).splitlines()
    assert lines[0].split() == ["metric", "avg", "p50", "p99"]
    assert lines[1].split()[-3:] == [f"{s['ttft_ms'][k]:,.2f}" for k in ("avg", "p50", "p99")]
    assert lines[5].split()[-3:] == [f"{s['output_token_throughput']['avg']:,.2f}", "-", "-"]
    assert lines[-1] == f"concurrency: 4  requests: 40  errors: 0  duration: {s['duration_s']:.2f} s"
    assert len({len(line) for line in lines[:-1]}) == 1  # aligned columns


@pytest.mark.unit
def test_format_sweep():
    s = bench.summarize(json.loads(SAMPLE.read_text()))
    t = bench.format_sweep([s, {**s, "concurrency": 16}]).splitlines()
    assert t[0].split()[:3] == ["concurrency", "requests", "errors"]
    assert [row.split()[0] for row in t[1:]] == ["4", "16"]


# -- run_local, with aiperf faked at the process boundary --------------------------------------


@pytest.fixture
def aiperf_venv(tmp_path, monkeypatch):
    exe = tmp_path / "venvs/aiperf-0.13.0/bin/aiperf"
    exe.parent.mkdir(parents=True)
    for program in (exe, exe.parent / "python"):
        program.write_text("#!/bin/sh\nexit 1\n")
        program.chmod(0o755)
    monkeypatch.setenv("COMPOSE_VENVS", str(tmp_path / "venvs"))
    return str(exe)


def _profile(export, returncode=0):
    def callback(process):
        argv = process.args
        out = Path(argv[argv.index("--artifact-dir") + 1])
        out.mkdir(parents=True, exist_ok=True)
        data = copy.deepcopy(export)
        data["input_config"]["phases"][0]["concurrency"] = int(argv[argv.index("--concurrency") + 1])
        (out / bench.EXPORT_JSON).write_text(json.dumps(data))

    return callback


def _sweep_runs(levels: list[int], tmp_path: Path) -> list[dict]:
    """The shared builder's runs for these concurrencies, writing under tmp_path/b."""
    return [
        {"name": f"c{c}", "args": argv}
        for c, argv in bench.sweep_argvs(
            levels,
            artifact_dir=str(tmp_path / "b"),
            model="m",
            url="http://127.0.0.1:1",
            tokenizer="/snap",
            isl=64,
            osl=16,
            request_count=20,
        )
    ]


@pytest.mark.unit
def test_run_local_runs_each_level_then_plots(fp, aiperf_venv, tmp_path):
    export = json.loads(SAMPLE.read_text())
    python = str(Path(aiperf_venv).parent / "python")

    def profile(level: str) -> list[str]:  # through local/aiperf_profile.py, its dataset mapped in its own dir
        mmap = f"AIPERF_DATASET_MMAP_BASE_PATH={tmp_path / 'b' / level}"
        return [
            "env",
            "-u",
            "HF_HUB_OFFLINE",
            "-u",
            "TRANSFORMERS_OFFLINE",
            mmap,
            python,
            str(aiperf_runs.PROFILE_SCRIPT),
        ]

    for level in ("c1", "c4"):
        fp.register([*profile(level), "profile", fp.any()], callback=_profile(export))
    plot = [
        str(Path(aiperf_venv).parent / "python"),
        str(aiperf_runs.PLOT_SCRIPT),
        str(tmp_path / "b/c1"),
        str(tmp_path / "b/c4"),
        "--output",
        str(tmp_path / "b/plots"),
    ]
    # run_local stops the plotter's process group when done; a fake Popen's pid is 0, and group 0 is
    # the caller's own (pytest's). So the fake plotter gets the pid of a real stand-in, in a session
    # of its own, which must be stopped.
    stand_in = os.posix_spawnp("sleep", ["sleep", "60"], os.environ, setsid=True)
    fp.register(
        plot,
        stdout="Kaleido requires Google Chrome to be installed.",
        callback=lambda process: setattr(process, "pid", stand_in),
    )
    seen = []
    runs = _sweep_runs([1, 4], tmp_path)
    try:
        result = aiperf_runs.run_local(runs=runs, artifact_dir=tmp_path / "b", progress=seen.append)
    finally:
        if proc.alive(stand_in):
            os.kill(stand_in, 9)
        _, status = os.waitpid(stand_in, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM  # the plotter was stopped
    assert [r["summary"]["concurrency"] for r in result["runs"]] == [1, 4]
    assert [r["artifact_dir"] for r in result["runs"]] == [str(tmp_path / "b/c1"), str(tmp_path / "b/c4")]
    # the shared builder's argv, with the venv's aiperf and the one local-only flag
    assert result["runs"][1]["argv"] == [aiperf_venv, *runs[1]["args"][1:], "--no-gpu-telemetry"]
    # `aiperf plot` starts first, to import and start its browser while the profiles run
    calls = [list(call) for call in fp.calls]
    assert calls[0] == plot
    assert [call[: len(profile("c1")) + 1] for call in calls[1:]] == [[*profile(c), "profile"] for c in ("c1", "c4")]
    assert (result["plots"], result["plot_note"]) == ([], aiperf_runs.CHROME_HINT)
    assert seen == ["aiperf c1: concurrency 1, 20 requests", "aiperf c4: concurrency 4, 20 requests", "aiperf plot"]


@pytest.mark.unit
def test_run_local_reports_a_failed_aiperf_with_its_output(fp, aiperf_venv, tmp_path):
    fp.register(["env", fp.any()], returncode=2, stderr="TokenizerError: Failed to load tokenizer '/snap'")
    runs = [
        {
            "name": "c1",
            "args": bench.aiperf_argv(
                model="m",
                url="u",
                tokenizer="/snap",
                concurrency=1,
                request_count=1,
                isl=8,
                osl=8,
                artifact_dir=str(tmp_path / "b/c1"),
            ),
        }
    ]
    with pytest.raises(
        ComposeError,
        match=r"(?s)aiperf failed \(exit 2\) in run c1; output in .*"
        r"aiperf-console.log:\n  TokenizerError",
    ):
        aiperf_runs.run_local(runs=runs, artifact_dir=tmp_path / "b", plots=False)


# A stand-in for local/aiperf_profile.py (real processes): notes in <runs>/events when it starts,
# when told to measure (a line on stdin), when its requests are done (and, with $LOGS_DONE, logs
# AIPerf's line for it), when it exits; its pid in <run dir>/pid. With $TAIL it waits after its
# requests for the next level to start (20 s at most) before it exports and exits with
# $EXIT_<name>, or 0.
STAND_IN = """#!PYTHON
import os, sys, time, json, pathlib
argv = sys.argv
d = pathlib.Path(argv[argv.index("--artifact-dir") + 1])
events = d.parent / "events"
nxt = {"c1": "c4", "c4": "c8"}.get(d.name)
def note(what):
    with open(events, "a") as f:
        f.write(f"{d.name} {what}\\n")
def wait_for(what):
    deadline = time.monotonic() + 20
    while not (events.is_file() and what in events.read_text().splitlines()) and time.monotonic() < deadline:
        time.sleep(0.05)
(d / "pid").write_text(str(os.getpid()))
note("start")
sys.stdin.readline()
note("measure")
(d / "logs").mkdir(parents=True, exist_ok=True)
note("requests done")
if os.environ.get("LOGS_DONE"):
    with open(d / "logs" / "aiperf.log", "a") as f:
        f.write("2026-12-05 06:02:47.149 - PhaseOrchestrator_96fb067d - NOTICE - All credits completed\\n")
if os.environ.get("TAIL") and nxt:
    wait_for(nxt + " start")
data = json.loads(pathlib.Path(os.environ["SAMPLE"]).read_text())
data["input_config"]["phases"][0]["concurrency"] = int(argv[argv.index("--concurrency") + 1])
(d / "profile_export_aiperf.json").write_text(json.dumps(data))
note("exit")
sys.exit(int(os.environ.get("EXIT_" + d.name, "0")))
"""


def _stand_in_runs(aiperf_venv: str, tmp_path: Path, monkeypatch, **env: str) -> list[dict]:
    import sys

    (Path(aiperf_venv).parent / "python").write_text(STAND_IN.replace("PYTHON", sys.executable))
    monkeypatch.setenv("SAMPLE", str(SAMPLE))
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return _sweep_runs([1, 4, 8], tmp_path)


def _events(tmp_path: Path) -> list[str]:
    return (tmp_path / "b/events").read_text().splitlines()


def _in_order(events: list[str], *expected: str) -> bool:
    return all(events.index(a) < events.index(b) for a, b in zip(expected, expected[1:]))


@pytest.mark.cli
@pytest.mark.parametrize("logs_done", ["yes", ""], ids=["overlapped", "no-line"])
def test_each_level_starts_up_while_the_last_exports_and_measures_once_it_has_ended(
    aiperf_venv, tmp_path, monkeypatch, logs_done
):
    runs = _stand_in_runs(aiperf_venv, tmp_path, monkeypatch, LOGS_DONE=logs_done, TAIL=logs_done)
    result = aiperf_runs.run_local(runs=runs, artifact_dir=tmp_path / "b", plots=False)
    events = _events(tmp_path)
    assert sorted(events) == sorted(
        f"{c} {e}" for c in ("c1", "c4", "c8") for e in ("start", "measure", "requests done", "exit")
    )
    for before, after in (("c1", "c4"), ("c4", "c8")):
        # started once the level before it has returned its requests; measures once it has ended
        assert _in_order(events, f"{before} requests done", f"{after} start")
        assert _in_order(events, f"{before} exit", f"{after} measure")
        if logs_done:  # starting up while it processes and exports
            assert _in_order(events, f"{after} start", f"{before} exit")
        else:  # an AIPerf that logs no such line: one level after the other, as before
            assert _in_order(events, f"{before} exit", f"{after} start")
    assert [r["summary"]["concurrency"] for r in result["runs"]] == [1, 4, 8]
    assert result["runs"][1]["argv"] == [aiperf_venv, *runs[1]["args"][1:], "--no-gpu-telemetry"]


@pytest.mark.cli
def test_a_level_that_fails_in_its_tail_stops_the_next_one(aiperf_venv, tmp_path, monkeypatch):
    runs = _stand_in_runs(aiperf_venv, tmp_path, monkeypatch, LOGS_DONE="yes", TAIL="yes", EXIT_c1="3")
    with pytest.raises(ComposeError, match=r"aiperf failed \(exit 3\) in run c1"):
        aiperf_runs.run_local(runs=runs, artifact_dir=tmp_path / "b", plots=False)
    events = _events(tmp_path)
    assert _in_order(events, "c1 requests done", "c4 start", "c1 exit")
    assert "c4 measure" not in events and "c8 start" not in events
    assert proc.wait_gone([int((tmp_path / "b/c4/pid").read_text())], 10) == []  # stopped, not left running


@pytest.mark.cli
@pytest.mark.parametrize(
    "aiperf_then, raised",
    [
        ("exit 1", r"aiperf failed \(exit 1\) in run c1"),
        ("kill -INT $PPID\nexec sleep 30", "interrupted"),  # Ctrl-C: SIGINT to compose, in the middle of a run
    ],
    ids=["failed", "ctrl-c"],
)
def test_a_run_that_fails_or_is_interrupted_stops_the_warming_plotter(aiperf_venv, tmp_path, aiperf_then, raised):
    """Real processes. The venv's python is both: as aiperf profile (local/aiperf_profile.py) it
    waits for the plotter to run, then fails or is interrupted. The plotter (waits for its line,
    then lingers) must be stopped, not told to draw, and not left running."""
    (Path(aiperf_venv).parent / "python").write_text(
        f'#!/bin/sh\ncase "$1" in *aiperf_profile.py)\n'
        f"until [ -s {tmp_path}/plotter.pid ]; do sleep 0.05; done\n{aiperf_then}\n;; esac\n"
        f'echo $$ > {tmp_path}/plotter.pid\nread line\necho "told: $line" > {tmp_path}/told\nexec sleep 60\n'
    )
    runs = [
        {
            "name": "c1",
            "args": bench.aiperf_argv(
                model="m",
                url="u",
                tokenizer="/snap",
                concurrency=1,
                request_count=1,
                isl=8,
                osl=8,
                artifact_dir=str(tmp_path / "b/c1"),
            ),
        }
    ]
    with pytest.raises(ComposeError, match=raised):
        aiperf_runs.run_local(runs=runs, artifact_dir=tmp_path / "b")
    pid = int((tmp_path / "plotter.pid").read_text())
    assert proc.wait_gone([pid], 10) == [] and not proc.group_members(pid)
    assert not (tmp_path / "told").exists()


@pytest.mark.unit
def test_run_local_needs_the_venv(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPOSE_VENVS", str(tmp_path))
    with pytest.raises(ComposeError, match="aiperf 0.13.0 is not installed"):
        aiperf_runs.run_local(runs=[], artifact_dir=tmp_path)


@pytest.mark.cli
def test_aiperf_runs_without_the_offline_vars_and_maps_its_dataset_in_the_run_dir(tmp_path, monkeypatch):
    for var in aiperf_runs.OFFLINE_VARS:
        monkeypatch.setenv(var, "1")
    show = [sys.executable, "-c", "import json, os; print(json.dumps(dict(os.environ)))"]
    seen = json.loads(
        subprocess.run(aiperf_runs._with_aiperf_env(show, tmp_path), capture_output=True, text=True).stdout
    )
    assert not set(aiperf_runs.OFFLINE_VARS) & set(seen)
    assert seen["AIPERF_DATASET_MMAP_BASE_PATH"] == str(tmp_path)


@pytest.mark.cli
def test_a_plotter_that_never_ends_is_given_up_on(tmp_path):
    """Chromium has hung at kaleido's start: `aiperf plot` then never ended, nor did `compose bench`."""
    hung = proc.spawn(
        [sys.executable, "-c", "import time; time.sleep(60)"], log=tmp_path / "plot.log", stdin=subprocess.PIPE
    )
    try:
        t0 = time.monotonic()
        files, note = aiperf_runs._finish_plot(hung, tmp_path, timeout=0.5)
        waited = time.monotonic() - t0
    finally:
        left = proc.stop(hung)
    assert files == [] and note and note.startswith("aiperf plot drew nothing within 0.5 s")
    assert 0.5 <= waited < 5 and left == []


# -- the plotter itself, in the real aiperf venv ------------------------------------------------

needs_aiperf = pytest.mark.skipif(
    not venvs.venv_bin("aiperf", "python").exists(), reason="aiperf venv missing: run scripts/install-local-runtime"
)


def _plotter(tmp_path, *, stdin: str, env: dict | None = None) -> subprocess.CompletedProcess:
    argv = [
        str(venvs.venv_bin("aiperf", "python")),
        str(aiperf_runs.PLOT_SCRIPT),
        str(tmp_path / "run"),
        "--output",
        str(tmp_path / "plots"),
    ]
    # a timeout, not a limit: a plotter that never returns would otherwise hang the suite
    return subprocess.run(
        argv, input=stdin, capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})}
    )


@pytest.mark.local
@needs_aiperf
def test_the_plotter_without_a_browser_still_runs_aiperf_plot(tmp_path):
    # kaleido's sync server swallows a failed browser start and then waits forever
    done = _plotter(tmp_path, stdin="draw\n", env={"BROWSER_PATH": str(tmp_path / "no-browser")})
    assert "requires Chrome" in done.stdout + done.stderr
    # then aiperf's own plot command ran, and told what it thinks of the run dir
    assert "Path does not exist" in done.stderr and done.returncode == 1


@pytest.mark.local
@needs_aiperf
def test_the_plotter_draws_nothing_unless_told(tmp_path):
    ours = _autogroup("self")
    done = _plotter(tmp_path, stdin="")
    assert done.returncode == 0, done.stdout + done.stderr
    assert not (tmp_path / "plots").exists() and "Using config" not in done.stdout
    # it ran in our session: it lowered its own nice, not our session's group
    assert _autogroup("self") == ours


@pytest.mark.local
@needs_aiperf
@pytest.mark.skipif(not Path("/proc/self/autogroup").exists(), reason="kernel without autogroup scheduling")
def test_the_plotter_warms_up_at_the_lowest_priority_and_draws_at_normal_priority(tmp_path):
    """As compose starts it, in a session of its own: under autogroup scheduling nice alone
    would not keep it from taking a core from the benchmark."""
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(SAMPLE, run / bench.EXPORT_JSON)
    os.mkfifo(run / "profile_export.jsonl")  # aiperf plot waits on it until the test opens it
    argv = [
        str(venvs.venv_bin("aiperf", "python")),
        str(aiperf_runs.PLOT_SCRIPT),
        str(run),
        "--output",
        str(tmp_path / "out"),
    ]
    child = subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        warming = _autogroup(child.pid, until="nice 19")
        # the browser it warms up is in its session, so at its priority too (choreographer
        # alone would start it in a session of its own, at full priority)
        browser = _browser_in_session(child.pid) if BROWSER else "no browser"
        child.stdin.write(b"draw\n")
        child.stdin.flush()
        drawing = _autogroup(child.pid, until="nice 0")
        _release(run / "profile_export.jsonl")
        out, _ = child.communicate(timeout=300)
    finally:
        if child.poll() is None:
            child.kill()
    assert (warming, drawing) == ("nice 19", "nice 0")
    assert browser, f"no browser process in the plotter's session {child.pid}"
    assert b"No valid records found" in out  # and it was aiperf plot that read the (empty) records


def _release(fifo: Path) -> None:
    """Let the reader of `fifo` see its end, once it is there (a blocking open would wait
    forever for a reader that died)."""
    deadline = time.monotonic() + 60
    while True:
        try:
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            return
        except OSError:  # ENXIO: nobody reads it yet
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _browser_in_session(sid: int) -> str:
    """The name of a Chrome/Chromium process in session `sid`, once there is one (up to 60 s)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                name, _, rest = stat.read_text().rpartition(")")
            except OSError:
                continue
            fields = rest.split()
            if int(fields[3]) == sid and "chrom" in name.partition("(")[2]:
                return name.partition("(")[2]
        time.sleep(0.05)
    return ""


def _autogroup(pid, until: str | None = None) -> str:
    """The nice of a process's autogroup ("nice 0"; "" without one), once it says `until`
    (waiting up to 300 s: at nice 19 on a busy machine the plotter may wait that long for a core
    to read its "draw"). A process whose session was never set up since boot (or one in a CPU
    cgroup) is in no autogroup: the kernel prints nothing for it."""
    deadline = time.monotonic() + 300
    while True:
        try:
            nice = Path(f"/proc/{pid}/autogroup").read_text().partition(" ")[2].strip()
        except FileNotFoundError:
            return ""
        if until is None or nice == until or time.monotonic() > deadline:
            return nice
        time.sleep(0.05)
