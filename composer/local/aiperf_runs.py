"""Running AIPerf on this machine: `aiperf profile` for each run the shared builder (composer/bench.py)
made, then `aiperf plot`, from the aiperf venv. The processes carry the graph's marker.
Not named aiperf.py: aiperf_plot.py runs as a script from this directory, where a module of that
name would shadow the aiperf package it imports."""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from composer import proc, report
from composer.bench import EXPORT_CSV, EXPORT_JSON, run_level, summarize
from composer.bench_progress import Meter
from composer.errors import ComposeError, quoted

# HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE set to *any* value make aiperf 0.13.0 treat a local
# tokenizer path as a hub repo id and fail, so the local run removes them from its env.
OFFLINE_VARS = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
MMAP_BASE_VAR, MMAP_DIR_PREFIX = "AIPERF_DATASET_MMAP_BASE_PATH", "aiperf_mmap_"
PLOT_SCRIPT = Path(__file__).parent / "aiperf_plot.py"
PLOT_LOG = "aiperf-plot-console.log"
# what `aiperf plot` may take once told to draw (a few seconds; more if it is still starting):
# Chromium has been seen to hang at kaleido's start, and the benchmark must not wait for ever
PLOT_TIMEOUT = 120.0
DATA_HINT = "the data is in the artifact dir (or run `aiperf plot --dashboard <dir>`)"
CHROME_HINT = (
    f"aiperf plot made no PNGs: it renders with kaleido, which needs Google Chrome or Chromium installed; {DATA_HINT}"
)


# summary key -> (aiperf metric tag, unit label)
def run_local(
    *,
    runs: Sequence[Mapping[str, Any]],
    artifact_dir: Path,
    plots: bool = True,
    progress: Callable[[str], None] | None = None,
    owner: str | None = None,
    meter: Meter | None = None,
    report_spec: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Run real `aiperf profile` (from the aiperf venv) for each run, as built by the shared
    builder (`{name, args}`, args writing to `<artifact_dir>/<name>`), then `aiperf plot` over
    all of them, started before the first run so that it is ready when they end. Returns the
    summaries, artifact paths and the wall time. `owner`: the graph's marker, which the plotter
    and its browser carry too, so that `compose down` stops them should they outlive this.
    `meter`: shows each run's progress while it runs (AIPerf's own, see progress_ui).
    `report_spec`: report.build's options (gpus, sla, predicted, timing_note): with it, the
    report (composer/report.py) is written beside the runs and its plots drawn with AIPerf's."""
    from composer.local.venvs import require

    say = progress or (lambda _m: None)
    aiperf = str(require("aiperf", "aiperf"))
    artifact_dir = Path(artifact_dir)
    t0 = time.monotonic()
    # No DCGM exporter on a laptop: skip GPU telemetry instead of probing for it.
    argvs = [[aiperf, *run["args"][1:], "--no-gpu-telemetry"] for run in runs]
    if meter:
        argvs = [progress_ui(argv) for argv in argvs]
    run_dirs = [Path(argv[argv.index("--artifact-dir") + 1]) for argv in argvs]
    plotter = (
        _start_plot(run_dirs, artifact_dir / "plots", owner, _report_plot_options(artifact_dir, report_spec))
        if plots and runs
        else None
    )
    try:
        done_runs = _profile_all([run["name"] for run in runs], argvs, run_dirs, say, meter)
        ran = time.monotonic()
        sweep_report = _report_data(artifact_dir, done_runs, report_spec)
        plot_files: list[str] = []
        plot_note = None
        if plotter:
            say("aiperf plot")
            plot_files, plot_note = _finish_plot(plotter, artifact_dir / "plots")
    finally:
        if plotter:
            proc.stop(plotter)  # still warming up when a run failed or Ctrl-C came: with its browser
    return {
        "runs": done_runs,
        "artifact_dir": str(artifact_dir),
        "plots": plot_files,
        "plot_note": plot_note,
        "seconds": round(time.monotonic() - t0, 3),
        "after_runs_seconds": round(time.monotonic() - ran, 3),
        **(
            {"report": report.write_files(artifact_dir, sweep_report, plots=plot_files, plot_note=plot_note)}
            if sweep_report
            else {}
        ),
    }


def _report_plot_options(artifact_dir: Path, report_spec: Mapping[str, Any] | None) -> list[str]:
    """The plotter's own options for the report: the GPU count AIPerf's per-GPU plots need, and
    the sweep.json it draws compose's percentile plots from (written before it is told to draw)."""
    if report_spec is None:
        return []
    return ["--gpus", str(report_spec["gpus"]), "--sweep", str(Path(artifact_dir) / report.SWEEP_JSON)]


def _report_data(
    artifact_dir: Path, runs: Sequence[Mapping[str, Any]], report_spec: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    if report_spec is None:
        return None
    data = report.build(runs, **report_spec)
    report.write_plot_input(artifact_dir, data)
    return data


def draw(run_dirs: Sequence[Path], out: Path, options: Sequence[str] = (), owner: str | None = None):
    """`aiperf plot` (and compose's plots) over runs already on disk, told to draw at once:
    (PNG paths, a note when there are none). For results copied back from a cluster."""
    plotter = _start_plot(run_dirs, out, owner, options)
    try:
        return _finish_plot(plotter, out)
    finally:
        proc.stop(plotter)


# AIPerf 0.13.0 logs this to <artifact dir>/logs/aiperf.log once every request of its last phase
# has returned. What it does after (processing records, a 2 s wait for the server's metrics,
# exporting, stopping its services: ~3 s) sends nothing, so the next level's AIPerf starts then,
# its start-up (~3 s: tokenizer, services, dataset) beside that tail; it measures once the
# level before it has ended (local/aiperf_profile.py), so no two levels' requests, and no level's
# export, share a measurement.
REQUESTS_DONE = " - NOTICE - All credits completed"
AIPERF_LOG = Path("logs/aiperf.log")
PROFILE_SCRIPT = Path(__file__).parent / "aiperf_profile.py"


def _profile_all(
    names: Sequence[str],
    argvs: Sequence[list[str]],
    run_dirs: Sequence[Path],
    say: Callable[[str], None],
    meter: Meter | None,
) -> list[dict[str, Any]]:
    """`aiperf profile` per level (local/aiperf_profile.py), in order: each started once the level
    before it has returned all its requests (see REQUESTS_DONE), and told to measure once that
    level, finished (reaped, checked, summarized) meanwhile, has ended. Ctrl-C or a failed level
    stops whatever still runs."""
    levels = [_Level(*level) for level in zip(names, argvs, run_dirs)]
    done: list[dict[str, Any]] = []
    try:
        for i, level in enumerate(levels):
            level.start(say, meter)
            if i:
                done.append(levels[i - 1].finish())
            level.measure()
            level.wait_requests_done()
        if levels:
            done.append(levels[-1].finish())
    except KeyboardInterrupt:
        raise proc.Interrupted(
            "interrupted: stopped aiperf " + ", ".join(lv.name for lv in levels if lv.child)
        ) from None
    finally:
        for level in levels:
            level.stop()
    return done


class _Level:
    """One level's `aiperf profile`: started (its progress to the meter until its requests are
    done), told to measure, finished."""

    def __init__(self, name: str, argv: list[str], run_dir: Path):
        self.name, self.argv, self.run_dir = name, argv, run_dir
        self.level = run_level(argv)
        self.meter: Meter | None = None
        self.child: proc.Watched | None = None
        self.started = 0.0

    def start(self, say: Callable[[str], None], meter: Meter | None) -> None:
        from composer.local.venvs import require

        self.run_dir.mkdir(parents=True, exist_ok=True)
        n = self.argv[self.argv.index("--request-count") + 1]
        say(f"aiperf {self.name}: {level_label(self.level)}, {n} requests")
        self.started = time.monotonic()
        if meter:
            meter.start(self.name)
            self.meter = meter
        argv = [str(require("aiperf", "python")), str(PROFILE_SCRIPT), *self.argv[1:]]
        self.child = proc.Watched(
            _with_aiperf_env(argv, self.run_dir), self._feed, name=f"aiperf {self.name}", stdin=subprocess.PIPE
        )

    def measure(self) -> None:
        assert self.child is not None  # started
        self.child.tell("measure")

    def _feed(self, text: str) -> None:
        if self.meter:
            self.meter.feed(text)

    def wait_requests_done(self, poll: float = 0.1, tick: float = 1.0) -> None:
        """Until its log says every request has returned, or it has ended (failed, or an AIPerf
        that logs no such line); the meter ticks each second in between."""
        assert self.child is not None
        log = self.run_dir / AIPERF_LOG
        ticked = time.monotonic()
        while self.child.poll() is None and not (log.is_file() and REQUESTS_DONE in log.read_text(errors="replace")):
            time.sleep(poll)
            if self.meter and time.monotonic() - ticked >= tick:
                self.meter.tick()
                ticked = time.monotonic()
        if self.meter:
            self.meter.end()
            self.meter = None  # what it prints from here on is not progress

    def finish(self) -> dict[str, Any]:
        assert self.child is not None
        done = self.child.wait()
        self.child = None
        for mmap_dir in self.run_dir.glob(f"{MMAP_DIR_PREFIX}*"):
            with contextlib.suppress(OSError):  # emptied by AIPerf; kept if it left something
                mmap_dir.rmdir()
        (self.run_dir / "aiperf-console.log").write_text(done.stdout + done.stderr)
        export = self.run_dir / EXPORT_JSON
        if done.returncode != 0 or not export.is_file():
            raise ComposeError(
                f"aiperf failed (exit {done.returncode}) in run {self.name}; "
                f"output in {self.run_dir / 'aiperf-console.log'}:\n" + quoted(done.stdout + done.stderr, last=20)
            )
        return {
            "name": self.name,
            **self.level,
            "summary": summarize(json.loads(export.read_text())),
            "artifact_dir": str(self.run_dir),
            "json": str(export),
            "csv": str(self.run_dir / EXPORT_CSV),
            "seconds": round(time.monotonic() - self.started, 3),
            "argv": self.argv,
        }

    def stop(self) -> None:
        if self.child is not None:
            self.child.stop()
            self.child = None


def progress_ui(argv: list[str]) -> list[str]:
    """The run with AIPerf's progress bars (`--ui-type simple`, on stderr) instead of none: what
    the meter reads. Only the local run: the Job's log stays as the shared builder makes it."""
    at = argv.index("--ui-type")
    return [*argv[: at + 1], "simple", *argv[at + 2 :]]


def level_label(level: Mapping[str, Any]) -> str:
    """`concurrency 4`, `request rate 2 req/s`, `request rate 2 req/s, concurrency 4`."""
    parts = []
    if level.get("request_rate") is not None:
        parts.append(f"request rate {level['request_rate']:g} req/s")
    if level.get("concurrency") is not None:
        parts.append(f"concurrency {level['concurrency']}")
    return ", ".join(parts)


def _start_plot(
    run_dirs: Sequence[Path], out: Path, owner: str | None = None, options: Sequence[str] = ()
) -> subprocess.Popen:
    """`aiperf plot <run dirs> --output <out>`, started before the runs so its imports and its
    browser are ready when they end (local/aiperf_plot.py); it draws once told to."""
    from composer.local.venvs import require

    out.mkdir(parents=True, exist_ok=True)
    argv = [str(require("aiperf", "python")), str(PLOT_SCRIPT), *map(str, run_dirs), "--output", str(out), *options]
    return proc.spawn(argv, log=out / PLOT_LOG, stdin=subprocess.PIPE, owner=owner, name="aiperf-plot")


def _finish_plot(plotter: subprocess.Popen, out: Path, timeout: float = PLOT_TIMEOUT) -> tuple[list[str], str | None]:
    """(PNG paths, a note when there are none). The caller stops the plotter."""
    assert plotter.stdin is not None  # started with stdin=PIPE
    try:
        plotter.stdin.write(b"draw\n")
        plotter.stdin.close()
    except BrokenPipeError:  # it failed on its own; its log says why
        pass
    try:
        returncode = plotter.wait(timeout)
    except subprocess.TimeoutExpired:
        return [], (
            f"aiperf plot drew nothing within {timeout:g} s (its headless browser hangs at times) and was "
            f"stopped; {DATA_HINT}"
        )
    except KeyboardInterrupt:
        raise proc.Interrupted("interrupted: stopped aiperf plot") from None
    files = sorted(str(p) for p in out.glob("*.png"))
    if files:
        return files, None
    if "Chrome" in (out / PLOT_LOG).read_text(errors="replace"):
        return [], CHROME_HINT
    return [], f"aiperf plot made no PNGs (exit {returncode}); see {out / PLOT_LOG}"


def _with_aiperf_env(argv: list[str], run_dir: Path) -> list[str]:
    """argv run without the OFFLINE_VARS, and with the dataset AIPerf memory-maps in the run's own
    directory: AIPerf 0.13.0 removes its files at the end but not their directory
    (`aiperf_mmap_<benchmark id>`, by default one per run in the system's temp dir)."""
    unset = [a for v in OFFLINE_VARS for a in ("-u", v)]
    return ["env", *unset, f"{MMAP_BASE_VAR}={run_dir}", *argv]
