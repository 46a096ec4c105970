import os
import signal
import subprocess

import pytest

from tests.support import layers
from tests.support.project import BIN, make_project

# Fixtures shared by several test modules live in support modules registered here, so that no test
# module imports from another one.
pytest_plugins = ["tests.support.helmfile_stubs", "tests.support.fakecluster"]

# Started in the background of a non-interactive shell (`cmd &`), the suite inherits SIGINT
# ignored, and so would every compose it starts: the Ctrl-C tests would prove nothing. They test
# what a terminal gives compose: SIGINT's default.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_addoption(parser):
    parser.addoption(
        "--update-goldens", action="store_true", help="rewrite tests/cases/valid/*/expected from the current output"
    )


@pytest.hookimpl(tryfirst=True)  # before -m deselects: a test without its layer fails every run
def pytest_collection_modifyitems(items):
    problems = layers.problems(items)
    if problems:
        raise pytest.UsageError(
            "each test needs exactly one layer mark ("
            + ", ".join(layers.LAYERS)
            + "; see pyproject.toml):\n  "
            + "\n  ".join(problems)
        )


@pytest.fixture(autouse=True)
def unit_starts_no_process(request, monkeypatch):
    """What makes the unit layer quick, held: a unit test that starts a process fails, naming it.
    (A fake process from pytest-subprocess never reaches this; it replaces Popen itself.)"""
    if layers.layer(request.node) not in layers.IN_PROCESS:
        return

    def refuse(self, args, *rest, **kwargs):
        raise AssertionError(f"a unit test started a process ({args!r}): mark the test cli, helm or local")

    def refuse_fork(*args, **kwargs):
        raise AssertionError("a unit test forked (multiprocessing?): mark the test cli, helm or local")

    monkeypatch.setattr(subprocess.Popen, "_execute_child", refuse)
    monkeypatch.setattr(os, "fork", refuse_fork)
    monkeypatch.setattr(os, "posix_spawn", refuse_fork)


@pytest.fixture(autouse=True)
def helm_home(tmp_path_factory, monkeypatch):
    """helm and helmfile write repositories and caches under these; keep them out of $HOME."""
    home = tmp_path_factory.mktemp("helm-home")
    for var in ("HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"):
        monkeypatch.setenv(var, str(home / var.lower()))
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")


@pytest.fixture(autouse=True)
def no_signal_to_group_zero(monkeypatch):
    """A fake Popen (pytest-subprocess) has pid 0; stopping it as a process group would signal
    os.killpg(0) -- pytest's own group -- and every process whose group reads 0 here. Fail instead."""
    killpg, kill = os.killpg, os.kill

    def guarded_killpg(pgid, sig):
        assert pgid > 0, f"os.killpg({pgid}, {sig}): a fake process's pid reached a real signal"
        return killpg(pgid, sig)

    def guarded_kill(pid, sig):
        assert pid > 0, f"os.kill({pid}, {sig}): a fake process's pid reached a real signal"
        return kill(pid, sig)

    monkeypatch.setattr(os, "killpg", guarded_killpg)
    monkeypatch.setattr(os, "kill", guarded_kill)


@pytest.fixture
def project(tmp_path):
    return make_project(tmp_path / "proj")
