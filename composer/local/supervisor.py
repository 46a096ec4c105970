"""Keeps a local graph's processes running after `compose up` returns, as the kubelet keeps a
pod's containers running: `python -m composer.local.supervisor <state dir>`.

`compose up` starts one per environment, detached, once the graph is ready; `compose down`
stops it before anything else. It reads the state file once and from then on is the only writer
of it. A process that dies (its PID gone, or a PID reused by another program) is restarted
under its pod's restartPolicy (Always unless the chart says otherwise; OnFailure restarts a
process whose exit code is unknown, as one that was killed) after the kubelet's back-off
(CrashLoopBackOff): 10 s, doubling each restart in a row, at most 300 s, and back to 10 s after
10 minutes of running. COMPOSE_RESTART_BACKOFF sets the first delay (tests use a short one).
Whatever the dead process left in its group, or anywhere with its marker, is killed first, as
the kubelet tears down a container. Its output so far is kept as logs/<name>.previous.log
(`kubectl logs --previous`). The restarts and the next restart time are in the state file for
`compose status`.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from composer import proc
from composer.local.runtime import _now, owner, process_alive, read_state, write_state

BACKOFF_VAR = "COMPOSE_RESTART_BACKOFF"
BACKOFF_BASE = 10.0
BACKOFF_CAP = 300.0
RESET_AFTER = 600.0  # the kubelet forgets the back-off of a container that ran this long
POLL_SECONDS = 0.2


def backoff(restarts_in_a_row: int, base: float = BACKOFF_BASE) -> float:
    """Seconds to wait before the next restart."""
    return min(base * 2**restarts_in_a_row, BACKOFF_CAP)


def supervise_once(
    state: dict[str, Any],
    children: dict[str, Any],
    in_a_row: dict[str, int],
    running_since: dict[str, float],
    mark: str,
    base: float,
) -> bool:
    """One look at every process: a death is recorded, a due restart done. True: the state changed."""
    changed = False
    for p in state["processes"]:
        name = p["name"]
        child = children.get(name)
        code = child.poll() if child is not None else None
        dead = code is not None if child is not None else not process_alive(p)
        now = time.monotonic()
        if not dead:
            if in_a_row[name] and now - running_since[name] > RESET_AFTER:
                in_a_row[name] = 0
            continue
        if p.get("restart_at") is None and p.get("phase") != "exited":
            p["last_exit"] = {"code": code, "at": _now()}
            # what it left behind goes with it, as a container's processes do
            # (its group only while no process has its PID: a reused PID's group is someone else's)
            proc.stop_all([] if proc.alive(p["pid"]) else [p["pid"]], {proc.OWNER_VAR: mark, proc.NAME_VAR: name}, 1.0)
            if p.get("restart_policy", "Always") == "Never" or (p.get("restart_policy") == "OnFailure" and code == 0):
                p["phase"] = "exited"
                print(f"{name} (pid {p['pid']}) exited; restartPolicy {p['restart_policy']}", flush=True)
            else:
                delay = backoff(in_a_row[name], base)
                p["restart_at"] = time.time() + delay
                p["phase"] = "waiting"
                print(
                    f"{name} (pid {p['pid']}) died (exit {code if code is not None else 'unknown'}); "
                    f"restarting in {delay:g} s",
                    flush=True,
                )
            changed = True
        elif p.get("restart_at") is not None and time.time() >= p["restart_at"]:
            log = Path(p["log"])
            try:
                log.parent.mkdir(parents=True, exist_ok=True)
                if log.exists():
                    log.replace(log.with_name(f"{name}.previous.log"))
                child = proc.spawn(p["argv"], env=p.get("env") or {}, log=log, owner=mark, name=name)
            except (OSError, proc.ToolMissing) as e:
                print(f"could not restart {name}: {e}", flush=True)
                p["restart_at"] = time.time() + backoff(in_a_row[name], base)
                in_a_row[name] += 1
                changed = True
                continue
            children[name] = child
            in_a_row[name] += 1
            running_since[name] = now
            p.update(
                pid=child.pid,
                start_ticks=proc.start_ticks(child.pid),
                started=_now(),
                restart_at=None,
                phase="running",
                restarts=p.get("restarts", 0) + 1,
            )
            print(f"restarted {name} (pid {child.pid}, restart {p['restarts']})", flush=True)
            changed = True
    return changed


def main(state_dir: Path) -> int:
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    base = float(os.environ.get(BACKOFF_VAR) or BACKOFF_BASE)
    state = read_state(state_dir)
    if state is None:
        print(f"no state file in {state_dir}: nothing to supervise", flush=True)
        return 1
    mark = owner(state_dir)
    children: dict[str, Any] = {}  # processes restarted here are our children: poll() reaps them
    in_a_row = {p["name"]: 0 for p in state["processes"]}
    running_since = {p["name"]: time.monotonic() for p in state["processes"]}
    print(f"supervising {', '.join(in_a_row)} (back-off {base:g} s doubling to {BACKOFF_CAP:g} s)", flush=True)
    while not stopping:
        try:
            changed = supervise_once(state, children, in_a_row, running_since, mark, base)
        except Exception:  # noqa: BLE001 - one bad round must not end the supervision of every process
            traceback.print_exc()
            sys.stdout.flush()
            changed = True
        if changed:
            try:
                write_state(state_dir, state)
            except OSError as e:  # the state dir was deleted: `compose down` still finds us by marker
                print(f"could not write the state file: {e}", flush=True)
        time.sleep(POLL_SECONDS)
    print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
