"""What a credential looks like: the one test shared by validation (refuse it) and debug bundles
(redact it). Pure functions.

Two kinds of evidence:
- the value itself has a credential's published format (Hugging Face, GitHub, GitLab, AWS, OpenAI,
  Anthropic, NVIDIA, Google, Slack, Stripe tokens; JWTs; PEM private keys; `Bearer`/`Basic`
  credentials; URLs with user:password@). Each format has a fixed prefix and a long random
  body, so model names, image references, flags, paths and numbers do not match;
- where it sits: the value of a key, env var or `--flag` whose name says credential (`password`,
  `...token`, `apiKey`, ...), unless it is a reference (`$(VAR)`, a `<placeholder>`) or empty.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any


def _basic(m: re.Match[str]) -> bool:
    """`Basic X`: X must decode to user:password, or `Basic configuration` would match."""
    try:
        decoded = base64.b64decode(m.group("cred"), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return False
    return ":" in decoded and decoded.isprintable()


def _random(m: re.Match[str]) -> bool:
    """A random credential mixes letters and digits; a word of English does not."""
    body = m.group("cred")
    return any(c.isdigit() for c in body) and any(c.isalpha() for c in body)


@dataclass(frozen=True)
class Format:
    kind: str  # how a message names it: "looks like {kind}"
    pattern: re.Pattern[str]  # a credential match; group `keep` (if any) is kept by redaction
    check: Callable[[re.Match[str]], bool] | None = None


FORMATS: tuple[Format, ...] = (
    Format(
        "a PEM private key",
        re.compile(
            r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"
            r"(?:.*?-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|.*)",
            re.S,
        ),
    ),
    Format("a Hugging Face token", re.compile(r"\bhf_[A-Za-z0-9]{20,}")),
    Format("a GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{40,})")),
    Format("a GitLab token", re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}")),
    Format("an AWS access key", re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b")),
    Format("an NVIDIA API key", re.compile(r"\bnvapi-[A-Za-z0-9_-]{20,}")),
    Format("an OpenAI or Anthropic API key", re.compile(r"(?<![\w-])sk-(?P<cred>[A-Za-z0-9_-]{32,})"), _random),
    Format("a Stripe key", re.compile(r"\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,}")),
    Format("a Google API key", re.compile(r"\bAIza[A-Za-z0-9_-]{35}")),
    Format("a Slack token", re.compile(r"\bxox[abposre]-[A-Za-z0-9-]{10,}")),
    Format("a Slack webhook", re.compile(r"hooks\.slack\.com/services/[A-Za-z0-9/]{20,}")),
    Format("a JSON Web Token", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    Format("a bearer credential", re.compile(r"(?i)(?P<keep>\bbearer\s+)(?P<cred>[A-Za-z0-9._~+/-]{16,}=*)"), _random),
    Format(
        "a basic-auth credential",
        re.compile(r"(?P<keep>\bBasic\s+)(?P<cred>[A-Za-z0-9+/]{4,}={0,2})(?![\w+/=])"),
        _basic,
    ),
    Format("a URL with a password", re.compile(r"(?i)(?P<keep>\b[a-z][a-z0-9+.-]*://)[^/\s:@]*:(?!\$\()[^/\s@]+@")),
)


# A text holding none of these holds no credential: every format above contains one (checked by
# tests/test_secrets_scan.py). One search instead of fifteen for the usual string.
_ANY_FORMAT = re.compile(
    r"PRIVATE KEY|hf_|gh[pousr]_|github_pat_|glpat-|AKIA|ASIA|ABIA|ACCA|nvapi-|sk-|k_live_"
    r"|k_test_|AIza|xox|hooks\.slack\.com|eyJ|(?i:bearer)|Basic|://"
)


def matches(text: str) -> Iterator[tuple[Format, re.Match[str]]]:
    """Every credential in text, by format."""
    if not _ANY_FORMAT.search(text):
        return
    for f in FORMATS:
        for m in f.pattern.finditer(text):
            if f.check is None or f.check(m):
                yield f, m


def token_kind(text: Any) -> str | None:
    """What kind of credential a string contains, or None."""
    return _kind(text) if isinstance(text, str) else None


@functools.lru_cache(maxsize=4096)  # a document repeats its keys and values: each is looked at once
def _kind(text: str) -> str | None:
    return next((f.kind for f, _ in matches(text)), None)


def mask(text: str, replacement: str) -> str:
    """text with every credential replaced (a `keep` prefix such as `Bearer ` stays)."""
    spans = sorted((m.end("keep") if "keep" in m.re.groupindex else m.start(), m.end()) for _, m in matches(text))
    out, at = [], 0
    for start, end in spans:
        if end <= at:  # inside a credential already replaced
            continue
        out += [text[at : max(start, at)], replacement]
        at = end
    return "".join(out) + text[at:]


# --- by name ------------------------------------------------------------------------------------

SENSITIVE = (
    r"(?:password|passwd|passphrase|token|secret|api[_-]?key|apikey|access[_-]?key|private[_-]?key"
    r"|credentials?)"
)
# Keys that hold the *name* of a Secret, not its content.
REFERENCES = {
    "hftokensecret",
    "envfromsecret",
    "existingsecret",
    "secretname",
    "existingsecretname",
    "usekubernetessecret",
}
# kv_bytes_per_token is a size; eos_token/pad_token are a tokenizer's special tokens: not credentials
_NOT_CREDENTIAL = re.compile(r"(?:per|bos|eos|pad|unk|sep|cls|mask|special)[_-]?token$")
NOT_SECRETS = {"none", "null", "nil", "~", "true", "false", "''", '""'}
_KEY = re.compile(rf"(?i)^[\w./-]*{SENSITIVE}$")  # "/": a prefixed label or annotation key
_FLAG = re.compile(rf"(?i)^--[\w-]*{SENSITIVE}$")
# Kubernetes expands $(VAR) in env values and args: the way to pass a Secret's env var on
_REFERENCE = re.compile(r"^\$\([A-Za-z_][\w.-]*\)$|^\$\{[A-Za-z_]\w*\}$|^<.*>$")


def sensitive_key(key: Any) -> bool:
    return isinstance(key, str) and _sensitive_key(key)


@functools.lru_cache(maxsize=4096)
def _sensitive_key(key: str) -> bool:
    return bool(_KEY.match(key)) and key.lower() not in REFERENCES and not _NOT_CREDENTIAL.search(key.lower())


def sensitive_flag(arg: Any) -> bool:
    return isinstance(arg, str) and bool(_FLAG.match(arg)) and not _NOT_CREDENTIAL.search(arg.lower())


def literal(value: Any) -> bool:
    """A value that, under a credential's name, is the credential itself."""
    if value is None or isinstance(value, (bool, dict, list)):
        return False
    text = str(value).strip()
    return bool(text) and text.lower() not in NOT_SECRETS and not _REFERENCE.match(text)


# --- in a document ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    path: tuple  # keys and indexes from the document's root
    why: str  # "looks like {kind}", "is the literal value of {name}, ..."
    key: bool = False  # the mapping key at path is the credential, not its value


def find(obj: Any, path: tuple = ()) -> Iterator[Found]:
    """Every credential in a parsed YAML/JSON document: each string (value or key) by its format,
    and values by where they sit (a Secret's data, a credential-named key, env var or flag)."""
    if isinstance(obj, dict):
        is_secret = obj.get("kind") == "Secret"
        env_entry = sensitive_key(obj.get("name")) and not token_kind(obj.get("name"))
        for k, v in obj.items():
            kind = token_kind(k)
            if kind:
                yield Found((*path, k), f"looks like {kind}", key=True)
            if is_secret and k in ("data", "stringData") and isinstance(v, dict):
                yield from (Found((*path, k, dk), "is the data of a Secret") for dk in v)
            elif env_entry and k == "value" and literal(v) and not token_kind(v):
                yield Found((*path, k), f"is the literal value of {obj['name']}, a name for a credential")
            elif sensitive_key(k) and not kind and literal(v) and not token_kind(v):
                yield Found((*path, k), f"is the literal value of {k}, a name for a credential")
            else:
                yield from find(v, (*path, k))
        return
    if isinstance(obj, list):
        after_flag = None
        for i, v in enumerate(obj):
            if after_flag and isinstance(v, str) and not v.startswith("-") and literal(v) and not token_kind(v):
                yield Found((*path, i), f"is the literal value of {after_flag}, a flag for a credential")
            else:
                yield from find(v, (*path, i))
            after_flag = v if sensitive_flag(v) else None
        return
    if isinstance(obj, str):
        kind = token_kind(obj)
        if kind:
            yield Found(path, f"looks like {kind}")
        elif obj.startswith("--") and "=" in obj:
            flag, value = obj.split("=", 1)
            if sensitive_flag(flag) and literal(value):
                yield Found(path, f"is the literal value of {flag}, a flag for a credential")
