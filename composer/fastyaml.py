"""A fast path for write.dump: plain data written exactly as write.py's ruamel.yaml dumper writes it.

ruamel's pure-Python emitter costs ~10 ms per environment; the generated files hold only dicts,
lists, ints, bools and short single-line strings. `dump` writes those itself and returns None for
anything it is not certain about (floats it cannot vouch for, strings with spaces, quotes, non-ASCII
or YAML indicators, long keys, quoted keys, a container seen twice, which ruamel would anchor), and
the caller then uses ruamel. Whether a string needs quotes is decided by ruamel's own resolver plus
the caller's `quote` rule (write.YAML11_NOT_STR), so '1024', 'yes' or '1e5' are quoted exactly when
ruamel quotes them. tests/test_fastyaml.py compares the two.
"""
from __future__ import annotations

import functools
import re
from typing import Any, Callable

# Strings that ruamel writes as they are, unless its resolver reads them as another type (then in
# single quotes, which need no escaping here): no spaces, quotes, '#', flow indicators or non-ASCII;
# no leading indicator ('-' only as in `-x`/`--x`; not `...`/`---`); ':' only between other characters.
_WORD = r"[A-Za-z0-9_./=+-]+"
_SAFE = re.compile(rf"(?:[A-Za-z0-9_/]|\.(?!\.\.)|--?[A-Za-z])[A-Za-z0-9_./=+-]*(?::{_WORD})*")
_MAX_SCALAR = 1000  # far below the width (4096) at which ruamel would fold
_MAX_KEY = 100  # ruamel writes keys of 128 characters or more as complex keys ("? key")
_STR, _INT, _FLOAT, _NULL = (f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "null"))

_resolver = None
Quote = Callable[[str], Any]


class _Unsure(Exception):
    pass


@functools.lru_cache(maxsize=8192)
def _resolve(text: str) -> str:
    """The tag ruamel's resolver gives a plain scalar `text` (memoized: the same words recur)."""
    global _resolver
    if _resolver is None:
        from ruamel.yaml import YAML

        _resolver = YAML(typ="safe", pure=True).resolver
    from ruamel.yaml.nodes import ScalarNode

    return str(_resolver.resolve(ScalarNode, text, (True, False)))


def _scalar(value: Any, quote: Quote | None, *, key: bool = False) -> str:
    t = type(value)
    if t is str:
        if len(value) > (_MAX_KEY if key else _MAX_SCALAR) or not _SAFE.fullmatch(value):
            raise _Unsure
        if quote is not None and quote(value):  # the caller's representer forces single quotes
            if key:
                raise _Unsure
            return f"'{value}'"
        if _resolve(value) == _STR:
            return value
        if key:
            raise _Unsure
        return f"'{value}'"
    if t is bool:
        return "true" if value else "false"
    if t is int:
        text, tag = str(value), _INT
    elif t is float:
        text, tag = repr(value).lower(), _FLOAT
        if value != value or value in (float("inf"), float("-inf")):
            raise _Unsure
    elif value is None:
        text, tag = "null", _NULL
    else:
        raise _Unsure
    if key or _resolve(text) != tag:
        raise _Unsure
    return text


def _node(value: Any, indent: int, out: list[str], seen: set[int], quote: Quote | None, *, after_dash: bool) -> None:
    """Append the block lines of a non-empty container; the first line continues the current one
    when after_dash (a sequence item), else each line starts at `indent`."""
    if id(value) in seen:
        raise _Unsure  # ruamel would write an anchor and an alias
    seen.add(id(value))
    pad = " " * indent
    first = after_dash
    if type(value) is dict:
        for k, v in value.items():
            if type(k) is not str:
                raise _Unsure
            prefix = "" if first else pad
            first = False
            head = f"{prefix}{_scalar(k, quote, key=True)}:"
            if type(v) in (dict, list) and v:
                out.append(head + "\n")
                # a list under a key is not indented (ruamel's default), a mapping is
                _node(v, indent if type(v) is list else indent + 2, out, seen, quote, after_dash=False)
            else:
                out.append(f"{head} {_inline(v, seen, quote)}\n")
    else:
        for item in value:
            prefix = "" if first else pad
            first = False
            if type(item) in (dict, list) and item:
                out.append(prefix + "- ")
                _node(item, indent + 2, out, seen, quote, after_dash=True)
            else:
                out.append(f"{prefix}- {_inline(item, seen, quote)}\n")


def _inline(value: Any, seen: set[int], quote: Quote | None) -> str:
    if type(value) is dict or type(value) is list:  # empty: flow style
        if id(value) in seen:
            raise _Unsure
        seen.add(id(value))
        return "{}" if type(value) is dict else "[]"
    return _scalar(value, quote)


def dump(data: Any, quote: Quote | None = None) -> str | None:
    """The YAML ruamel's safe dumper writes for data (block style, width 4096, keys in their order;
    strings for which quote(s) is true in single quotes), or None when data holds something this
    fast path does not vouch for."""
    if type(data) not in (dict, list) or not data:
        return None
    out: list[str] = []
    try:
        _node(data, 0, out, set(), quote, after_dash=False)
    except _Unsure:
        return None
    return "".join(out)
