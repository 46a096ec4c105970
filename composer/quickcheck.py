"""A fast yes-or-unsure JSON Schema check, so valid values never need jsonschema (~50 ms to import).

`certainly_valid(schema, data)` is True only when jsonschema's Draft 2020-12 validator would find no
error: it knows the keywords our values schema uses, with jsonschema's semantics (`$ref` only to the
schema's own #/$defs/<name>), and answers False ("unsure") for anything else: an unknown keyword, any
other $ref, a float where an integer is wanted, non-string enums, unique items other than all-str or
all-int lists, and of course every violation. On False,
schema.validate runs jsonschema, which finds and words the problems. tests/test_quickcheck.py
compares the two.
"""

from __future__ import annotations

import functools
import math
import re
from typing import Any

ANNOTATIONS = frozenset(
    {"$schema", "$id", "$comment", "title", "description", "default", "examples", "deprecated", "readOnly", "writeOnly"}
)
_TYPES = {
    "object": lambda v: type(v) is dict,
    "array": lambda v: type(v) is list,
    "string": lambda v: type(v) is str,
    "boolean": lambda v: type(v) is bool,
    "null": lambda v: v is None,
    "integer": lambda v: type(v) is int,  # jsonschema also takes 1.0: unsure, not here
    "number": lambda v: type(v) is int or (type(v) is float and math.isfinite(v)),  # as schema.py's checker
}


@functools.lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern:
    return re.compile(pattern)


def _number(v: Any) -> bool:
    return type(v) in (int, float)


def certainly_valid(schema: Any, data: Any, root: Any = None) -> bool:
    """root: the document a `$ref` refers into (schema itself at the top)."""
    if schema is True:
        return True
    if type(schema) is not dict:
        return False
    root = schema if root is None else root
    for kw, arg in schema.items():
        if kw in ANNOTATIONS:
            if kw == "$id" and schema is not root:
                return False  # a nested $id moves the base a $ref resolves against: unsure
            continue
        check = _KEYWORDS.get(kw)
        if check is None or not check(arg, data, schema, root):
            return False
    return True


def _type(arg, v, schema, root) -> bool:
    names = [arg] if type(arg) is str else arg
    return any(name in _TYPES and _TYPES[name](v) for name in names)


def _enum(arg, v, schema, root) -> bool:
    return type(v) is str and all(type(e) is str for e in arg) and v in arg


def _properties(arg, v, schema, root) -> bool:
    if type(v) is not dict:
        return True
    return all(certainly_valid(sub, v[k], root) for k, sub in arg.items() if k in v)


def _additional(arg, v, schema, root) -> bool:
    if type(v) is not dict:
        return True
    if "patternProperties" in schema:
        return False
    known = schema.get("properties", {})
    extras = [k for k in v if k not in known]
    if arg is False:
        return not extras
    return all(certainly_valid(arg, v[k], root) for k in extras)


def _required(arg, v, schema, root) -> bool:
    return type(v) is not dict or all(k in v for k in arg)


def _items(arg, v, schema, root) -> bool:
    if type(v) is not list:
        return True
    if "prefixItems" in schema or type(arg) not in (dict, bool):
        return False
    return all(certainly_valid(arg, item, root) for item in v)


def _unique(arg, v, schema, root) -> bool:
    if not arg or type(v) is not list:
        return True
    # jsonschema's equality differs from Python's across types (1 vs True): only all-str or all-int lists
    return (all(type(x) is str for x in v) or all(type(x) is int for x in v)) and len(set(v)) == len(v)


def _pattern(arg, v, schema, root) -> bool:
    return type(v) is not str or _regex(arg).search(v) is not None


def _ref(arg, v, schema, root) -> bool:
    # Only the values schema's own #/$defs/<name> (no '/', '~' escapes or remote documents): unsure otherwise
    if type(arg) is not str or not arg.startswith("#/$defs/") or "/" in arg[8:] or "~" in arg:
        return False
    defs = root.get("$defs") if type(root) is dict else None
    return type(defs) is dict and arg[8:] in defs and certainly_valid(defs[arg[8:]], v, root)


def _one_of(arg, v, schema, root) -> bool:
    # Sure only when one branch holds and every other surely fails: a bare type v does not have
    # (int-or-string), or a required key v lacks (either-or sets of keys)
    held = [sub for sub in arg if certainly_valid(sub, v, root)]
    others = [sub for sub in arg if sub not in held]
    return len(held) == 1 and all(_surely_fails(sub, v, root) for sub in others)


def _surely_fails(sub, v, root) -> bool:
    if type(sub) is not dict:
        return False
    if set(sub) - ANNOTATIONS == {"type"} and not _type(sub["type"], v, sub, root):
        return True
    return type(v) is dict and any(k not in v for k in sub.get("required", ()))


_KEYWORDS = {
    "$ref": _ref,
    "$defs": lambda arg, v, s, r: True,  # definitions validate nothing where they are written
    "type": _type,
    "enum": _enum,
    "properties": _properties,
    "additionalProperties": _additional,
    "required": _required,
    "items": _items,
    "uniqueItems": _unique,
    "pattern": _pattern,
    "minLength": lambda arg, v, s, r: type(v) is not str or len(v) >= arg,
    "maxLength": lambda arg, v, s, r: type(v) is not str or len(v) <= arg,
    "minProperties": lambda arg, v, s, r: type(v) is not dict or len(v) >= arg,
    "maxProperties": lambda arg, v, s, r: type(v) is not dict or len(v) <= arg,
    "minItems": lambda arg, v, s, r: type(v) is not list or len(v) >= arg,
    "maxItems": lambda arg, v, s, r: type(v) is not list or len(v) <= arg,
    "minimum": lambda arg, v, s, r: not _number(v) or v >= arg,
    "maximum": lambda arg, v, s, r: not _number(v) or v <= arg,
    "exclusiveMinimum": lambda arg, v, s, r: not _number(v) or v > arg,
    "exclusiveMaximum": lambda arg, v, s, r: not _number(v) or v < arg,
    "allOf": lambda arg, v, s, r: all(certainly_valid(sub, v, r) for sub in arg),
    "anyOf": lambda arg, v, s, r: any(certainly_valid(sub, v, r) for sub in arg),
    "oneOf": _one_of,
    "propertyNames": lambda arg, v, s, r: type(v) is not dict or all(certainly_valid(arg, k, r) for k in v),
    "format": lambda arg, v, s, r: True,  # an annotation: schema.py's validator checks no formats
}
