"""Start, inspect and stop a local graph: the processes planned by graph.plan_processes.

Everything about a run lives in one state dir:
  state.json        what runs: PIDs (+ start ticks, so a reused PID is never ours), argv, ports
  logs/<name>.log   each process's output, truncated at every `up`
  kv/               Dynamo's file discovery store (DYN_FILE_KV), emptied at every `up`
  config/           ConfigMap contents the processes read
  hf/               the private HF cache holding the stand-in model, when one is needed
"""
from __future__ import annotations

import json
import shutil
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from composer import proc
from composer.errors import ComposeError, quoted
from composer.local import loopback, ports
from composer.local.graph import LOOPBACK, ProcessSpec
from composer.write import replace_file

STATE_FILE = "state.json"
STATE_VERSION = 1
TAIL_LINES = 20
POLL_SECONDS = 0.05  # readiness polling: a request to the local frontend costs about a millisecond
STOP_GRACE = 10.0

Progress = Callable[[str], None]


def up(specs: Sequence[ProcessSpec], state_dir: Path, model_name: str, timeout: float = 120.0,
       progress: Progress | None = None) -> dict[str, Any]:
    """Start every process and wait until the frontend lists `model_name` and answers a chat
    completion. Returns what runs and the measured time to ready. On failure or Ctrl-C
    everything started is stopped again."""
    say = progress or (lambda _msg: None)
    state_dir = Path(state_dir)
    _refuse_if_running(state_dir)
    frontend = next((s for s in specs if s.role == "frontend"), None)
    if frontend is None:
        raise ComposeError("nothing to serve: the plan has no frontend process")
    busy = ports.conflicts(p for s in specs for p in s.ports)
    if busy:
        raise ComposeError("cannot start the local graph: " + "; ".join(busy)
                           + " (pick another port, or stop what holds it)")
    url = f"http://{LOOPBACK}:{frontend.ports[0]}"
    _prepare_dirs(state_dir, specs)
    state: dict[str, Any] = {"version": STATE_VERSION, "model": model_name, "url": url,
                             "started": _now(), "ready_seconds": None, "processes": []}
    running: list[tuple[ProcessSpec, Any, Path]] = []
    t0 = time.monotonic()
    try:
        for spec in specs:
            log = state_dir / "logs" / f"{spec.name}.log"
            child = proc.spawn(spec.argv, env=spec.env, log=log)
            running.append((spec, child, log))
            state["processes"].append(_record(spec, child.pid, log))
            write_state(state_dir, state)
            say(f"started {spec.name} (pid {child.pid})")
        _wait_ready(url, model_name, running, t0 + timeout, timeout, say)
    except BaseException:
        if running:
            say("stopping what was started")
        proc.stop_groups([child.pid for _spec, child, _log in running], STOP_GRACE)
        for _spec, child, _log in running:
            child.wait()  # reap: they are our children
        _remove_state(state_dir)
        raise
    state["ready_seconds"] = round(time.monotonic() - t0, 3)
    write_state(state_dir, state)
    return {**state, "state_file": str(state_dir / STATE_FILE)}


def status(state_dir: Path) -> dict[str, Any]:
    """What the state file says runs, whether each process is still alive, and whether the
    frontend answers."""
    state = read_state(Path(state_dir))
    if state is None:
        return {"running": False, "processes": [], "state_file": None}
    procs = []
    for p in state["processes"]:
        alive = process_alive(p)
        entry = {**{k: p[k] for k in ("name", "component", "role", "pid", "ports", "log")}, "alive": alive}
        if alive and p["role"] != "frontend" and p["ports"]:
            entry["health"] = _system_health(p["ports"][0])
        procs.append(entry)
    return {
        "running": any(p["alive"] for p in procs),
        "model": state.get("model"),
        "url": state.get("url"),
        "started": state.get("started"),
        "ready_seconds": state.get("ready_seconds"),
        "tokenizer": state.get("tokenizer"),
        "processes": procs,
        "frontend": frontend_health(state["url"], state.get("model")),
        "state_file": str(Path(state_dir) / STATE_FILE),
    }


def down(state_dir: Path, grace: float = STOP_GRACE) -> dict[str, Any]:
    """Stop every recorded process group (SIGTERM, then SIGKILL after `grace`), check that not
    one recorded PID or group member is left, and remove the state file. Nothing recorded:
    nothing to do."""
    state_dir = Path(state_dir)
    state = read_state(state_dir)
    if state is None:
        return {"stopped": [], "already_exited": [], "pids": []}
    procs = state["processes"]
    live = [p for p in procs if process_alive(p)]
    proc.stop_groups([p["pid"] for p in live + _orphaned(procs)], grace)
    left: set[int] = set()
    for p in procs:  # the proof: no recorded process, and nobody left in their groups
        if process_alive(p):
            left.add(p["pid"])
        if process_alive(p) or not proc.alive(p["pid"]):
            left.update(proc.group_members(p["pid"]))
    if left:
        raise ComposeError(f"could not stop PIDs {', '.join(map(str, sorted(left)))}; "
                           f"state kept in {state_dir / STATE_FILE}")
    _remove_state(state_dir)
    return {"stopped": [p["name"] for p in live], "already_exited": [p["name"] for p in procs if p not in live],
            "pids": [p["pid"] for p in procs]}


def frontend_health(url: str, model: str | None) -> dict[str, Any]:
    """{'reachable', 'healthy', 'models'} from /health and /v1/models, with short timeouts."""
    out: dict[str, Any] = {"url": url, "reachable": False, "healthy": False, "models": []}
    try:
        h = loopback.get(f"{url}/health")
    except loopback.Failed:
        return out
    out["reachable"] = True
    out["healthy"] = h.status == 200
    out["models"] = list_models(url) or []
    if model is not None:
        out["serving"] = model in out["models"]
    return out


def _system_health(port: int) -> str:
    """A worker's own /health on its system port (DYN_SYSTEM_PORT): its "status" field."""
    try:
        return str(loopback.get(f"http://{LOOPBACK}:{port}/health").json().get("status", "?"))
    except (loopback.Failed, ValueError, AttributeError):
        return "unreachable"


def list_models(url: str) -> list[str] | None:
    """Model ids from /v1/models, or None when the frontend does not answer."""
    try:
        return [m.get("id") for m in loopback.get(f"{url}/v1/models").raise_for_status().json().get("data", [])]
    except (loopback.Failed, ValueError):
        return None


# How `chat` fails: no answer or not a 2xx one, or an answer that is not a chat completion.
CHAT_FAILED = (loopback.Failed, KeyError, IndexError, ValueError)


def chat(url: str, model: str, prompt: str = "Say hello.", max_tokens: int = 8, timeout: float = 15) -> str:
    """One non-streaming chat completion; returns the text. Raises one of CHAT_FAILED."""
    r = loopback.request("POST", f"{url}/v1/chat/completions", timeout=timeout, payload={
        "model": model, "messages": [{"role": "user", "content": prompt}], "max_tokens": max_tokens})
    return r.raise_for_status().json()["choices"][0]["message"]["content"]


# -- state file ------------------------------------------------------------------------------

def read_state(state_dir: Path) -> dict[str, Any] | None:
    path = Path(state_dir) / STATE_FILE
    try:
        state = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except ValueError as e:
        raise ComposeError(f"{path} is not valid JSON ({e}); stop the processes by hand and delete it") from None
    if state.get("version") != STATE_VERSION:
        raise ComposeError(f"{path} was written by another version of compose (state version {state.get('version')})")
    return state


def write_state(state_dir: Path, state: Mapping[str, Any]) -> None:
    replace_file(Path(state_dir) / STATE_FILE, (json.dumps(state, indent=2) + "\n").encode())


def _remove_state(state_dir: Path) -> None:
    (Path(state_dir) / STATE_FILE).unlink(missing_ok=True)


def _record(spec: ProcessSpec, pid: int, log: Path) -> dict[str, Any]:
    return {"name": spec.name, "component": spec.component, "role": spec.role, "pid": pid,
            "start_ticks": proc.start_ticks(pid), "started": _now(), "argv": list(spec.argv),
            "ports": list(spec.ports), "log": str(log)}


def process_alive(p: Mapping[str, Any]) -> bool:
    """Whether a process recorded in the state file still runs and is the one we started."""
    if not proc.alive(p["pid"]):
        return False
    ticks = proc.start_ticks(p["pid"])
    return p.get("start_ticks") is None or ticks is None or ticks == p["start_ticks"]


def _orphaned(procs: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Recorded leaders that died but left children in their group. The kernel never hands out
    a PID while a group with that id has members, so such a group is still ours. (A recorded
    PID that is alive but not ours was reused: its group is someone else's.)"""
    return [p for p in procs if not proc.alive(p["pid"]) and proc.group_members(p["pid"])]


def _refuse_if_running(state_dir: Path) -> None:
    state = read_state(state_dir)
    if state is None:
        return
    live = [p for p in state["processes"] if process_alive(p)]
    if live:
        names = ", ".join(f"{p['name']} (pid {p['pid']})" for p in live)
        raise ComposeError(f"a local graph is already running from {state_dir}: {names}; stop it first")
    _remove_state(state_dir)


def _prepare_dirs(state_dir: Path, specs: Sequence[ProcessSpec]) -> None:
    shutil.rmtree(state_dir / "kv", ignore_errors=True)  # stale registrations confuse the frontend
    (state_dir / "kv").mkdir(parents=True)
    (state_dir / "logs").mkdir(parents=True, exist_ok=True)
    for spec in specs:
        (state_dir / "logs" / f"{spec.name}.log").unlink(missing_ok=True)
        for path, content in spec.files:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)


# -- readiness -------------------------------------------------------------------------------

def _wait_ready(url: str, model: str, running, deadline: float, timeout: float, say: Progress) -> None:
    phase = ""
    last_error = ""
    while True:
        for spec, child, log in running:
            rc = child.poll()
            if rc is not None:
                raise ComposeError(f"{spec.name} exited with code {rc} while starting; last lines of {log}:\n"
                                   + tail(log))
        models = list_models(url)
        if models is None:
            now = f"waiting for the frontend at {url}"
        elif model not in models:
            now = f"frontend up; waiting for a worker to register {model}"
        else:
            now = f"{model} listed; waiting for a chat completion to succeed"
            try:
                chat(url, model)
                say("ready")
                return
            except CHAT_FAILED as e:
                last_error = str(e)
        if now != phase:
            phase = now
            say(phase)
        if time.monotonic() > deadline:
            frontend_log = next(log for spec, _child, log in running if spec.role == "frontend")
            detail = f" (last error: {last_error})" if last_error else ""
            raise ComposeError(f"the local graph was not ready after {timeout:.0f}s: {phase}{detail}; "
                               f"last lines of {frontend_log}:\n" + tail(frontend_log))
        time.sleep(POLL_SECONDS)


def tail(path: Path, lines: int = TAIL_LINES) -> str:
    try:
        text = Path(path).read_bytes().decode(errors="replace")
    except OSError:
        return "  (no log)"
    return quoted(text, last=lines, empty="(empty log)")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
