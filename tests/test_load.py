import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from composer import load as load_module
from composer.errors import InvalidValues
from composer.load import MAX_BYTES, MAX_DEPTH, Pos, load, overlay


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode() if isinstance(text, str) else text)
    return p


def problem(tmp_path, text, name="v.yaml"):
    with pytest.raises(InvalidValues) as e:
        load(write(tmp_path, name, text), display=name)
    (p,) = e.value.problems
    return p


@pytest.mark.unit
def test_positions_of_values_and_keys(tmp_path):
    got = load(write(tmp_path, "v.yaml", "a:\n  b: 1\n  c:\n    - x\n    - y\n"), display="v.yaml")
    assert got.data == {"a": {"b": 1, "c": ["x", "y"]}}
    assert got.values["/a/b"] == Pos("v.yaml", 2, 6)
    assert got.keys["/a/b"] == Pos("v.yaml", 2, 3)
    assert got.values["/a/c/1"] == Pos("v.yaml", 5, 7)
    # an unknown pointer falls back to its closest parent
    assert got.where("/a/b/zz") == Pos("v.yaml", 2, 6)


@pytest.mark.unit
def test_scalars_become_plain_python(tmp_path):
    got = load(write(tmp_path, "v.yaml", "i: 3\nf: 1.5\nb: true\ns: '3'\nn: null\n"))
    assert got.data == {"i": 3, "f": 1.5, "b": True, "s": "3", "n": None}
    assert [type(v) for v in got.data.values()] == [int, float, bool, str, type(None)]


@pytest.mark.unit
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


@pytest.mark.unit
@pytest.mark.parametrize(
    "text, line, col, message, hint",
    [
        ("a:\n\tb: 1\n", 2, 1, "found character '\\t'", "tabs"),
        ("a: 1\nb: 2\na: 3\n", 3, 1, 'duplicate key "a"', "each key may appear once"),
        ("a: [1, 2\n", 2, 1, "invalid YAML", "indentation"),
        ("", 1, 1, "file is empty", "example"),
        ("- a\n- b\n", 1, 1, "expected a mapping at the top level, got a list", "dynamoNamespace"),
        ("just a string\n", 1, 1, "got a string", ""),
        ("? [a, b]\n: 1\n", 1, 3, "keys must be strings", "quote"),
    ],
)
def test_syntax_problems_are_located(tmp_path, text, line, col, message, hint):
    p = problem(tmp_path, text)
    assert (p.file, p.line, p.column) == ("v.yaml", line, col)
    assert message in p.message
    assert hint in p.hint


@pytest.mark.unit
def test_non_utf8_is_located(tmp_path):
    p = problem(tmp_path, b"a: 1\nb: caf\xe9\n")
    assert (p.line, p.column) == (2, 7)
    assert "not UTF-8" in p.message and "0xe9" in p.message


@pytest.mark.unit
def test_huge_file_is_refused_before_parsing(tmp_path):
    p = problem(tmp_path, "a: " + "x" * MAX_BYTES + "\n")
    assert "limit" in p.message


@pytest.mark.unit
def test_alias_bomb_is_refused(tmp_path):
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]']
    for i, name in enumerate("bcdefgh"):
        prev = "a" if i == 0 else "bcdefgh"[i - 1]
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 10) + "]")
    p = problem(tmp_path, "\n".join(lines) + "\n")
    assert "aliases" in p.hint


@pytest.mark.unit
def test_missing_file(tmp_path):
    with pytest.raises(InvalidValues) as e:
        load(tmp_path / "nope.yaml", display="nope.yaml")
    assert str(e.value).startswith("nope.yaml: /: file not found")


@pytest.mark.unit
@pytest.mark.parametrize(
    "text, line, col, ptr",
    [
        ("a: 1\na: 2\n", 2, 1, "/a"),
        ("m:\n  x: 1\n  y: {k: 1, k: 2}\n", 3, 13, "/m/y/k"),
        ("l:\n  - n: 1\n  - n: 1\n    n: 2\n", 4, 5, "/l/1/n"),
        ("base: &b {x: 1}\nuse: *b\nuse: 2\n", 3, 1, "/use"),
    ],
)
def test_a_repeated_key_is_located_with_its_pointer(tmp_path, text, line, col, ptr):
    p = problem(tmp_path, text)
    assert (p.line, p.column, p.pointer) == (line, col, ptr)
    assert p.message.startswith(f'duplicate key "{ptr.rsplit("/", 1)[1]}"')


@pytest.mark.cli
def test_compose_outside_a_project_says_the_values_file_is_missing(tmp_path):
    from tests.support.project import compose

    (tmp_path / "environments").mkdir()  # even where environments/ exists, the missing file comes first
    r = compose("validate", cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr == (
        "values.yaml: /: file not found\n  hint: run compose in the project's directory, or pass the "
        "values file with -f/--values (a new project: `compose init --recipe NAME`)\n"
    )


@pytest.mark.unit
@pytest.mark.parametrize(
    "text, line, col, ptr, tag, hint",
    [
        ("a: !!python/object/apply:os.system ['true']\n", 1, 4, "/a", "!!python/object/apply:os.system", "plain YAML"),
        ("a: !!omap\n  - x: 1\n", 1, 4, "/a", "!!omap", "mapping"),
        ("a: !!set {x, y}\n", 1, 4, "/a", "!!set", "list"),
        ("m:\n  b: !!binary aGVsbG8=\n", 2, 6, "/m/b", "!!binary", "text"),
        ("a: !!timestamp 2001-12-14\n", 1, 4, "/a", "!!timestamp", "quote"),
        ("a: [1, !Ref x]\n", 1, 8, "/a/1", "!Ref", "plain YAML"),
        ("a: !Ref {x: 1}\n", 1, 4, "/a", "!Ref", "plain YAML"),
        ("%TAG !e! tag:example.com,2000:\n---\na: !e!x 1\n", 3, 4, "/a", "tag:example.com,2000:x", "plain YAML"),
        ("a: ! 12\n", 1, 4, "/a", "!", "quote"),
        ("a: !!str {x: 1}\n", 1, 4, "/a", "!!str on a mapping", "remove the tag"),
        ("a: !!int abc\n", 1, 4, "/a", "!!int that is not a number", "remove the tag"),
        ("!Ref k: 1\n", 1, 1, "", "!Ref", "plain YAML"),
    ],
)
def test_a_tag_outside_the_core_schema_is_refused_where_it_is(tmp_path, text, line, col, ptr, tag, hint):
    p = problem(tmp_path, text)
    assert (p.line, p.column, p.pointer) == (line, col, ptr)
    assert tag in p.message and hint in p.hint
    assert "<" not in p.message and "object at" not in p.message  # no Python repr


@pytest.mark.unit
def test_core_tags_are_read_as_their_type(tmp_path):
    got = load(
        write(
            tmp_path,
            "v.yaml",
            "a: !!str 12\nb: !!int '3'\nc: !!float '1'\nd: !!bool 'true'\ne: !!null ''\n"
            "f: !!map {x: 1}\ng: !!seq [1]\nh: 2001-12-14\n",
        )
    )
    assert got.data == {
        "a": "12",
        "b": 3,
        "c": 1.0,
        "d": True,
        "e": None,
        "f": {"x": 1},
        "g": [1],
        "h": "2001-12-14",
    }  # a plain date is its text, as Helm reads it


@pytest.mark.unit
def test_merge_keys_merge_with_the_positions_of_the_merged_values(tmp_path):
    text = "base: &b\n  x: 1\n  y: 2\nmore: &m {z: 3, y: 9}\nuse:\n  <<: [*b, *m]\n  y: 5\n"
    got = load(write(tmp_path, "v.yaml", text), display="v.yaml")
    assert got.data["use"] == {"x": 1, "y": 5, "z": 3}  # own keys win, then the earlier merged mapping
    assert got.values["/use/x"] == Pos("v.yaml", 2, 6)  # where x is written: inside the anchor
    assert got.keys["/use/z"] == Pos("v.yaml", 4, 11)
    assert got.values["/use/y"] == Pos("v.yaml", 7, 6)


@pytest.mark.unit
@pytest.mark.parametrize(
    "text, line, col, message",
    [
        ("a: {<<: 1}\n", 1, 5, "a merge key (<<) takes a mapping"),
        ("a: {<<: [{x: 1}, 2]}\n", 1, 5, "a merge key (<<) takes a mapping"),
        ("a: <<\n", 1, 4, "a merge key (<<) as a value"),
        ("a: *nope\n", 1, 4, "alias *nope names no anchor"),
        ("a: &x\n  - *x\n", 2, 5, "alias *x is inside the value it names"),
        ("a: 1\n---\nb: 2\n", 2, 1, "a second YAML document"),
    ],
)
def test_structure_problems_are_located(tmp_path, text, line, col, message):
    p = problem(tmp_path, text)
    assert (p.line, p.column) == (line, col) and message in p.message


@pytest.mark.unit
def test_deep_nesting_is_a_located_error_not_a_recursion_error(tmp_path):
    p = problem(tmp_path, "a: " + "[" * 5000 + "]" * 5000 + "\n")
    assert (p.line, p.column) == (1, 4 + MAX_DEPTH - 1) and f"more than {MAX_DEPTH} levels" in p.message


def _cpu(fn) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


@pytest.mark.unit
def test_deep_flow_nesting_is_refused_as_fast_as_a_flat_list_is_read():
    """ruamel keeps a possible simple key per open `[` and walks them all for every token it reads
    ahead (up to 1,024 characters): refusing a line of 5,000 `[` took ten times as long as reading
    a list of 1,000 empty lists (3,000 characters); now less. Both measured in the same run."""
    deep = "a: " + "[" * 5000 + "]" * 5000 + "\n"
    flat = "a: [" + "[]," * 1000 + "]\n"

    def refuse():
        with pytest.raises(InvalidValues):
            load_module._compose("v.yaml", deep)

    ratio = _cpu(refuse) / _cpu(lambda: load_module._compose("v.yaml", flat))
    assert ratio < 3, f"refusing deep nesting took {ratio:.1f}x reading a flat list"


@pytest.mark.unit
def test_a_yaml_1_1_directive_reads_plain_scalars_by_yaml_1_1_in_the_same_process(tmp_path):
    """How a plain scalar reads depends on the YAML version too, not on its text alone."""
    text = "a: 0o17\nb: 017\nc: yes\n"
    assert load(write(tmp_path, "a.yaml", text)).data == {"a": 15, "b": 17, "c": "yes"}
    assert load(write(tmp_path, "b.yaml", "%YAML 1.1\n---\n" + text)).data == {"a": "0o17", "b": 15, "c": True}


@pytest.mark.unit
def test_deep_nesting_through_aliases_is_located(tmp_path):
    inner = "[" * 40 + "]" * 40
    p = problem(tmp_path, f"a: &a {inner}\nb: " + "[" * 40 + "*a" + "]" * 40 + "\n")
    assert p.line == 1 and p.pointer.startswith("/b/0/0") and "after expanding aliases" in p.message


@pytest.mark.unit
@pytest.mark.parametrize(
    "text, line, col, char",
    [
        ("a: b\x00c\n", 1, 5, "control character U+0000"),
        ("a: 1\nb: x\x07\n", 2, 5, "control character U+0007"),
        ("a: 1\r\nb: \x1b[0m\n", 2, 4, "control character U+001B"),
        ("a: '\ufffe'\n", 1, 5, "character U+FFFE"),
    ],
)
def test_a_character_yaml_forbids_is_named_at_its_line_and_column(tmp_path, text, line, col, char):
    p = problem(tmp_path, text)
    assert (p.line, p.column) == (line, col)
    assert p.message == f"{char} is not allowed in YAML"


@pytest.mark.unit
@pytest.mark.parametrize(
    "text, char",
    [
        ('a:\n  b: "x\\Ny"\n', "U+0085"),  # Helm reads it as a line break: it would arrive as a space
        ('a:\n  b: "x\\u0085y"\n', "U+0085"),
        ('a:\n  b: "x\\x80y"\n', "U+0080"),  # helm: "control characters are not allowed"
        ('a:\n  b: "x\\0y"\n', "U+0000"),
        ('a:\n  b: "x\\uFFFEy"\n', "U+FFFE"),
    ],
)
def test_an_escape_for_a_character_helm_cannot_carry_is_refused(tmp_path, text, char):
    p = problem(tmp_path, text)
    assert (p.line, p.column, p.pointer) == (2, 6, "/a/b") and char in p.message


@pytest.mark.unit
def test_line_and_paragraph_separators_are_kept(tmp_path):
    assert load(write(tmp_path, "v.yaml", 'a: "x\\Ly\\Pz"\n')).data == {"a": "x\u2028y\u2029z"}


@pytest.mark.unit
def test_a_duplicate_key_does_not_echo_values(tmp_path):
    p = problem(tmp_path, "token: hf_secret1\ntoken: hf_secret2\n")
    assert p.message == 'duplicate key "token" (first at line 1, column 1)'


@pytest.mark.unit
def test_an_empty_value_is_located_at_its_key(tmp_path):
    got = load(write(tmp_path, "v.yaml", "a:\n  # only a comment\n\nb:\n  c:\nd: 1\n"), display="v.yaml")
    assert got.data == {"a": None, "b": {"c": None}, "d": 1}
    assert got.values["/a"] == Pos("v.yaml", 1, 1) and got.values["/b/c"] == Pos("v.yaml", 5, 3)


@pytest.mark.unit
def test_in_the_base_file_no_value_means_the_default_in_an_overlay_null_removes(tmp_path):
    base = load(write(tmp_path, "base.yaml", "m:\n  a:\n  b: 2\n  c: 3\nl: [1, null]\n"))
    top = load(write(tmp_path, "top.yaml", "m:\n  c: null\n  d:\n"))
    merged = overlay(base, top)
    assert merged.data == {"m": {"b": 2}, "l": [1, None]}  # a null inside a list is a value
    assert merged.empty["/m/a"].line == 2 and merged.removed["/m/c"].file.endswith("top.yaml")


@pytest.mark.unit
def test_the_design_proposals_config_with_only_a_comment_gets_the_default_benchmark_config(tmp_path):
    from composer import schema

    base = load(
        write(
            tmp_path,
            "values.yaml",
            "dynamoNamespace: d\nmodel:\n  name: m\n  backend:\n    type: vllm\n"
            "benchmark:\n  enabled: true\n  config:\n    # benchmark configs\n",
        )
    )
    values = schema.validate(overlay(base, load(write(tmp_path, "dev.yaml", "cluster: {namespace: n}\n"))))
    assert (
        values["benchmark"]["config"]
        == schema.with_defaults(schema.values_schema(), {"benchmark": {"config": {}}})["benchmark"]["config"]
    )


@pytest.mark.unit
def test_a_required_key_with_no_value_is_located_at_its_key(tmp_path):
    from composer import schema

    base = load(
        write(tmp_path, "values.yaml", "dynamoNamespace: d\nmodel:\n  name:\n  backend: {type: vllm}\n"),
        display="values.yaml",
    )
    with pytest.raises(InvalidValues) as e:
        schema.validate(overlay(base, load(write(tmp_path, "dev.yaml", "cluster: {namespace: n}\n"))))
    (p,) = e.value.problems
    assert (p.file, p.line, p.column, p.pointer) == ("values.yaml", 3, 3, "/model/name")
    assert p.message == "required key 'name' has no value"


def load_elsewhere(path: Path) -> subprocess.CompletedProcess:
    """load(path) in a child with a time and memory limit: a FIFO blocks a reader, /dev/zero never ends."""

    def limits():
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    code = (
        "import sys; from composer.load import load; from composer.errors import InvalidValues\n"
        "try: load(sys.argv[1], display='values.yaml')\nexcept InvalidValues as e: print(e.problems[0].message)"
    )
    return subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=20, preexec_fn=limits
    )


@pytest.mark.cli
@pytest.mark.parametrize(
    "make, what",
    [
        (lambda p: p.mkdir(), "is a directory"),
        (lambda p: os.mkfifo(p), "is a FIFO (named pipe)"),
        (lambda p: p.symlink_to(p), "is a symbolic link loop"),
        (lambda p: p.symlink_to("/dev/null"), "is a character device"),
        (lambda p: p.symlink_to("/dev/zero"), "is a character device"),
    ],
    ids=["directory", "fifo", "symlink-loop", "dev-null", "dev-zero"],
)
def test_anything_but_a_regular_file_is_refused_without_reading_it(tmp_path, make, what):
    path = tmp_path / "values.yaml"
    make(path)
    r = load_elsewhere(path)
    assert r.stdout == f"{what}, not a file\n", r.stderr


@pytest.mark.cli
def test_a_fifo_given_to_the_cli_does_not_hang(tmp_path):
    os.mkfifo(tmp_path / "values.yaml")
    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "dev.yaml").write_text("cluster: {namespace: n}\n")
    r = subprocess.run(
        [sys.executable, "-m", "composer", "validate"], cwd=tmp_path, capture_output=True, text=True, timeout=30
    )
    assert r.returncode == 2 and r.stderr.startswith("values.yaml: /: is a FIFO (named pipe), not a file\n")


@pytest.mark.unit
def test_a_huge_file_is_read_only_up_to_the_limit(tmp_path, monkeypatch):
    import composer.load as loadmod

    path = write(tmp_path, "v.yaml", "a: " + "x" * (3 * MAX_BYTES) + "\n")
    asked = []
    real = os.read
    monkeypatch.setattr(loadmod.os, "read", lambda fd, n: asked.append(n) or real(fd, n))
    p = problem_at(path)
    assert "limit" in p.message and asked and max(asked) <= MAX_BYTES + 1


def problem_at(path):
    with pytest.raises(InvalidValues) as e:
        load(path, display=path.name)
    (p,) = e.value.problems
    return p


@pytest.mark.unit
def test_merges_of_merges_are_neither_slow_nor_a_recursion_error(tmp_path):
    wide = "a0: &a0 {x: 1}\n" + "".join(
        f"a{i}: &a{i} {{<<: [{', '.join([f'*a{i - 1}'] * 10)}]}}\n" for i in range(1, 30)
    )
    got = load(write(tmp_path, "v.yaml", wide))
    assert got.data["a29"] == {"x": 1}
    deep = "a0: &a0 {x: 1}\n" + "".join(f"a{i}: &a{i} {{<<: *a{i - 1}}}\n" for i in range(1, 2000))
    assert load(write(tmp_path, "v.yaml", deep)).data["a1999"] == {"x": 1}


@pytest.mark.cli
def test_a_values_file_with_merge_keys_validates_and_a_merged_problem_is_located_in_the_anchor(tmp_path):
    from tests.support.project import compose, make_project

    def values(prefill: str) -> str:
        return (
            "dynamoNamespace: demo\nmodel:\n  name: Qwen/Qwen3-0.6B\n  backend: {type: vllm}\n"
            f"  disaggregation: true\n  prefill: &worker\n{prefill}  decode:\n    <<: *worker\n    replicas: 3\n"
        )

    ok = make_project(tmp_path / "ok", values("    replicas: 2\n    gpus: 1\n"), {"dev": "cluster: {namespace: n}\n"})
    r = compose("validate", cwd=ok)
    assert r.returncode == 0, r.stderr
    bad = make_project(tmp_path / "bad", values("    replicas: 2\n    gpuz: 1\n"), {"dev": "cluster: {namespace: n}\n"})
    r = compose("validate", cwd=bad)
    assert r.returncode == 2 and "values.yaml:8:5: /model/decode/gpuz: unknown key 'gpuz'" in r.stderr, r.stderr


@pytest.mark.unit
def test_what_a_string_may_not_hold_is_yamls_non_printables_and_u0085_the_first_one_found():
    import re

    from ruamel.yaml.reader import Reader

    from composer.load import _not_in_a_string

    one_regex = re.compile(f"{Reader.NON_PRINTABLE.pattern}|\x85")  # what it was, before it cost a compile
    for c in [*range(0x10000), 0x10000, 0x1F600, 0x10FFFF]:
        text = f"a{chr(c)}b"
        found = one_regex.search(text)
        assert _not_in_a_string(text) == (found.group() if found else None), hex(c)
    assert _not_in_a_string("x\x00y\x85") == "\x00"
    assert _not_in_a_string("x\x85y\x00") == "\x85"
    assert _not_in_a_string("plain") is None
