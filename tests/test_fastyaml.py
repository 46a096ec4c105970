"""composer.fastyaml writes exactly what write.py's ruamel dumper writes, or declines."""
from __future__ import annotations

import io
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from composer import fastyaml, project, write
from tests.conftest import make_project

# Strings near every rule: YAML 1.1/1.2 words and numbers, indicators, ':' '-' '.' placements, spaces, quotes.
TRICKY = ["true", "True", "FALSE", "null", "Null", "~", "yes", "no", "on", "off", "y", "n", "Y", "=", "<<", "", " ",
          "1", "0", "-1", "+1", "007", "0o17", "0x1F", "0b101", "1_000", "1.0", "1.", ".5", "1e5", "1E5", "-1e-5",
          "1e+5", ".inf", "-.inf", ".nan", "1.4.0", "10Gi", "3a063e02", "3e123456", "2001-12-14", "12:30", "1:20:30",
          "190:20:30.15", "--model", "-x", "-", "--", "---", "---x", "...", "..x", "..", ".", ".x", "./a", "...x",
          "../charts/model", "/opt/a.yaml", "a:b", "a:", ":a", "a: b", "max_tokens:128", "http://svc.ns:8000",
          "a#b", "a #b", "#a", "a,b", "[a]", "{a}", "&a", "*a", "!a", "|a", ">a", "'a'", '"a"', "%a", "@a", "`a",
          "a b", "a\nb", "é", "a=b", "a+b", "?a", "? a", "a?"]
ALPHABET = string.ascii_letters[:6] + "noyNOY" + string.digits[:4] + "-_.:/=+ #,'\"?\n~é"
scalars = (st.sampled_from(TRICKY) | st.text(ALPHABET, max_size=12) | st.integers(-10**20, 10**20) | st.booleans()
           | st.none() | st.floats(allow_nan=True, allow_infinity=True))
keys = st.sampled_from(TRICKY) | st.text(ALPHABET, min_size=0, max_size=10) | st.integers(0, 99)
data = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
                    max_leaves=25)


def ruamel(value) -> str:
    buf = io.StringIO()
    write._yaml().dump(value, buf)
    return buf.getvalue()


def fast(value) -> str | None:
    return fastyaml.dump(value, quote=write.YAML11_NOT_STR.match)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(data, max_size=4) | st.dictionaries(keys, data, max_size=5))
def test_same_text_as_ruamel_or_declines(value):
    text = fast(value)
    if text is not None:
        assert text == ruamel(value)


def test_scalars_one_by_one():
    for s in TRICKY + [10**30, -5, 0.1, 1e-7, 1e22, 123456789.125, True, None]:
        for value in ({"k": s}, [s], {"k": [s, {"j": s}]}, {str(s): 1}):
            text = fast(value)
            if text is not None:
                assert text == ruamel(value), value


def test_declines_shared_containers_which_ruamel_anchors():
    shared = {"a": 1}
    assert fast({"x": shared, "y": shared}) is None
    assert fast({"a": [], "b": [[]]}) == ruamel({"a": [], "b": [[]]}) == "a: []\nb:\n- []\n"


def test_the_example_project_takes_the_fast_path(tmp_path, monkeypatch):
    """Every generated file of the example project is written without ruamel's emitter."""
    monkeypatch.setattr(write, "_yaml", lambda: (_ for _ in ()).throw(AssertionError("ruamel's emitter was used")))
    proj = project.Project.at(make_project(tmp_path / "p") / "values.yaml")
    assert project.render(proj)
