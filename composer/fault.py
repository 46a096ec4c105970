"""Fault injection: kill one worker and see what it costs.

    kill_local(root, env, component, replica, sig)     # one process of a local graph (its group)
    kill_kube(dep, plan, component, replica, sig)      # one pod of a DGD component
    bench_local(root, dep, env, component, ...)        # baseline sweep, then the same sweep with a kill

`bench_local` measures, in one invocation: the benchmark sweep (benchmark.config, as `compose
bench` runs it) without a fault, then again while one process of the component is killed
`after` seconds into the load. The report takes errors and latencies from AIPerf's own JSON
(profile_export_aiperf.json) of both sweeps, and the recovery time from chat completions polled
from the moment of the kill: recovered when `streak` of them succeed in a row.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from composer import bench, proc
from composer.dynamo import COMPONENT_REQUESTS, FRONTEND_REQUESTS_STARTED
from composer.dynamo import LABEL_COMPONENT as COMPONENT_LABEL
from composer.dynamo import LABEL_DGD_NAME as DGD_LABEL
from composer.errors import ComposeError, UsageError
from composer.kube import kubectl
from composer.local import aiperf_runs, loopback

SIGNALS = {"KILL": signal.SIGKILL, "TERM": signal.SIGTERM}
EXIT_WAIT = 10.0
STARTED_METRIC = FRONTEND_REQUESTS_STARTED
PROBE_INTERVAL = 0.1
# Recovered: this many chat completions in a row succeed (about 2 s of them). While the dead
# worker is still in the router's rotation, the benchmark's requests take turns with the
# probes, so each probe has about even odds of landing on it: a short streak proves nothing.
PROBE_STREAK = 20
WARMUP_CHATS = 8
RECOVERY_TIMEOUT = 60.0
DEFAULT_AFTER = 2.0

Progress = Callable[[str], None]


# -- local -------------------------------------------------------------------------------------


def pick_local(
    processes: Sequence[Mapping[str, Any]],
    component: str,
    replica: int | None,
    alive: Callable[[Mapping[str, Any]], bool],
) -> Mapping[str, Any]:
    """The process to kill: `<component>-<replica>`, or the first of the component still alive."""
    of = [p for p in processes if p["component"] == component]
    if not of:
        names = sorted({p["component"] for p in processes})
        raise UsageError(f"no component {component!r} runs locally (components: {', '.join(names) or 'none'})")
    if replica is not None:
        name = f"{component}-{replica}"
        chosen = next((p for p in of if p["name"] == name), None)
        if chosen is None:
            raise UsageError(f"{component} has {len(of)} replica(s) locally: --replica 0..{len(of) - 1}")
        if not alive(chosen):
            raise ComposeError(f"{name} (pid {chosen['pid']}) is not running any more")
        return chosen
    chosen = next((p for p in of if alive(p)), None)
    if chosen is None:
        raise ComposeError(
            f"no process of {component} is running any more: "
            f"{', '.join(p['name'] for p in of)} {'has' if len(of) == 1 else 'have'} exited"
        )
    return chosen


def restarted(state: Mapping[str, Any], victim: Mapping[str, Any], alive: Callable[[Mapping[str, Any]], bool]) -> bool:
    """Whether the graph's supervisor runs and will start `victim` again once it dies."""
    supervisor = state.get("supervisor")
    return supervisor is not None and alive(supervisor) and victim.get("restart_policy", "Always") != "Never"


def recovery_paths(
    state: Mapping[str, Any], victim: Mapping[str, Any], alive: Callable[[Mapping[str, Any]], bool]
) -> tuple[list[str], list[str]]:
    """(what can bring the service back after `victim` dies, why nothing else can): the local
    runtime's supervisor restarting it, or other live replicas of its component."""
    ways, missing = [], []
    policy = victim.get("restart_policy", "Always")
    if restarted(state, victim, alive):
        ways.append(f"the local runtime restarts {victim['name']} (restartPolicy {policy})")
    elif policy == "Never":
        missing.append(f"{victim['name']}'s restartPolicy is Never")
    else:
        missing.append(
            "no supervisor runs for this graph, so nothing restarts a process that dies "
            "(`compose down`, then `compose up`, starts one)"
        )
    others = [
        p["name"]
        for p in state["processes"]
        if p["component"] == victim["component"] and p["name"] != victim["name"] and alive(p)
    ]
    if others:
        ways.append(f"{', '.join(others)} {'keeps' if len(others) == 1 else 'keep'} serving {victim['component']}")
    else:
        missing.append(f"no other {victim['component']} process runs")
    return ways, missing


def kill_process(victim: Mapping[str, Any], sig_name: str) -> dict[str, Any]:
    """Signal the victim's process group (like a pod dying: the process and its children) and
    wait up to EXIT_WAIT seconds for it to exit."""
    t0 = time.monotonic()
    proc.signal_group(victim["pid"], SIGNALS[sig_name])
    left = proc.wait_gone([victim["pid"]], EXIT_WAIT)
    return {
        "name": victim["name"],
        "component": victim["component"],
        "pid": victim["pid"],
        "signal": f"SIG{sig_name}",
        "dead": not left,
        "exit_seconds": None if left else round(time.monotonic() - t0, 3),
    }


def kill_local(
    root: Path, env: str, component: str, replica: int | None = None, sig_name: str = "KILL"
) -> dict[str, Any]:
    from composer.local import target
    from composer.local.runtime import process_alive

    state = target.running(root, env)
    victim = pick_local(state["processes"], component, replica, process_alive)
    again = restarted(state, victim, process_alive)
    killed = kill_process(victim, sig_name)
    survivors = [
        p["name"]
        for p in state["processes"]
        if p["component"] == component and p["name"] != victim["name"] and process_alive(p)
    ]
    return {"target": "local", "killed": killed, "survivors": survivors, "restarted": again}


# -- Kubernetes --------------------------------------------------------------------------------


def pods_argv(context: str | None, namespace: str, dgd: str, component: str, *how: str) -> list[str]:
    """`kubectl get pods` of one component of a DGD; `how`: -o json (the default), -w ..."""
    return kubectl(
        context,
        "-n",
        namespace,
        "get",
        "pods",
        "-l",
        f"{DGD_LABEL}={dgd},{COMPONENT_LABEL}={component}",
        *(how or ("-o", "json")),
    )


def delete_argv(context: str | None, namespace: str, pod: str, sig_name: str) -> list[str]:
    """KILL: a 1 s grace period (Kubernetes sends SIGTERM, then SIGKILL; 1 s is its shortest
    without --force). TERM: the pod's own terminationGracePeriodSeconds."""
    grace = ["--grace-period=1"] if sig_name == "KILL" else []
    return kubectl(context, "-n", namespace, "delete", "pod", pod, *grace, "--wait=false")


def pick_pod(pods: Mapping[str, Any], component: str, replica: int | None) -> str:
    """One pod by name: the replica-th in name order, or the first Running one."""
    items = sorted(
        (p for p in pods.get("items") or [] if not p["metadata"].get("deletionTimestamp")),
        key=lambda p: p["metadata"]["name"],
    )
    if not items:
        raise ComposeError(f"no pod of component {component!r} found (is it deployed? `compose status`)")
    if replica is not None:
        if not 0 <= replica < len(items):
            raise UsageError(f"{component} has {len(items)} pod(s): --replica 0..{len(items) - 1}")
        return items[replica]["metadata"]["name"]
    running = [p for p in items if (p.get("status") or {}).get("phase") == "Running"]
    return (running or items)[0]["metadata"]["name"]


def kill_kube(dep, plan, component: str, replica: int | None = None, sig_name: str = "KILL") -> dict[str, Any]:
    context, ns = plan.kube_context, dep.namespace
    listed = proc.run(pods_argv(context, ns, dep.name, component))
    if listed.returncode != 0:
        raise ComposeError(
            f"listing the pods of {component} failed (exit {listed.returncode}): {listed.stderr.strip()}"
        )
    try:
        pods = json.loads(listed.stdout)
    except ValueError:
        raise ComposeError("kubectl get pods printed no JSON") from None
    pod = pick_pod(pods, component, replica)
    argv = delete_argv(context, ns, pod, sig_name)
    done = proc.run(argv)
    if done.returncode != 0:
        raise ComposeError(f"deleting pod {ns}/{pod} failed (exit {done.returncode}): {done.stderr.strip()}")
    others = sorted(p["metadata"]["name"] for p in pods.get("items") or [] if p["metadata"]["name"] != pod)
    return {
        "target": "kubernetes",
        "killed": {"pod": pod, "namespace": ns, "component": component, "signal": f"SIG{sig_name}", "argv": argv},
        "survivors": others,
        "watch": " ".join(pods_argv(context, ns, dep.name, component, "-w")),
    }


# -- the fault benchmark (local) ---------------------------------------------------------------


def _samples(url: str, metric: str) -> list[float] | None:
    """The values of the lines of `<url>/metrics` that start with `metric`; None if unreadable."""
    try:
        text = loopback.get(f"{url}/metrics").text
    except loopback.Failed:
        return None
    return [float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(metric)]


def served(system_port: int) -> float | None:
    """Requests a worker has handled: dynamo_component_requests_total on its system port."""
    values = _samples(f"http://127.0.0.1:{system_port}", COMPONENT_REQUESTS + "{")
    return None if values is None else sum(values)


def started_requests(url: str) -> float | None:
    """The frontend's count of requests started so far, from its /metrics; None if unreadable."""
    values = _samples(url, STARTED_METRIC)
    return sum(values) if values else None


class Injector(threading.Thread):
    """Waits for the load to reach the frontend, then `after` seconds more, kills the victim and
    polls chat completions until `streak` succeed in a row (or `timeout` passes)."""

    def __init__(
        self,
        *,
        url: str,
        model: str,
        victim: Mapping[str, Any],
        sig_name: str,
        after: float,
        streak: int = PROBE_STREAK,
        timeout: float = RECOVERY_TIMEOUT,
        say: Progress = lambda _m: None,
    ):
        super().__init__(daemon=True)
        self.url, self.model, self.victim, self.sig_name = url, model, victim, sig_name
        self.after, self.streak, self.timeout, self.say = after, streak, timeout, say
        self.base = started_requests(url)
        self.sweep_done = threading.Event()
        self.abort = threading.Event()  # the sweep failed or was interrupted: stop probing
        self.load_started: float | None = None
        self.killed_at: float | None = None
        self.result: dict[str, Any] = {"killed": None, "recovery": None, "note": None}

    def run(self) -> None:
        t0 = time.monotonic()
        while not self.sweep_done.is_set():
            now = started_requests(self.url)
            if self.base is None or now is None:
                self.load_started = t0  # no metrics: count from the start of the sweep
                self.result["note"] = "the frontend's /metrics was unreadable: `after` counted from the sweep start"
                break
            if now > self.base:
                self.load_started = time.monotonic()
                break
            time.sleep(0.05)
        wait = max(0.0, self.load_started + self.after - time.monotonic()) if self.load_started is not None else 0
        if self.load_started is None or self.sweep_done.wait(wait):
            self.result["note"] = f"the sweep ended before the kill ({self.after:.1f} s into the load): nothing killed"
            return
        from composer.local.runtime import process_alive

        if not process_alive(self.victim):
            self.result["note"] = f"{self.victim['name']} (pid {self.victim['pid']}) had exited before the kill"
            return
        self.killed_at = time.monotonic()
        self.result["killed"] = kill_process(self.victim, self.sig_name)
        self.result["killed"]["after_load_start_s"] = round(self.killed_at - self.load_started, 3)
        self.result["killed"]["at"] = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
        self.say(
            f"killed {self.victim['name']} (pid {self.victim['pid']}, SIG{self.sig_name}) "
            f"{self.killed_at - self.load_started:.1f} s into the load; polling chat completions"
        )
        self.result["recovery"] = self._probe()

    def _probe(self) -> dict[str, Any]:
        from composer.local.runtime import CHAT_FAILED, chat

        assert self.killed_at is not None  # probing starts after the kill
        killed_at = self.killed_at
        probes, failed = 0, 0
        run_start: float | None = None
        first_success: float | None = None
        errors: dict[str, int] = {}
        deadline = killed_at + self.timeout
        ok_in_row = 0
        while time.monotonic() < deadline and not self.abort.is_set():
            sent = time.monotonic()
            try:
                chat(self.url, self.model, "Are you there?", max_tokens=4, timeout=5)
                ok = True
            except CHAT_FAILED as e:
                ok = False
                key = _short_error(e)
                errors[key] = errors.get(key, 0) + 1
            probes += 1
            if ok:
                first_success = sent if first_success is None else first_success
                run_start = sent if ok_in_row == 0 else run_start
                ok_in_row += 1
                if ok_in_row >= self.streak:
                    break
            else:
                failed += 1
                ok_in_row = 0
            time.sleep(PROBE_INTERVAL)
        recovered = ok_in_row >= self.streak
        return {
            "recovered": recovered,
            "seconds": round(run_start - killed_at, 3) if recovered and run_start is not None else None,
            "first_success_s": round(first_success - killed_at, 3) if first_success else None,
            "probes": probes,
            "failed_probes": failed,
            "probe_errors": errors,
            "streak": self.streak,
            "timeout_s": self.timeout,
        }


def run_sweep(runs: Sequence[Mapping[str, Any]], artifact_dir: Path, progress: Progress) -> list[dict[str, Any]]:
    """aiperf_runs.run_local one run at a time (no plots), keeping when each ran. A run whose aiperf
    exits non-zero but wrote its JSON still counts: that is what a fault can do."""
    out = []
    for run in runs:
        started = time.monotonic()
        try:
            done = aiperf_runs.run_local(runs=[run], artifact_dir=artifact_dir, plots=False, progress=progress)["runs"][
                0
            ]
        except ComposeError as e:
            argv = list(run["args"])
            export = Path(argv[argv.index("--artifact-dir") + 1]) / bench.EXPORT_JSON
            if not export.is_file():
                raise
            done = {
                "name": run["name"],
                **bench.run_level(argv),
                "summary": bench.summarize(json.loads(export.read_text())),
                "json": str(export),
                "aiperf_error": str(e).splitlines()[0],
            }
        out.append({**done, "started": started, "ended": time.monotonic()})
    return out


def bench_local(
    root: Path,
    dep,
    env: str,
    component: str,
    *,
    replica: int | None = None,
    after: float | None = None,
    sig_name: str = "KILL",
    progress: Progress = lambda _m: None,
    streak: int = PROBE_STREAK,
    recovery_timeout: float = RECOVERY_TIMEOUT,
) -> dict[str, Any]:
    from composer.local import target
    from composer.local.runtime import process_alive, read_state
    from composer.plan import benchmark_runs

    state_dir = target.state_dir(root, env)
    state = target.running(root, env)
    victim = pick_local(state["processes"], component, replica, process_alive)  # fail before measuring anything
    ways, missing = recovery_paths(state, victim, process_alive)
    if not ways:
        raise ComposeError(
            f"nothing can recover from killing {victim['name']}: {'; '.join(missing)}. "
            f"The fault benchmark measures recovery; it would measure none"
        )
    progress(f"after the kill, {' and '.join(ways)}")
    out = bench.results_dir(root, env)
    out = out.with_name(out.name + "-fault")
    t0 = time.monotonic()

    def runs(kind: str) -> list[dict[str, Any]]:
        return benchmark_runs(dep, url=state["url"], tokenizer=state["tokenizer"], artifact_dir=str(out / kind))

    _warm_up(state["url"], state["model"])  # so the baseline is not the first traffic after `up`
    progress("baseline: the benchmark sweep, no fault")
    baseline = run_sweep(runs("baseline"), out / "baseline", progress)
    if after is None:
        first = baseline[0]["summary"].get("duration_s")
        after = round(first / 2, 3) if first else DEFAULT_AFTER
    progress(f"fault: the same sweep, killing {victim['name']} {after:.1f} s into the load")
    injector = Injector(
        url=state["url"],
        model=state["model"],
        victim=victim,
        sig_name=sig_name,
        after=after,
        streak=streak,
        timeout=recovery_timeout,
        say=progress,
    )
    injector.start()
    try:
        faulted = run_sweep(runs("fault"), out / "fault", progress)
    except BaseException:
        injector.abort.set()
        raise
    finally:
        injector.sweep_done.set()
        injector.join(recovery_timeout + EXIT_WAIT + 10)
    killed = injector.result["killed"]
    during = None
    if injector.killed_at is not None:
        during = next((r["name"] for r in faulted if r["started"] <= injector.killed_at <= r["ended"]), None)
        killed["during_run"] = during
    now = (read_state(state_dir) or {"processes": []})["processes"]
    survivors = [
        {
            "name": p["name"],
            "pid": p["pid"],
            "alive": process_alive(p),
            "requests_served": served(p["ports"][0]) if p["ports"] and process_alive(p) else None,
        }
        for p in now
        if p["component"] == component and p["name"] != victim["name"]
    ]
    again = next(p for p in now if p["name"] == victim["name"])
    back = {
        "name": again["name"],
        "pid": again["pid"],
        "alive": process_alive(again),
        "restarts": again.get("restarts", 0) - victim.get("restarts", 0),
    }
    report = {
        "component": component,
        "after_s": after,
        "artifact_dir": str(out),
        "killed": killed,
        "recovery": injector.result["recovery"],
        "note": injector.result["note"],
        "runs": [compare(b, f) for b, f in zip(baseline, faulted)],
        "totals": {"baseline": _totals(baseline), "fault": _totals(faulted)},
        "survivors": survivors,
        "recovery_by": ways,
        "restarted": back,
        "seconds": round(time.monotonic() - t0, 3),
    }
    (out / "fault-report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def _warm_up(url: str, model: str, n: int = WARMUP_CHATS) -> None:
    from composer.local.runtime import CHAT_FAILED, chat

    for _ in range(n):
        try:
            chat(url, model, "Warm up.", max_tokens=4, timeout=10)
        except CHAT_FAILED:
            pass  # the baseline will show it


LATENCIES = (("ttft_ms", "TTFT"), ("itl_ms", "ITL"))


def compare(base: Mapping[str, Any], fault: Mapping[str, Any]) -> dict[str, Any]:
    """One run of both sweeps side by side: counts, error rates, TTFT/ITL avg and p99 with the change."""
    b, f = base["summary"], fault["summary"]
    out: dict[str, Any] = {
        "name": base["name"],
        "concurrency": base.get("concurrency"),
        "baseline_json": base["json"],
        "fault_json": fault["json"],
    }
    for key in ("requests", "errors", "error_rate_pct"):
        out[key] = {"baseline": b.get(key), "fault": f.get(key)}
    # AIPerf 0.13.0 counts a stream that a dying worker cut short as a success; with
    # min_tokens = max_tokens and ignore_eos, its output-length mismatch gives it away.
    bt, ft = truncated(base["json"]), truncated(fault["json"])
    out["cut_short"] = {"baseline": bt, "fault": ft}
    out["lost_pct"] = {"baseline": _lost_pct(b, bt), "fault": _lost_pct(f, ft)}
    for key, _label in LATENCIES:
        for stat in ("avg", "p99"):
            bv, fv = (b.get(key) or {}).get(stat), (f.get(key) or {}).get(stat)
            out[f"{key}_{stat}"] = {"baseline": bv, "fault": fv, "change_pct": _change(bv, fv)}
    if fault.get("aiperf_error"):
        out["aiperf_error"] = fault["aiperf_error"]
    return out


def truncated(export_json: str | Path) -> int | None:
    """Requests AIPerf counted as successes that ended before their output length
    (osl_mismatch_count of profile_export_aiperf.json); None when it is not there."""
    try:
        m = json.loads(Path(export_json).read_text()).get("osl_mismatch_count")
    except (OSError, ValueError):
        return None
    return int(m["avg"]) if isinstance(m, Mapping) and m.get("avg") is not None else None


def _lost_pct(summary: Mapping[str, Any], cut: int | None) -> float:
    total = summary["requests"] + summary["errors"]
    return round(100.0 * (summary["errors"] + (cut or 0)) / total, 3) if total else 0.0


def format_report(r: Mapping[str, Any]) -> str:
    lines = []
    k = r.get("killed")
    if k:
        lines.append(
            f"killed {k['name']} (pid {k['pid']}, {k['signal']}) {k['after_load_start_s']:.2f} s into the "
            f"load"
            + (f", during run {k['during_run']}" if k.get("during_run") else "")
            + ("" if k["dead"] else f"; it was STILL ALIVE {EXIT_WAIT:.0f} s later")
        )
    if r.get("note"):
        lines.append(f"note: {r['note']}")
    rec = r.get("recovery")
    if rec:
        if rec["recovered"]:
            lines.append(
                f"recovery: {rec['seconds']:.2f} s after the kill, {rec['streak']} chat completions in a row "
                f"succeeded (first success {rec['first_success_s']:.2f} s; "
                f"{rec['failed_probes']} of {rec['probes']} probes failed)"
            )
        else:
            lines.append(
                f"recovery: NOT RECOVERED within {rec['timeout_s']:g} s "
                f"({rec['failed_probes']} of {rec['probes']} probes failed: "
                f"{', '.join(f'{e} x{n}' for e, n in rec['probe_errors'].items()) or '-'})"
            )
    lines.append("")
    head = (
        "run",
        "requests ok",
        "errors",
        "cut short",
        "lost",
        "TTFT avg ms",
        "TTFT p99 ms",
        "ITL avg ms",
        "ITL p99 ms",
    )
    rows = [head]
    for run in r["runs"]:
        rows.append(
            (
                run["name"],
                _pair(run["requests"]),
                _pair(run["errors"]),
                _pair(run["cut_short"]),
                _pair(run["lost_pct"], "{:.1f}%"),
                *(_lat(run[f"{key}_{stat}"]) for key, _ in LATENCIES for stat in ("avg", "p99")),
            )
        )
    width = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines += ["  ".join(c.ljust(width[i]) if i == 0 else c.rjust(width[i]) for i, c in enumerate(row)) for row in rows]
    lines.append(
        "baseline -> with the fault, from AIPerf's JSON. errors: failed requests; cut short: streams that\n"
        "ended early, which AIPerf counts as successes; lost: both, of all requests; latencies: of successes"
    )
    if r.get("survivors"):
        lines.append(
            "survivors: "
            + ", ".join(
                f"{s['name']} {'alive' if s['alive'] else 'DEAD'}"
                + (f", {s['requests_served']:.0f} requests served" if s.get("requests_served") is not None else "")
                for s in r["survivors"]
            )
        )
    lines.append(f"artifacts: {r['artifact_dir']} (fault-report.json, baseline/, fault/)")
    again = r.get("restarted")
    if k and again:
        lines.append(
            f"{k['name']} restarted by the local runtime (now pid {again['pid']})"
            if again["restarts"]
            else f"{k['name']} not restarted yet: `compose status` shows its next restart"
        )
    return "\n".join(lines)


def format_kill(r: Mapping[str, Any]) -> str:
    k = r["killed"]
    if r["target"] == "local":
        gone = f"gone after {k['exit_seconds']:.2f} s" if k["dead"] else f"STILL ALIVE after {EXIT_WAIT:.0f} s"
        left = (
            f"; still running: {', '.join(r['survivors'])}" if r["survivors"] else f"; no other {k['component']} runs"
        )
        again = (
            "; the local runtime restarts it after its back-off (`compose status` counts restarts)"
            if r.get("restarted")
            else "; nothing restarts it (no supervisor runs, or restartPolicy Never)"
        )
        return f"killed {k['name']} (pid {k['pid']}) with {k['signal']}: {gone}{left}{again}"
    return (
        f"deleted pod {k['namespace']}/{k['pod']} ({k['component']}, {k['signal']}"
        f"{' via --grace-period=1' if k['signal'] == 'SIGKILL' else ''}); its controller starts a replacement. "
        f"Watch: {r['watch']}"
    )


def _totals(runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    ok = sum(r["summary"]["requests"] for r in runs)
    errors = sum(r["summary"]["errors"] for r in runs)
    cut = sum(truncated(r["json"]) or 0 for r in runs)
    total = ok + errors
    return {
        "requests": ok,
        "errors": errors,
        "cut_short": cut,
        "error_rate_pct": round(100.0 * errors / total, 3) if total else 0.0,
        "lost_pct": round(100.0 * (errors + cut) / total, 3) if total else 0.0,
    }


def _change(before: float | None, after: float | None) -> float | None:
    if before is None or after is None or before == 0:
        return None
    return round(100.0 * (after - before) / before, 1)


def _pair(v: Mapping[str, Any], fmt: str = "{}") -> str:
    def one(x: Any) -> str:
        return "-" if x is None else fmt.format(x)

    return f"{one(v['baseline'])} -> {one(v['fault'])}"


def _lat(v: Mapping[str, Any]) -> str:
    def one(x: Any) -> str:
        return "-" if x is None else f"{x:.1f}"

    change = f" ({v['change_pct']:+.0f}%)" if v.get("change_pct") is not None else ""
    return f"{one(v['baseline'])} -> {one(v['fault'])}{change}"


def _short_error(e: Exception) -> str:
    return e.reason if isinstance(e, loopback.Failed) else type(e).__name__
