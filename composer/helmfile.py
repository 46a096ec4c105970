"""Everything compose asks of helmfile: argv built by pure functions, results mapped to exit codes.

compose's exit codes (documented in the README):
  0 success                     2 bad input (values file, options)
  1 helmfile/helm failed        3 `compose diff`: there are changes
  4 no release matched          127 a required tool is missing
  130 interrupted (Ctrl-C)
"""
from __future__ import annotations

import re
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from composer import proc
from composer.errors import ComposeError
from composer.plan import Plan

EXIT_CHANGES = 3
EXIT_NO_MATCH = 4
HELMFILE_CHANGES = 2  # with --detailed-exitcode
HELMFILE_NO_MATCH = 3
KUBE_VERSION = "1.30.0"  # what offline rendering assumes; the platform chart needs >= 1.30
HELM_DIFF_INSTALL = "helm plugin install https://github.com/databus23/helm-diff --version v3.9.11"


class HelmfileFailed(ComposeError):
    exit_code = 1


class NoReleaseMatched(ComposeError):
    exit_code = EXIT_NO_MATCH


@dataclass(frozen=True)
class Invocation:
    """One helmfile run: the argv and, for humans, the releases it leaves out."""

    argv: list[str]
    skipped: tuple[str, ...] = ()


def base(state_file: str, env: str) -> list[str]:
    return ["helmfile", "--file", state_file, "--environment", env]


def template(state_file: str, plan: Plan, kube_version: str = KUBE_VERSION) -> Invocation:
    # Remote charts cannot be fetched offline. Both the selector and --skip-deps are needed:
    # the selector alone still runs `helm repo add` (tooling-notes.md §2b).
    skipped = tuple(f"{r.id} ({r.chart} {r.version})" for r in plan.releases if r.remote)
    argv = base(state_file, plan.env) + ["--selector", "source=local", "template", "--skip-deps",
                                         "--kube-version", kube_version]
    if not any(not r.remote for r in plan.releases):  # e.g. only the platform: render nothing, say why
        argv.insert(argv.index("template"), "--allow-no-matching-release")
    return Invocation(argv, skipped)


def render_release(root: Path, state_file: str, env: str, release: str) -> list[dict]:
    """One release's manifests as helm renders them from the generated files, offline, without
    its helm test hooks."""
    from ruamel.yaml import YAML

    argv = base(state_file, env) + ["--selector", f"name={release}", "template", "--skip-deps", "--skip-tests",
                                    "--kube-version", KUBE_VERSION]
    done = proc.run(argv, cwd=root)
    if done.returncode != 0:
        raise ComposeError(f"rendering release {release} failed (exit {done.returncode}):\n{done.stderr.strip()}")
    return [d for d in YAML(typ="safe", pure=True).load_all(done.stdout) if d]


def build(state_file: str, env: str) -> list[str]:
    return base(state_file, env) + ["build"]


def diff(state_file: str, env: str, extra: Sequence[str] = ()) -> list[str]:
    return base(state_file, env) + ["diff", "--detailed-exitcode", "--suppress-secrets", "--context", "3", *extra]


def apply(state_file: str, env: str, *, have_helm_diff: bool, extra: Sequence[str] = ()) -> list[str]:
    # apply (diff, then upgrade what changed) needs helm-diff; sync upgrades everything.
    verb = ["apply", "--suppress-secrets"] if have_helm_diff else ["sync"]
    return base(state_file, env) + [*verb, *extra]


def destroy(state_file: str, env: str, extra: Sequence[str] = ()) -> list[str]:
    return base(state_file, env) + ["destroy", *extra]


def status(state_file: str, env: str, extra: Sequence[str] = ()) -> list[str]:
    return base(state_file, env) + ["status", *extra]


def helm_plugins() -> list[str]:
    return ["helm", "plugin", "list"]


def has_helm_diff(cwd: Path) -> bool:
    r = proc.run(helm_plugins(), cwd=cwd)
    return r.returncode == 0 and any(line.split()[:1] == ["diff"] for line in r.stdout.splitlines()[1:])


# Known helmfile/helm failures -> what the user should do.
DIAGNOSES = [
    (re.compile(r'unknown command "diff" for "helm"'),
     f"the helm-diff plugin is missing; install it: {HELM_DIFF_INSTALL}"),
    (re.compile(r"Kubernetes cluster unreachable"),
     "no cluster reachable: check your kubeconfig and the environment's cluster.kubeContext"),
    (re.compile(r"is not a valid chart repository or cannot be reached|repo \S+ not found"),
     "a chart repository is unreachable (offline?); `compose template` renders our charts without it"),
    (re.compile(r"depend\(s\) on an undefined release"),
     "helmfile.d/ is out of date or edited by hand: run `compose generate`"),
    (re.compile(r"no matches for Id (\S+?);? "),
     r"a patch under `patches:` targets \1 (kind.version.group/name.namespace), which its release does not "
     r"render; `compose template` without the patch lists what it does"),
    (re.compile(r"context deadline exceeded|timed out waiting"),
     "a release did not become ready in time: `compose status` and `kubectl get pods` show what is pending"),
]


def diagnose(stderr: str) -> str | None:
    for pattern, fix in DIAGNOSES:
        m = pattern.search(stderr)
        if m:
            return m.expand(fix)
    return None


def run(argv: Sequence[str], cwd: Path, *, changes_ok: bool = False) -> int:
    """Stream a helmfile command; map its exit code to compose's. Raises on failure."""
    done = proc.stream(argv, cwd=cwd, needs=("helm",))
    rc = done.returncode
    if rc == 0:
        return 0
    if changes_ok and rc == HELMFILE_CHANGES:
        return EXIT_CHANGES
    if rc == HELMFILE_NO_MATCH:
        raise NoReleaseMatched("helmfile matched no release for this environment: "
                               "is the environment generated? run `compose generate`")
    if rc < 0:
        raise HelmfileFailed(f"helmfile was killed by signal {-rc} ({signal.Signals(-rc).name})")
    fix = diagnose(done.stderr)
    raise HelmfileFailed(f"helmfile {verb(argv)} failed (exit {rc})" + (f": {fix}" if fix else ""))


def verb(argv: Sequence[str]) -> str:
    """The helmfile subcommand in argv: the first word that is neither a flag nor a flag's value."""
    takes_value = {"--file", "-f", "--environment", "-e", "--selector", "-l"}
    skip = False
    for word in argv[1:]:
        if skip:
            skip = False
        elif word in takes_value:
            skip = True
        elif not word.startswith("-"):
            return word
    return ""
