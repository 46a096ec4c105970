"""The README's layout table and CONTRIBUTING's module table say what the tree holds."""

import re

import pytest

from tests.support.project import REPO

pytestmark = pytest.mark.unit


def table_paths(text: str, heading: str) -> list[str]:
    section = text.split(heading, 1)[1].split("\n#", 1)[0]
    return [m for row in re.findall(r"^\| (.+?) \|", section, re.M) for m in re.findall(r"`([^`]+)`", row)]


def test_every_path_the_readme_layout_names_exists():
    paths = [p for p in table_paths((REPO / "README.md").read_text(), "## Layout") if not p.startswith(".compose")]
    assert len(paths) > 8
    assert [p for p in paths if not (REPO / p).exists()] == []


def test_contributing_lists_every_module_of_the_package_and_no_other():
    listed = set()
    for name in table_paths((REPO / "CONTRIBUTING.md").read_text(), "## How the code is laid out"):
        listed.add(name.removesuffix(".py").rstrip("/"))
    modules = {p.stem for p in (REPO / "composer").glob("*.py") if p.stem not in ("__init__", "__main__")}
    modules |= {"local"}  # a package of its own, listed as one
    assert {m.split("/")[0] for m in listed} == modules | {"schema"}  # schema/values.schema.json beside schema.py


def test_every_module_says_what_it_owns():
    for path in sorted((REPO / "composer").rglob("*.py")):
        if path.name in ("__main__.py",):
            continue
        text = path.read_text()
        assert text.lstrip().startswith('"""'), f"{path.relative_to(REPO)} has no docstring"


@pytest.mark.parametrize(
    "name, package", [("aiperf_plot.py", "aiperf"), ("aiperf_profile.py", "aiperf"), ("twin_perf.py", "aiconfigurator")]
)
def test_no_module_beside_a_venv_script_shadows_what_it_imports(name, package):
    """aiperf_plot.py and twin_perf.py run as scripts in the aiperf and aiconfigurator venvs: their
    directory comes first on sys.path."""
    import ast

    script = REPO / "composer" / "local" / name
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(ast.parse(script.read_text()))
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    imported |= {
        node.module.split(".")[0]
        for node in ast.walk(ast.parse(script.read_text()))
        if isinstance(node, ast.ImportFrom) and node.module and not node.level
    }
    beside = {p.stem for p in script.parent.glob("*.py")} | {p.name for p in script.parent.iterdir() if p.is_dir()}
    assert package in imported
    assert "composer" not in imported  # not installed in that venv
    assert imported & beside == set()
