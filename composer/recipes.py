"""Recipes: tuned values files for hand-picked models, and `compose init`, which starts a project from one.

A recipe is `<model>/<backend>/<mode>/values.yaml` (plus a README.md saying where every setting came
from) under the package's `recipes/` directory, which in the repository is a link to the top-level
`recipes/`. Its name is that path: `qwen3-0.6b/vllm/agg`. The values file is a fragment in the exact
schema of a compose values file; it leaves cluster facts to environments.

`scaffold` writes a self-contained project: the recipe's values, three environments (dev, prod, local),
a copy of the values schema for editors, a .gitignore, and a copy of compose's charts, which the generated
helmfile.d/ references as `../charts/<name>`. It never overwrites a file. `scaffold_around` does the same
around an existing values file, writing only what is missing.
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from composer import dynamo, load
from composer.errors import UsageError
from composer.model import derived_names
from composer.schema import DNS1123

VALUES = "values.yaml"
README = "README.md"
SCHEMA_FILE = "values.schema.json"  # the copy in a scaffolded project, next to values.yaml
RECIPE_DOC = "RECIPE.md"  # the recipe's README in a scaffolded project
TUNED_PLOT = "pareto.png"  # the Pareto frontier beside a recipe compose tune wrote
MODELINE = re.compile(r"^#\s*yaml-language-server:")
SOURCES_LINE = "# Where every setting comes from: README.md next to this file.\n"
CHART_SKIP = ("ci", "__pycache__")  # chart-testing fixtures of this repository; bytecode
GITIGNORE = (
    ".compose/\n"  # local runtime state and logs
    ".compose.lock\n"
    ".helmfile.d.*\n"
)  # what an interrupted `compose generate` may leave
# A role's settings that belong to the GPU engine and that the local environment removes for the mocker.
ENGINE_ONLY = ("command", "args", "multinode")
LOCAL_BENCHMARK = {"concurrency": [4], "requestCount": 40, "warmupRequestCount": 0, "isl": 64, "osl": 16}


@dataclass(frozen=True)
class Recipe:
    name: str  # "<model>/<backend>/<mode>"
    path: Path  # the recipe's directory
    summary: str  # the first comment line of values.yaml that is not the editor's schema line

    @property
    def values_file(self) -> Path:
        return self.path / VALUES

    @property
    def readme(self) -> Path:
        return self.path / README


def _package_dir(name: str) -> Path:
    # The package is installed as files (editable, or a wheel unpacked by pip), never zipped.
    return Path(str(resources.files("composer").joinpath(name)))


def recipes_dir() -> Path:
    return _package_dir("recipes")


def charts_dir() -> Path:
    return _package_dir("charts")


def schema_file() -> Path:
    return _package_dir("schema") / SCHEMA_FILE


def available() -> list[Recipe]:
    """Every recipe, sorted by name."""
    root = recipes_dir()
    found = []
    for values in sorted(root.glob(f"*/*/*/{VALUES}")):
        d = values.parent
        found.append(Recipe(name=d.relative_to(root).as_posix(), path=d, summary=_summary(values.read_text())))
    return found


def _summary(text: str) -> str:
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        if MODELINE.match(line):
            continue
        return line.lstrip("#").strip()
    return ""


def get(name: str) -> Recipe:
    recipes = {r.name: r for r in available()}
    if name in recipes:
        return recipes[name]
    guess = difflib.get_close_matches(name, list(recipes), n=1, cutoff=0.6)
    hint = f"did you mean {guess[0]!r}?" if guess else "`compose recipes list` shows them all"
    raise UsageError(f"no recipe {name!r}: {hint}")


def show(name: str) -> str:
    """The recipe's values file, as written."""
    return get(name).values_file.read_text()


def listing(recipes: list[Recipe]) -> str:
    """`compose recipes list`: one recipe a line, name then summary."""
    if not recipes:
        return ""
    width = max(len(r.name) for r in recipes)
    return "".join(f"{r.name.ljust(width)}  {r.summary}\n" for r in recipes)


# ------------------------------------------------------------------------------------------ scaffold


def check_dynamo_namespace(name: str) -> None:
    if not re.fullmatch(DNS1123, name):
        raise UsageError(
            f"--name {name!r} is not a valid DNS-1123 name: use lowercase letters, digits and '-', "
            "starting and ending with a letter or digit"
        )
    too_long = [(n, limit) for n, limit in derived_names(name) if len(n) > limit]
    if too_long:
        n, limit = max(too_long, key=lambda t: len(t[0]) - t[1])
        raise UsageError(
            f"--name {name!r} is too long: it makes {n!r} ({len(n)} characters, limit {limit}); "
            f"shorten it by at least {len(n) - limit} characters"
        )


def project_values(recipe: Recipe, dynamo_namespace: str | None = None) -> str:
    """The recipe's values file as a project's values.yaml: the editor's schema line points at the
    project's copy, the sources line at RECIPE.md, and dynamoNamespace is replaced if asked."""
    lines = recipe.values_file.read_text().splitlines(keepends=True)
    if lines and MODELINE.match(lines[0]):
        lines = lines[1:]
    text = f"# yaml-language-server: $schema={SCHEMA_FILE}\n" + "".join(lines).replace(
        SOURCES_LINE, f"# From recipe {recipe.name}; {RECIPE_DOC} says where every setting comes from.\n", 1
    )
    if dynamo_namespace is not None:
        text, n = re.subn(r"^dynamoNamespace:.*$", f"dynamoNamespace: {dynamo_namespace}", text, count=1, flags=re.M)
        if n == 0:
            text = text.replace("\nmodel:", f"\ndynamoNamespace: {dynamo_namespace}\n\nmodel:", 1)
    return text


def _model(values_file: Path, display: str) -> dict:
    model = load.load(values_file, display=display).data.get("model")
    return model if isinstance(model, dict) else {}  # the schema, later, says what is wrong with it


def environments(
    model: dict,
    *,
    hf_token_secret: bool = True,
    local_nulls: Mapping[str, Sequence[str]] | None = None,
    prometheus: bool = True,
    gpu_sku: str | None = None,
) -> dict[str, str]:
    """environments/<env>.yaml for a project of this `model` section: dev, prod and local. Without
    hf_token_secret, dev and prod name no Hugging Face Secret (the values say which Secret is read);
    local_nulls: keys of model.<role> the local environment removes (what only the real engine runs);
    prometheus: a Planner without a Prometheus URL gets the Planner's own default in dev and prod;
    gpu_sku: the GPU the graph was tuned for, which the local environment's twin stands in for."""
    nulls = local_nulls or {}
    section = model.get("backend")
    backend = (
        section.get("type", "the values file's backend") if isinstance(section, dict) else "the values file's backend"
    )
    roles_used = ["decode", "prefill"] if model.get("disaggregation") else ["decode"]
    planner = model.get("planner")
    planner_env = (
        "  planner:\n"
        "    # The Prometheus the Planner reads (the Planner's own default, kube-prometheus-stack in monitoring).\n"
        f"    prometheusEndpoint: {dynamo.PLANNER_PROMETHEUS_DEFAULT}\n"
        if prometheus and isinstance(planner, dict) and planner.get("enabled") and "prometheusEndpoint" not in planner
        else ""
    )
    hf = "  hfTokenSecret: hf-token-secret\n" if hf_token_secret else ""
    hf_note = (
        "  # An existing Secret with key HF_TOKEN (upstream recipes call it hf-token-secret; gated models need it).\n"
    )
    dev_model = (hf_note if hf else "") + hf + planner_env
    dev = "# Development cluster: the cluster facts a recipe leaves out.\ncluster:\n  namespace: dynamo-dev\n" + (
        "model:\n" + dev_model if dev_model else ""
    )
    prod = (
        "# Production cluster: compose acts only on the pinned context and asks before every change.\n"
        "cluster:\n"
        "  # Placeholder: set your production cluster's kubeconfig context. compose refuses any other.\n"
        "  kubeContext: your-prod-context\n"
        "  namespace: dynamo\n"
        "  production: true\n"
        + ("model:\n" + hf + planner_env if hf or planner_env else "")
        + "# A benchmark saturates the GPUs that serve users: run it in production only on purpose.\n"
        "benchmark:\n"
        "  enabled: false\n"
    )

    def dropped(role: str) -> list[str]:
        # the engine's own command line and its spread over nodes are not the mocker's, nor what the caller names
        given = [k for k in ENGINE_ONLY if k in _role(model, role)]
        return given + [k for k in nulls.get(role, ()) if k not in given]

    frontend = nulls.get("frontend", ())
    roles = "  frontend:\n" + "".join(f"    {k}: null\n" for k in frontend) if frontend else ""
    # the twin runs the mocker at the GPU's speed; without one it runs 10x faster than its defaults
    speedup = "" if gpu_sku else '    extraArgs: ["--speedup-ratio", "10"]\n'
    roles += "".join(
        f"  {role}:\n    gpus: 0\n    extraConfig: null\n"
        + speedup
        + "".join(f"    {key}: null\n" for key in dropped(role))
        for role in roles_used
    )
    bench = "".join(f"    {k}: {v}\n" for k, v in LOCAL_BENCHMARK.items())
    local = (
        "# This machine: the same graph on Dynamo's CPU mocker engine, benchmarked by AIPerf.\n"
        "target: local\n"
        + (
            f"cluster:\n  # The GPU the graph was tuned for (compose tune): the mocker runs at its speed (the local twin).\n"
            f"  gpuSku: {gpu_sku}\n"
            if gpu_sku
            else ""
        )
        + "model:\n"
        "  backend:\n"
        "    type: mocker\n"
        f"  # The recipe's engine config and flags are {backend}'s, for GPUs; the mocker takes its own\n"
        "  # (null removes a key, a list replaces the recipe's).\n" + roles + "benchmark:\n"
        "  config:\n" + bench
    )
    return {"dev": dev, "prod": prod, "local": local}


def _role(model: dict, role: str) -> dict:
    spec = model.get(role)
    return spec if isinstance(spec, dict) else {}


def chart_files() -> dict[str, Path]:
    """charts/<chart>/... -> the packaged file, everything a chart needs (not its ci/ test values)."""
    root = charts_dir()
    files = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if d not in CHART_SKIP)
        for f in sorted(filenames):
            if f.endswith(".pyc"):
                continue
            src = Path(dirpath) / f
            files[(Path("charts") / src.relative_to(root)).as_posix()] = src
    return files


def scaffold(name: str, dest: Path, *, dynamo_namespace: str | None = None) -> list[Path]:
    """Write a new project from the recipe into dest (created if missing). Returns the files written.

    Refuses, writing nothing, if any of them exists already."""
    recipe = get(name)
    if dynamo_namespace is not None:
        check_dynamo_namespace(dynamo_namespace)
    dest = Path(dest)
    if dest.exists() and not dest.is_dir():
        raise UsageError(f"--dir {dest}: not a directory")

    texts: dict[str, str] = {VALUES: project_values(recipe, dynamo_namespace)}
    if recipe.readme.is_file():
        texts[RECIPE_DOC] = recipe.readme.read_text()
    values = load.load(recipe.values_file, display=recipe.name).data
    # a recipe compose tune wrote: its Pareto plot (RECIPE.md shows it) and the GPU it was tuned for
    plot = recipe.path / TUNED_PLOT
    blobs = {TUNED_PLOT: plot.read_bytes()} if plot.is_file() else {}
    gpu_sku = ((values.get("tune") or {}).get("hardware") or {}).get("gpuSku")
    return scaffold_files(dest, texts, blobs, gpu_sku=gpu_sku)


def _project_paths(texts: Mapping[str, object]) -> list[str]:
    # the user's files first, then the copies: the order conflicts are named in
    return [*texts, *[f"environments/{env}.yaml" for env in ("dev", "prod", "local")], ".gitignore",
            SCHEMA_FILE, *chart_files()]  # fmt: skip


def check_free(dest: Path, texts: Mapping[str, object] = {VALUES: ""}) -> None:
    """Refuse, writing nothing, a project directory where any file of a project is already."""
    dest = Path(dest)
    if dest.exists() and not dest.is_dir():
        raise UsageError(f"--dir {dest}: not a directory")
    taken = [rel for rel in dict.fromkeys(_project_paths(texts)) if _taken(dest, rel)]
    if taken:
        shown = ", ".join(taken[:5]) + (f" and {len(taken) - 5} more" if len(taken) > 5 else "")
        raise UsageError(f"refusing to overwrite {shown} in {dest}/: nothing was written; choose a new or empty --dir")


def scaffold_files(
    dest: Path, texts: dict[str, str], blobs: Mapping[str, bytes] | None = None, *, gpu_sku: str | None = None
) -> list[Path]:
    """A project in dest around these files (values.yaml, RECIPE.md, ...): the environments of its
    model section, the .gitignore, the schema and the charts. Never overwrites a file."""
    dest = Path(dest)
    check_free(dest, {**texts, **(blobs or {})})
    model = _model_of_text(texts[VALUES])
    texts = dict(texts)
    texts.update({f"environments/{env}.yaml": text for env, text in environments(model, gpu_sku=gpu_sku).items()})
    texts[".gitignore"] = GITIGNORE
    copies: dict[str, Path] = {SCHEMA_FILE: schema_file(), **chart_files()}
    return _write(dest, texts, copies, blobs or {})


def _model_of_text(text: str) -> dict:
    from composer import yaml as cyaml

    data = cyaml.load(text) or {}
    model = data.get("model") if isinstance(data, dict) else None
    return model if isinstance(model, dict) else {}


def scaffold_around(values_file: Path) -> tuple[list[Path], list[str]]:
    """Make a project around an existing values file, in its directory: environments/{dev,prod,local}.yaml,
    compose's charts/ and a .gitignore. Writes only what is missing (an environment file, a chart as a
    whole, the .gitignore) and never changes a file. Returns (files written, what was kept as it was)."""
    dest = values_file.parent
    texts = {
        f"environments/{env}.yaml": text for env, text in environments(_model(values_file, values_file.name)).items()
    }
    texts[".gitignore"] = GITIGNORE
    charts: dict[str, dict[str, Path]] = {}  # charts/<name> -> its files
    for rel, src in chart_files().items():
        charts.setdefault("/".join(rel.split("/")[:2]), {})[rel] = src
    kept = [rel for rel in [*texts, *charts] if (dest / rel).exists() or (dest / rel).is_symlink()]
    blocked = [rel for rel in [*texts, *charts] if rel not in kept and _taken(dest, rel)]
    if blocked:
        raise UsageError(
            f"cannot write {', '.join(blocked)} in {dest}/: a path on the way is not a directory; nothing was written"
        )
    copies = {rel: src for chart, files in charts.items() if chart not in kept for rel, src in files.items()}
    return _write(dest, {rel: t for rel, t in texts.items() if rel not in kept}, copies), kept


def _write(
    dest: Path, texts: dict[str, str], copies: dict[str, Path], blobs: Mapping[str, bytes] | None = None
) -> list[Path]:
    """Write texts, blobs, then copies, under dest, none replacing a file; on failure remove what was written."""
    written: list[Path] = []
    blobs = blobs or {}
    try:
        for rel in [*texts, *blobs, *copies]:
            path = dest / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if rel in texts:
                with open(path, "x") as f:  # "x": never replace a file that appeared meanwhile
                    f.write(texts[rel])
            elif rel in blobs:
                with open(path, "xb") as f:
                    f.write(blobs[rel])
            else:
                with open(copies[rel], "rb") as src, open(path, "xb") as out:
                    shutil.copyfileobj(src, out)
                shutil.copymode(copies[rel], path)
            written.append(path)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return written


def _taken(dest: Path, rel: str) -> bool:
    """True if writing dest/rel would replace a file, or a path on the way is not a directory."""
    path = dest / rel
    if path.exists() or path.is_symlink():
        return True
    parent = path.parent
    while parent != dest and parent != parent.parent:
        if parent.exists() and not parent.is_dir():
            return True
        parent = parent.parent
    return False


def next_steps(dest: Path, written: list[Path], source: str, kept: Sequence[str] = (), values: str = VALUES) -> str:
    """What `compose init` prints (source: "recipe NAME" or the values file scaffolded around)."""
    cd = "" if Path(dest).resolve() == Path.cwd().resolve() else f"  cd {dest}\n"
    f = "" if values == VALUES else f" -f {values}"
    return (
        f"wrote {len(written)} files from {source} into {dest}/\n"
        + (f"kept as they were: {', '.join(kept)}\n" if kept else "")
        + "next:\n"
        f"{cd}"
        f"  compose validate{f}          # {values} with each of environments/{{dev,prod,local}}.yaml\n"
        f"  compose generate{f}          # write helmfile.d/ (commit it)\n"
        f"  compose up{f} --env local    # run it on this machine with the mocker engine\n"
    )
