"""Read the values file and its environment overlay into plain data, keeping where each value came from.

Every value is remembered by its JSON pointer with the file, line and column it was written at,
so later stages can point at the exact spot. Overlays merge maps deeply and replace lists
(Helm's rule); a value taken from the overlay points at the overlay.
"""

from __future__ import annotations

import copy
import errno
import hashlib
import os
import re
import stat
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.parser import Parser
from ruamel.yaml.reader import Reader
from ruamel.yaml.scanner import Scanner, ScannerError

from composer import yaml as yamlio
from composer.errors import InvalidValues, Problem

MAX_BYTES = 1 << 20  # a values file is a page of YAML; a megabyte is already absurd
MAX_NODES = 100_000  # guards against alias bombs, which expand to far more nodes than bytes
MAX_DEPTH = 64  # values nest a few levels (patches hold Kubernetes objects: a dozen); later stages recurse


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
    # keys the base file gives no value (so they are absent), and where they are written
    empty: dict[str, Pos] = field(default_factory=dict)

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


def segments(pointer: str) -> list[str]:
    """A JSON pointer's reference tokens, unescaped (RFC 6901)."""
    return [s.replace("~1", "/").replace("~0", "~") for s in pointer.split("/")[1:]]


def load(path: Path, *, display: str | None = None) -> Loaded:
    """Parse one YAML file. Raises InvalidValues with a located problem on any error."""
    name = display or str(path)
    raw = _read(path, name)
    # The values file is read once per environment: parse the same bytes once per process.
    key = (name, hashlib.sha256(raw).digest())
    if key not in _PARSED:
        if len(_PARSED) >= 32:
            _PARSED.clear()
        _PARSED[key] = _parse(name, raw)
    done = _PARSED[key]
    return Loaded(copy.deepcopy(done.data), dict(done.values), dict(done.keys), origin=done.origin)


_PARSED: dict[tuple[str, bytes], Loaded] = {}

_NOT_A_FILE = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _read(path: Path, name: str) -> bytes:
    """At most MAX_BYTES + 1 bytes of a regular file. Anything else (a FIFO, a device) is refused
    without reading: opening is non-blocking, and what was opened is checked, not only the name."""

    def refuse(message: str, hint: str = "pass the values file itself") -> InvalidValues:
        return InvalidValues([Problem(name, 0, 0, "", message, hint)])

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise InvalidValues(
            [
                Problem(
                    name,
                    0,
                    0,
                    "",
                    "file not found",
                    "run compose in the project's directory, or pass the values file with "
                    "-f/--values (a new project: `compose init --recipe NAME`)",
                )
            ]
        ) from None
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise refuse("is a symbolic link loop, not a file") from None
        raise refuse(f"cannot read: {e.strerror}", "") from None
    try:
        info = os.fstat(fd)
        mode = info.st_mode
        if not stat.S_ISREG(mode):
            raise refuse(
                f"is {next((what for test, what in _NOT_A_FILE if test(mode)), 'not a regular file')}, not a file"
            )
        chunks, size = [], 0
        while size <= MAX_BYTES and (chunk := os.read(fd, MAX_BYTES + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
        raw = b"".join(chunks)
    except OSError as e:
        raise refuse(f"cannot read: {e.strerror}", "") from None
    finally:
        os.close(fd)
    if len(raw) > MAX_BYTES:
        size = max(info.st_size, len(raw))
        raise InvalidValues(
            [
                Problem(
                    name,
                    1,
                    1,
                    "",
                    f"file is {size:,} bytes; the limit is {MAX_BYTES:,}",
                    "a values file holds settings, not data: is this the right file?",
                )
            ]
        )
    return raw


def _parse(name: str, raw: bytes) -> Loaded:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        col = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        raise InvalidValues(
            [Problem(name, line, col, "", f"not UTF-8 (byte 0x{raw[e.start]:02x})", "save the file as UTF-8")]
        ) from None
    bad = _non_printable(text)
    if bad:  # ruamel would name only a character offset
        line, col = _line_col(text, bad.start())
        raise InvalidValues(
            [
                Problem(
                    name,
                    line,
                    col,
                    "",
                    f"{_char(bad.group())} is not allowed in YAML",
                    "remove it: YAML allows printable characters, tabs and line breaks only (is this a binary file?)",
                )
            ]
        )
    try:
        doc = _compose(name, text)
    except MarkedYAMLError as e:
        raise InvalidValues([_marked(name, e, _yaml_message(e), _yaml_hint(e, text))]) from None
    except YAMLError as e:  # pragma: no cover - ruamel marks nearly everything
        raise InvalidValues([Problem(name, 0, 0, "", f"invalid YAML: {e}")]) from None

    out = Loaded(None, origin=name)
    if doc is None or doc.kind == "scalar" and doc.value is None and not doc.problem:
        raise InvalidValues([Problem(name, 1, 1, "", "file is empty", "start from the example values.yaml")])
    if doc.kind != "map":
        raise InvalidValues(
            [
                Problem(
                    name,
                    1,
                    1,
                    "",
                    f"expected a mapping at the top level, got {_node_kind(doc)}",
                    "the file should start with keys like `dynamoNamespace:` and `model:`",
                )
            ]
        )
    out.data = _plain(doc, "", name, out, [MAX_NODES], 0)
    return out


# What YAML allows in a file (ruamel's own test, which reports an offset rather than a line).
_NON_PRINTABLE = Reader.NON_PRINTABLE
_NON_PRINTABLE_ASCII = re.compile(r"[^\t\n\r -~]")  # the same, where the text is ASCII


def _non_printable(text: str) -> re.Match[str] | None:
    """The first character YAML does not allow in a file. ruamel's class spans all of Unicode
    and costs every `compose` start ~5 ms to compile; most files are ASCII and need only the
    ASCII part of it."""
    return (_NON_PRINTABLE_ASCII if text.isascii() else _NON_PRINTABLE).search(text)


def _not_in_a_string(text: str) -> str | None:
    r"""The first character of `text` that a string may not hold: what YAML forbids but an escape
    ("\0", "\x80") can write, and U+0085, which Helm's YAML reader (go-yaml) takes for a line
    break wherever a chart writes the value (it arrives as a space). Not one regex: compiling a
    second class over all of Unicode cost every `compose` start ~2.5 ms."""
    bad = _non_printable(text)
    end = bad.start() if bad else len(text)
    if text.find("\x85", 0, end) >= 0:
        return "\x85"
    return bad.group() if bad else None


CORE = "tag:yaml.org,2002:"
_CORE_SCALARS = {f"{CORE}{t}" for t in ("str", "int", "float", "bool", "null")}
_CONTAINER_TAG = {"map": f"{CORE}map", "seq": f"{CORE}seq"}


def _line_col(text: str, index: int) -> tuple[int, int]:
    line_start = text.rfind("\n", 0, index) + 1
    return text.count("\n", 0, index) + 1, index - line_start + 1


def _char(c: str) -> str:
    kind = "control character" if unicodedata.category(c) == "Cc" else "character"
    return f"{kind} U+{ord(c):04X}"


class _Node:
    """A composed YAML node: kind 'map' (value: [(key node, value node)]), 'seq' (value: [node]),
    'scalar' (value: plain Python) or 'merge' (a `<<` key); where it starts; and a problem found
    while composing, reported with its JSON pointer once that is known."""

    __slots__ = ("kind", "value", "line", "column", "problem", "entries")

    def __init__(self, kind: str, value: Any, mark: Any, *, problem: tuple[str, str] | None = None):
        self.kind, self.value, self.problem = kind, value, problem
        self.entries: list[tuple[_Node, _Node]] | None = None  # a mapping's, merge keys applied (_entries)
        self.line, self.column = mark.line + 1, mark.column + 1


class _Scanner(Scanner):
    """ruamel's scanner, minus its quadratic cost on deep flow nesting: it keeps one possible
    simple key per open `[`/`{` and walks all of them for every token it reads ahead, so a line
    of 5,000 `[` took half a second to refuse. Past MAX_DEPTH flow levels it keeps none: the tokens
    before the `[` that opens level MAX_DEPTH + 1 are unchanged, and _compose refuses the
    nesting at that `[` at the latest, so what is reported stays the same. Its reader is an
    attribute, not ruamel's property (looked up for every character)."""

    reader = None  # shadows ruamel's property; set once the loader's reader exists

    def __init__(self, loader: Any = None) -> None:
        self.reader = loader.reader  # before ruamel's __init__, which reads already
        super().__init__(loader)

    def save_possible_simple_key(self) -> None:
        if self.flow_level <= MAX_DEPTH:
            super().save_possible_simple_key()

    def stale_possible_simple_keys(self) -> None:
        """ruamel's, reading the position once rather than twice per key."""
        self._pending_key()

    def need_more_tokens(self) -> bool:
        """ruamel's (the parser asks it several times per token): stale keys dropped, then whether
        the next token may still start a simple key. ruamel compares the smallest pending key's
        token number with tokens_taken; no pending key is ever below it (a token is only handed
        out once no key waits on it), so one pass over the keys does both."""
        if self.done:
            return False
        if not self.tokens:
            return True
        return bool(self.possible_simple_keys) and self._pending_key()

    def _pending_key(self) -> bool:
        """Drop the keys that can no longer be simple keys (another line, or 1024 characters back;
        a required one is an error), in ruamel's order; True if one left starts the next token."""
        reader, keys, taken = self.reader, self.possible_simple_keys, self.tokens_taken
        assert reader is not None  # set before scanning starts
        line, index = reader.line, reader.index
        found = False
        for level, key in list(keys.items()):
            if key.line != line or index - key.index > 1024:
                if key.required:
                    raise ScannerError(
                        "while scanning a simple key", key.mark, "could not find expected ':'", reader.get_mark()
                    )
                del keys[level]
            elif key.token_number == taken:
                found = True
        return found


class _Parser(Parser):
    """ruamel's parser, its scanner an attribute rather than a property (looked up for every token)."""

    scanner = None  # shadows ruamel's property

    def __init__(self, loader: Any) -> None:
        super().__init__(loader)
        self.scanner = loader.scanner


def _compose(name: str, text: str) -> _Node | None:
    """The document's node tree, built from ruamel's parser events without recursion (ruamel's
    own composer recurses once per level: deep nesting would overflow the stack)."""
    yaml = yamlio.parser()
    yaml.Scanner, yaml.Parser = _Scanner, _Parser
    root: _Node | None = None
    stack: list[tuple[_Node, list]] = []  # open containers, each with its pending key ([] or [node])
    anchors: dict[str, _Node] = {}
    documents = 0

    def fail(mark: Any, message: str, hint: str) -> InvalidValues:
        return InvalidValues([Problem(name, mark.line + 1, mark.column + 1, "", message, hint)])

    def add(node: _Node) -> None:
        nonlocal root
        if not stack:
            root = node
            return
        parent, pending = stack[-1]
        if parent.kind == "seq":
            parent.value.append(node)
        elif pending:
            parent.value.append((pending.pop(), node))
        else:
            pending.append(node)

    for ev in yaml.parse(text):
        if isinstance(ev, DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise fail(
                    ev.start_mark,
                    "a second YAML document (after `---`)",
                    "a values file is one document: remove the `---` line and what follows, or merge them",
                )
        elif isinstance(ev, AliasEvent):
            node = anchors.get(ev.anchor)
            if node is None:
                raise fail(
                    ev.start_mark,
                    f"alias *{ev.anchor} names no anchor before it",
                    f"define `&{ev.anchor}` on a value above this line",
                )
            if any(node is open_ for open_, _ in stack):
                raise fail(
                    ev.start_mark,
                    f"alias *{ev.anchor} is inside the value it names",
                    "a value cannot contain itself: remove the alias",
                )
            add(node)
        elif isinstance(ev, ScalarEvent):
            node = _scalar_node(yaml, ev)
            if ev.anchor:
                anchors[ev.anchor] = node
            add(node)
        elif isinstance(ev, (MappingStartEvent, SequenceStartEvent)):
            if len(stack) >= MAX_DEPTH:
                raise fail(
                    ev.start_mark,
                    f"nested more than {MAX_DEPTH} levels deep",
                    "a values file nests a few levels: look for unbalanced [ or {",
                )
            kind = "map" if isinstance(ev, MappingStartEvent) else "seq"
            node = _Node(kind, [], ev.start_mark, problem=_tag_problem(ev.tag, {_CONTAINER_TAG[kind]}, kind))
            if ev.anchor:
                anchors[ev.anchor] = node
            add(node)
            stack.append((node, []))
        elif isinstance(ev, (MappingEndEvent, SequenceEndEvent)):
            stack.pop()
    return root


_IMPLICIT: dict[tuple[Any, str], str] = {}


def _implicit_tag(yaml: Any, value: str) -> str:
    """The tag YAML's rules give an untagged scalar: ruamel's resolver, remembered by YAML version
    and text (it is a function of both). ruamel's own lookup slows down as a document repeats a
    first character: it appends to its stored list of patterns on every call."""
    key = (yaml.resolver.processing_version, value)
    tag = _IMPLICIT.get(key)
    if tag is None:
        tag = str(yaml.resolver.resolve(ScalarNode, value, (True, False)))
        if len(_IMPLICIT) >= 10_000:
            _IMPLICIT.clear()
        _IMPLICIT[key] = tag
    return tag


def _scalar_node(yaml: Any, ev: ScalarEvent) -> _Node:
    tag = ev.tag
    plain = ev.style is None and tag is None
    if tag is None:
        tag = _implicit_tag(yaml, ev.value) if ev.implicit[0] else f"{CORE}str"
    if plain and tag == f"{CORE}merge":
        return _Node("merge", "<<", ev.start_mark)
    if plain and tag not in _CORE_SCALARS:  # a timestamp, or YAML 1.1's `=`: text, as Helm reads them
        tag = f"{CORE}str"
    problem = _tag_problem(tag, _CORE_SCALARS, "scalar")
    if problem:
        return _Node("scalar", None, ev.start_mark, problem=problem)
    value: Any = ev.value
    if tag == f"{CORE}null":
        if not plain and _implicit_tag(yaml, ev.value) != tag:
            return _Node(
                "scalar",
                None,
                ev.start_mark,
                problem=("a value tagged !!null that is not null", "write null, ~ or nothing"),
            )
        value = None
    elif tag != f"{CORE}str":
        kind = tag.rsplit(":", 1)[1]
        try:
            value = getattr(yaml.constructor, f"construct_yaml_{kind}")(ScalarNode(tag, ev.value, ev.start_mark))
        except (ValueError, KeyError, IndexError):
            return _Node(
                "scalar",
                None,
                ev.start_mark,
                problem=(
                    f"a value tagged !!{kind} that is not {'a boolean' if kind == 'bool' else 'a number'}",
                    f"remove the tag, or write a {'true or false' if kind == 'bool' else 'number'}",
                ),
            )
    return _Node("scalar", value, ev.start_mark)


def _tag_problem(tag: str | None, allowed: set[str], kind: str) -> tuple[str, str] | None:
    """Only YAML's core types are read: a tag asking for anything else (Python objects, !!binary,
    !!set, !!omap, !!timestamp, local tags like !Ref) is refused, never guessed at."""
    if tag is None or tag in allowed:
        return None
    shown = f"!!{tag[len(CORE) :]}" if tag.startswith(CORE) else tag
    if tag in _CORE_SCALARS | set(_CONTAINER_TAG.values()):
        what = {"map": "a mapping", "seq": "a list", "scalar": "a single value"}[kind]
        return f"tag {shown} on {what}", "remove the tag"
    if shown == "!":
        return "the non-specific tag !", "remove the `!`; quote the value to make it a string"
    hint = {
        "!!binary": "write the text itself (a values file holds text, not bytes)",
        "!!timestamp": "quote the date to keep it as text",
        "!!set": "write a list",
        "!!omap": "write a mapping",
        "!!pairs": "write a mapping",
    }.get(shown)
    return (
        f"YAML tag {shown} is not supported",
        hint or "remove the tag: compose reads plain YAML (strings, numbers, booleans, null, mappings, lists)",
    )


def _plain(node: _Node, ptr: str, name: str, out: Loaded, budget: list[int], depth: int) -> Any:
    """Plain Python data for node, recording where each value is written. Aliases are expanded
    into copies, each counted against MAX_NODES."""

    def fail(at: _Node, message: str, hint: str, where: str = ptr) -> InvalidValues:
        return InvalidValues([Problem(name, at.line, at.column, where, message, hint)])

    budget[0] -= 1
    if budget[0] < 0:
        # Point at the top-level key whose value exploded, not deep inside the expansion.
        top = "/" + ptr.split("/")[1] if ptr.count("/") else ptr
        pos = out.keys.get(top) or Pos(name, 0, 0)
        raise InvalidValues(
            [
                Problem(
                    name,
                    pos.line,
                    pos.column,
                    top,
                    f"more than {MAX_NODES:,} values after expanding aliases",
                    "remove the YAML aliases (*name) that repeat large blocks",
                )
            ]
        )
    if depth > MAX_DEPTH:  # reached through aliases: the text itself is checked while composing
        raise fail(
            node,
            f"nested more than {MAX_DEPTH} levels deep after expanding aliases",
            "remove the YAML aliases (*name) that nest blocks in themselves",
        )
    if node.problem:
        raise fail(node, *node.problem)
    if node.kind == "map":
        result = {}
        for k, v in _entries(node, ptr, fail):
            child = f"{ptr}/{escape(k.value)}"
            out.keys[child] = Pos(name, k.line, k.column)
            # an empty value has no place of its own (ruamel marks the next token): its key's
            at = k if v.kind == "scalar" and v.value is None and not v.problem else v
            out.values[child] = Pos(name, at.line, at.column)
            result[k.value] = _plain(v, child, name, out, budget, depth + 1)
        return result
    if node.kind == "seq":
        items: list[Any] = []
        for i, v in enumerate(node.value):
            out.values[f"{ptr}/{i}"] = Pos(name, v.line, v.column)
            items.append(_plain(v, f"{ptr}/{i}", name, out, budget, depth + 1))
        return items
    if node.kind == "merge":
        raise fail(node, "a merge key (<<) as a value", "quote it to make it a string: '<<'")
    bad = _not_in_a_string(node.value) if isinstance(node.value, str) else None
    if bad:
        raise fail(
            node,
            f"{_char(bad)} in a string",
            "Helm's YAML reader takes U+0085 for a line break (it arrives as a space): write \\n"
            if bad == "\x85"
            else "remove it: YAML does not allow it, not even as an escape",
        )
    return node.value


def _entries(node: _Node, ptr: str, fail: Callable[..., InvalidValues]) -> list[tuple[_Node, _Node]]:
    """A mapping's (key, value) pairs with its merge keys (`<<: *base`, `<<: [*a, *b]`) applied,
    in YAML's rule: the mapping's own keys win over merged ones, an earlier merged mapping over a
    later one. A merged pair keeps its position: where it is written, inside the anchored block.
    Worked out once per mapping: merges of merges would otherwise multiply, and as an anchor
    comes before its aliases, a chain of them is worked out link by link, not recursively."""
    if node.entries is not None:
        return node.entries
    own: dict[str, _Node] = {}
    for k, _ in node.value:
        if k.kind == "merge":
            continue
        if k.problem:
            raise fail(k, *k.problem)
        if k.kind != "scalar" or not isinstance(k.value, str):
            raise fail(k, f"keys must be strings, got {_node_kind(k)}", "quote the key")
        bad = _not_in_a_string(k.value)
        if bad:
            raise fail(k, f"{_char(bad)} in a key", "remove it")
        if k.value in own:
            first = own[k.value]
            raise fail(
                k,
                f'duplicate key "{k.value}" (first at line {first.line}, column {first.column})',
                "each key may appear once in a mapping; remove or merge the repeated one",
                f"{ptr}/{escape(k.value)}",
            )
        own[k.value] = k
    pairs: list[tuple[_Node, _Node]] = []
    taken = set(own)
    for k, v in node.value:
        if k.kind != "merge":
            pairs.append((k, v))
            continue
        for source in v.value if v.kind == "seq" and not v.problem else [v]:
            if source.kind != "map" or source.problem:
                raise fail(
                    k,
                    "a merge key (<<) takes a mapping or a list of mappings",
                    "merge an anchored mapping: `<<: *name`",
                )
            for mk, mv in _entries(source, ptr, fail):
                if mk.value not in taken:
                    taken.add(mk.value)
                    pairs.append((mk, mv))
    node.entries = pairs
    return pairs


def _node_kind(node: _Node) -> str:
    if node.kind == "map":
        return "a mapping"
    if node.kind == "merge":
        return "a merge key (<<)"
    return _kind(node.value)


def overlay(base: Loaded, top: Loaded) -> Loaded:
    """Deep-merge top over base: maps merge, everything else (lists included) is replaced,
    and a key top sets to null is removed. In base, a key with no value means the default: it is
    absent, as in Helm (the schema's default applies), and only an overlay removes with null."""
    merged = Loaded(None, dict(base.values), dict(base.keys), {**base.removed, **top.removed}, origin=base.origin)

    def absent_nulls(v: Any, ptr: str) -> Any:
        if isinstance(v, dict):
            for k in [k for k, x in v.items() if x is None]:
                at = base.keys.get(f"{ptr}/{escape(k)}") or base.where(ptr)
                if at:
                    merged.empty[f"{ptr}/{escape(k)}"] = at
            return {k: absent_nulls(x, f"{ptr}/{escape(k)}") for k, x in v.items() if x is not None}
        if isinstance(v, list):
            return [absent_nulls(x, f"{ptr}/{i}") for i, x in enumerate(v)]
        return v

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
                merged.empty.pop(child, None)
                out[k] = merge(a.get(k), v, child)
            return out
        take(ptr)
        return b

    merged.data = merge(absent_nulls(base.data, ""), top.data, "")
    return merged


def _marked(name: str, e: MarkedYAMLError, message: str, hint: str, ptr: str = "") -> Problem:
    mark = e.problem_mark or e.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
    return Problem(name, line, col, ptr, message, hint)


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
    if isinstance(v, list):
        return "a list"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, (int, float)):
        return "a number"
    if v is None:
        return "nothing (null)"
    return type(v).__name__
