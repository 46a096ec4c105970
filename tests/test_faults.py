"""Faults around compose: missing tools, helmfile failing or dying, two writers at once, an
interrupted write, inputs far too large. Real `compose` processes throughout, with stand-in
helm/helmfile scripts where a failure has to be made on purpose.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest

from composer import load, write
from composer import project as p
from tests.support.project import BIN, REPO, make_project, outside_venv

VALUES = "dynamoNamespace: demo\nmodel:\n  name: Qwen/Qwen3-0.6B\n  backend:\n    type: vllm\n"
ENV = "cluster:\n  namespace: llm\n"
PLUGINS_WITH_DIFF = "NAME\tVERSION\tDESCRIPTION\ndiff\t3.9.11\tPreview helm upgrade changes as a diff\n"
MISSING = {
    "helm": "error: helm not found: run ./scripts/setup (installs helm 3.15.3 into .venv/bin) or put helm on PATH",
    "helmfile": "error: helmfile not found: run ./scripts/setup (installs helmfile 0.166.0 into .venv/bin) "
    "or put helmfile on PATH",
}


@pytest.fixture
def proj(tmp_path) -> Path:
    root = make_project(tmp_path / "proj", VALUES, {"dev": ENV})
    p.generate(p.Project.at(root / "values.yaml"))  # so no command prints "updated helmfile.d/"
    return root


def script(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


def run(
    root: Path, *args: str, env: dict | None = None, python: str = sys.executable, timeout: float = 60
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [python, "-m", "composer", *args],
        cwd=root,
        capture_output=True,
        text=True,
        env=env if env is not None else os.environ.copy(),
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


# --- missing tools ------------------------------------------------------------------------------


@pytest.fixture
def toolless(tmp_path):
    """Run compose where helm and helmfile are only what the test puts in `bin`: our interpreter
    is reached through a symlink in a directory of its own (compose also looks next to
    sys.executable, which in the venv holds both tools), with the venv's packages on PYTHONPATH."""
    pydir = tmp_path / "py"
    pydir.mkdir()
    python = pydir / "python"
    python.symlink_to(os.path.realpath(sys.executable))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    env = {
        "PATH": f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "HOME": str(tmp_path),
        "PYTHONPATH": os.pathsep.join([str(REPO), sysconfig.get_paths()["purelib"]]),
        **{k: v for k, v in os.environ.items() if k.startswith("HELM_")},
    }
    for tool in ("helm", "helmfile"):
        assert subprocess.run(["sh", "-c", f"command -v {tool}"], env=env, capture_output=True).returncode != 0
    return bin_dir, str(python), env


@pytest.mark.cli
@pytest.mark.parametrize(
    "command", [["status"], ["build"], ["up", "--yes"], ["destroy", "--yes"], ["diff"]], ids=lambda c: c[0]
)
def test_missing_helmfile_is_one_line_and_exit_127(proj, toolless, command):
    bin_dir, python, env = toolless
    script(bin_dir / "helm", f"printf '{PLUGINS_WITH_DIFF}'\n")  # helm is there, with helm-diff
    r = run(proj, command[0], "--env", "dev", *command[1:], env=env, python=python)
    assert r.returncode == 127, r.stderr
    assert r.stderr.splitlines() == [MISSING["helmfile"]]


@pytest.mark.helm  # real helm (or helmfile) beside stand-ins
def test_template_needs_helm_only(proj, toolless):
    """compose renders with helm itself (composer/manifests.py): no helmfile needed, none run."""
    bin_dir, python, env = toolless
    r = run(proj, "template", "--env", "dev", env=env, python=python)
    assert r.returncode == 127, r.stderr
    assert r.stderr.splitlines()[-1] == MISSING["helm"]
    (bin_dir / "helm").symlink_to(BIN / "helm")
    r = run(proj, "template", "--env", "dev", env=env, python=python)
    assert r.returncode == 0, r.stderr
    assert "kind: DynamoGraphDeployment" in r.stdout


@pytest.mark.cli
@pytest.mark.parametrize("command", [["up", "--yes"], ["diff"]], ids=lambda c: c[0])
def test_missing_helm_is_one_line_and_exit_127(proj, toolless, command):
    bin_dir, python, env = toolless
    (bin_dir / "helmfile").symlink_to(BIN / "helmfile")
    r = run(proj, command[0], "--env", "dev", *command[1:], env=env, python=python)
    assert r.returncode == 127, r.stderr
    assert r.stderr.splitlines() == [MISSING["helm"]]


@pytest.mark.helm  # real helm (or helmfile) beside stand-ins
@pytest.mark.parametrize("command", [["status"], ["build"], ["destroy", "--yes"]], ids=lambda c: c[0])
def test_missing_helm_behind_helmfile_is_exit_127(proj, toolless, command):
    bin_dir, python, env = toolless
    (bin_dir / "helmfile").symlink_to(BIN / "helmfile")
    r = run(proj, command[0], "--env", "dev", *command[1:], env=env, python=python)
    assert "panic:" not in r.stderr
    assert r.returncode == 127, r.stderr
    assert r.stderr.splitlines()[-1] == MISSING["helm"]


# --- helmfile failing ---------------------------------------------------------------------------


@pytest.mark.helm  # real helm (or helmfile) beside stand-ins
@pytest.mark.parametrize(
    "command, rc, exit_code, message",
    [
        ("build", 2, 1, "error: helmfile build failed (exit 2)"),
        ("build", 1, 1, "error: helmfile build failed (exit 1)"),
        (
            "build",
            3,
            4,
            "error: helmfile matched no release for this environment: is the environment generated? "
            "run `compose generate`",
        ),
        (
            "status",
            3,
            4,
            "error: helmfile matched no release for this environment: is the environment generated? "
            "run `compose generate`",
        ),
        (
            "status",
            1,
            1,
            "error: helmfile status failed (exit 1): no cluster reachable: check your kubeconfig and "
            "the environment's cluster.kubeContext",
        ),
    ],
)
def test_helmfile_exit_codes_reach_the_user(proj, tmp_path, command, rc, exit_code, message):
    """A stand-in helmfile exits rc; for status it says what a real one says without a cluster."""
    stderr = (
        'Error: Kubernetes cluster unreachable: Get "http://localhost:8080/version"' if command == "status" else "boom"
    )
    bin_dir = tmp_path / "bin"
    script(bin_dir / "helmfile", f"echo '{stderr}' >&2\nexit {rc}\n")
    python, env = outside_venv(bin_dir)
    r = run(proj, command, "--env", "dev", env=env, python=python)
    assert r.returncode == exit_code, r.stderr
    assert r.stderr.splitlines()[-1] == message
    assert stderr in r.stderr, "helmfile's own stderr is shown too"


@pytest.mark.cli
def test_a_patch_naming_an_object_the_chart_does_not_render_is_refused_before_helm(tmp_path):
    """Once a failure only kustomize (run by helmfile) reported, with no location: compose knows
    what each chart renders, so it refuses the patch at its line before any renderer runs."""
    patch = (
        "patches:\n  model:\n    strategicMergePatches:\n"
        "      - {apiVersion: v1, kind: ConfigMap, metadata: {name: no-such-map}, data: {a: b}}\n"
    )
    root = make_project(tmp_path / "proj", VALUES + patch, {"dev": ENV})
    r = run(root, "template", "--env", "dev")
    assert r.returncode == 2, r.stderr
    assert (
        "/patches/model/strategicMergePatches/0/metadata/name: the model release renders no ConfigMap "
        "named 'no-such-map'" in r.stderr
    )
    assert "helmfile" not in r.stderr and r.stdout == ""


@pytest.mark.cli
def test_template_failing_in_helm_shows_helms_error_after_what_failed(proj, tmp_path):
    """Without patches compose runs helm itself (composer/manifests.py): helm's own words, indented
    under which release failed."""
    bin_dir = tmp_path / "bin"
    script(bin_dir / "helm", 'case "$2" in demo-model) echo "Error: boom" >&2; exit 1;; esac\n')
    python, env = outside_venv(bin_dir)
    r = run(proj, "template", "--env", "dev", env=env, python=python)
    assert r.returncode == 1
    assert r.stderr.splitlines()[-2:] == ["error: helm template demo-model failed (exit 1):", "  Error: boom"]
    assert r.stdout == ""


# --- helmfile killed ----------------------------------------------------------------------------


def stand_ins(bin_dir: Path, helmfile_body: str) -> tuple[str, dict]:
    """(python, env) of a compose that runs these stand-ins."""
    script(bin_dir / "helm", f"printf '{PLUGINS_WITH_DIFF}'\n")
    script(bin_dir / "helmfile", helmfile_body)
    return outside_venv(bin_dir)


@pytest.mark.cli
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGSEGV], ids=lambda s: s.name)
def test_helmfile_killed_by_a_signal_during_up(proj, tmp_path, sig):
    pid_file = tmp_path / "helmfile.pid"
    python, env = stand_ins(
        tmp_path / "bin",
        f"echo $$ > {pid_file}\necho 'Upgrading release=demo-model' >&2\nkill -{sig.name[3:]} $$\nsleep 30\n",
    )
    started = time.monotonic()
    r = run(proj, "up", "--env", "dev", "--yes", env=env, timeout=30, python=python)
    assert time.monotonic() - started < 10
    assert r.returncode == 1, r.stderr
    assert r.stderr.splitlines()[-1] == f"error: helmfile was killed by signal {sig.value} ({sig.name})"
    assert "Upgrading release=demo-model" in r.stderr
    assert not Path(f"/proc/{pid_file.read_text().strip()}").exists()


@pytest.mark.cli
def test_helmfile_killed_leaves_no_orphan_and_no_wait(proj, tmp_path):
    """helmfile killed (e.g. by the OOM killer) while its helm child runs: compose should stop the
    child's whole process group, not wait for it or leave it changing the cluster on its own."""
    helm_pid = tmp_path / "helm.pid"
    python, env = stand_ins(tmp_path / "bin", f"sleep 8 &\necho $! > {helm_pid}\nkill -KILL $$\n")
    proc = subprocess.Popen(
        [python, "-m", "composer", "up", "--env", "dev", "--yes"],
        cwd=proj,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    try:
        proc.wait(timeout=4)
        hung = False
    except subprocess.TimeoutExpired:
        hung = True
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
    orphan = int(helm_pid.read_text())
    orphan_alive = _state(orphan) not in ("gone", "Z", "X")
    if orphan_alive:
        os.kill(orphan, signal.SIGKILL)  # ours: the stand-in's child, known by PID
    proc.communicate(timeout=10)
    assert not hung, "compose waited for helmfile's child after helmfile died"
    assert not orphan_alive, "helmfile's child outlived compose"
    assert proc.returncode == 1


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


# --- two writers, interrupted writers -----------------------------------------------------------


def many_envs(n: int) -> dict[str, str]:
    return {f"e{i:03d}": f"cluster:\n  namespace: ns-{i}\n" for i in range(n)}


def leftovers(root: Path) -> list[str]:
    return sorted(x.name for x in root.iterdir() if x.name.startswith(".helmfile.d."))


@pytest.mark.cli
def test_two_generates_at_once_both_succeed_and_write_one_tree(tmp_path):
    root = make_project(tmp_path / "proj", VALUES, many_envs(60))
    proj = p.Project.at(root / "values.yaml")
    for replicas in (1, 2, 3):
        proj.values_file.write_text(VALUES + f"  decode:\n    replicas: {replicas}\n")
        expected = p.files(proj)
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "composer", "generate"],
                cwd=root,
                text=True,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for _ in range(2)
        ]
        results = [(proc.wait(60), *proc.communicate()) for proc in procs]
        assert [rc for rc, _, _ in results] == [0, 0], results
        # the lock makes them take turns: one writes, the other then finds the tree up to date
        assert sorted(out for _, out, _ in results) == ["unchanged: helmfile.d/\n", "wrote helmfile.d/\n"]
        assert write.read_tree(proj.output) == expected
        assert leftovers(root) == []


def _interrupt_at(monkeypatch, target: str, when: int):
    """Raise KeyboardInterrupt (as Ctrl-C would) at the `when`-th call of `target` in write.py."""
    calls = []
    if target == "write_text":
        real = Path.write_text

        def fake(self, *a, **kw):
            calls.append(self)
            if len(calls) == when:
                raise KeyboardInterrupt
            return real(self, *a, **kw)

        monkeypatch.setattr(Path, "write_text", fake)
    else:
        real = getattr(write.os if target == "rename" else write.shutil, target)

        def fake(*a, **kw):
            calls.append(a)
            if len(calls) == when:
                raise KeyboardInterrupt
            return real(*a, **kw)

        monkeypatch.setattr(write.os if target == "rename" else write.shutil, target, fake)


def _old_and_new(tmp_path):
    root = make_project(tmp_path / "proj", VALUES, many_envs(5))
    proj = p.Project.at(root / "values.yaml")
    p.generate(proj)
    old = write.read_tree(proj.output)
    proj.values_file.write_text(VALUES + "  decode:\n    replicas: 7\n")
    new = p.files(proj)
    assert new != old
    return proj, old, new


@pytest.mark.unit
@pytest.mark.parametrize(
    "target, when, outcome",
    [
        ("write_text", 1, "old"),
        ("write_text", 6, "old"),
        ("write_text", 11, "old"),  # the last file
        pytest.param("rename", 1, "old", id="rename-1-old"),  # moving the old tree aside
        pytest.param("rmtree", 1, "new", id="rmtree-1-new"),  # removing it, after the swap
    ],
)
def test_generate_interrupted_in_process_leaves_old_or_new_tree(tmp_path, monkeypatch, target, when, outcome):
    """Ctrl-C at each step of write_tree: the tree is whole (old before the swap, new after it),
    and no temporary directory is left."""
    proj, old, new = _old_and_new(tmp_path)
    _interrupt_at(monkeypatch, target, when)
    with pytest.raises(KeyboardInterrupt):
        p.generate(proj)
    monkeypatch.undo()
    assert write.read_tree(proj.output) == (old if outcome == "old" else new)
    assert leftovers(proj.root) == []


@pytest.mark.unit
@pytest.mark.parametrize("made", ["new", "old"])
def test_generate_interrupted_as_a_temporary_tree_is_made(tmp_path, monkeypatch, made):
    """Ctrl-C lands just after mkdir made the new tree, or the place the old one moves to,
    before write_tree could hold on to its name: still no temporary directory is left."""
    proj, old, new = _old_and_new(tmp_path)
    real = os.mkdir

    def fake(path, *a, **kw):
        real(path, *a, **kw)
        if Path(path).name.startswith(f".{proj.output.name}.{made}-"):
            raise KeyboardInterrupt

    monkeypatch.setattr(os, "mkdir", fake)
    with pytest.raises(KeyboardInterrupt):
        p.generate(proj)
    monkeypatch.undo()
    assert write.read_tree(proj.output) == old
    assert leftovers(proj.root) == []


@pytest.mark.unit
def test_generate_interrupted_between_the_two_renames(tmp_path, monkeypatch):
    proj, old, new = _old_and_new(tmp_path)
    _interrupt_at(monkeypatch, "rename", 2)
    with pytest.raises(KeyboardInterrupt):
        p.generate(proj)
    monkeypatch.undo()
    assert write.read_tree(proj.output) in (old, new)


def _generate_and_signal(root: Path, sig: int, delay: float) -> subprocess.CompletedProcess:
    """Start `compose generate`; once its temporary tree appears, wait `delay` s, then send `sig`
    (unless it has finished)."""
    before = set(leftovers(root))
    proc = subprocess.Popen(
        [sys.executable, "-m", "composer", "generate"],
        cwd=root,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while proc.poll() is None and set(leftovers(root)) == before and time.monotonic() < deadline:
        time.sleep(0.0005)
    time.sleep(delay)
    if proc.poll() is None:
        proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.mark.cli
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=lambda s: s.name)
def test_generate_killed_while_writing_leaves_old_or_new_tree(tmp_path, sig):
    """A real `compose generate` writing 120 files gets a signal when its temporary tree appears,
    plus 0-100 ms: helmfile.d/ is always one whole tree, the old or the new."""
    root = make_project(tmp_path / "proj", VALUES, many_envs(60))
    proj = p.Project.at(root / "values.yaml")
    p.generate(proj)
    rng = random.Random(sig.value)
    old = write.read_tree(proj.output)
    outcomes = []
    for trial in range(3):
        proj.values_file.write_text(VALUES + f"  decode:\n    replicas: {trial + 10}\n")
        new = p.files(proj)
        r = _generate_and_signal(root, sig, rng.choice([0, rng.uniform(0, 0.1)]))
        tree = write.read_tree(proj.output)
        assert tree in (old, new), f"a mixed tree after {sig.name} (exit {r.returncode}): {r.stderr}"
        assert "Traceback" not in r.stderr
        if r.returncode == -sig:  # it arrived after compose had finished, on the way out
            assert r.stdout == "wrote helmfile.d/\n" and r.stderr == ""
        elif r.returncode != 0:
            assert r.returncode == 130 and r.stderr.endswith("interrupted\n"), r.stderr
        assert leftovers(root) == []
        outcomes.append(r.returncode)
        old = tree
    assert any(rc != 0 for rc in outcomes), "the signal never arrived while compose was writing: proves nothing"


@pytest.mark.cli
def test_generate_killed_by_sigkill_leaves_a_temporary_tree_the_next_run_removes(tmp_path):
    root = make_project(tmp_path / "proj", VALUES, many_envs(60))
    proj = p.Project.at(root / "values.yaml")
    p.generate(proj)
    proj.values_file.write_text(VALUES + "  decode:\n    replicas: 4\n")
    r = _generate_and_signal(root, signal.SIGKILL, 0)
    if r.returncode != -signal.SIGKILL:
        pytest.skip("generate finished before the signal arrived")
    assert p.generate(proj) is True
    assert leftovers(root) == []


@pytest.mark.cli
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name)
def test_compose_terminated_during_up_stops_helmfile_and_what_it_started(proj, tmp_path, sig):
    pids = tmp_path / "pids"
    python, env = stand_ins(tmp_path / "bin", f"sleep 60 &\necho $$ $! > {pids}\nwait\n")
    compose_proc = subprocess.Popen(
        [python, "-m", "composer", "up", "--env", "dev", "--yes"],
        cwd=proj,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    started = _wait_for_pids(pids, 2)  # helmfile and its child
    compose_proc.send_signal(sig)
    _, err = compose_proc.communicate(timeout=20)
    left = _survivors(started)
    assert compose_proc.returncode == 130, err
    assert err.splitlines()[-1] == "error: interrupted: stopped helmfile" and "Traceback" not in err
    assert left == [], "helmfile or its child outlived compose"


@pytest.mark.cli
def test_compose_terminated_during_template_stops_every_helm(tmp_path):
    """compose runs one helm per release at once (composer/manifests.py): a signal stops them all."""
    proj = make_project(tmp_path / "example")  # the repo's example: several releases in dev
    releases = [r for r in p.plans(p.Project.at(proj / "values.yaml"), ["dev"])["dev"].releases if not r.remote]
    assert len(releases) > 1
    pids = tmp_path / "pids"
    bin_dir = tmp_path / "bin"
    script(bin_dir / "helm", f"echo $$ >> {pids}\nexec sleep 60\n")
    python, env = outside_venv(bin_dir)
    compose_proc = subprocess.Popen(
        [python, "-m", "composer", "template", "--env", "dev"],
        cwd=proj,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    started = _wait_for_pids(pids, len(releases))
    compose_proc.send_signal(signal.SIGTERM)
    out, err = compose_proc.communicate(timeout=30)
    left = _survivors(started)
    assert compose_proc.returncode == 130, err
    assert err.splitlines()[-1] == "error: interrupted: stopped helm" and out == ""
    assert left == [], "a helm outlived compose"


def _wait_for_pids(path: Path, count: int, timeout: float = 20) -> list[int]:
    """The PIDs stand-ins wrote to `path`, once there are `count` of them (or after `timeout`)."""
    deadline = time.monotonic() + timeout
    while not (path.exists() and len(path.read_text().split()) == count) and time.monotonic() < deadline:
        time.sleep(0.02)
    return list(map(int, path.read_text().split()))


def _survivors(pids: list[int]) -> list[int]:
    """Which of the stand-ins' processes still run; killed here (known by PID) so none outlives the test."""
    left = [pid for pid in pids if _state(pid) not in ("gone", "Z", "X")]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    return left


# --- inputs far too large -----------------------------------------------------------------------


@pytest.mark.cli
@pytest.mark.parametrize("size", [load.MAX_BYTES + 1, 50 * 1024 * 1024], ids=["limit+1", "50MB"])
@pytest.mark.parametrize("which", ["values.yaml", "environments/dev.yaml"])
def test_huge_input_file_is_refused_quickly(tmp_path, which, size):
    root = make_project(tmp_path / "proj", VALUES, {"dev": ENV})
    path = root / which
    head = path.read_text() + "# padding\n"
    with open(path, "w") as f:  # valid YAML: the real file, then one long comment line
        f.write(head + "#" + "x" * (size - len(head) - 2) + "\n")
    assert path.stat().st_size == size
    started = time.monotonic()
    r = run(root, "generate")
    assert time.monotonic() - started < 10
    assert r.returncode == 2
    assert r.stderr == (
        f"{which}:1:1: /: file is {size:,} bytes; the limit is {load.MAX_BYTES:,}\n"
        "  hint: a values file holds settings, not data: is this the right file?\n"
    )
    assert not (root / "helmfile.d").exists()
