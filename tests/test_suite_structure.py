"""The suite's own structure: test modules share code only through tests/support/ and conftest
fixtures (never by importing one another), and every test carries exactly one layer mark."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.project import REPO

TESTS = REPO / "tests"


def suite_modules(root: Path = TESTS) -> list[Path]:
    return sorted([*root.glob("test_*.py"), *root.glob("*/test_*.py")])


def imported_test_modules(source: str, package: str) -> list[str]:
    """The test modules (test_*.py, or a conftest) that `source`, a module of `package`, imports."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolved against the importing module's package
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            names = [base] + [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            last = name.rsplit(".", 1)[-1]
            if name.startswith("tests.") and (last.startswith("test_") or last == "conftest"):
                found.append(name)
    return found


@pytest.mark.unit
@pytest.mark.parametrize(
    "source, package, found",
    [
        ("from tests.test_doctor import PLUGINS", "tests", ["tests.test_doctor"]),
        ("import tests.charts.test_model_chart", "tests.charts", ["tests.charts.test_model_chart"]),
        ("from tests import test_doctor", "tests", ["tests.test_doctor"]),
        ("from .test_doctor import x", "tests", ["tests.test_doctor"]),
        ("from ..test_doctor import x", "tests.charts", ["tests.test_doctor"]),
        ("from tests.conftest import make_project", "tests", ["tests.conftest"]),
        ("from tests.support.project import make_project\nimport json", "tests", []),
        ("from tests.support import cases, validate", "tests", []),
    ],
)
def test_the_import_check_sees_every_spelling(source, package, found):
    assert imported_test_modules(source, package) == found


@pytest.mark.unit
def test_no_test_module_imports_another():
    modules = suite_modules()
    assert len(modules) > 40  # the glob found the suite
    offenders = {}
    for path in modules:
        package = ".".join(path.parent.relative_to(REPO).parts)
        if found := imported_test_modules(path.read_text(), package):
            offenders[str(path.relative_to(REPO))] = found
    assert offenders == {}, "move what is shared to tests/support/ (fixtures: a plugin listed in conftest.py)"


LAYERED = """import pytest

@pytest.mark.unit
def test_unit():
    pass

def test_no_layer():
    pass

@pytest.mark.helm
@pytest.mark.local
def test_two_layers():
    pass
"""


def run_pytest(tmp_path: Path, hook: str, source: str, *args: str, timeout: int = 60) -> subprocess.CompletedProcess:
    """pytest over one module, test_sample.py, under the named hook or fixture of tests/conftest.py."""
    (tmp_path / "conftest.py").write_text(f"from tests.conftest import {hook}  # noqa: F401\n")
    (tmp_path / "test_sample.py").write_text(source)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:kmock"]
        + ["-W", "ignore::pytest.PytestUnknownMarkWarning", *args, str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(REPO)},
        timeout=timeout,
    )


def collect(tmp_path: Path, source: str, *args: str) -> subprocess.CompletedProcess:
    """`pytest --co` of one module under tests/conftest.py's layer check."""
    return run_pytest(tmp_path, "pytest_collection_modifyitems", source, "--co", *args)


@pytest.mark.cli
@pytest.mark.parametrize("args", [(), ("-m", "unit")], ids=["all", "deselected"])
def test_a_test_without_exactly_one_layer_fails_collection(tmp_path, args):
    r = collect(tmp_path, LAYERED, *args)
    assert r.returncode == 4, r.stdout + r.stderr  # pytest's usage error: nothing runs
    assert "test_sample.py::test_no_layer: no layer mark" in r.stderr
    assert "test_sample.py::test_two_layers: marked helm and local" in r.stderr
    assert "test_unit" not in r.stderr


@pytest.mark.cli
def test_one_layer_each_collects(tmp_path):
    r = collect(tmp_path, LAYERED.split("def test_no_layer")[0])
    assert r.returncode == 0 and "1 test collected" in r.stdout, r.stdout + r.stderr


SPAWNING = """import multiprocessing, subprocess, pytest

@pytest.mark.unit
def test_runs_true():
    subprocess.run(["true"])

@pytest.mark.unit
def test_forks():
    p = multiprocessing.get_context("fork").Process(target=print)
    p.start()
    p.join()

@pytest.mark.cli
def test_cli_may():
    subprocess.run(["true"], check=True)
"""


@pytest.mark.cli
def test_a_unit_test_that_starts_a_process_fails_and_says_which_layer_to_use(tmp_path):
    r = run_pytest(tmp_path, "unit_starts_no_process", SPAWNING, "-p", "no:randomly", timeout=120)
    assert "2 failed, 1 passed" in r.stdout, r.stdout + r.stderr
    assert "a unit test started a process (['true'])" in r.stdout
    assert "a unit test forked" in r.stdout
