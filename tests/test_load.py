from pathlib import Path

import pytest

from composer.errors import InvalidValues
from composer.load import MAX_BYTES, Pos, load, overlay


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode() if isinstance(text, str) else text)
    return p


def problem(tmp_path, text, name="v.yaml"):
    with pytest.raises(InvalidValues) as e:
        load(write(tmp_path, name, text), display=name)
    (p,) = e.value.problems
    return p


def test_positions_of_values_and_keys(tmp_path):
    got = load(write(tmp_path, "v.yaml", "a:\n  b: 1\n  c:\n    - x\n    - y\n"), display="v.yaml")
    assert got.data == {"a": {"b": 1, "c": ["x", "y"]}}
    assert got.values["/a/b"] == Pos("v.yaml", 2, 6)
    assert got.keys["/a/b"] == Pos("v.yaml", 2, 3)
    assert got.values["/a/c/1"] == Pos("v.yaml", 5, 7)
    # an unknown pointer falls back to its closest parent
    assert got.where("/a/b/zz") == Pos("v.yaml", 2, 6)


def test_scalars_become_plain_python(tmp_path):
    got = load(write(tmp_path, "v.yaml", "i: 3\nf: 1.5\nb: true\ns: '3'\nn: null\n"))
    assert got.data == {"i": 3, "f": 1.5, "b": True, "s": "3", "n": None}
    assert [type(v) for v in got.data.values()] == [int, float, bool, str, type(None)]


def test_overlay_merges_maps_replaces_lists_and_null_removes(tmp_path):
    base = load(write(tmp_path, "base.yaml", "m:\n  a: 1\n  b: [1, 2]\n  c: {x: 1}\n  d: 4\nkeep: 1\n"))
    top = load(write(tmp_path, "top.yaml", "m:\n  b: [3]\n  c: {y: 2}\n  d: null\n  e: 5\n"))
    merged = overlay(base, top)
    assert merged.data == {"m": {"a": 1, "b": [3], "c": {"x": 1, "y": 2}, "e": 5}, "keep": 1}
    # values point at the file they came from
    assert merged.where("/m/a").file.endswith("base.yaml")
    assert merged.where("/m/b/0").file.endswith("top.yaml")
    assert merged.where("/m/c/y").file.endswith("top.yaml")
    assert merged.where("/m/c/x").file.endswith("base.yaml")
    # nothing of the replaced list survives from the base
    assert "/m/b/1" not in merged.values
    assert "/m/d" not in merged.values


@pytest.mark.parametrize("text, line, col, message, hint", [
    ("a:\n\tb: 1\n", 2, 1, "found character '\\t'", "tabs"),
    ("a: 1\nb: 2\na: 3\n", 3, 1, 'duplicate key "a"', "each key may appear once"),
    ("a: [1, 2\n", 2, 1, "invalid YAML", "indentation"),
    ("", 1, 1, "file is empty", "example"),
    ("- a\n- b\n", 1, 1, "expected a mapping at the top level, got a list", "dynamoNamespace"),
    ("just a string\n", 1, 1, "got a string", ""),
    ("? [a, b]\n: 1\n", 1, 3, "keys must be strings", "quote"),
])
def test_syntax_problems_are_located(tmp_path, text, line, col, message, hint):
    p = problem(tmp_path, text)
    assert (p.file, p.line, p.column) == ("v.yaml", line, col)
    assert message in p.message
    assert hint in p.hint


def test_non_utf8_is_located(tmp_path):
    p = problem(tmp_path, b"a: 1\nb: caf\xe9\n")
    assert (p.line, p.column) == (2, 7)
    assert "not UTF-8" in p.message and "0xe9" in p.message


def test_huge_file_is_refused_before_parsing(tmp_path):
    p = problem(tmp_path, "a: " + "x" * MAX_BYTES + "\n")
    assert "limit" in p.message


def test_alias_bomb_is_refused(tmp_path):
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]']
    for i, name in enumerate("bcdefgh"):
        prev = "a" if i == 0 else "bcdefgh"[i - 1]
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 10) + "]")
    p = problem(tmp_path, "\n".join(lines) + "\n")
    assert "aliases" in p.hint


def test_missing_file(tmp_path):
    with pytest.raises(InvalidValues) as e:
        load(tmp_path / "nope.yaml", display="nope.yaml")
    assert str(e.value).startswith("nope.yaml: /: file not found")


@pytest.mark.parametrize("text, line, col, ptr", [
    ("a: 1\na: 2\n", 2, 1, "/a"),
    ("m:\n  x: 1\n  y: {k: 1, k: 2}\n", 3, 13, "/m/y/k"),
    ("l:\n  - n: 1\n  - n: 1\n    n: 2\n", 4, 5, "/l/1/n"),
    ("base: &b {x: 1}\nuse: *b\nuse: 2\n", 3, 1, "/use"),
])
def test_a_repeated_key_is_located_with_its_pointer(tmp_path, text, line, col, ptr):
    p = problem(tmp_path, text)
    assert (p.line, p.column, p.pointer) == (line, col, ptr)
    assert p.message.startswith(f'duplicate key "{ptr.rsplit("/", 1)[1]}"')


def test_compose_outside_a_project_says_the_values_file_is_missing(tmp_path):
    from tests.conftest import compose

    (tmp_path / "environments").mkdir()  # even where environments/ exists, the missing file comes first
    r = compose("validate", cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr == ("values.yaml: /: file not found\n  hint: run compose in the project's directory, or pass the "
                        "values file with -f/--values (a new project: `compose init --recipe NAME`)\n")
