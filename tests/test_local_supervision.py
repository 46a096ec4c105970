"""What keeps a local graph honest after `compose up` returns, with real Dynamo 1.4.0 processes
(mocker engine) and real AIPerf: liveness from PIDs, restarts with back-off, the processes found
by their marker without the state file, no browser outliving a failed `bench`, what listens
beyond loopback. Each test ends with `compose down` and checks that nothing it started is left.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from composer import proc
from composer.local import chat, ports
from tests.support.local import BROWSER, MODEL, NEEDS_LOCAL_RUNTIME, free_port_block, local_up, values
from tests.support.project import REPO, compose, make_project

pytestmark = [pytest.mark.local, NEEDS_LOCAL_RUNTIME]


def project(tmp_path: Path, requests: int = 8) -> Path:
    text = values(disagg=False, routing="round-robin", decode_replicas=1).replace(
        "requestCount: 20", f"requestCount: {requests}"
    )
    return make_project(
        tmp_path / "proj", text, {"local": f"target: local\nlocal:\n  httpPort: {free_port_block(2)}\n"}
    )


def status(proj: Path) -> dict:
    r = compose("status", "--env", "local", "-o", "json", cwd=proj)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def wait_for(cond, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (result := cond()):
        assert time.monotonic() < deadline, f"not within {timeout:.0f} s: {what}"
        time.sleep(0.02)
    return result


def graph_pids(proj: Path) -> set[int]:
    """Every process whose environment names this project's state dir (what compose marks)."""
    return set(proc.marked({proc.OWNER_VAR: str((proj / ".compose/local/local").resolve())}))


def tagged(tag: str, match) -> list[tuple[int, list[str]]]:
    """Live processes that inherited E2E_TAG=tag and whose argv satisfies `match`: independent of
    how compose marks its processes."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if f"E2E_TAG={tag}".encode() not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            argv = [a.decode(errors="replace") for a in (entry / "cmdline").read_bytes().split(b"\0") if a]
        except (OSError, ValueError):
            continue
        if argv and match(argv) and proc.alive(int(entry.name)):
            found.append((int(entry.name), argv))
    return found


def down(proj: Path, pids) -> None:
    r = compose("down", "--env", "local", cwd=proj)
    assert r.returncode == 0, r.stderr
    assert not [p for p in pids if proc.alive(p) or proc.group_members(p)]


def test_a_killed_worker_is_not_serving_then_restarted_and_counted(tmp_path):
    proj = project(tmp_path)
    pids: set[int] = set()
    try:
        st = local_up(proj, env={"COMPOSE_RESTART_BACKOFF": "2"})
        pids = graph_pids(proj)
        (worker,) = [p for p in st["processes"] if p["component"] == "decode"]
        killed = compose("fault", "kill", "--component", "decode", "--env", "local", cwd=proj)
        assert killed.returncode == 0 and "the local runtime restarts it" in killed.stdout, killed.stderr

        # The frontend still lists the model for seconds after a worker dies: the PID says it is gone.
        text = compose("status", "--env", "local", cwd=proj).stdout
        assert "NOT serving (decode: no live, ready process)" in text.splitlines()[0], text
        st = status(proj)
        assert not st["serving"] and st["not_serving"] == ["decode"]
        (dead,) = [p for p in st["processes"] if p["component"] == "decode"]
        assert (dead["pid"], dead["alive"], dead["restarts"]) == (worker["pid"], False, 0)

        # Restarted after the back-off, counted, and serving again.
        again = wait_for(lambda: (s := status(proj))["serving"] and s, 120, "serving again")
        (back,) = [p for p in again["processes"] if p["component"] == "decode"]
        assert back["alive"] and back["restarts"] == 1 and back["pid"] != worker["pid"]
        assert chat(again["url"], MODEL, "Back?", max_tokens=8).strip()
        assert "restarts" in compose("status", "--env", "local", cwd=proj).stdout
        pids |= graph_pids(proj)
    finally:
        down(proj, pids)


def test_status_and_down_find_the_graph_after_compose_dir_is_deleted(tmp_path):
    proj = project(tmp_path)
    pids: set[int] = set()
    try:
        st = local_up(proj)
        pids = {p["pid"] for p in st["processes"]} | graph_pids(proj)
        port = st["processes"][0]["ports"][0]
        shutil.rmtree(proj / ".compose")

        text = compose("status", "--env", "local", cwd=proj)
        assert text.returncode == 0 and "nothing runs" not in text.stdout, text.stdout
        assert "state.json is missing" in text.stdout and "frontend-0" in text.stdout
        assert sorted(p["name"] for p in status(proj)["unrecorded"]) == ["decode-0", "frontend-0", "supervisor"]
    finally:
        r = compose("down", "--env", "local", cwd=proj)
    assert r.returncode == 0, r.stderr
    assert "nothing runs" not in r.stdout and "stopped 2 processes" in r.stdout, r.stdout
    assert not [p for p in pids if proc.alive(p) or proc.group_members(p)]
    assert ports.port_free(port)


@pytest.mark.skipif(not BROWSER, reason="no Chromium: aiperf plot starts no browser")
def test_a_bench_failing_because_the_frontend_died_leaves_no_browser(tmp_path):
    """aiperf is held before its first request until the plotter's browser is up; then the
    frontend dies, every request fails, and `bench` fails. Nothing it started may outlive it."""
    proj = project(tmp_path)
    tag = uuid.uuid4().hex
    pids: set[int] = set()
    browser: list[int] = []
    try:
        st = local_up(proj, env={"COMPOSE_RESTART_BACKOFF": "300"})  # the frontend stays dead
        pids = graph_pids(proj)
        bench = subprocess.Popen(
            [sys.executable, "-m", "composer", "bench", "--env", "local"],
            cwd=proj,
            env={**os.environ, "E2E_TAG": tag},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            ((aiperf, _),) = wait_for(
                lambda: tagged(tag, lambda a: "profile" in a and Path(a[1]).name == "aiperf_profile.py"),
                120,
                "aiperf profile started",
            )
            os.kill(aiperf, signal.SIGSTOP)
            browser = wait_for(
                lambda: [p for p, _ in tagged(tag, lambda a: "chrom" in Path(a[0]).name)],
                300,
                "the plotter's browser started",
            )
            (frontend,) = [p for p in st["processes"] if p["role"] == "frontend"]
            os.killpg(frontend["pid"], signal.SIGKILL)
            os.kill(aiperf, signal.SIGCONT)
            _out, err = bench.communicate(timeout=600)
        finally:
            if bench.poll() is None:
                bench.kill()
        assert bench.returncode == 1 and "aiperf failed" in err, err
        # the browser, its crash handlers (sessions of their own), choreographer's wrapper, the plotter
        left = {pid: " ".join(argv)[:160] for pid, argv in tagged(tag, lambda a: True)}
        assert left == {}, f"still running after the failed bench (the browser was {browser})"
    finally:
        down(proj, pids)


def test_fault_bench_with_nothing_to_recover_says_so_before_it_starts(tmp_path):
    proj = project(tmp_path)
    pids: set[int] = set()
    try:
        local_up(proj)
        pids = graph_pids(proj)
        state = json.loads((proj / ".compose/local/local/state.json").read_text())
        os.kill(state["supervisor"]["pid"], signal.SIGKILL)  # no restarts, and only one decode worker
        wait_for(lambda: not proc.alive(state["supervisor"]["pid"]), 10, "supervisor gone")
        assert "supervisor: NOT running" in compose("status", "--env", "local", cwd=proj).stdout

        t0 = time.monotonic()
        r = compose("fault", "bench", "--component", "decode", "--env", "local", cwd=proj)
        assert r.returncode == 1
        assert "nothing can recover from killing decode-0: no supervisor runs" in r.stderr
        assert "no other decode process runs" in r.stderr
        assert not list((proj / "results").glob("local/*-fault/baseline")), "it benchmarked anyway"
        print(f"\nrefused in {time.monotonic() - t0:.1f} s")
        assert status(proj)["serving"]  # and killed nothing
    finally:
        down(proj, pids)


def test_what_listens_beyond_loopback_is_dynamos_zmq_publishers_as_the_readme_says(tmp_path):
    proj = make_project(
        tmp_path / "proj",
        values(disagg=True, routing="kv", decode_replicas=1),
        {"local": f"target: local\nlocal:\n  httpPort: {free_port_block(3)}\n"},
    )
    pids: set[int] = set()
    try:
        local_up(proj)
        pids = graph_pids(proj)
        listening = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout
        ours = [line.split() for line in listening.splitlines() if any(f"pid={p}," in line for p in pids)]
        assert ours
        wide = [(cols[3], cols[2]) for cols in ours if not cols[3].startswith(("127.0.0.1:", "[::1]:"))]
        print("\nnot on loopback:", wide)
        # ZMQ's listen backlog is 100; Dynamo's HTTP and TCP servers use 1024 or more
        assert wide and all(addr.startswith("0.0.0.0:") and backlog == "100" for addr, backlog in wide)
        readme = (REPO / "README.md").read_text()
        assert "binds to 127.0.0.1" in readme and "ZMQ event publishers" in readme and "0.0.0.0" in readme
    finally:
        down(proj, pids)
