"""Start, inspect and stop a local graph: the processes planned by graph.plan_processes.

Everything about a run lives in one state dir:
  state.json        what runs: PIDs (+ start ticks, so a reused PID is never ours), argv, ports
  logs/<name>.log   each process's output, truncated at every `up`
  kv/               Dynamo's file discovery store (DYN_FILE_KV), emptied at every `up`
  config/           ConfigMap contents the processes read
  hf/               the private HF cache holding the stand-in model, when one is needed

Every process of the graph carries the state dir in its environment (proc.OWNER_VAR), and so
does everything it starts: `status` and `down` find what runs by that marker even when the state
file is gone, and never by a process name. Liveness comes from PIDs (with their start ticks) and
process groups, not from what the frontend still lists. After `up`, a supervisor
(supervisor.py) restarts a component that dies, as the kubelet would.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

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


SUPERVISOR = "supervisor"  # its proc.NAME_VAR


def owner(state_dir: Path) -> str:
    """The marker every process of the graph in `state_dir` carries (proc.OWNER_VAR)."""
    return str(Path(state_dir).resolve())


def marked(state_dir: Path, name: str | None = None) -> dict[int, dict[str, str]]:
    """The live processes carrying the graph's marker (of one `name`, if given)."""
    return proc.marked({proc.OWNER_VAR: owner(state_dir), **({proc.NAME_VAR: name} if name else {})})


def up(
    specs: Sequence[ProcessSpec],
    state_dir: Path,
    model_name: str,
    timeout: float = 120.0,
    progress: Progress | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Start every process and wait until the frontend lists `model_name` and answers a chat
    completion, then start the supervisor that restarts a process that dies. Returns what runs
    and the measured time to ready. On failure or Ctrl-C everything started is stopped again.
    `extra`: more for the state file."""
    say = progress or (lambda _msg: None)
    state_dir = Path(state_dir)
    _refuse_if_running(state_dir)
    frontend = next((s for s in specs if s.role == "frontend"), None)
    if frontend is None:
        raise ComposeError("nothing to serve: the plan has no frontend process")
    busy = ports.conflicts(p for s in specs for p in s.ports)
    if busy:
        raise ComposeError(
            "cannot start the local graph: " + "; ".join(busy) + " (pick another port, or stop what holds it)"
        )
    url = f"http://{LOOPBACK}:{frontend.ports[0]}"
    _prepare_dirs(state_dir, specs)
    state: dict[str, Any] = {
        "version": STATE_VERSION,
        "model": model_name,
        "url": url,
        **(extra or {}),
        "started": _now(),
        "ready_seconds": None,
        "processes": [],
        "supervisor": None,
    }
    mark = owner(state_dir)
    running: list[tuple[ProcessSpec, Any, Path]] = []
    t0 = time.monotonic()
    try:
        for spec in specs:
            log = state_dir / "logs" / f"{spec.name}.log"
            child = proc.spawn(spec.argv, env=spec.env, log=log, owner=mark, name=spec.name)
            running.append((spec, child, log))
            state["processes"].append(_record(spec, child.pid, log))
            write_state(state_dir, state)
            say(f"started {spec.name} (pid {child.pid})")
        _wait_ready(url, model_name, running, t0 + timeout, timeout, say)
        state["ready_seconds"] = round(time.monotonic() - t0, 3)
        write_state(state_dir, state)
        # started last, detached: it reads the state file once, and from then on only it writes there
        supervisor = proc.spawn(
            [sys.executable, "-m", "composer.local.supervisor", str(state_dir)],
            log=state_dir / "logs" / f"{SUPERVISOR}.log",
            cwd=state_dir,
            owner=mark,
            name=SUPERVISOR,
        )
        state["supervisor"] = {"pid": supervisor.pid, "start_ticks": proc.start_ticks(supervisor.pid)}
        write_state(state_dir, state)
    except BaseException:
        if running:
            say("stopping what was started")
        proc.stop_all([child.pid for _spec, child, _log in running], {proc.OWNER_VAR: mark}, STOP_GRACE)
        for _spec, child, _log in running:
            child.wait()  # reap: they are our children
        _remove_state(state_dir)
        raise
    return {**state, "state_file": str(state_dir / STATE_FILE)}


def status(state_dir: Path) -> dict[str, Any]:
    """What runs: each recorded process alive or not by its PID, its health and restarts; any
    other process carrying the graph's marker (all of them when the state file is gone); and
    whether the graph serves: the frontend lists the model and every component has a live,
    ready process."""
    state_dir = Path(state_dir)
    state = read_state(state_dir)
    found = marked(state_dir)
    if state is None and not found:
        return {"running": False, "processes": [], "state_file": None}
    recorded = (state or {}).get("processes", [])
    procs = []
    for p in recorded:
        alive = process_alive(p)
        entry = {
            **{k: p[k] for k in ("name", "component", "role", "pid", "ports", "log")},
            "alive": alive,
            "restarts": p.get("restarts", 0),
            "restart_policy": p.get("restart_policy", "Always"),
        }
        if alive and p["role"] != "frontend" and p["ports"]:
            entry["health"] = _system_health(p["ports"][0])
        if not alive and p.get("restart_at") is not None:
            entry["restart_in_s"] = max(0.0, round(p["restart_at"] - time.time(), 1))
        procs.append(entry)
    supervisor = (state or {}).get("supervisor")
    sup_alive = supervisor is not None and process_alive(supervisor)
    names = {p["name"] for p in recorded} | {SUPERVISOR}
    unrecorded = [
        {"name": marks.get(proc.NAME_VAR, "?"), "pid": pid}
        for pid, marks in sorted(found.items())
        if marks.get(proc.NAME_VAR) not in names or state is None
    ]
    if state is None:
        return {
            "running": True,
            "processes": [],
            "unrecorded": unrecorded,
            "serving": False,
            "state_file": None,
            "supervisor": None,
            "note": f"{state_dir / STATE_FILE} is missing, but these processes carry the graph's marker; "
            f"`compose down` stops them",
        }
    front = frontend_health(state["url"], state.get("model"))
    down_components = sorted({p["component"] for p in procs} - {p["component"] for p in procs if _serves(p)})
    stale = stale_instances(state_dir)
    return {
        "running": any(p["alive"] for p in procs) or sup_alive,
        "serving": bool(front.get("serving")) and not down_components and not stale,
        "not_serving": down_components,
        "stale_instances": stale,
        "model": state.get("model"),
        "url": state.get("url"),
        "started": state.get("started"),
        "ready_seconds": state.get("ready_seconds"),
        "tokenizer": state.get("tokenizer"),
        "processes": procs,
        "unrecorded": unrecorded,
        "supervisor": None if not supervisor else {"pid": supervisor["pid"], "alive": sup_alive},
        "frontend": front,
        "state_file": str(state_dir / STATE_FILE),
    }


def stale_instances(state_dir: Path) -> list[str]:
    """Endpoints still registered in Dynamo's discovery store (DYN_FILE_KV) whose TCP address
    nobody listens on any more: a dead process's, which the frontend keeps routing requests to
    (and failing them) until its registration expires, seconds after the death. "<namespace>/
    <component>/<endpoint> at <address>"."""
    out = []
    for path in sorted((Path(state_dir) / "kv" / "v1" / "instances").glob("*")):
        try:
            entry = json.loads(path.read_text())
            address = entry["transport"]["tcp"].split("/", 1)[0]
            port = int(address.rsplit(":", 1)[1])
        except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError):
            continue  # not a TCP endpoint, or written as we read
        if not ports.listening(port):
            out.append(f"{entry.get('namespace')}/{entry.get('component')}/{entry.get('endpoint')} at {address}")
    return out


def _serves(p: Mapping[str, Any]) -> bool:
    """A process counts when its PID is alive and, for a worker, its own /health says ready."""
    return p["alive"] and (p["role"] == "frontend" or p.get("health", "ready") == "ready")


def down(state_dir: Path, grace: float = STOP_GRACE) -> dict[str, Any]:
    """Stop the supervisor first (so it restarts nothing), then every recorded process group and
    every process carrying the graph's marker (SIGTERM, then SIGKILL after `grace`); check that
    not one of them is left, and remove the state file. Works without the state file too."""
    state_dir = Path(state_dir)
    mark = {proc.OWNER_VAR: owner(state_dir)}
    state = read_state(state_dir)
    supervisor = (state or {}).get("supervisor")
    sup_pids = sorted(
        {*([supervisor["pid"]] if supervisor and process_alive(supervisor) else []), *marked(state_dir, SUPERVISOR)}
    )
    if sup_pids:
        proc.stop_all(sup_pids, {**mark, proc.NAME_VAR: SUPERVISOR}, grace)
        state = read_state(state_dir)  # it may have recorded a restart since
    procs = (state or {}).get("processes", [])
    found = proc.marked(mark)
    if not procs and not found and not sup_pids:
        _remove_state(state_dir)
        return {"stopped": [], "already_exited": [], "pids": [], "supervisor": None}
    live = [p for p in procs if process_alive(p)]
    # not what a recorded process started itself (that carries its name): the state file is gone,
    # or something else runs with the graph's marker (a benchmark's plotter)
    names = {p["name"] for p in procs} | {SUPERVISOR}
    unrecorded = {
        pid: m.get(proc.NAME_VAR, "?") for pid, m in sorted(found.items()) if m.get(proc.NAME_VAR) not in names
    }
    left = set(proc.stop_all([p["pid"] for p in live + _orphaned(procs)], mark, grace))
    for p in procs:  # the proof: no recorded process, and nobody left in their groups
        if process_alive(p):
            left.add(p["pid"])
        if process_alive(p) or not proc.alive(p["pid"]):
            left.update(proc.group_members(p["pid"]))
    if left:
        raise ComposeError(
            f"could not stop PIDs {', '.join(map(str, sorted(left)))}; state kept in {state_dir / STATE_FILE}"
        )
    _remove_state(state_dir)
    return {
        "stopped": [p["name"] for p in live] + list(unrecorded.values()),
        "already_exited": [p["name"] for p in procs if p not in live],
        "pids": [p["pid"] for p in procs] + list(unrecorded),
        "supervisor": sup_pids[0] if sup_pids else None,
        **({} if state else {"state_file_missing": True}),
    }


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
    r = loopback.request(
        "POST",
        f"{url}/v1/chat/completions",
        timeout=timeout,
        payload={"model": model, "messages": [{"role": "user", "content": prompt}], "max_tokens": max_tokens},
    )
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
    """What the supervisor needs to start the process again, as `up` did."""
    return {
        "name": spec.name,
        "component": spec.component,
        "role": spec.role,
        "pid": pid,
        "start_ticks": proc.start_ticks(pid),
        "started": _now(),
        "argv": list(spec.argv),
        "env": dict(spec.env),
        "ports": list(spec.ports),
        "log": str(log),
        "restart_policy": spec.restart,
        "restarts": 0,
    }


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
    found = marked(state_dir)
    if found:
        names = ", ".join(f"{m.get(proc.NAME_VAR, '?')} (pid {pid})" for pid, m in sorted(found.items()))
        raise ComposeError(f"a local graph is already running from {state_dir}: {names}; stop it first")
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
                raise ComposeError(
                    f"{spec.name} exited with code {rc} while starting; last lines of {log}:\n" + tail(log)
                )
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
            raise ComposeError(
                f"the local graph was not ready after {timeout:.0f}s: {phase}{detail}; "
                f"last lines of {frontend_log}:\n" + tail(frontend_log)
            )
        time.sleep(POLL_SECONDS)


def tail(path: Path, lines: int = TAIL_LINES) -> str:
    try:
        text = Path(path).read_bytes().decode(errors="replace")
    except OSError:
        return "  (no log)"
    return quoted(text, last=lines, empty="(empty log)")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
