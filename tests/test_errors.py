"""Exit codes as the README documents them, and what a bug looks like to a user."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from composer import cli, project, targets
from composer.errors import ComposeError, ExitCode
from tests.support.project import REPO

pytestmark = pytest.mark.unit

TOKEN = "hf_FAKEtokenDoNotLeak0123456789abcdEF"


def readme_exit_codes() -> set[int]:
    text = (REPO / "README.md").read_text()
    table = text.split("### Exit codes", 1)[1].split("\n## ", 1)[0]
    return {int(code) for code in re.findall(r"^\| (\d+) \|", table, re.M)}


def test_the_readme_table_lists_every_exit_code_and_no_other():
    assert readme_exit_codes() == {int(c) for c in ExitCode}


def test_every_error_class_exits_with_a_documented_code():
    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    classes = [ComposeError, *subclasses(ComposeError)]
    assert len(classes) > 5
    assert {(c.__name__, c.exit_code) for c in classes if c.exit_code not in set(ExitCode)} == set()


def test_an_unexpected_exception_is_one_line_and_a_log_with_the_traceback(monkeypatch, tmp_path):
    def boom(values):
        raise ValueError(f"something broke near {TOKEN}\nsecond line")

    monkeypatch.setattr(project.Project, "find", staticmethod(boom))
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # TMPDIR is read again
    r = CliRunner().invoke(cli.main, ["validate"])
    assert r.exit_code == ExitCode.BUG
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: unexpected ValueError: something broke near <credential>")
    assert TOKEN not in r.output
    (log,) = tmp_path.glob("compose-crash-*.log")
    assert log.name in lines[0]
    text = log.read_text()
    assert "Traceback (most recent call last)" in text and "in boom" in text and TOKEN not in text


def test_our_errors_stay_one_message_without_a_log(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    r = CliRunner().invoke(cli.main, ["validate", "-f", str(tmp_path / "missing" / "values.yaml")])
    assert r.exit_code == ExitCode.BAD_INPUT
    assert "Traceback" not in r.output and list(Path(tmp_path).glob("compose-crash-*")) == []


def test_the_local_runtime_refuses_other_platforms_clearly(project, monkeypatch):
    console = targets.Console(progress=lambda m: None, confirm=lambda q: None, interactive=False)
    proj = project_of(project)
    assert isinstance(targets.of(proj, "local", console), targets.Local)
    monkeypatch.setattr("sys.platform", "darwin")
    with pytest.raises(targets.UsageError, match="runs locally, but the local runtime runs on Linux only"):
        targets.of(proj, "local", console)
    assert isinstance(targets.of(proj, "dev", console), targets.Kubernetes)  # the cluster path is not Linux-bound


def project_of(root):
    return project.Project.at(root / "values.yaml")
