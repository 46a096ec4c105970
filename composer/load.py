"""Read the values file and its environment overlay into plain data, keeping where each value came from.

Every value is remembered by its JSON pointer with the file, line and column it was written at,
so later stages can point at the exact spot. Overlays merge maps deeply and replace lists
(Helm's rule); a value taken from the overlay points at the overlay.
"""
from __future__ import annotations

import copy
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from composer.errors import InvalidValues, Problem

MAX_BYTES = 1 << 20  # a values file is a page of YAML; a megabyte is already absurd
MAX_NODES = 100_000  # guards against alias bombs, which expand to far more nodes than bytes


@dataclass(frozen=True)
class Pos:
    file: str
    line: int  # 1-based
    column: int  # 1-based


@dataclass
class Loaded:
    data: Any
    # JSON pointer -> where the value is written; and where its key is written (map entries)
    values: dict[str, Pos] = field(default_factory=dict)
    keys: dict[str, Pos] = field(default_factory=dict)
    # keys an overlay removed with `key: null`, and where that null is written
    removed: dict[str, Pos] = field(default_factory=dict)

    def where(self, pointer: str, *, key: bool = False) -> Pos | None:
        """The closest recorded position for pointer, walking up to its parents."""
        table = self.keys if key else self.values
        p = pointer
        while True:
            pos = table.get(p) or self.values.get(p)
            if pos:
                return pos
            if not p:  # the document itself starts at the top of the file
                return Pos(self.origin, 1, 1) if self.origin else None
            p = p.rsplit("/", 1)[0]

    def problem(self, pointer: str, message: str, hint: str = "", *, key: bool = False) -> Problem:
        pos = self.where(pointer, key=key)
        if pos is None:
            return Problem(self.origin, 0, 0, pointer, message, hint)
        return Problem(pos.file, pos.line, pos.column, pointer, message, hint)

    origin: str = ""


def escape(token: str) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def load(path: Path, *, display: str | None = None) -> Loaded:
    """Parse one YAML file. Raises InvalidValues with a located problem on any error."""
    name = display or str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InvalidValues([Problem(name, 0, 0, "", "file not found",
                                     "run compose in the project's directory, or pass the values file with "
                                     "-f/--values (a new project: `compose init --recipe NAME`)")]) from None
    except OSError as e:
        raise InvalidValues([Problem(name, 0, 0, "", f"cannot read: {e.strerror}")]) from None
    if len(raw) > MAX_BYTES:
        raise InvalidValues([Problem(name, 1, 1, "", f"file is {len(raw):,} bytes; the limit is {MAX_BYTES:,}",
                                     "a values file holds settings, not data: is this the right file?")])
    # The values file is read once per environment: parse the same bytes once per process.
    key = (name, hashlib.sha256(raw).digest())
    if key not in _PARSED:
        if len(_PARSED) >= 32:
            _PARSED.clear()
        _PARSED[key] = _parse(name, raw)
    done = _PARSED[key]
    return Loaded(copy.deepcopy(done.data), dict(done.values), dict(done.keys), origin=done.origin)


_PARSED: dict[tuple[str, bytes], Loaded] = {}


def _parse(name: str, raw: bytes) -> Loaded:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        col = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        raise InvalidValues([Problem(name, line, col, "", f"not UTF-8 (byte 0x{raw[e.start]:02x})",
                                     "save the file as UTF-8")]) from None

    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        doc = yaml.load(text)
    except DuplicateKeyError as e:
        # ruamel's message quotes both values too: name the key only, values may be credentials
        message = re.sub(r'" with value .*', '"', str(e.problem).replace("found ", "", 1), flags=re.S)
        hint = "each key may appear once in a mapping; remove or merge the repeated one"
        raise InvalidValues([_marked(name, e, message, hint, _duplicate_pointer(text, e))]) from None
    except MarkedYAMLError as e:
        raise InvalidValues([_marked(name, e, _yaml_message(e), _yaml_hint(e, text))]) from None
    except YAMLError as e:  # pragma: no cover - ruamel marks nearly everything
        raise InvalidValues([Problem(name, 0, 0, "", f"invalid YAML: {e}")]) from None

    out = Loaded(None, origin=name)
    if doc is None:
        raise InvalidValues([Problem(name, 1, 1, "", "file is empty", "start from the example values.yaml")])
    if not isinstance(doc, CommentedMap):
        raise InvalidValues([Problem(name, 1, 1, "", f"expected a mapping at the top level, got {_kind(doc)}",
                                     "the file should start with keys like `dynamoNamespace:` and `model:`")])
    budget = [MAX_NODES]
    out.data = _plain(doc, "", name, out, budget)
    return out


def _plain(node: Any, ptr: str, name: str, out: Loaded, budget: list[int]) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        # Point at the top-level key whose value exploded, not deep inside the expansion.
        top = "/" + ptr.split("/")[1] if ptr.count("/") else ptr
        pos = out.keys.get(top) or Pos(name, 0, 0)
        raise InvalidValues([Problem(name, pos.line, pos.column, top,
                                     f"more than {MAX_NODES:,} values after expanding aliases",
                                     "remove the YAML aliases (*name) that repeat large blocks")])
    if isinstance(node, CommentedMap):
        result = {}
        for k, v in node.items():
            child = f"{ptr}/{escape(k)}"
            kl, kc = node.lc.key(k)
            vl, vc = node.lc.value(k)
            out.keys[child] = Pos(name, kl + 1, kc + 1)
            out.values[child] = Pos(name, vl + 1, vc + 1)
            if not isinstance(k, str):
                raise InvalidValues([Problem(name, kl + 1, kc + 1, child, f"keys must be strings, got {_kind(k)}",
                                             "quote the key")])
            result[k] = _plain(v, child, name, out, budget)
        return result
    if isinstance(node, CommentedSeq):
        result = []
        for i, v in enumerate(node):
            child = f"{ptr}/{i}"
            il, ic = node.lc.item(i)
            out.values[child] = Pos(name, il + 1, ic + 1)
            result.append(_plain(v, child, name, out, budget))
        return result
    return _scalar(node)


def _scalar(v: Any) -> Any:
    # ruamel's round-trip scalars (ScalarFloat, ScalarBoolean, TaggedScalar ...) become builtins
    if isinstance(v, bool) or v is None:
        return v
    if isinstance(v, int):
        return bool(v) if type(v).__name__ == "ScalarBoolean" else int(v)
    if isinstance(v, float):
        return float(v)
    if isinstance(v, str):
        return str(v)
    if hasattr(v, "value"):  # TaggedScalar
        return str(v.value)
    return str(v)


def overlay(base: Loaded, top: Loaded) -> Loaded:
    """Deep-merge top over base: maps merge, everything else (lists included) is replaced,
    and a key set to null is removed."""
    merged = Loaded(None, dict(base.values), dict(base.keys), {**base.removed, **top.removed}, origin=base.origin)

    def take(ptr: str, *, removed: bool = False) -> None:
        """Positions at and under ptr now come from top (none, if removed); none from base survive."""
        for table, src in ((merged.values, top.values), (merged.keys, top.keys)):
            for p in [p for p in table if p == ptr or p.startswith(ptr + "/")]:
                del table[p]
            if not removed:
                table.update((p, pos) for p, pos in src.items() if p == ptr or p.startswith(ptr + "/"))

    def merge(a: Any, b: Any, ptr: str) -> Any:
        if isinstance(a, dict) and isinstance(b, dict):
            out = dict(a)
            for k, v in b.items():
                child = f"{ptr}/{escape(k)}"
                if v is None:  # Helm's rule: null in an overlay removes the key
                    out.pop(k, None)
                    take(child, removed=True)
                    if child in top.keys:
                        merged.removed[child] = top.keys[child]
                    continue
                out[k] = merge(a.get(k), v, child)
            return out
        take(ptr)
        return b

    merged.data = merge(base.data, top.data, "")
    return merged


def _marked(name: str, e: MarkedYAMLError, message: str, hint: str, ptr: str = "") -> Problem:
    mark = e.problem_mark or e.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
    return Problem(name, line, col, ptr, message, hint)


def _duplicate_pointer(text: str, e: DuplicateKeyError) -> str:
    """The repeated key's JSON pointer: ruamel marks only where its mapping starts, so find that
    mapping in a lenient parse."""
    key = re.match(r'found duplicate key "(.*)" with value', str(e.problem))
    mark = e.context_mark
    if not key or not mark:
        return ""
    lenient = YAML(typ="rt")
    lenient.allow_duplicate_keys = True
    todo: list[tuple[str, Any]] = [("", lenient.load(text))]
    seen: set[int] = set()  # aliases share nodes: visit each once
    while todo:
        ptr, node = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, CommentedMap):
            if (node.lc.line, node.lc.col) == (mark.line, mark.column):
                return f"{ptr}/{escape(key.group(1))}"
            todo += [(f"{ptr}/{escape(k)}", v) for k, v in node.items() if isinstance(k, str)]
        elif isinstance(node, CommentedSeq):
            todo += [(f"{ptr}/{i}", v) for i, v in enumerate(node)]
    return ""


def _yaml_message(e: MarkedYAMLError) -> str:
    text = f"invalid YAML: {e.problem or e.context}".strip()
    cm, pm = e.context_mark, e.problem_mark
    if e.problem and e.context and cm and (not pm or cm.line != pm.line):  # say where it started
        text += f" ({e.context} at {cm.line + 1}:{cm.column + 1})"
    return text


def _yaml_hint(e: MarkedYAMLError, text: str) -> str:
    mark = e.problem_mark
    lines = text.splitlines()
    if "\t" in str(e.problem) or (mark and mark.line < len(lines) and "\t" in lines[mark.line]):
        return "YAML does not allow tabs for indentation; use spaces"
    return "check the indentation and quoting around this spot"


def _kind(v: Any) -> str:
    if isinstance(v, (list, CommentedSeq)):
        return "a list"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, (int, float)):
        return "a number"
    return type(v).__name__
