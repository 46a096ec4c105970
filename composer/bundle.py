"""`compose debug-bundle`: one .tar.gz with what a maintainer asks for first, secrets redacted.

Kubernetes: the DGD with its status and conditions, the namespace's pods and events, the
DGD's pods described and their recent logs (current and, after a restart, previous), the
platform namespace's pods, and every Helm release's status list, user values and manifest.
Local: state.json, `compose status`, each process's log and the rendered DGD.
Both: the generated helmfile.d/ files of the environment, the inputs, `compose explain -o
json` and `compose doctor` results.

A command that fails does not stop the bundle: its exit code and stderr are recorded in
manifest.json and in `<member>.error.txt`. Every member goes through composer.redact; members
are written in sorted order.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from composer import doctor, proc
from composer.errors import ComposeError, InvalidValues
from composer.explain import DGD_LABEL
from composer.fault import COMPONENT_LABEL
from composer.kube import kubectl
from composer.redact import redact

BUNDLE_VERSION = 1
LOG_TAIL_LINES = 2000  # kubectl logs --tail
LOG_TAIL_BYTES = 4 << 20  # local logs: the last 4 MiB


@dataclass
class Bundle:
    members: dict[str, str] = field(default_factory=dict)
    steps: list[dict[str, Any]] = field(default_factory=list)

    def add(self, name: str, text: str) -> None:
        self.members[name] = redact(name, text)

    def command(self, name: str, argv: Sequence[str], cwd: Path | None = None) -> proc.Completed | None:
        """Run a read-only command; its stdout becomes member `name`, a failure `name.error.txt`."""
        try:
            done = proc.run(argv, cwd=cwd)
        except proc.ToolMissing as e:
            self._failed(name, argv, None, str(e))
            return None
        if done.returncode != 0:
            self._failed(name, argv, done.returncode, done.stderr or done.stdout)
            return done
        self.add(name, done.stdout)
        self.steps.append({"member": name, "argv": list(argv), "exit": 0, "ok": True})
        return done

    def step(self, name: str, what: str, fn: Callable[[], str]) -> None:
        """A step that is not a command (a report computed here): its result, or its error."""
        try:
            text = fn()
        except (ComposeError, OSError, ValueError) as e:
            self._failed(name, [what], None, str(e))
            return
        self.add(name, text)
        self.steps.append({"member": name, "argv": [what], "exit": 0, "ok": True})

    def _failed(self, name: str, argv: Sequence[str], rc: int | None, stderr: str) -> None:
        self.steps.append({"member": name, "argv": list(argv), "exit": rc, "ok": False, "error": stderr.strip()})
        self.add(
            f"{name}.error.txt",
            f"$ {' '.join(argv)}\nexit: {rc if rc is not None else 'not run'}\n\n{stderr.strip()}\n",
        )


# -- argv --------------------------------------------------------------------------------------


def kube_commands(
    *, context: str | None, namespace: str, dgd: str, platform_namespace: str, releases: Sequence[tuple[str, str]]
) -> list[tuple[str, list[str]]]:
    """(member, argv) of the fixed commands; releases: (namespace, name) of every Helm release."""
    k = kubectl
    h = doctor.helm
    cmds = [
        ("cluster/dgd.yaml", k(context, "-n", namespace, "get", "dgd", dgd, "-o", "yaml")),
        ("cluster/pods.txt", k(context, "-n", namespace, "get", "pods", "-o", "wide")),
        ("cluster/pods-describe.txt", k(context, "-n", namespace, "describe", "pods", "-l", f"{DGD_LABEL}={dgd}")),
        ("cluster/events.txt", k(context, "-n", namespace, "get", "events", "--sort-by=.lastTimestamp")),
    ]
    if platform_namespace != namespace:
        cmds.append(("cluster/platform-pods.txt", k(context, "-n", platform_namespace, "get", "pods", "-o", "wide")))
    for ns in sorted({namespace, platform_namespace, *(n for n, _ in releases)}):
        cmds.append((f"helm/list-{ns}.yaml", h(context, "list", "-n", ns, "-a", "-o", "yaml")))
    for ns, name in releases:
        cmds.append((f"helm/values/{ns}/{name}.yaml", h(context, "get", "values", name, "-n", ns, "-o", "yaml")))
        cmds.append((f"helm/manifest/{ns}/{name}.yaml", h(context, "get", "manifest", name, "-n", ns)))
    return cmds


def pods_argv(context: str | None, namespace: str, dgd: str) -> list[str]:
    return kubectl(context, "-n", namespace, "get", "pods", "-l", f"{DGD_LABEL}={dgd}", "-o", "json")


def log_commands(pods: Mapping[str, Any], *, context: str | None, namespace: str) -> list[tuple[str, list[str]]]:
    """Recent logs of each pod of the DGD (from `kubectl get pods -o json`), by component;
    the previous container's too when one restarted."""
    out = []
    for pod in sorted(pods.get("items") or [], key=lambda p: p["metadata"]["name"]):
        name = pod["metadata"]["name"]
        component = (pod["metadata"].get("labels") or {}).get(COMPONENT_LABEL, "unknown")
        base = [
            "-n",
            namespace,
            "logs",
            name,
            "--all-containers",
            "--prefix",
            "--timestamps",
            f"--tail={LOG_TAIL_LINES}",
        ]
        out.append((f"logs/{component}/{name}.log", kubectl(context, *base)))
        restarts = sum(int(s.get("restartCount", 0)) for s in (pod.get("status") or {}).get("containerStatuses") or [])
        if restarts:
            out.append((f"logs/{component}/{name}.previous.log", kubectl(context, *base, "--previous")))
    return out


# -- collecting --------------------------------------------------------------------------------


def collect(project, env: str) -> Bundle:
    from composer import explain as ex
    from composer import project as p

    b = Bundle()
    for path in (project.values_file, project.env_file(env)):
        if path.is_file():
            b.add(f"compose/inputs/{project.rel(path)}", path.read_text())
    out = project.output
    for path in [out / f"{env}.yaml", *sorted((out / "values" / env).glob("*.yaml"))]:
        if path.is_file():
            b.add(f"compose/{project.rel(path)}", path.read_text())
    b.step(
        "compose/generate-check.diff",
        "compose generate --check",
        lambda: p.stale_diff(project) or f"{project.rel(out)}/ is up to date with the inputs\n",
    )
    b.step("compose/doctor.json", "compose doctor", lambda: _json(doctor.run(project, env)))
    try:
        dep = p.load_deployment(project, env)
        plan = p.plans(project, [env])[env]
    except InvalidValues as e:
        b.add("compose/values-problems.txt", str(e) + "\n")
        return b
    b.step("compose/explain.json", "compose explain -o json", lambda: _json(ex.explain(dep, plan)))
    if dep.target == "local":
        _collect_local(b, project, dep, plan)
    else:
        _collect_kube(b, dep, plan)
    return b


def _collect_kube(b: Bundle, dep, plan) -> None:
    from composer import guard

    context = plan.kube_context  # the environment's; without one, kubectl's current context
    b.add(
        "compose/kube-context.txt",
        f"environment pins: {plan.kube_context or '-'}\n"
        f"current: {guard.current_context(guard.kubeconfig_paths()) or '-'}\n",
    )
    releases = [(r.namespace, r.name) for r in plan.releases]
    for name, argv in kube_commands(
        context=context,
        namespace=dep.namespace,
        dgd=dep.name,
        platform_namespace=dep.values["platform"]["namespace"],
        releases=releases,
    ):
        b.command(name, argv)
    done = b.command("cluster/dgd-pods.json", pods_argv(context, dep.namespace, dep.name))
    if done is not None and done.returncode == 0:
        try:
            pods = json.loads(done.stdout)
        except ValueError:
            pods = {}
        for name, argv in log_commands(pods, context=context, namespace=dep.namespace):
            b.command(name, argv)


def _collect_local(b: Bundle, project, dep, plan) -> None:
    from composer.local import target
    from composer.local.runtime import STATE_FILE

    state_dir = target.state_dir(project.root, dep.env)
    state = state_dir / STATE_FILE
    if state.is_file():
        b.add("local/state.json", state.read_text())
    else:
        b.add("local/state.txt", f"no {STATE_FILE}: nothing runs locally for {dep.env!r}\n")
    b.step("local/status.json", "compose status -o json", lambda: _json(target.status(project.root, dep.env)))
    for log in sorted((state_dir / "logs").glob("*.log")):
        b.add(f"local/logs/{log.name}", _tail_bytes(log))
    b.step(
        "local/rendered.yaml",
        "helm template (the model release)",
        lambda: _yaml_docs(target.rendered(project.root, plan)),
    )


# -- writing -----------------------------------------------------------------------------------


def default_output(env: str) -> Path:
    return Path(f"compose-debug-{env}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}.tar.gz")


def write(bundle: Bundle, output: Path, *, env: str) -> dict[str, Any]:
    """The archive: every member under one top directory, in sorted order, plus manifest.json."""
    output = Path(output)
    top = output.name[: -len(".tar.gz")] if output.name.endswith(".tar.gz") else output.stem
    created = datetime.now(timezone.utc)
    failed = [s["member"] for s in bundle.steps if not s["ok"]]
    manifest = {
        "bundle": BUNDLE_VERSION,
        "environment": env,
        "created": created.isoformat(timespec="seconds"),
        "steps": bundle.steps,
        "failed": failed,
        "members": sorted([*bundle.members, "manifest.json"]),
    }
    members = {**bundle.members, "manifest.json": redact("manifest.json", _json(manifest))}
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.{os.getpid()}.tmp")
    try:
        with tarfile.open(tmp, "w:gz") as tar:
            for name in sorted(members):
                data = members[name].encode()
                info = tarfile.TarInfo(f"{top}/{name}")
                info.size, info.mtime, info.mode = len(data), int(created.timestamp()), 0o644
                tar.addfile(info, io.BytesIO(data))
        os.chmod(tmp, 0o600)
        os.replace(tmp, output)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return {
        "path": str(output),
        "members": len(members),
        "steps": len(bundle.steps),
        "failed": failed,
        "errors": {s["member"]: doctor.telling_line(s["error"]) for s in bundle.steps if not s["ok"]},
    }


def debug_bundle(project, env: str, output: Path | None = None) -> dict[str, Any]:
    from composer import project as p

    p.check_env_name(project, env)
    return write(collect(project, env), output or default_output(env), env=env)


def format_text(result: Mapping[str, Any]) -> str:
    lines = [f"wrote {result['path']}: {result['members']} files, secrets redacted"]
    if result["failed"]:
        lines.append(
            f"{len(result['failed'])} of {result['steps']} steps failed (recorded in the bundle, "
            f"manifest.json and <member>.error.txt):"
        )
        lines += [f"  {m}: {e}" for m, e in result["errors"].items()]
    return "\n".join(lines)


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, default=str) + "\n"


def _yaml_docs(docs: Sequence[Any]) -> str:
    from composer.yaml import dump

    return "---\n".join(dump(d) for d in docs)


def _tail_bytes(path: Path, limit: int = LOG_TAIL_BYTES) -> str:
    size = path.stat().st_size
    with open(path, "rb") as f:
        if size > limit:
            f.seek(size - limit)
        data = f.read()
    text = data.decode(errors="replace")
    return (f"[... first {size - limit} bytes left out ...]\n" + text) if size > limit else text
