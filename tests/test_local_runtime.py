"""up/status/down with real but tiny processes: a fake frontend (stdlib HTTP server) and
stand-in workers. Dynamo itself runs in test_local_e2e.py."""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import sys
import textwrap
import time

import pytest

from composer import proc
from composer.errors import ComposeError
from composer.local import ports, runtime
from composer.local.graph import ProcessSpec

MODEL = "Qwen/Qwen3-0.6B"

FAKE_FRONTEND = textwrap.dedent("""
    import json, sys, time
    from http.server import BaseHTTPRequestHandler, HTTPServer
    port, model, delay = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    start = time.monotonic()
    class H(BaseHTTPRequestHandler):
        def reply(self, body):
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        def do_GET(self):
            ready = time.monotonic() - start > delay
            self.reply({"data": [{"id": model}] if ready else []} if self.path == "/v1/models" else {"status": "healthy"})
        def do_POST(self):
            self.rfile.read(int(self.headers["content-length"]))
            self.reply({"choices": [{"message": {"content": "hi"}}]})
        def log_message(self, *a):
            pass
    print("fake frontend on", port, flush=True)
    HTTPServer(("127.0.0.1", port), H).serve_forever()
""")
SLEEPER = "import time; print('worker up', flush=True); time.sleep(300)"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def fake(tmp_path):
    script = tmp_path / "fake_frontend.py"
    script.write_text(FAKE_FRONTEND)
    port = free_port()

    def specs(*, delay=0.0, worker=SLEEPER, model=MODEL):
        return [
            ProcessSpec(
                "frontend-0",
                "frontend",
                "frontend",
                (sys.executable, str(script), str(port), model, str(delay)),
                {},
                (port,),
            ),
            ProcessSpec(
                "decode-0",
                "decode",
                "worker",
                (sys.executable, "-c", worker),
                {},
                (),
                files=((tmp_path / "state/config/decode/c/config.yaml", '{"a": 1}'),),
            ),
        ]

    return specs


@pytest.fixture
def state(tmp_path):
    d = tmp_path / "state"
    yield d
    runtime.down(d, grace=1)  # never leave a process behind, whatever the test did


@pytest.mark.cli
def test_up_status_down(fake, state):
    seen = []
    result = runtime.up(fake(delay=0.5), state, MODEL, timeout=30, progress=seen.append)
    pids = [p["pid"] for p in result["processes"]]
    assert result["url"] == f"http://127.0.0.1:{result['processes'][0]['ports'][0]}"
    assert 0.5 <= result["ready_seconds"] < 30
    assert seen[:2] == [f"started frontend-0 (pid {pids[0]})", f"started decode-0 (pid {pids[1]})"]
    assert "frontend up; waiting for a worker to register Qwen/Qwen3-0.6B" in seen and seen[-1] == "ready"
    saved = json.loads((state / "state.json").read_text())
    assert [p["start_ticks"] for p in saved["processes"]] == [proc.start_ticks(p) for p in pids]
    assert saved["processes"][1]["argv"] == list(fake()[1].argv)
    assert (state / "config/decode/c/config.yaml").read_text() == '{"a": 1}'
    assert "worker up" in (state / "logs/decode-0.log").read_text()

    st = runtime.status(state)
    assert st["running"] and [p["alive"] for p in st["processes"]] == [True, True]
    assert st["frontend"] == {
        "url": result["url"],
        "reachable": True,
        "healthy": True,
        "models": [MODEL],
        "serving": True,
    }

    assert st["serving"] and st["supervisor"] == {"pid": saved["supervisor"]["pid"], "alive": True}

    supervisor = saved["supervisor"]["pid"]
    assert runtime.down(state) == {
        "stopped": ["frontend-0", "decode-0"],
        "already_exited": [],
        "pids": pids,
        "supervisor": supervisor,
    }
    assert not any(proc.alive(p) or proc.group_members(p) for p in pids + [supervisor])
    assert not (state / "state.json").exists()
    assert runtime.status(state) == {"running": False, "processes": [], "state_file": None}
    assert runtime.down(state) == {"stopped": [], "already_exited": [], "pids": [], "supervisor": None}


@pytest.mark.cli
def test_a_worker_dying_at_start_stops_the_rest_and_shows_its_log(fake, state):
    seen = []
    with pytest.raises(ComposeError) as err:
        runtime.up(
            fake(delay=60, worker="import sys; print('boom: no model'); sys.exit(3)"),
            state,
            MODEL,
            timeout=30,
            progress=seen.append,
        )
    text = str(err.value)
    assert text.startswith(f"decode-0 exited with code 3 while starting; last lines of {state}/logs/decode-0.log:\n")
    assert text.endswith("\n  boom: no model")
    assert not (state / "state.json").exists()
    frontend = int(seen[0].split("pid ")[1].rstrip(")"))
    assert not proc.alive(frontend) and proc.group_members(frontend) == []


@pytest.mark.unit
def test_a_busy_port_is_refused_before_anything_starts(fake, state):
    specs = fake()
    with socket.socket() as s:
        s.bind(("127.0.0.1", specs[0].ports[0]))
        s.listen()
        with pytest.raises(ComposeError, match=rf"port {specs[0].ports[0]} is in use by pid {os.getpid()} \("):
            runtime.up(specs, state, MODEL, timeout=5)
    assert not (state / "logs").exists()


@pytest.mark.cli
def test_a_second_up_is_refused_while_one_runs(fake, state):
    runtime.up(fake(), state, MODEL, timeout=30)
    with pytest.raises(ComposeError, match="a local graph is already running from .*frontend-0 \\(pid \\d+\\)"):
        runtime.up(fake(), state, MODEL, timeout=30)


@pytest.mark.cli
def test_not_ready_in_time_names_the_phase(fake, state):
    with pytest.raises(ComposeError, match="not ready after 1s: frontend up; waiting for a worker to register"):
        runtime.up(fake(delay=60), state, MODEL, timeout=1)
    assert not (state / "state.json").exists()


@pytest.mark.cli
def test_ctrl_c_while_waiting_stops_everything(fake, state):
    started = []

    def progress(msg):
        if msg.startswith("started"):
            started.append(int(msg.rsplit(" ", 1)[1].rstrip(")")))
        if msg.startswith("waiting"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        runtime.up(fake(delay=60), state, MODEL, timeout=30, progress=progress)
    assert len(started) == 2 and not any(proc.alive(p) for p in started)
    assert not (state / "state.json").exists()


@pytest.mark.cli
def test_down_kills_what_ignores_sigterm_and_its_children(fake, state):
    stubborn = (
        "import signal, subprocess, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "subprocess.Popen(['sleep', '300']); print('up', flush=True); time.sleep(300)"
    )
    result = runtime.up(fake(worker=stubborn), state, MODEL, timeout=30)
    worker = result["processes"][1]["pid"]
    _wait_for(lambda: len(proc.group_members(worker)) == 2)
    t0 = time.monotonic()
    assert runtime.down(state, grace=0.5)["stopped"] == ["frontend-0", "decode-0"]
    assert time.monotonic() - t0 < 10
    assert proc.group_members(worker) == [] and not proc.alive(worker)


@pytest.mark.cli
def test_down_leaves_alone_a_pid_that_is_no_longer_ours(tmp_path):
    log = tmp_path / "other.log"
    other = proc.spawn([sys.executable, "-c", "import time; time.sleep(300)"], log=log)
    try:
        runtime.write_state(
            tmp_path,
            {
                "version": 1,
                "url": "http://127.0.0.1:1",
                "processes": [
                    {
                        "name": "decode-0",
                        "component": "decode",
                        "role": "worker",
                        "pid": other.pid,
                        "start_ticks": (proc.start_ticks(other.pid) or 0) + 1,
                        "ports": [],
                        "log": str(log),
                    }
                ],
            },
        )
        assert runtime.down(tmp_path) == {
            "stopped": [],
            "already_exited": ["decode-0"],
            "pids": [other.pid],
            "supervisor": None,
        }
        assert other.poll() is None
    finally:
        proc.stop(other)


@pytest.mark.cli
def test_down_stops_children_a_dead_leader_left_behind(tmp_path):
    log = tmp_path / "leader.log"
    leader = proc.spawn([sys.executable, "-c", "import subprocess; subprocess.Popen(['sleep', '300'])"], log=log)
    ticks = proc.start_ticks(leader.pid)
    leader.wait()
    _wait_for(lambda: len(proc.group_members(leader.pid)) == 1)
    runtime.write_state(
        tmp_path,
        {
            "version": 1,
            "url": "http://127.0.0.1:1",
            "processes": [
                {
                    "name": "decode-0",
                    "component": "decode",
                    "role": "worker",
                    "pid": leader.pid,
                    "start_ticks": ticks,
                    "ports": [],
                    "log": str(log),
                }
            ],
        },
    )
    assert runtime.down(tmp_path, grace=1) == {
        "stopped": [],
        "already_exited": ["decode-0"],
        "pids": [leader.pid],
        "supervisor": None,
    }
    assert proc.group_members(leader.pid) == []


@pytest.mark.unit
def test_a_corrupt_state_file_is_a_clear_error(tmp_path):
    (tmp_path / "state.json").write_text("{")
    with pytest.raises(ComposeError, match="state.json is not valid JSON"):
        runtime.status(tmp_path)


def _wait_for(cond, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not (result := cond()):
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)
    return result


@pytest.mark.cli
@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(lambda text: text + "typo: true\n", id="values-file-now-invalid"),
        pytest.param(lambda text: text.replace("target: local", "target: kubernetes"), id="env-no-longer-local"),
    ],
)
def test_status_and_down_go_by_the_record_of_what_runs_not_by_the_values_file(tmp_path, edit):
    from tests.support.project import compose, make_project

    proj = make_project(tmp_path / "proj")
    log = tmp_path / "worker.log"
    worker = proc.spawn([sys.executable, "-c", SLEEPER], log=log)
    try:
        (proj / ".compose/local/local").mkdir(parents=True)
        runtime.write_state(
            proj / ".compose/local/local",
            {
                "version": 1,
                "url": "http://127.0.0.1:1",
                "processes": [
                    {
                        "name": "decode-0",
                        "component": "decode",
                        "role": "worker",
                        "pid": worker.pid,
                        "start_ticks": proc.start_ticks(worker.pid),
                        "ports": [],
                        "log": str(log),
                    }
                ],
            },
        )
        target = "values.yaml" if "typo" in edit("") else "environments/local.yaml"
        (proj / target).write_text(edit((proj / target).read_text()))
        assert compose("generate", cwd=proj).returncode == (2 if "typo" in edit("") else 0)
        before = {p: p.read_bytes() for p in (proj / "helmfile.d").rglob("*") if p.is_file()}

        st = compose("status", "--env", "local", "-o", "json", cwd=proj)
        assert st.returncode == 0, st.stderr
        assert [(p["name"], p["pid"], p["alive"]) for p in json.loads(st.stdout)["processes"]] == [
            ("decode-0", worker.pid, True)
        ]
        down = compose("down", "--env", "local", cwd=proj)
        assert down.returncode == 0, down.stderr
        assert f"none of PIDs {worker.pid} is alive" in down.stdout
        assert worker.wait(timeout=10) is not None
        assert {p: p.read_bytes() for p in (proj / "helmfile.d").rglob("*") if p.is_file()} == before
    finally:
        proc.stop(worker)


@pytest.mark.unit
def test_a_failing_programs_output_is_quoted_by_its_last_lines(tmp_path):
    from composer.errors import quoted
    from composer.local.runtime import tail

    log = tmp_path / "w.log"
    log.write_text("".join(f"line {i}\n" for i in range(30)) + "\n\n")
    assert tail(log, 3) == "  line 27\n  line 28\n  line 29"  # trailing blank lines are not "last lines"
    log.write_text("")
    assert tail(log) == "  (empty log)"
    assert tail(tmp_path / "missing.log") == "  (no log)"
    assert quoted("a\nb\n") == "  a\n  b" and quoted("") == "  (no output)"


# -- liveness by PID, restarts, the marker ----------------------------------------------------


@pytest.mark.cli
def test_a_dead_worker_is_not_serving_and_is_restarted_with_a_doubling_back_off(fake, state, monkeypatch):
    monkeypatch.setenv("COMPOSE_RESTART_BACKOFF", "0.5")  # the supervisor's first delay (10 s by default)
    result = runtime.up(fake(), state, MODEL, timeout=30)
    worker = result["processes"][1]["pid"]
    assert runtime.status(state)["serving"]

    os.kill(worker, 9)
    _wait_for(lambda: not proc.alive(worker))
    st = runtime.status(state)  # the frontend still lists the model: the PIDs say otherwise
    assert st["frontend"]["serving"] and not st["serving"] and st["not_serving"] == ["decode"]
    assert not st["processes"][1]["alive"]

    def restarted(n):
        p = runtime.status(state)["processes"][1]
        return p["alive"] and p["restarts"] == n and p

    died = time.monotonic()
    first = _wait_for(lambda: restarted(1))
    assert 0.4 <= time.monotonic() - died < 5 and first["pid"] != worker
    assert "worker up" in (state / "logs/decode-0.previous.log").read_text()
    assert runtime.status(state)["serving"]

    os.kill(first["pid"], 9)  # a second death in a row waits twice as long
    died = time.monotonic()
    second = _wait_for(lambda: restarted(2))
    assert time.monotonic() - died >= 0.9
    said = (state / "logs/supervisor.log").read_text()
    assert f"decode-0 (pid {worker}) died (exit unknown); restarting in 0.5 s" in said  # not its child
    assert f"decode-0 (pid {first['pid']}) died (exit -9); restarting in 1 s" in said  # its child

    done = runtime.down(state, grace=1)
    assert done["stopped"] == ["frontend-0", "decode-0"] and second["pid"] in done["pids"]
    assert not proc.alive(second["pid"]) and not proc.alive(done["supervisor"])


@pytest.mark.cli
def test_restart_policy_never_leaves_it_dead(fake, state, monkeypatch):
    monkeypatch.setenv("COMPOSE_RESTART_BACKOFF", "0.1")
    specs = fake()
    specs[1] = dataclasses.replace(specs[1], restart="Never")
    result = runtime.up(specs, state, MODEL, timeout=30)
    worker = result["processes"][1]["pid"]
    os.kill(worker, 9)
    _wait_for(lambda: json.loads((state / "state.json").read_text())["processes"][1].get("phase") == "exited")
    time.sleep(0.5)
    p = runtime.status(state)["processes"][1]
    assert (p["pid"], p["alive"], p["restarts"]) == (worker, False, 0)


@pytest.mark.cli
def test_status_and_down_find_the_graph_by_its_marker_when_the_state_dir_is_gone(fake, state):
    import shutil

    result = runtime.up(fake(), state, MODEL, timeout=30)
    pids = [p["pid"] for p in result["processes"]] + [result["supervisor"]["pid"]]
    port = result["processes"][0]["ports"][0]
    shutil.rmtree(state)

    st = runtime.status(state)
    assert st["running"] and st["state_file"] is None and not st["serving"]
    assert sorted((p["name"], p["pid"]) for p in st["unrecorded"]) == sorted(
        zip(["frontend-0", "decode-0", "supervisor"], pids)
    )
    with pytest.raises(ComposeError, match="already running from .*supervisor"):
        runtime.up(fake(), state, MODEL, timeout=30)

    done = runtime.down(state, grace=1)
    assert done["state_file_missing"] and sorted(done["stopped"]) == ["decode-0", "frontend-0"]
    assert not any(proc.alive(p) for p in pids)
    assert ports.port_free(port)
    assert runtime.status(state) == {"running": False, "processes": [], "state_file": None}


@pytest.mark.cli
def test_stop_finds_what_a_child_started_in_a_session_of_its_own(tmp_path):
    """As the plotter's browser does (its crash handlers run in sessions of their own): the
    group alone misses them."""
    child = proc.spawn(
        [
            sys.executable,
            "-c",
            "import subprocess, time; subprocess.Popen(['setsid', 'sleep', '300']); time.sleep(300)",
        ],
        log=tmp_path / "c.log",
    )
    _wait_for(lambda: len(proc.marked({proc.SPAWN_VAR: child.marker})) == 2)
    (escaped,) = set(proc.marked({proc.SPAWN_VAR: child.marker})) - {child.pid}
    assert escaped not in proc.group_members(child.pid)
    assert proc.stop(child, grace=2) == []
    assert not proc.alive(escaped)


@pytest.mark.unit
def test_the_back_off_is_the_kubelets():
    from composer.local import supervisor

    assert [supervisor.backoff(n) for n in range(7)] == [10, 20, 40, 80, 160, 300, 300]
    assert [supervisor.backoff(n, base=0.5) for n in range(3)] == [0.5, 1, 2]


@pytest.mark.unit
def test_a_registration_nobody_listens_behind_is_a_stale_instance(tmp_path):
    """A dead worker's endpoint stays in Dynamo's file discovery store for seconds, and the frontend
    keeps routing to it: status must not say serving then."""
    instances = tmp_path / "kv/v1/instances"
    instances.mkdir(parents=True)
    with socket.socket() as live:
        live.bind(("127.0.0.1", 0))
        live.listen()
        dead = free_port()
        for name, port in (("live", live.getsockname()[1]), ("dead", dead)):
            (instances / f"ns%2Fbackend%2Fgenerate%2F{name}").write_text(
                json.dumps(
                    {
                        "namespace": "ns",
                        "component": "backend",
                        "endpoint": "generate",
                        "transport": {"tcp": f"127.0.0.1:{port}/{name}/generate"},
                    }
                )
            )
        (instances / "not-tcp").write_text('{"transport": {"nats": "x"}}')
        assert runtime.stale_instances(tmp_path) == [f"ns/backend/generate at 127.0.0.1:{dead}"]


@pytest.mark.unit
def test_stopping_group_0_or_1_signals_nothing(monkeypatch):
    """A Popen whose pid is 0 (a fake, or one that never started) must not make stop_all signal the
    caller's own group, or every process whose group /proc shows as 0 (init among them)."""
    sent = []
    monkeypatch.setattr(proc.os, "killpg", lambda pgid, sig: sent.append(("killpg", pgid, sig)))
    monkeypatch.setattr(proc.os, "kill", lambda pid, sig: sent.append(("kill", pid, sig)))
    assert proc.stop_all([0, 1], None, grace=0.1) == []
    assert sent == []
    assert proc.group_members(0) == []
