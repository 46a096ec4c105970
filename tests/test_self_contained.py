"""The tests need nothing outside this repository: every fixture is a recorded copy (its sha256 is
in the SOURCES.md, or SOURCES, of its directory), and no file of ours names a path outside the
checkout."""

from __future__ import annotations

import hashlib
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
SOURCES_NAMES = ("SOURCES.md", "SOURCES")
# `| file | ... | <sha256> |` (a SOURCES.md table row) or `sha256 <hex>  file` (sha256sum style)
ROW = re.compile(r"^\|\s*`?(?P<name>[^|`\s]+)`?\s*\|.*\|\s*`?(?P<sha>[0-9a-f]{64})`?\s*\|\s*$")
SUM = re.compile(r"^sha256 (?P<sha>[0-9a-f]{64})  (?P<name>\S+)$")


def recorded(sources: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in sources.read_text().splitlines():
        m = ROW.match(line) or SUM.match(line)
        if m:
            assert m["name"] not in out, f"{sources}: {m['name']} listed twice"
            out[m["name"]] = m["sha"]
    return out


def fixture_dirs() -> list[Path]:
    return sorted({p.parent for p in FIXTURES.rglob("*") if p.is_file()})


@pytest.mark.unit
def test_there_are_fixtures():
    dirs = [d.relative_to(FIXTURES).as_posix() for d in fixture_dirs()]
    assert {
        "dynamo/1.4.0/crds",
        "dgd-examples",
        "dgd-examples/v1beta1",
        "dynamo/1.6.1/dgd-templates",
        "dynamo/1.6.1/dgdr",
        "design-proposal",
    } <= set(dirs)


@pytest.mark.unit
@pytest.mark.parametrize("directory", fixture_dirs(), ids=lambda d: d.relative_to(FIXTURES).as_posix())
def test_every_fixture_is_the_sha256_its_sources_name(directory):
    (sources,) = [directory / n for n in SOURCES_NAMES if (directory / n).is_file()] or [None]
    assert sources is not None, f"{directory}: no SOURCES.md"
    digests = recorded(sources)
    files = sorted(p.name for p in directory.iterdir() if p.is_file() and p.name not in SOURCES_NAMES)
    assert sorted(digests) == files, f"{sources} must list exactly the files beside it"
    for name in files:
        actual = hashlib.sha256((directory / name).read_bytes()).hexdigest()
        assert actual == digests[name], f"{directory / name} differs from the copy {sources.name} records"


@pytest.mark.unit
def test_a_fixture_changed_by_hand_is_caught(tmp_path):
    crds = FIXTURES / "dynamo" / "1.4.0" / "crds"
    (tmp_path / "SOURCES.md").write_bytes((crds / "SOURCES.md").read_bytes())
    data = (crds / "nvidia.com_dynamographdeployments.yaml").read_bytes()
    (tmp_path / "nvidia.com_dynamographdeployments.yaml").write_bytes(data + b"\n")
    models = (crds / "nvidia.com_dynamomodels.yaml").read_bytes()
    (tmp_path / "nvidia.com_dynamomodels.yaml").write_bytes(models)
    with pytest.raises(AssertionError, match="differs from the copy"):
        test_every_fixture_is_the_sha256_its_sources_name(tmp_path)


# Built from pieces so that this file does not match itself.
OUTSIDE = [
    re.compile(re.escape(s)) for s in ("../" + "shared", "/" + "work/", "COMPOSE_" + "SHARED", "shared/" + "reference")
]
SCANNED = ("tests", "composer", "scripts", "benchmarks", ".ci")


def our_files() -> list[Path]:
    """Tracked and untracked-but-not-ignored files (ignored ones are run output, not ours)."""
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", *SCANNED],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    return [ROOT / p for p in sorted(set(out.decode().split("\0"))) if p and (ROOT / p).exists()]


@pytest.mark.cli
def test_no_file_refers_to_a_path_outside_the_repository():
    files = our_files()
    assert any(f.name == "validate.py" for f in files) and any(f.parts[-2:] == (".ci", "run") for f in files)
    found = []
    for f in files:
        if f.is_symlink():
            if not f.resolve().is_relative_to(ROOT):
                found.append(f"{f.relative_to(ROOT)}: a link to {f.resolve()}")
            continue
        text = f.read_bytes().decode("utf-8", "replace")
        for pattern in OUTSIDE:
            for m in pattern.finditer(text):
                line = text.count("\n", 0, m.start()) + 1
                found.append(f"{f.relative_to(ROOT)}:{line}: {m.group()}")
    assert not found, "\n".join(found)


@pytest.mark.unit
def test_a_dynamo_kind_without_a_fixture_crd_is_an_error():
    """Only the CRDs of kinds the charts render are kept; a new kind must not go unchecked."""
    from tests.support.validate import crd_errors

    # DynamoCheckpoint: a Dynamo kind no chart of ours renders (DynamoModel is model.loras', its CRD kept)
    kind = {"apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoCheckpoint", "metadata": {"name": "m"}, "spec": {}}
    assert crd_errors([kind]) == [f"DynamoCheckpoint/m: no nvidia.com/v1alpha1 schema in {FIXTURES}/dynamo/1.6.1/crds"]
    other = {"apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": "t"}}
    assert crd_errors([other]) == []
