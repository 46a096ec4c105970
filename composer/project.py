"""A compose project on disk: values.yaml, environments/, charts/, and the generated helmfile.d/.

These functions tie the stages together (load -> validate -> model -> plan -> files) and are
what the CLI calls; they take and return plain data.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from composer import load, schema, write
from composer.errors import InvalidValues, Problem, UsageError
from composer.model import Deployment
from composer.plan import Plan, plan

DEFAULT_VALUES = "values.yaml"


@dataclass(frozen=True)
class Project:
    root: Path
    values_file: Path

    @classmethod
    def at(cls, values: str | Path = DEFAULT_VALUES) -> "Project":
        path = Path(values).absolute()
        return cls(root=path.parent, values_file=path)

    @property
    def output(self) -> Path:
        return self.root / write.OUTPUT_DIR

    def rel(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)

    def env_file(self, env: str) -> Path:
        return self.root / "environments" / f"{env}.yaml"

    def environments(self) -> list[str]:
        return sorted(p.name[: -len(".yaml")] for p in (self.root / "environments").glob("*.yaml"))

    def state_file(self, env: str) -> str:
        return write.state_file(env)

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


def check_env_name(project: Project, env: str) -> None:
    if not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", env):
        raise UsageError(f"environment name {env!r} is not allowed: use lowercase letters, digits and '-'")
    if not project.env_file(env).is_file():
        known = ", ".join(project.environments()) or "none"
        raise UsageError(f"no environment {env!r}: {project.rel(project.env_file(env))} does not exist "
                         f"(environments: {known})")


def load_deployment(project: Project, env: str) -> Deployment:
    """Values file + environments/<env>.yaml, merged and validated."""
    check_env_name(project, env)
    base = load.load(project.values_file, display=project.rel(project.values_file))
    top = load.load(project.env_file(env), display=project.rel(project.env_file(env)))
    return Deployment(env=env, values=schema.validate(load.overlay(base, top)))


def plans(project: Project, envs: list[str] | None = None) -> dict[str, Plan]:
    """Plans of the given (default: all) environments; every environment's problems reported at once."""
    envs = project.environments() if envs is None else envs
    if not project.values_file.exists():  # say so before "no environments", its consequence
        load.load(project.values_file, display=project.rel(project.values_file))
    if not envs:
        raise UsageError(f"no environments: add at least one file under {project.rel(project.root / 'environments')}/ "
                         "(for example dev.yaml with `cluster: {namespace: dynamo}`)")
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


def render(project: Project, env_plans: dict[str, Plan] | None = None) -> dict[str, str]:
    """helmfile.d/ for every environment (env_plans: every environment's plan, when known)."""
    files: dict[str, str] = {}
    for env, p in (env_plans or plans(project)).items():
        inputs = [project.rel(project.values_file), project.rel(project.env_file(env))]
        files.update(write.render(p, inputs, project.command()))
    return files


def generate(project: Project, env_plans: dict[str, Plan] | None = None) -> bool:
    """Write helmfile.d/ for every environment. Returns whether anything changed."""
    with write.locked(project.root):
        files = render(project, env_plans)
        if write.read_tree(project.output) == files:
            return False
        write.write_tree(project.output, files)
        return True


def stale_diff(project: Project) -> str:
    return write.diff_tree(project.output, render(project))
