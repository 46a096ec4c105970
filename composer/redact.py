"""Take secrets out of text before it leaves the machine (debug bundles). Pure functions.

Two passes, both applied to everything in a bundle:
- structured (YAML/JSON documents): what composer.secrets finds (a Kubernetes Secret's
  `data`/`stringData`, values of keys, env vars and `--flags` that name a credential);
- text (logs, command output, and the structured result again): the credential formats
  composer.secrets knows (hf_..., JWTs, URLs with a password, ...), Authorization headers,
  `key: value` / `KEY=value` pairs whose key names a secret, and `--token VALUE` flags.

A YAML text that mentions a Secret but cannot be parsed is dropped as a whole.
"""

from __future__ import annotations

import json
import re
from typing import Any

from composer import secrets, yaml
from composer.secrets import NOT_SECRETS, SENSITIVE, sensitive_key

REDACTED = "<redacted>"
_R = re.escape(REDACTED)

# Text rules beyond the credential formats (composer.secrets): names that say credential, in logs
# and command output, where no structure tells a value from its neighbours.
_TEXT_RULES: list[tuple[re.Pattern[str], str]] = [
    # An Authorization header says what follows is a credential, whatever it looks like.
    (re.compile(rf"(?i)(\bauthorization:[ \t]*(?:bearer|basic)[ \t]+)(?!{_R})\S+"), rf"\1{REDACTED}"),
    # - name: SOME_TOKEN
    #   value: xxx
    # (in a unified diff too: the lines start with +, - or a space)
    (
        re.compile(
            rf"(?im)(name:\s*[\"']?[\w.-]*{SENSITIVE}[\"']?[ \t]*\n[+ -]?[ \t]*-?[ \t]*value:[ \t]*)"
            rf"(?!{_R})\S.*$"
        ),
        rf"\1{REDACTED}",
    ),
    # --token xxx, --api-key=xxx
    (re.compile(rf"(?i)(--[\w-]*{SENSITIVE})(\s+|=)(?!-)(?!{_R})[^\s\"',]+"), rf"\1\2{REDACTED}"),
]
# key: value, "key": "value", KEY=value (the key naming a secret; references excepted).
_PAIR = re.compile(
    rf"(?i)(?<![\w.-])(?P<key>[\w.-]*{SENSITIVE})(?P<q1>[\"']?)(?P<sep>[ \t]*[:=][ \t]*)"
    rf"(?P<q2>[\"']?)(?P<val>[^\s\"',;}}\]]+)"
)


def redact_text(text: str) -> str:
    text = secrets.mask(text, REDACTED)
    for pattern, repl in _TEXT_RULES:
        text = pattern.sub(repl, text)

    def pair(m: re.Match[str]) -> str:
        val = m.group("val")
        if not sensitive_key(m.group("key")) or val.startswith("<") or val.lower() in NOT_SECRETS:
            return m.group(0)
        return f"{m.group('key')}{m.group('q1')}{m.group('sep')}{m.group('q2')}{REDACTED}"

    return _PAIR.sub(pair, text)


def redact_data(obj: Any) -> Any:
    """A copy of a parsed YAML/JSON document with secrets replaced: what composer.secrets finds
    (values by where they sit, keys by their format), then every string by the text rules."""
    return _replace(obj, {f.path for f in secrets.find(obj) if not f.key}, ())


def _replace(obj: Any, found: set[tuple], path: tuple) -> Any:
    if path in found:
        return REDACTED
    if isinstance(obj, dict):
        return {
            (secrets.mask(k, REDACTED) if isinstance(k, str) else k): _replace(v, found, (*path, k))
            for k, v in obj.items()
        }
    if isinstance(obj, list):
        return [_replace(v, found, (*path, i)) for i, v in enumerate(obj)]
    if isinstance(obj, str):
        return redact_text(obj)
    return obj


def redact_yaml(text: str) -> str:
    """A (multi-document) YAML text, redacted structurally and then as text."""
    try:
        docs = yaml.load_all(text)
    except Exception:  # ruamel raises more than YAMLError on garbage; unparsable means text rules only
        if re.search(r"(?m)^\s*kind:\s*[\"']?Secret\b", text):
            return f"{REDACTED}: unparsable YAML containing a Secret\n"
        return redact_text(text)
    return redact_text("---\n".join(yaml.dump(redact_data(d)) for d in docs))


def redact_json(text: str) -> str:
    try:
        data = json.loads(text)
    except ValueError:
        return redact_text(text)
    return redact_text(json.dumps(redact_data(data), indent=2) + "\n")


def redact(name: str, text: str) -> str:
    """By file name: .yaml/.yml and .json structurally first; everything by the text rules."""
    if name.endswith((".yaml", ".yml")):
        return redact_yaml(text)
    if name.endswith(".json"):
        return redact_json(text)
    return redact_text(text)
