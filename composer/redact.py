"""Take secrets out of text before it leaves the machine (debug bundles). Pure functions.

Two passes, both applied to everything in a bundle:
- structured (YAML/JSON documents): every value of a Kubernetes Secret's `data`/`stringData`,
  values of keys that name a secret (`password`, `...token`, `apiKey`, ...), the `value` of
  an env entry whose `name` does, and the argument after a `--token`-like flag in argv lists;
- text (logs, command output, and the structured result again): Hugging Face tokens
  (hf_...), `Bearer`/`Basic` credentials, `key: value` / `KEY=value` pairs whose key names a
  secret, `--token VALUE` flags, and credentials in URLs.

A YAML text that mentions a Secret but cannot be parsed is dropped as a whole.
"""
from __future__ import annotations

import json
import re
from typing import Any

from ruamel.yaml import YAML

from composer import write

REDACTED = "<redacted>"
SENSITIVE = (r"(?:password|passwd|passphrase|token|secret|api[_-]?key|apikey|access[_-]?key|private[_-]?key"
             r"|credentials?)")
# Keys that hold the *name* of a Secret, not its content.
REFERENCES = {"hftokensecret", "envfromsecret", "existingsecret", "secretname", "existingsecretname",
              "usekubernetessecret"}
_METRIC = re.compile(r"per[_-]?token$")  # kv_bytes_per_token: a size, not a credential
_NOT_SECRETS = {"none", "null", "nil", "~", "true", "false", "''", '""'}
_KEY = re.compile(rf"(?i)^[\w.-]*{SENSITIVE}$")
_FLAG = re.compile(rf"(?i)^--[\w-]*{SENSITIVE}$")

_TEXT_RULES: list[tuple[re.Pattern[str], str]] = [
    # Hugging Face tokens anywhere.
    (re.compile(r"\bhf_[A-Za-z0-9]{8,}"), REDACTED),
    # Authorization headers.
    (re.compile(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=-]{4,}"), rf"\1\2{REDACTED}"),
    # - name: SOME_TOKEN
    #   value: xxx
    # (in a unified diff too: the lines start with +, - or a space)
    (re.compile(rf"(?im)(name:\s*[\"']?[\w.-]*{SENSITIVE}[\"']?[ \t]*\n[+ -]?[ \t]*-?[ \t]*value:[ \t]*)"
                rf"(?!{re.escape(REDACTED)})\S.*$"),
     rf"\1{REDACTED}"),
    # --token xxx, --api-key=xxx
    (re.compile(rf"(?i)(--[\w-]*{SENSITIVE})(\s+|=)(?!-)(?!{re.escape(REDACTED)})[^\s\"',]+"), rf"\1\2{REDACTED}"),
    # scheme://user:password@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@"), rf"\1{REDACTED}@"),
]
# key: value, "key": "value", KEY=value (the key naming a secret; references excepted).
_PAIR = re.compile(rf"(?i)(?<![\w.-])(?P<key>[\w.-]*{SENSITIVE})(?P<q1>[\"']?)(?P<sep>[ \t]*[:=][ \t]*)"
                   rf"(?P<q2>[\"']?)(?P<val>[^\s\"',;}}\]]+)")


def sensitive_key(key: Any) -> bool:
    return (isinstance(key, str) and bool(_KEY.match(key)) and key.lower() not in REFERENCES
            and not _METRIC.search(key.lower()))


def redact_text(text: str) -> str:
    for pattern, repl in _TEXT_RULES:
        text = pattern.sub(repl, text)

    def pair(m: re.Match[str]) -> str:
        key, val = m.group("key").lower(), m.group("val")
        if key in REFERENCES or _METRIC.search(key) or val.startswith("<") or val.lower() in _NOT_SECRETS:
            return m.group(0)
        return f"{m.group('key')}{m.group('q1')}{m.group('sep')}{m.group('q2')}{REDACTED}"

    return _PAIR.sub(pair, text)


def redact_data(obj: Any) -> Any:
    """A copy of a parsed YAML/JSON document with secrets replaced."""
    if isinstance(obj, dict):
        out: dict[Any, Any] = {}
        is_secret = obj.get("kind") == "Secret"
        env_entry = sensitive_key(obj.get("name")) and "value" in obj
        for k, v in obj.items():
            if is_secret and k in ("data", "stringData") and isinstance(v, dict):
                out[k] = {dk: REDACTED for dk in v}
            elif env_entry and k == "value":
                out[k] = REDACTED
            elif sensitive_key(k) and not isinstance(v, (dict, list)) and v not in (None, "", True, False):
                out[k] = REDACTED
            else:
                out[k] = redact_data(v)
        return out
    if isinstance(obj, list):
        out_list = []
        after_flag = False
        for v in obj:
            out_list.append(REDACTED if after_flag and isinstance(v, str) and not v.startswith("--")
                            else redact_data(v))
            after_flag = isinstance(v, str) and bool(_FLAG.match(v))
        return out_list
    if isinstance(obj, str):
        if obj.startswith("--") and "=" in obj and _FLAG.match(obj.split("=", 1)[0]):
            return obj.split("=", 1)[0] + "=" + REDACTED
        return redact_text(obj)
    return obj


def redact_yaml(text: str) -> str:
    """A (multi-document) YAML text, redacted structurally and then as text."""
    yaml = YAML(typ="safe", pure=True)
    try:
        docs = list(yaml.load_all(text))
    except Exception:  # ruamel raises many kinds; unparsable means text rules only
        if re.search(r"(?m)^\s*kind:\s*[\"']?Secret\b", text):
            return f"{REDACTED}: unparsable YAML containing a Secret\n"
        return redact_text(text)
    return redact_text("---\n".join(write.dump(redact_data(d)) for d in docs))


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
