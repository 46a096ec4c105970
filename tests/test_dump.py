"""composer.yaml.dump's text means the same data to a YAML 1.1 reader (helm's go-yaml, PyYAML) as what
compose meant: every string stays a string, every number a number. tests/test_dump_helm.py
proves the strings through real helm."""

from __future__ import annotations

import string

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from composer import yaml as composer_yaml
from tests.support.yamlcases import TRICKY

ALPHABET = string.ascii_letters[:6] + "noyNOY" + string.digits[:4] + "-_.:/=+ #,'\"?\n~é\u2028\x85"
# No floats: PyYAML's YAML 1.1 float needs a dot (`5e-324` is a string to it, a float to go-yaml).
scalars = (
    st.sampled_from(TRICKY)
    | st.text(ALPHABET, max_size=12)
    | st.integers(-(10**20), 10**20)
    | st.booleans()
    | st.none()
)
keys = st.sampled_from(TRICKY) | st.text(ALPHABET.replace("\n", ""), min_size=1, max_size=10)
data = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4), max_leaves=25
)


def same(a, b) -> bool:
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(same, a, b))
    return type(a) is type(b) and a == b


@pytest.mark.sweep
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(keys, data, max_size=5))
def test_a_yaml_1_1_reader_reads_back_what_was_written(value):
    assert same(yaml.safe_load(composer_yaml.dump(value)), value)


@pytest.mark.unit
def test_tricky_strings_one_by_one():
    for s in TRICKY:
        for value in ({"k": s}, {"k": [s, {"j": s}]}, {s or "e": 1}):
            assert same(yaml.safe_load(composer_yaml.dump(value)), value), value


@pytest.mark.unit
def test_the_c_emitter_writes():
    from ruamel.yaml.cyaml import CEmitter

    assert composer_yaml._dumper().Emitter is CEmitter
