"""Offline rendering of our releases: the `helm template` that `helmfile template` runs, run by us.

helmfile renders one release after another, after its own start-up and a `helm version`. compose
holds the plan helmfile.d/ was written from, so it starts the same `helm template` for every
release at once, on the generated values files, and joins the output as helmfile does:
tests/test_render.py proves it byte-identical to `helmfile template` on the generated files. A
release with patches needs helmfile's kustomize step, so helmfile renders that one.

`helm template` is a pure function of its argv, the helm binary, the chart's files and the
values file, so each release's last render is kept under .compose/cache/render/ with a hash of
all of them: an unchanged release is not rendered again (helm costs `compose up --env local`
~0.07 s of its ~0.2 s before the first process starts).
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Sequence

from composer import helmfile, proc, write
from composer.errors import ComposeError, quoted
from composer.plan import Plan, Release


class RenderFailed(ComposeError):
    exit_code = 1


def ordered(releases: Sequence[Release]) -> list[Release]:
    """helmfile's order: a release after everything it needs among `releases`, otherwise as listed."""
    ids = {r.id: r for r in releases}
    depth: dict[str, int] = {}

    def level(r: Release) -> int:
        if r.id not in depth:
            depth[r.id] = 1 + max((level(ids[n]) for n in r.needs if n in ids), default=-1)
        return depth[r.id]

    return sorted(releases, key=level)  # sorted() is stable: listed order within a level


def helm_argv(plan: Plan, r: Release, *, skip_tests: bool = False) -> list[str]:
    """What helmfile runs for r, with paths relative to the project root."""
    return ["helm", "template", r.name, r.chart, "--namespace", r.namespace,
            "--values", f"{write.OUTPUT_DIR}/{write.values_file(plan.env, r.name)}",
            *(["--skip-tests"] if skip_tests else []), "--kube-version", helmfile.KUBE_VERSION]


def releases(root: Path, plan: Plan, names: Sequence[str] | None = None, *,
             skip_tests: bool = False) -> dict[str, str]:
    """Each local release's manifests (those named, default all), in helmfile's order, by name."""
    chosen = ordered([r for r in plan.releases if not r.remote and (names is None or r.name in names)])
    argvs = {r.name: helmfile.render(write.state_file(plan.env), plan.env, r.name, skip_tests=skip_tests)
             if r.patches else helm_argv(plan, r, skip_tests=skip_tests) for r in chosen}
    helm = _helm_identity() if any(not r.patches for r in chosen) else None
    keys = {r.name: key for r in chosen if not r.patches and (key := _key(root, r, argvs[r.name], helm))}
    cache = root / CACHE_DIR
    rendered = {name: text for name, key in keys.items() if (text := _cached(cache, plan.env, name, key)) is not None}
    todo = [r for r in chosen if r.name not in rendered]
    for r, done in zip(todo, proc.run_all([argvs[r.name] for r in todo], cwd=root)):
        if done.returncode != 0:
            raise _failure(r, done)
        rendered[r.name] = done.stdout
        if r.name in keys:
            _keep(cache, plan.env, r.name, keys[r.name], done.stdout)
    # helmfile adds a line after each release; by helmfile, one release's output has it already
    return {r.name: rendered[r.name] if r.patches else rendered[r.name] + "\n" for r in chosen}


def template(root: Path, plan: Plan) -> str:
    """`helmfile template` of every local release, as one stream."""
    return "".join(releases(root, plan).values())


def docs(root: Path, plan: Plan, name: str) -> list[dict[str, Any]]:
    """One release's objects, without its helm test hooks."""
    return load_docs(releases(root, plan, [name], skip_tests=True)[name])


CACHE_DIR = Path(".compose") / "cache" / "render"


def _helm_identity() -> list | None:
    """The helm that would run, as far as a render depends on it: its path, size and mtime."""
    helm = proc.which("helm")
    try:
        st = os.stat(helm)
    except OSError:
        return None
    return [helm, st.st_size, st.st_mtime_ns]


def _key(root: Path, r: Release, argv: Sequence[str], helm: list | None) -> str | None:
    """A hash of everything `argv` (a plain `helm template`) renders from; None when some of it
    cannot be read (helm then runs, and says what is wrong)."""
    if helm is None:
        return None
    chart = root / r.chart
    try:
        h = hashlib.sha256(json.dumps([list(argv), *helm]).encode())
        for path in sorted(Path(d, f) for d, _dirs, names in os.walk(chart, followlinks=True) for f in names):
            h.update(b"\0" + str(path.relative_to(chart)).encode() + b"\0" + path.read_bytes())
        h.update(b"\0values\0" + (root / argv[argv.index("--values") + 1]).read_bytes())
    except OSError:
        return None
    return h.hexdigest()


def _entry(cache: Path, env: str, name: str) -> Path:
    return cache / f"{env}.{name}.json"


def _cached(cache: Path, env: str, name: str, key: str) -> str | None:
    try:
        kept = json.loads(_entry(cache, env, name).read_text())
    except (OSError, ValueError):
        return None
    hit = isinstance(kept, dict) and kept.get("key") == key and isinstance(kept.get("stdout"), str)
    return kept["stdout"] if hit else None


def _keep(cache: Path, env: str, name: str, key: str, stdout: str) -> None:
    """Best effort: a project dir we cannot write to renders every time."""
    with contextlib.suppress(OSError):
        cache.mkdir(parents=True, exist_ok=True)
        write.replace_file(_entry(cache, env, name), json.dumps({"key": key, "stdout": stdout}).encode())


def load_docs(text: str) -> list[dict[str, Any]]:
    """Helm's output as objects, read as helm's YAML library (go-yaml, YAML 1.1) wrote it."""
    from ruamel.yaml import YAML
    from ruamel.yaml.reader import Reader

    class Breaks11(Reader):
        """ruamel's scanner ends a line at U+0085, U+2028 or U+2029 but its reader counts
        columns on, so a block scalar holding one (go-yaml writes them raw) fails to parse. Here
        they start a line, as in YAML 1.1 and go-yaml."""

        def forward(self, length: int = 1) -> None:
            for _ in range(length):
                ch = self.peek()
                super().forward(1)
                if ch in "\x85\u2028\u2029":
                    self.line, self.column = self.line + 1, 0

    yaml = YAML(typ="safe", pure=True)
    if any(c in text for c in "\x85\u2028\u2029"):  # rare: the plain reader is faster
        yaml.Reader = Breaks11
    return [d for d in yaml.load_all(text) if d]


def _failure(r: Release, done: proc.Completed) -> ComposeError:
    detail = quoted(done.stderr)
    if r.patches:  # rendered by helmfile, whose stderr carries kustomize's reason
        return RenderFailed(f"{helmfile.failure(done)}\n{detail}")
    return RenderFailed(f"helm template {r.name} failed (exit {done.returncode}):\n{detail}")
