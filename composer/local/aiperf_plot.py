"""`aiperf plot <args>`, warmed up before its data exists.

`compose bench` starts this with the aiperf venv's python before the first `aiperf profile`.
Importing the plot command (seaborn, scipy, plotly: ~3 s of CPU) and starting the headless
browser kaleido draws PNGs with (~2 s per figure when started per figure, as `aiperf plot`
does) then happen while the benchmark runs, at the lowest CPU priority so that the benchmark
keeps the CPU (what it may still cost the benchmark on 2 cores: README, "Performance"). A line on stdin says
the data is complete: the plot command runs, at normal priority, as the CLI would run it. EOF
instead (the benchmark failed, or compose is gone) exits without drawing.

Two options are compose's, not `aiperf plot`'s: `--gpus N`, the deployment's GPU count, which AIPerf
needs for its per-GPU plots (use_gpu_count), and `--sweep FILE`, compose's sweep.json
(composer/report.py), from which it then draws compose's own plots (draw_sweep).

It runs in the aiperf venv: it must not import composer.
"""

import importlib
import json
import logging
import os
import sys
import threading

# compose starts this as the leader of a session of its own; run by hand from a shell, the
# shell's session (its priority, its browser handling) is left alone
LEADS_SESSION = os.getsid(0) == os.getpid()


def session_nice(nice: int) -> None:
    """Under autogroup scheduling (Linux's default) nice ranks only the tasks of one session;
    between sessions, the session's group nice counts. Set it for this session when it is ours."""
    if LEADS_SESSION:
        try:
            with open("/proc/self/autogroup", "w") as group:
                group.write(str(nice))
        except OSError:  # no autogroup: nice alone ranks
            pass


os.nice(19)  # warm up on idle CPU only
session_nice(19)

import kaleido  # noqa: E402
import plotly.graph_objects as go  # noqa: E402
from aiperf.cli import app  # noqa: E402

importlib.import_module("aiperf.plot.cli_runner")  # the plot command imports it only when called


def keep_browser_in_session() -> None:
    """choreographer starts the browser in a session of its own, so that a terminal's Ctrl-C
    does not reach it. Here that session would escape the warm-up's low priority (Chromium then
    starts at full priority, some of it at nice -8, beside the benchmark) and compose's stop of
    this process group. When this process leads a session of its own, keep the browser in it."""
    if not LEADS_SESSION:
        return
    try:
        from choreographer.browsers.chromium import Chromium
    except ImportError:  # another kaleido: its browser goes where it puts it
        return
    popen_args = Chromium.get_popen_args

    def get_popen_args(self):
        return {k: v for k, v in popen_args(self).items() if k != "start_new_session"}

    Chromium.get_popen_args = get_popen_args


def start_browser() -> None:
    """One browser for every figure, warmed up with aiperf's template (its first use loads
    every trace type). If that fails (no Chrome), `aiperf plot` runs as it would alone and says
    what is missing in its own words."""
    kaleido.start_sync_server(silence_warnings=True)
    # kaleido's sync server swallows a failed start, after which every call waits forever:
    # draw the warm-up figure beside the server's thread and give up if that thread dies.
    server = getattr(getattr(kaleido, "_global_server", None), "_thread", None)
    drawn = threading.Event()

    def draw() -> None:
        try:
            go.Figure(go.Scatter(x=[0], y=[0]), layout={"template": "plotly_white"}).to_image(format="png")
        except Exception:
            return
        drawn.set()

    if server is not None:
        threading.Thread(target=draw, daemon=True).start()
        while server.is_alive() and not drawn.wait(0.1):
            pass
    if not drawn.is_set():
        kaleido.stop_sync_server(silence_warnings=True)


def compose_options(args: list[str]) -> tuple[list[str], int, str | None]:
    """compose's own options, taken out of what goes to `aiperf plot`: `--gpus N` (the
    deployment's GPU count) and `--sweep FILE` (compose's sweep.json, composer/report.py)."""
    rest, gpus, sweep = [], 0, None
    it = iter(args)
    for a in it:
        if a == "--gpus":
            gpus = int(next(it))
        elif a == "--sweep":
            sweep = next(it)
        else:
            rest.append(a)
    return rest, gpus, sweep


def use_gpu_count(gpus: int) -> None:
    """AIPerf's plot derives output_token_throughput_per_gpu (its Pareto and efficiency plots'
    y axis) only from a GPU count it reads in the run's GPU telemetry (DataLoader.
    calculate_gpu_count_from_telemetry), and draws none of those plots without one. compose runs
    AIPerf without telemetry (no DCGM locally; in a cluster, the exporter's GPUs need not be the
    deployment's): the deployment's GPU count stands in for it, the one compose's table divides by."""
    if gpus <= 0:
        return
    from aiperf.plot.core.data_loader import DataLoader

    DataLoader.calculate_gpu_count_from_telemetry = lambda self, aggregated: gpus


def option(args: list[str], name: str) -> str | None:
    return args[args.index(name) + 1] if name in args[:-1] else None


def draw_sweep(sweep_file: str, out: str) -> None:
    """compose's plots, beside AIPerf's: TTFT and ITL p50/p90/p99 against concurrency, the SLA as
    a horizontal line, the prediction (compose tune) as a marker. Each saved as PNG and as the
    figure's JSON (what the lines are, readable without the picture)."""
    with open(sweep_file) as f:
        sweep = json.load(f)
    rows = sweep["rows"]
    if not rows:
        return
    x = [r["concurrency"] for r in rows]
    predicted = sweep.get("predicted") or {}
    for metric, (name, title) in PLOTS.items():
        fig = go.Figure(layout={"template": "plotly_white"})
        for p, dash in (("p50", "solid"), ("p90", "dash"), ("p99", "dot")):
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=[r.get(f"{metric}_{p}_ms") for r in rows],
                    name=p,
                    mode="lines+markers",
                    line={"dash": dash},
                )
            )
        sla = (sweep.get("sla") or {}).get(metric)
        if sla is not None:
            fig.add_hline(
                y=sla,
                line={"color": "red", "dash": "longdash"},
                annotation_text=f"SLA {sla:g} ms",
                annotation_position="top left",
                name=f"SLA {metric}",
            )
        guess = next((m for m in predicted.get("metrics") or [] if m["column"] == f"{metric}_p50_ms"), None)
        if guess is not None:
            fig.add_trace(
                go.Scatter(
                    x=[predicted["concurrency"]],
                    y=[guess["predicted"]],
                    name="predicted",
                    mode="markers",
                    marker={"symbol": "x", "size": 12},
                )
            )
        fig.update_layout(
            title=f"{title} percentiles vs concurrency",
            xaxis_title="concurrency",
            yaxis_title=f"{title} (ms)",
            # the measured levels as ticks (no 1.2 concurrency); latency from 0, so the SLA's margin shows
            xaxis={"type": "log" if len(x) > 2 and max(x) / max(min(x), 1) >= 16 else "linear", "tickvals": x},
            yaxis={"rangemode": "tozero"},
        )
        fig.write_json(os.path.join(out, name + ".json"))
        fig.write_image(os.path.join(out, name + ".png"), format="png", width=900, height=500)


PLOTS = {
    "ttft": ("ttft_percentiles_vs_concurrency", "Time to first token"),
    "itl": ("itl_percentiles_vs_concurrency", "Inter-token latency"),
}


def main(args: list[str]) -> None:
    args, gpus, sweep = compose_options(args)
    use_gpu_count(gpus)
    keep_browser_in_session()
    start_browser()
    if not sys.stdin.readline():
        return
    session_nice(0)  # the plots are what compose waits for now (without autogroup, nice 19 stays)
    try:
        try:
            app(["plot", *args])
        finally:
            # ours after AIPerf's, whatever became of its: from compose's data, not its run dirs
            if sweep:
                try:
                    draw_sweep(sweep, option(args, "--output") or ".")
                except Exception as e:  # its own plots stand; say why ours are missing
                    print(f"compose's sweep plots failed: {type(e).__name__}: {e}", flush=True)
    finally:
        kaleido.stop_sync_server(silence_warnings=True)


def exit_now(code: int) -> None:
    """Exit without tearing down what the plot command imported and started (~1 s): the
    PNGs and logs are written and closed."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except SystemExit as done:  # how the plot command ends, as the CLI does
        exit_now(0 if done.code is None else done.code if isinstance(done.code, int) else 1)
    exit_now(0)
