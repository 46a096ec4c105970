"""Everything compose asks of helmfile: argv built by pure functions, results mapped to exit codes
(`errors.ExitCode`)."""

from __future__ import annotations

import re
import signal
from collections.abc import Sequence
from pathlib import Path

from composer import proc
from composer.errors import ComposeError, ExitCode, HelmfileFailed, NoReleaseMatched

EXIT_CHANGES = ExitCode.CHANGES
EXIT_NO_MATCH = ExitCode.NO_RELEASE_MATCHED
HELMFILE_CHANGES = 2  # with --detailed-exitcode
HELMFILE_NO_MATCH = 3
KUBE_VERSION = "1.30.0"  # what offline rendering assumes; the platform chart needs >= 1.30
HELM_DIFF_INSTALL = "helm plugin install https://github.com/databus23/helm-diff --version v3.9.11"


def base(state_file: str, env: str) -> list[str]:
    return ["helmfile", "--file", state_file, "--environment", env]


def template(state_file: str, env: str, kube_version: str = KUBE_VERSION) -> list[str]:
    """Plain helmfile rendering our releases offline: what `compose template` prints (composer/manifests.py
    runs the same helm itself; tests and benchmarks compare the two). Remote charts cannot be fetched
    offline: both the selector and --skip-deps are needed, the selector alone still runs
    `helm repo add` (tooling-notes.md §2b)."""
    return base(state_file, env) + [
        "--selector",
        "source=local",
        "--allow-no-matching-release",
        "template",
        "--skip-deps",
        "--kube-version",
        kube_version,
    ]


def template_release(
    state_file: str, env: str, release: str, *, skip_tests: bool = False, kube_version: str = KUBE_VERSION
) -> list[str]:
    """One release's manifests, offline (composer.manifests uses it for releases with patches)."""
    return base(state_file, env) + [
        "--selector",
        f"name={release}",
        "template",
        "--skip-deps",
        *(["--skip-tests"] if skip_tests else []),
        "--kube-version",
        kube_version,
    ]


def build(state_file: str, env: str) -> list[str]:
    return base(state_file, env) + ["build"]


def diff(state_file: str, env: str, extra: Sequence[str] = ()) -> list[str]:
    return base(state_file, env) + ["diff", "--detailed-exitcode", "--suppress-secrets", "--context", "3", *extra]


def apply(state_file: str, env: str, *, have_helm_diff: bool, extra: Sequence[str] = ()) -> list[str]:
    # apply (diff, then upgrade what changed) needs helm-diff; sync upgrades everything.
    verb = ["apply", "--suppress-secrets"] if have_helm_diff else ["sync"]
    return base(state_file, env) + [*verb, *extra]


def sync_component(state_file: str, env: str, component: str) -> list[str]:
    """Sync only the release(s) of one component: the benchmark Job is rerun this way."""
    return base(state_file, env) + ["--selector", f"component={component}", "sync"]


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
    (
        re.compile(r'unknown command "diff" for "helm"'),
        f"the helm-diff plugin is missing; install it: {HELM_DIFF_INSTALL}",
    ),
    (
        re.compile(r"Kubernetes cluster unreachable"),
        "no cluster reachable: check your kubeconfig and the environment's cluster.kubeContext",
    ),
    (
        re.compile(r"is not a valid chart repository or cannot be reached|repo \S+ not found"),
        "a chart repository is unreachable (offline?); `compose template` renders our charts without it",
    ),
    (
        re.compile(r"depend\(s\) on an undefined release"),
        "helmfile.d/ is out of date or edited by hand: run `compose generate`",
    ),
    (
        re.compile(r"no matches for Id (\S+?);? "),
        r"a patch under `patches:` targets \1 (kind.version.group/name.namespace), which its release does not "
        r"render; `compose template` without the patch lists what it does",
    ),
    (
        re.compile(r"context deadline exceeded|timed out waiting"),
        "a release did not become ready in time: `compose status` and `kubectl get pods` show what is pending",
    ),
]


def diagnose(stderr: str) -> str | None:
    for pattern, fix in DIAGNOSES:
        m = pattern.search(stderr)
        if m:
            return m.expand(fix)
    return None


def run(argv: Sequence[str], cwd: Path, *, changes_ok: bool = False, needs: Sequence[str] = ("helm",)) -> int:
    """Stream a helmfile command; map its exit code to compose's. Raises on failure. `needs`: the
    programs that must be there before helmfile starts (it runs helm; compose's next step may need more)."""
    done = proc.stream(argv, cwd=cwd, needs=needs)
    if done.returncode == 0:
        return 0
    if changes_ok and done.returncode == HELMFILE_CHANGES:
        return EXIT_CHANGES
    raise failure(done)


def failure(done: proc.Completed) -> ComposeError:
    """What a failed helmfile run means for the user, as the error compose exits with."""
    rc = done.returncode
    if rc == HELMFILE_NO_MATCH:
        return NoReleaseMatched(
            "helmfile matched no release for this environment: is the environment generated? run `compose generate`"
        )
    if rc < 0:
        return HelmfileFailed(f"helmfile was killed by signal {-rc} ({signal.Signals(-rc).name})")
    fix = diagnose(done.stderr)
    return HelmfileFailed(f"helmfile {verb(done.argv)} failed (exit {rc})" + (f": {fix}" if fix else ""))


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
