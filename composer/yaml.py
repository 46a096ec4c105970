"""Every YAML reader and writer compose uses, configured once.

- `dump`: what compose writes (helmfile.d/, exports, bundles) for YAML 1.1 readers (helm's go-yaml,
  kubectl): strings those readers would take for something else are quoted, and nothing depends on
  the machine (ruamel's C emitter, a dependency).
- `load`, `load_all`: other programs' YAML (a kubeconfig, a manifest in a bundle), YAML 1.2 safe.
- `load_manifests`: helm's output, read as go-yaml wrote it.
- `parser`: the event parser the values loader (`load.py`) builds its located tree from.
"""

from __future__ import annotations

import functools
import io
import re
from typing import Any

# ruamel is imported inside the functions: it is most of what a cold start imports.

# Words a YAML 1.1 reader (helm, kubectl, PyYAML) takes for something other than a string, though
# YAML 1.2 (ruamel) writes them bare: booleans, null, `=`, `<<`, and 1.1's number forms.
YAML11_NOT_STR = re.compile(
    r"""^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF
    |~|null|Null|NULL|=|<<
    |[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+
    |[-+]?(?:[0-9][0-9_]*)?\.[0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
    |[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$""",
    re.X,
)

# Line breaks in YAML 1.1 (helm's go-yaml) but not in 1.2. ruamel writes them raw in single quotes,
# followed by indentation: go-yaml reads U+0085 there as a folded space. Escaped in double quotes
# (\N, \L, \P), every reader reads them back as they are.
BREAKS_1_1 = "\x85\u2028\u2029"
_BREAKS_1_1 = re.compile(f"[{BREAKS_1_1}]")


@functools.cache
def _dumper():
    from ruamel.yaml import YAML
    from ruamel.yaml.cyaml import CEmitter
    from ruamel.yaml.representer import SafeRepresenter

    class Representer(SafeRepresenter):
        def represent_str(self, value: str):
            if YAML11_NOT_STR.match(value):
                return self.represent_scalar("tag:yaml.org,2002:str", value, style="'")
            if _BREAKS_1_1.search(value):
                return self.represent_scalar("tag:yaml.org,2002:str", value, style='"')
            if "\n" in value:  # a file's text (a config, a script) reads as itself; the emitter quotes
                # it instead where a block cannot hold it (trailing spaces, control characters)
                return self.represent_scalar("tag:yaml.org,2002:str", value, style="|")
            return super().represent_str(value)

    Representer.add_representer(str, Representer.represent_str)
    # The C emitter is required, not optional: the pure one may differ in corner cases, and the
    # generated files must not depend on what happens to be installed.
    yaml = YAML(typ="safe", pure=False)
    if yaml.Emitter is not CEmitter:  # pragma: no cover - a broken install
        raise ImportError("ruamel.yaml.clib is not installed: pip install ruamel.yaml.clib")
    yaml.Representer = Representer
    yaml.default_flow_style = False
    yaml.width = 4096  # never fold long strings (JSON flags, URLs)
    yaml.sort_base_mapping_type_on_output = False  # the caller's order
    return yaml


def dump(data: Any) -> str:
    buf = io.StringIO()
    _dumper().dump(data, buf)
    return buf.getvalue()


def parser():
    """A YAML 1.2 safe loader whose `parse` yields events (the values loader composes them itself)."""
    from ruamel.yaml import YAML

    return YAML(typ="safe", pure=True)


def load(text: str) -> Any:
    """One document of another program's YAML (a kubeconfig). Raises ValueError when it is not YAML."""
    from ruamel.yaml.error import YAMLError

    try:
        return parser().load(text)
    except YAMLError as e:
        raise ValueError(str(e)) from e


def load_all(text: str) -> list[Any]:
    """Every document of another program's YAML. Raises ValueError when it is not YAML."""
    from ruamel.yaml.error import YAMLError

    try:
        return list(parser().load_all(text))
    except YAMLError as e:
        raise ValueError(str(e)) from e


def load_manifests(text: str) -> list[dict[str, Any]]:
    """Helm's output as objects (empty documents dropped), read as helm's YAML library (go-yaml,
    YAML 1.1) wrote it."""
    from ruamel.yaml.reader import Reader

    class Breaks11(Reader):
        """ruamel's scanner ends a line at U+0085, U+2028 or U+2029 but its reader counts
        columns on, so a block scalar holding one (go-yaml writes them raw) fails to parse. Here
        they start a line, as in YAML 1.1 and go-yaml."""

        def forward(self, length: int = 1) -> None:
            for _ in range(length):
                ch = self.peek()
                super().forward(1)
                if ch in BREAKS_1_1:
                    self.line, self.column = self.line + 1, 0

    yaml = parser()
    if any(c in text for c in BREAKS_1_1):  # rare: the plain reader is faster
        yaml.Reader = Breaks11
    return [d for d in yaml.load_all(text) if d]
