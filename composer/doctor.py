"""`compose doctor`: read-only checks of what a deploy needs, each with how to fix a miss.

    checks = run(project, env)         # runs helm/helmfile/kubectl through composer.proc
    format_text(checks)                # or json.dumps(checks)

Every check is a pure function from what a command printed (a proc.Completed, or None when
the tool is missing) to a Check; the argv are built by pure functions too. Nothing here
changes anything: kubectl only `get`s, helm only reads, ports are probed by binding nothing
but a test socket, and a Secret is read for its key names only.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from composer import dynamo, proc
from composer.errors import InvalidValues, UsageError
from composer.helmfile import HELM_DIFF_INSTALL
from composer.kube import kubectl
from composer.plan import PLATFORM_RELEASE

OK, FAILED, SKIPPED = "ok", "failed", "skipped"
CRD = dynamo.DGD_CRD
DGD_API_VERSION = dynamo.DGD_VERSION  # what charts/model renders
TESTED = {"helm": "3.15.3", "helmfile": "0.166.0"}  # what scripts/setup installs
# The oldest that compose works with: the minor versions scripts/setup pins and the README states
# (helm 3.15, helmfile 0.166 and its v1 mode, kubectl 1.30: the platform chart needs Kubernetes
# 1.30, and patches are applied with `kubectl kustomize`).
MINIMUM = {"helm": "3.15.0", "helmfile": "0.166.0", "kubectl": "1.30.0"}
MIN_FREE_BYTES = 1 << 30
SECRET_KEYS_TEMPLATE = 'go-template={{range $k, $v := .data}}{{$k}}{{"\\n"}}{{end}}'
HF_TOKEN_KEY = "HF_TOKEN"
REQUEST_TIMEOUT = "--request-timeout=10s"  # an unreachable API server fails fast


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # ok | failed | skipped
    detail: str
    fix: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


# -- argv --------------------------------------------------------------------------------------


def helm(context: str | None, *args: str) -> list[str]:
    return ["helm", *args, *(["--kube-context", context] if context else [])]


def helm_version_argv() -> list[str]:
    return ["helm", "version", "--short"]


def helmfile_version_argv() -> list[str]:
    return ["helmfile", "--version"]


def helm_plugins_argv() -> list[str]:
    return ["helm", "plugin", "list"]


def kubectl_version_argv() -> list[str]:
    return ["kubectl", "version", "--client", "-o", "json"]


def crd_argv(context: str | None) -> list[str]:
    return kubectl(context, "get", "crd", CRD, "-o", "json", REQUEST_TIMEOUT)


def platform_argv(context: str | None, namespace: str) -> list[str]:
    # `helm list`, not `helm status`: only the list says which chart version is deployed
    return helm(context, "list", "-n", namespace, "--all", "--filter", f"^{PLATFORM_RELEASE}$", "-o", "json")


def namespace_argv(context: str | None, namespace: str) -> list[str]:
    return kubectl(context, "get", "namespace", namespace, "-o", "name", REQUEST_TIMEOUT)


def secret_keys_argv(context: str | None, namespace: str, name: str) -> list[str]:
    """The Secret's key names, one a line; never its values."""
    return kubectl(context, "-n", namespace, "get", "secret", name, "-o", SECRET_KEYS_TEMPLATE, REQUEST_TIMEOUT)


# -- pure checks -------------------------------------------------------------------------------


def check_helm(done: proc.Completed | None) -> Check:
    return _tool("helm", done, lambda out: out.strip().split("+")[0])


def check_helmfile(done: proc.Completed | None) -> Check:
    return _tool("helmfile", done, lambda out: out.strip().rsplit(" ", 1)[-1])


def check_kubectl(done: proc.Completed | None) -> Check:
    def version(out: str) -> str:
        return str(json.loads(out)["clientVersion"]["gitVersion"])

    return _tool("kubectl", done, version)


def check_helm_diff(done: proc.Completed | None) -> Check:
    name = "helm-diff plugin"
    if done is None:
        return Check(name, SKIPPED, "helm is not installed", proc.INSTALL_HINTS["helm"])
    if done.returncode != 0:
        return Check(name, FAILED, f"`helm plugin list` failed: {_first_line(done)}", HELM_DIFF_INSTALL)
    for line in done.stdout.splitlines()[1:]:
        cols = line.split()
        if cols[:1] == ["diff"]:
            return Check(name, OK, f"diff {cols[1] if len(cols) > 1 else ''}".strip())
    return Check(
        name, FAILED, "not installed: `compose diff` cannot run and `compose up` syncs every release", HELM_DIFF_INSTALL
    )


def check_context(pinned: str | None, current: str | None) -> Check:
    name = "kube context"
    if pinned and current == pinned:
        return Check(name, OK, f"{current} (the environment's cluster.kubeContext)")
    if pinned:
        return Check(
            name,
            FAILED,
            f"the environment pins {pinned!r}, the current context is {current or 'unset'!r}; "
            f"compose up/diff/destroy refuse to run",
            f"kubectl config use-context {pinned}",
        )
    if current:
        return Check(name, OK, f"{current} (the environment pins none: set cluster.kubeContext to make sure)")
    return Check(
        name,
        FAILED,
        "no current kube context and the environment pins none",
        "kubectl config use-context <context>, and set cluster.kubeContext in the environment file",
    )


def check_crd(done: proc.Completed | None, *, platform_install: bool) -> Check:
    name = "Dynamo CRDs"
    if done is None:
        return _no_kubectl(name)
    if done.returncode != 0:
        if _not_found(done):
            if platform_install:
                return Check(
                    name,
                    OK,
                    f"{CRD} is not installed yet: the operator of the platform release "
                    f"`compose up` installs creates it",
                )
            return Check(
                name,
                FAILED,
                f"{CRD} is not installed, and platform.install is false",
                "install the Dynamo platform (helm install dynamo-platform ...), "
                "or set platform.install: true so compose installs it",
            )
        return _cluster_failure(name, done)
    try:
        versions = [v["name"] for v in json.loads(done.stdout)["spec"]["versions"] if v.get("served")]
    except (ValueError, KeyError, TypeError):
        return Check(name, FAILED, f"unexpected output of `kubectl get crd {CRD}`", "")
    if DGD_API_VERSION not in versions:
        return Check(
            name,
            FAILED,
            f"{CRD} serves {', '.join(versions) or 'nothing'}; charts/model renders "
            f"nvidia.com/{DGD_API_VERSION} (Dynamo 1.2.0 or later)",
            "upgrade the Dynamo platform to the environment's platform.version",
        )
    return Check(name, OK, f"{CRD} serves {', '.join(versions)}")


def check_platform(done: proc.Completed | None, *, install: bool, namespace: str) -> Check:
    name = "platform release"
    where = f"{namespace}/{PLATFORM_RELEASE}"
    if done is None:
        return Check(name, SKIPPED, "helm is not installed", proc.INSTALL_HINTS["helm"])
    if done.returncode != 0:
        return _cluster_failure(name, done)
    try:
        releases = json.loads(done.stdout)
        if not releases:
            if install:
                return Check(name, OK, f"{where} is not installed yet: `compose up` installs it")
            return Check(
                name,
                FAILED,
                f"{where} is not installed, and platform.install is false",
                "set platform.install: true, or platform.namespace to where the platform runs",
            )
        state, version = releases[0]["status"], releases[0]["chart"].removeprefix(f"{PLATFORM_RELEASE}-")
    except (ValueError, KeyError, TypeError, IndexError):
        return Check(
            name,
            FAILED,
            f"unexpected output of `helm list` for {PLATFORM_RELEASE}",
            "run the command by hand; helm 3.15 or later is expected",
        )
    if state != "deployed":
        return Check(
            name,
            FAILED,
            f"{where} is {state}",
            f"helm history {PLATFORM_RELEASE} -n {namespace} shows what happened; "
            f"`compose up` retries, `helm rollback` reverts",
        )
    return Check(name, OK, f"{where} deployed (chart {version})")


def check_namespace(done: proc.Completed | None, namespace: str, *, create: bool) -> Check:
    name = "namespace"
    if done is None:
        return _no_kubectl(name)
    if done.returncode == 0:
        return Check(name, OK, f"{namespace} exists")
    if _not_found(done):
        if create:
            return Check(name, OK, f"{namespace} does not exist yet: helm creates it (cluster.createNamespace)")
        return Check(
            name,
            FAILED,
            f"{namespace} does not exist and cluster.createNamespace is false",
            f"kubectl create namespace {namespace} (or ask a cluster admin)",
        )
    return _cluster_failure(name, done)


def check_secret(done: proc.Completed | None, name: str, namespace: str) -> Check:
    check = "HF token Secret"
    create = (
        f"kubectl -n {namespace} create secret generic {name} --from-literal={HF_TOKEN_KEY}=<your Hugging Face token>"
    )
    if done is None:
        return _no_kubectl(check)
    if done.returncode != 0:
        if _not_found(done):
            return Check(check, FAILED, f"Secret {namespace}/{name} (model.hfTokenSecret) does not exist", create)
        return _cluster_failure(check, done)
    keys = done.stdout.split()
    if HF_TOKEN_KEY not in keys:
        return Check(
            check,
            FAILED,
            f"Secret {namespace}/{name} has no key {HF_TOKEN_KEY} (keys: {', '.join(keys) or 'none'})",
            f"kubectl -n {namespace} delete secret {name}, then {create}",
        )
    return Check(check, OK, f"{namespace}/{name} has {HF_TOKEN_KEY}")


def check_venvs(environ: Mapping[str, str] | None = None, dynamo_version: str | None = None) -> list[Check]:
    """The local runtime's venvs: ai-dynamo at the deployment's version (default: compose's), aiperf."""
    from composer.local import venvs

    out = []
    for tool, program, version in (("ai-dynamo", "python", dynamo_version), ("aiperf", "aiperf", None)):
        path = venvs.venv_bin(tool, program, environ, version)
        label = f"{tool} {venvs.version_of(tool, version)}"
        if os.access(path, os.X_OK):
            out.append(Check(f"{tool} venv", OK, f"{label} ({venvs.venv_path(tool, environ, version)})"))
        else:
            out.append(
                Check(
                    f"{tool} venv",
                    FAILED,
                    f"{label} is not installed ({path} missing)",
                    f"run {venvs.install_command(tool, version)} (creates its venv; needs PyPI once)",
                )
            )
    return out


def check_ports(wanted: Sequence[int], busy: Mapping[int, str], ours: Iterable[int] = ()) -> Check:
    """wanted: the local graph's ports; busy: port -> who holds it; ours: held by the running graph."""
    from composer.local.graph import MAX_SYSTEM_PORT

    name = "local ports"
    span = f"{wanted[0]}-{wanted[-1]}" if len(wanted) > 1 else str(wanted[0])
    if len(wanted) > 1 and wanted[-1] > MAX_SYSTEM_PORT:
        return Check(
            name,
            FAILED,
            f"worker ports reach {wanted[-1]}, above {MAX_SYSTEM_PORT} (Dynamo reads "
            f"DYN_SYSTEM_PORT as a signed 16-bit number: 1.4.0 and 1.6.1 do)",
            f"set local.httpPort to at most {MAX_SYSTEM_PORT - len(wanted) + 1}",
        )
    ours = set(ours)
    taken = [f"{busy[p]}" for p in wanted if p in busy and p not in ours]
    if taken:
        return Check(
            name,
            FAILED,
            "; ".join(taken),
            "stop what holds them, or set local.httpPort (worker ports follow it) to a free range",
        )
    held = [p for p in wanted if p in ours]
    if held:
        return Check(name, OK, f"{span}: held by the running local graph (`compose status`)")
    return Check(name, OK, f"{span} free on 127.0.0.1")


def check_disk(paths: Sequence[Path], free: Callable[[Path], int], minimum: int = MIN_FREE_BYTES) -> Check:
    """Free space where the state and results dirs live (the nearest existing parent of each)."""
    seen: dict[int, tuple[Path, int]] = {}
    for path in paths:
        existing = _existing_parent(path)
        try:
            dev = existing.stat().st_dev
        except OSError:
            continue
        seen.setdefault(dev, (existing, free(existing)))
    low = [(p, f) for p, f in seen.values() if f < minimum]
    detail = ", ".join(f"{_gib(f)} free at {p}" for p, f in seen.values()) or "no directory to check"
    if low:
        return Check(
            "disk space",
            FAILED,
            detail + f" (want {_gib(minimum)})",
            "free some space (old results/ runs can go) or move the project",
        )
    return Check("disk space", OK, detail)


def summary(checks: Sequence[Check]) -> dict[str, int]:
    return {s: sum(c.status == s for c in checks) for s in (OK, FAILED, SKIPPED)}


# -- running them ------------------------------------------------------------------------------


def attempt(argv: Sequence[str], cwd: Path | None = None) -> proc.Completed | None:
    """Run one read-only command; None when its program is not installed."""
    try:
        return proc.run(argv, cwd=cwd)
    except proc.ToolMissing:
        return None


def run(project, env: str | None, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Every check for env (the tools only without one). Returns {'environment', 'target', 'checks', 'ok'}."""
    from composer import guard
    from composer import project as p

    helm_done = attempt(helm_version_argv())
    checks = [check_helm(helm_done), check_helmfile(attempt(helmfile_version_argv()))]
    target = None
    context = None
    if env is None:
        checks += [
            check_helm_diff(attempt(helm_plugins_argv()) if helm_done else None),
            check_kubectl(attempt(kubectl_version_argv())),
        ]
        return _result(None, None, None, checks)
    try:
        dep = p.load_deployment(project, env)
        plan = p.plans(project, [env])[env]
    except (InvalidValues, UsageError) as e:
        checks.append(Check("values", FAILED, str(e), f"fix what is located above; `compose validate -e {env}`"))
        return _result(env, None, None, checks)
    target = dep.target
    checks.append(Check("values", OK, f"{project.rel(project.values_file)} + {project.rel(project.env_file(env))}"))
    if dep.target == "local":
        checks += _local_checks(project, dep, environ)
        return _result(env, target, None, checks)
    checks.append(check_helm_diff(attempt(helm_plugins_argv()) if helm_done else None))
    kubectl_done = attempt(kubectl_version_argv())
    checks.append(check_kubectl(kubectl_done))
    current = guard.current_context(guard.kubeconfig_paths(dict(environ) if environ is not None else None))
    checks.append(check_context(plan.kube_context, current))
    context = plan.kube_context or current
    ctx = plan.kube_context  # compose's helmfile pins it; without a pin, kubectl's current context is used
    values = dep.values
    platform_install = bool(values["platform"]["install"])
    crd_done = attempt(crd_argv(ctx)) if kubectl_done is not None else None
    checks.append(check_crd(crd_done, platform_install=platform_install))
    # One unreachable cluster is reported once: the checks after it would only repeat it.
    down = unreachable(crd_done)
    secret = dep.model.get("hfTokenSecret")
    later = [
        (
            "platform release",
            helm_done is not None,
            lambda: check_platform(
                attempt(platform_argv(ctx, values["platform"]["namespace"])),
                install=platform_install,
                namespace=values["platform"]["namespace"],
            ),
        ),
        (
            "namespace",
            kubectl_done is not None,
            lambda: check_namespace(
                attempt(namespace_argv(ctx, dep.namespace)),
                dep.namespace,
                create=bool(values["cluster"]["createNamespace"]),
            ),
        ),
    ]
    if secret:
        later.append(
            (
                "HF token Secret",
                kubectl_done is not None,
                lambda: check_secret(attempt(secret_keys_argv(ctx, dep.namespace, secret)), secret, dep.namespace),
            )
        )
    for name, tool_there, check in later:
        if down:
            checks.append(
                Check(
                    name,
                    SKIPPED,
                    "the cluster is not reachable (see Dynamo CRDs)",
                    "check `kubectl cluster-info`, your VPN and kubeconfig",
                )
            )
        elif not tool_there:
            tool = "helm" if name == "platform release" else "kubectl"
            checks.append(Check(name, SKIPPED, f"{tool} is not installed", proc.INSTALL_HINTS[tool]))
        else:
            checks.append(check())
    if not secret:
        checks.append(Check("HF token Secret", OK, "model.hfTokenSecret is not set (public models need none)"))
    return _result(env, target, context, checks)


def local_ports(dep) -> list[int]:
    """The ports a local run binds: local.httpPort, then one system port per worker process."""
    model = dep.model

    def replicas(role: str) -> int:
        return int((model.get(role) or {}).get("replicas", 1))

    workers = replicas("decode") + (replicas("prefill") if model.get("disaggregation") else 0)
    http = int(dep.values["local"]["httpPort"])
    return list(range(http, http + 1 + workers))


def _local_checks(project, dep, environ) -> list[Check]:
    from composer import bench
    from composer.local import ports as portmod
    from composer.local import target
    from composer.local.runtime import process_alive, read_state

    checks = check_venvs(environ, dep.version)
    wanted = local_ports(dep)
    state_dir = target.state_dir(project.root, dep.env)
    try:
        state = read_state(state_dir) or {"processes": []}
    except Exception:  # a broken state file is `compose status`'s to report
        state = {"processes": []}
    ours = [port for pr in state["processes"] if process_alive(pr) for port in pr["ports"]]
    busy = {}
    for port in wanted:
        if not portmod.port_free(port):
            who = portmod.holder(port)
            busy[port] = f"port {port} is in use" + (f" by {who}" if who else "")
    checks.append(check_ports(wanted, busy, ours))
    checks.append(
        check_disk(
            [state_dir, bench.results_dir(project.root, dep.env).parent], lambda path: shutil.disk_usage(path).free
        )
    )
    return checks


def _result(env, target, context, checks: list[Check]) -> dict[str, Any]:
    return {
        "environment": env,
        "target": target,
        "kubeContext": context,
        "checks": [c.as_dict() for c in checks],
        "summary": summary(checks),
        "ok": not any(c.status == FAILED for c in checks),
    }


def format_text(result: Mapping[str, Any]) -> str:
    head = (
        "doctor: tools only (pass --env for the environment's checks)"
        if not result["environment"]
        else (
            f"doctor: environment {result['environment']} (target {result['target'] or '?'}"
            + (f", kube context {result['kubeContext']})" if result.get("kubeContext") else ")")
        )
    )
    checks = result["checks"]
    width = max([len(c["name"]) for c in checks] + [4])
    lines = [head]
    for c in checks:
        mark = {OK: "ok", FAILED: "FAILED", SKIPPED: "skipped"}[c["status"]]
        lines.append(f"  {mark:<7}  {c['name']:<{width}}  {c['detail']}".rstrip())
        if c["fix"] and c["status"] != OK:
            lines.append(f"  {'':<7}  {'':<{width}}  fix: {c['fix']}")
    s = result["summary"]
    lines.append(f"{s[OK]} ok, {s[FAILED]} failed, {s[SKIPPED]} skipped")
    return "\n".join(lines)


# -- helpers -----------------------------------------------------------------------------------


def _tool(name: str, done: proc.Completed | None, version: Callable[[str], str]) -> Check:
    if done is None:
        return Check(name, FAILED, "not found", proc.INSTALL_HINTS.get(name, f"install {name}"))
    if done.returncode != 0:
        return Check(
            name,
            FAILED,
            f"`{name}` does not run (exit {done.returncode}): {_first_line(done)}",
            proc.INSTALL_HINTS.get(name, f"reinstall {name}"),
        )
    try:
        found = version(done.stdout).lstrip("v")
    except (ValueError, KeyError, TypeError, IndexError):
        found = "?"
    tested, minimum = TESTED.get(name), MINIMUM.get(name)
    if minimum and older(found, minimum):
        where = _where(name)
        return Check(
            name,
            FAILED,
            f"{found} is older than {minimum}, the oldest compose works with" + (f" ({where})" if where else ""),
            proc.INSTALL_HINTS.get(name, f"install {name} {minimum} or later")
            + "; compose uses .venv/bin's before PATH",
        )
    note = f" (scripts/setup installs {tested})" if tested and found != tested else ""
    return Check(name, OK, f"{found}{note}")


def parse_version(text: str) -> tuple[int, ...] | None:
    """(major, minor, patch) from "3.15.3", "1.30.0-rc.1" or "0.166"; None when it is not one."""
    m = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    return tuple(int(x or 0) for x in m.groups()) if m else None


def older(found: str, minimum: str) -> bool:
    """Whether a version is below the minimum; an unrecognised one is not called old."""
    have, want = parse_version(found), parse_version(minimum)
    return have is not None and want is not None and have < want


def _where(name: str) -> str:
    try:
        return proc.which(name)
    except proc.ToolMissing:
        return ""


def _no_kubectl(name: str) -> Check:
    return Check(name, SKIPPED, "kubectl is not installed", proc.INSTALL_HINTS["kubectl"])


def _not_found(done: proc.Completed) -> bool:
    """kubectl's NotFound (a missing kubeconfig context is another failure)."""
    if "(NotFound)" in done.stderr:
        return True
    return bool(re.search(r"\bnot found\b", done.stderr)) and not re.search(r"context", done.stderr, re.I)


UNREACHABLE = re.compile(
    r"Unable to connect|connection refused|was refused|no such host|i/o timeout|"
    r"cluster unreachable|context \S+ does not exist|"
    r"dial tcp|TLS handshake",
    re.I,
)


def _cluster_failure(name: str, done: proc.Completed) -> Check:
    err = _first_line(done)
    if re.search(r"context .*(not found|does not exist)|no context exists", done.stderr, re.I):
        fix = "the kubeconfig has no such context: `kubectl config get-contexts`, or fix cluster.kubeContext"
    elif UNREACHABLE.search(done.stderr):
        fix = "the cluster is not reachable: check `kubectl cluster-info`, your VPN and kubeconfig"
    elif re.search(r"forbidden|Unauthorized", done.stderr, re.I):
        fix = "your credentials may not read this: ask a cluster admin for read access"
    else:
        fix = "see the error; `kubectl cluster-info` checks access"
    return Check(name, FAILED, f"`{shown(done.argv)}` failed: {err}", fix)


def shown(argv: Sequence[str]) -> str:
    """argv without its context, output and timeout flags: what a person reads."""
    out, skip = [], False
    for word in argv:
        if skip:
            skip = False
        elif word in ("--context", "--kube-context", "-o"):
            skip = True
        elif not word.startswith("--request-timeout"):
            out.append(word)
    return " ".join(out)


def _first_line(done: proc.Completed) -> str:
    return telling_line(done.stderr or done.stdout) or f"exit {done.returncode}"


def telling_line(output: str) -> str:
    """The line that says what went wrong: the last one, past helm's WARNINGs and klog's noise."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    useful = [line for line in lines if not line.startswith("WARNING") and not re.match(r"[EWI]\d{4} ", line)]
    return (useful or lines or [""])[-1]


def unreachable(done: proc.Completed | None) -> bool:
    return done is not None and done.returncode != 0 and bool(UNREACHABLE.search(done.stderr))


def _existing_parent(path: Path) -> Path:
    path = Path(path).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _gib(n: int) -> str:
    return f"{n / (1 << 30):.1f} GiB"
