"""A compose project on disk: values.yaml, environments/, charts/, and the generated helmfile.d/.

These functions tie the stages together (load -> validate -> model -> plan -> files; a plan
with `patches.model.components` has them compiled against a helm render first) and are
what the CLI calls; they take and return plain data.
"""

from __future__ import annotations

import contextlib
import difflib
import errno
import os
import re
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from composer import helmfiles, load, patches, schema, write
from composer.errors import InvalidValues, Problem, UsageError
from composer.model import Deployment, engine_of
from composer.plan import Plan, plan

DEFAULT_VALUES = "values.yaml"


@dataclass(frozen=True)
class Project:
    root: Path
    values_file: Path

    @classmethod
    def at(cls, values: str | Path = DEFAULT_VALUES) -> Project:
        path = Path(values).absolute()
        return cls(root=path.parent, values_file=path)

    @classmethod
    def find(cls, values: str | Path | None = None) -> Project:
        """The project `-f values` names or, without -f, the nearest directory from here up that
        holds values.yaml and environments/ (as git finds its repository); else ./values.yaml."""
        if values is not None:
            return cls.at(values)
        here = Path.cwd()
        for d in (here, *here.parents):
            if (d / DEFAULT_VALUES).is_file() and (d / "environments").is_dir():
                return cls.at(d / DEFAULT_VALUES)
        return cls.at(here / DEFAULT_VALUES)

    @property
    def output(self) -> Path:
        return self.root / helmfiles.OUTPUT_DIR

    def rel(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)

    def env_file(self, env: str) -> Path:
        return self.root / "environments" / f"{env}.yaml"

    def environments(self) -> list[str]:
        """Every environment: environments/<name>.yaml that is a file (or a link to one)."""
        return sorted(
            p.name[: -len(".yaml")] for p in (self.root / "environments").glob("*.yaml") if _not_a_file(p) is None
        )

    def state_file(self, env: str) -> str:
        return helmfiles.state_file(env)

    def chart_versions(self) -> dict[str, str]:
        versions = {}
        for chart in sorted((self.root / "charts").glob("*/Chart.yaml")):
            m = re.search(r"^version:\s*['\"]?([^'\"\s]+)", chart.read_text(), re.M)
            if m:
                versions[chart.parent.name] = m.group(1)
        return versions

    def command(self) -> str:
        """The command that regenerates helmfile.d/, as written in its header."""
        default = self.values_file == self.root / DEFAULT_VALUES
        return "compose generate" if default else f"compose generate -f {self.values_file.name}"


def _not_a_file(path: Path) -> str | None:
    """What path is when it is not a regular file (a link is followed), else None. Only stat:
    opening a FIFO would wait for a writer."""
    try:
        mode = path.stat().st_mode
    except OSError as e:
        if e.errno == errno.ELOOP:
            return "a symbolic link loop"
        return "a broken symbolic link" if path.is_symlink() else "missing"
    for test, what in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a device"),
        (stat.S_ISBLK, "a device"),
    ):
        if test(mode):
            return what
    return None


def check_env_name(project: Project, env: str | None) -> None:
    """env names a readable environment file; otherwise a UsageError that lists the environments."""
    known = project.environments()
    listed = (
        f"environments: {', '.join(known)}"
        if known
        else f"no environments yet: add a file under {project.rel(project.root / 'environments')}/"
    )
    if env is None:
        raise UsageError(f"missing option '-e' / '--env': which environment? ({listed})")
    if not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", env):
        raise UsageError(f"environment name {env!r} is not allowed: use lowercase letters, digits and '-' ({listed})")
    what = _not_a_file(project.env_file(env))
    if what is not None:
        guess = difflib.get_close_matches(env, known, n=1, cutoff=0.6)
        state = "does not exist" if what == "missing" else f"is {what}, not an environment file"
        raise UsageError(
            f"no environment {env!r}: {project.rel(project.env_file(env))} {state} "
            f"({listed}){f'; did you mean {guess[0]!r}?' if guess else ''}"
        )


def load_deployment(project: Project, env: str) -> Deployment:
    """Values file + environments/<env>.yaml, merged and validated."""
    check_env_name(project, env)
    base = load.load(project.values_file, display=project.rel(project.values_file))
    top = load.load(project.env_file(env), display=project.rel(project.env_file(env)))
    merged = load.overlay(base, top)
    dep = Deployment(env=env, values=schema.validate(merged), engine=engine_of(base.data))
    if dep.target == "local" and dep.gpu_sku and dep.engine is None:
        raise InvalidValues(
            [
                merged.problem(
                    "/cluster/gpuSku",
                    f"the local twin runs the mocker at {dep.gpu_sku}'s speed for the GPU engine "
                    f"{project.rel(project.values_file)} deploys, and it names none",
                    f"set model.backend.type to vllm, sglang or trtllm in {project.rel(project.values_file)} "
                    "(the local environment sets mocker), or remove cluster.gpuSku",
                )
            ]
        )
    return dep


def plans(project: Project, envs: list[str] | None = None) -> dict[str, Plan]:
    """Plans of the given (default: all) environments; every environment's problems reported at once."""
    envs = project.environments() if envs is None else envs
    if not project.values_file.exists():  # say so before "no environments", its consequence
        load.load(project.values_file, display=project.rel(project.values_file))
    if not envs:
        raise UsageError(
            f"no environments: add at least one file under {project.rel(project.root / 'environments')}/ "
            "(for example dev.yaml with `cluster: {namespace: dynamo}`)"
        )
    problems: list[Problem] = []
    out = {}
    versions = project.chart_versions()
    for env in envs:
        try:
            out[env] = plan(load_deployment(project, env), versions)
        except InvalidValues as e:
            problems.extend(e.problems)
    if problems:
        raise InvalidValues(problems)
    return out


def files(project: Project, env_plans: dict[str, Plan] | None = None) -> dict[str, str]:
    """helmfile.d/ for every environment (env_plans: every environment's plan, when known)."""
    out: dict[str, str] = {}
    for env, p in (env_plans or plans(project)).items():
        check_charts(project, p)
        inputs = [project.rel(project.values_file), project.rel(project.env_file(env))]
        out.update(helmfiles.files(patches.compiled(project.root, p), inputs, project.command()))
    return out


def check_charts(project: Project, p: Plan) -> None:
    """Every local chart the environment's helmfile references is in the project (helmfile would
    fail only when it runs, far from the cause)."""
    missing = sorted(
        {r.chart for r in p.releases if not r.remote and not (project.root / r.chart / "Chart.yaml").is_file()}
    )
    if missing:
        raise UsageError(
            f"{project.rel(project.root / helmfiles.state_file(p.env))} would reference "
            f"{', '.join(f'{c}/' for c in missing)}, which the project does not have "
            f"(no {missing[0]}/Chart.yaml)\nhint: `{init_command(project)}` copies compose's charts "
            "into the project; it writes only files that are missing"
        )


def init_command(project: Project) -> str:
    """The `compose init` that scaffolds what this project lacks around its values file."""
    return f"compose init --from {os.path.relpath(project.values_file)}"


def generate(project: Project, env_plans: dict[str, Plan] | None = None) -> bool:
    """Write helmfile.d/ for every environment. Returns whether anything changed. Validates (and
    writes nothing, not even the lock) before it takes the lock to write."""
    tree = files(project, env_plans)
    if write.read_tree(project.output) == tree:  # up to date: no lock either
        return False
    with write.locked(project.root):
        if write.read_tree(project.output) == tree:  # another generate wrote it meanwhile
            return False
        write.write_tree(project.output, tree)
    return True


@contextlib.contextmanager
def generated(project: Project, env_plans: dict[str, Plan]) -> Iterator[Path]:
    """A root holding helmfile.d/ as `generate` would write it: the project's own when it is up
    to date, else a temporary one with a link to the project's charts/, removed afterwards.
    Read-only commands run helm and helmfile there and leave the project as it was."""
    tree = files(project, env_plans)
    if write.read_tree(project.output) == tree:
        yield project.root
        return
    with tempfile.TemporaryDirectory(prefix="compose-") as tmp:
        root = Path(tmp)
        (root / "charts").symlink_to(project.root / "charts")
        write.write_tree(root / helmfiles.OUTPUT_DIR, tree)
        yield root


def stale_diff(project: Project) -> str:
    return write.diff_tree(project.output, files(project))
