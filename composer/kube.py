"""What compose asks of kubectl: waiting until the graph is Ready, rerunning the benchmark Job,
copying its artifacts back.

After `compose up`, the DynamoGraphDeployment's status conditions say when the graph serves
(helm does not wait for custom resources); compose polls them with `kubectl get` and, when
the graph is not Ready in time, reports the conditions that fail and the last events of its pods.
The benchmark's artifacts live on its PVC, and the Job's pod is gone when it finishes, so a
short-lived reader pod mounts the claim, `kubectl cp` copies it, and the pod is deleted.
argv and manifests are built by pure functions; composer.proc runs them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from composer import bench, proc
from composer.dynamo import DGD_CRD as DGD_RESOURCE
from composer.dynamo import LABEL_DGD_NAME as GRAPH_LABEL
from composer.errors import ComposeError, ExitCode, NotReady

READER_MOUNT = "/artifacts"
REQUEST_TIMEOUT = "--request-timeout=10s"
EXIT_NOT_READY = ExitCode.NOT_READY
POLL_SECONDS = 2.0
LAST_EVENTS = 10


def reader_pod(*, name: str, namespace: str, claim: str, image: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {
                "app.kubernetes.io/managed-by": "dynamo-compose",
                "app.kubernetes.io/component": "benchmark-reader",
            },
        },
        "spec": {
            "restartPolicy": "Never",
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": 1000,
                "fsGroup": 1000,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [
                {
                    "name": "reader",
                    "image": image,
                    "command": ["sleep", "600"],
                    "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
                    "volumeMounts": [{"name": "artifacts", "mountPath": READER_MOUNT, "readOnly": True}],
                }
            ],
            "volumes": [{"name": "artifacts", "persistentVolumeClaim": {"claimName": claim, "readOnly": True}}],
        },
    }


def kubectl(context: str | None, *args: str) -> list[str]:
    return ["kubectl", *(["--context", context] if context else []), *args]


def delete_jobs_argv(context: str | None, namespace: str, release: str) -> list[str]:
    """The release's benchmark Jobs, finished or not. helm recreates a missing object on upgrade,
    so deleting the Job before `helmfile sync` runs the sweep again even when nothing changed."""
    return kubectl(
        context,
        "-n",
        namespace,
        "delete",
        "job",
        "-l",
        f"app.kubernetes.io/instance={release}",
        "--ignore-not-found",
        "--wait=true",
    )


def delete_jobs(context: str | None, namespace: str, release: str) -> None:
    done = proc.run(delete_jobs_argv(context, namespace, release))
    if done.returncode != 0:
        raise ComposeError(f"could not remove the previous benchmark Job: {done.stderr.strip()}")


def fetch_artifacts(*, context: str | None, namespace: str, claim: str, image: str, pod: str, dest: Path) -> None:
    """Copy the whole artifacts volume to dest (which must not exist yet)."""
    manifest = json.dumps(reader_pod(name=pod, namespace=namespace, claim=claim, image=image))
    steps = [
        (kubectl(context, "apply", "-f", "-"), manifest),
        (kubectl(context, "-n", namespace, "wait", "--for=condition=Ready", f"pod/{pod}", "--timeout=300s"), None),
        (kubectl(context, "-n", namespace, "cp", f"{pod}:{READER_MOUNT}", str(dest)), None),
    ]
    try:
        for argv, stdin in steps:
            done = proc.run(argv, input=stdin)
            if done.returncode != 0:
                raise ComposeError(
                    f"{' '.join(argv[:5])}... failed (exit {done.returncode}): {(done.stderr or done.stdout).strip()}"
                )
    finally:
        proc.run(kubectl(context, "-n", namespace, "delete", "pod", pod, "--ignore-not-found", "--wait=false"))


def fetch_results(root: Path, env: str, plan, release) -> dict[str, Any]:
    """Copy the benchmark release's artifacts to results/<env>/<time>/ and summarize each run."""
    values = release.values
    claim = values["artifacts"]["persistence"].get("existingClaim") or f"{release.name}-artifacts"
    dest = bench.results_dir(root, env)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fetch_artifacts(
        context=plan.kube_context,
        namespace=release.namespace,
        claim=claim,
        image=values["image"],
        pod=f"{release.name}-reader",
        dest=dest,
    )
    recorded = recorded_gpus(dest / SUMMARY)
    return bench.collect(dest, values["runs"], gpus=values["target"].get("gpus", 0) if recorded is None else recorded)


# -- following the benchmark Job (`compose bench --follow`) -------------------------------------

# How long `kubectl logs -f` waits for the Job's pod to run (image pulls of a frontend image).
POD_RUNNING_TIMEOUT = "30m"
FOLLOW_ROUNDS = 5  # a log stream that ends before the Job does is followed again, a few times


def job_logs_argv(context: str | None, namespace: str, job: str) -> list[str]:
    return kubectl(context, "-n", namespace, "logs", "-f", f"job/{job}", f"--pod-running-timeout={POD_RUNNING_TIMEOUT}")


def job_argv(context: str | None, namespace: str, job: str) -> list[str]:
    return kubectl(context, "-n", namespace, "get", "job", job, "-o", "json", REQUEST_TIMEOUT)


def job_outcome(job: Mapping[str, Any]) -> str | None:
    """ "Complete" or "Failed" once the Job's status says so (its conditions), None while it runs."""
    for cond in (job.get("status") or {}).get("conditions") or []:
        if cond.get("type") in ("Complete", "Failed") and cond.get("status") == "True":
            return cond["type"]
    return None


def follow_job(
    context: str | None,
    namespace: str,
    job: str,
    progress: Callable[[str], None],
    *,
    timeout: float = 7 * 24 * 3600,
    poll: float = POLL_SECONDS,
) -> str:
    """Stream the Job's log (to stderr) until it ends, then wait until the Job says how it ended:
    "Complete" or "Failed". kubectl's stream can end early (a dropped connection): then it is
    followed again while the Job still runs."""
    deadline = time.monotonic() + timeout
    for _ in range(FOLLOW_ROUNDS):
        done = proc.stream(job_logs_argv(context, namespace, job), to_stderr=True)
        outcome = _await_job(context, namespace, job, deadline, poll, settle=30.0)
        if outcome:
            return outcome
        if done.returncode != 0:
            progress(f"kubectl logs ended (exit {done.returncode}); following job/{job} again")
    outcome = _await_job(context, namespace, job, deadline, poll, settle=deadline - time.monotonic())
    if outcome:
        return outcome
    raise ComposeError(f"job/{job} did not finish while it was followed; `compose bench results` fetches it later")


def _await_job(
    context: str | None, namespace: str, job: str, deadline: float, poll: float, *, settle: float
) -> str | None:
    """The Job's outcome, polled for up to `settle` seconds (its status lags its pod's end)."""
    until = min(deadline, time.monotonic() + settle)
    while True:
        done = proc.run(job_argv(context, namespace, job))
        if done.returncode == 0:
            outcome = job_outcome(json.loads(done.stdout))
            if outcome:
                return outcome
        if time.monotonic() >= until:
            return None
        time.sleep(poll)


SUMMARY = "_summary.json"


def recorded_gpus(summary: Path) -> int | None:
    """The GPU count the Job recorded with its results (its run.py read it from the chart's
    ConfigMap when it started): what these results were measured against, even when the replicas
    changed since. None when the run recorded none (a Job from an older chart)."""
    try:
        gpus = (json.loads(summary.read_text()).get("deployment") or {}).get("gpus")
    except (OSError, ValueError, AttributeError):
        return None
    return gpus if isinstance(gpus, int) and not isinstance(gpus, bool) and gpus >= 0 else None


# -- waiting until the graph is Ready -----------------------------------------------------------


def dgd_argv(context: str | None, namespace: str, name: str) -> list[str]:
    return kubectl(context, "-n", namespace, "get", DGD_RESOURCE, name, "-o", "json", REQUEST_TIMEOUT)


def pods_argv(context: str | None, namespace: str, name: str) -> list[str]:
    return kubectl(
        context, "-n", namespace, "get", "pods", "-l", f"{GRAPH_LABEL}={name}", "-o", "json", REQUEST_TIMEOUT
    )


def events_argv(context: str | None, namespace: str) -> list[str]:
    # the field selector narrows a busy namespace; the pods' names are matched here as well
    return kubectl(
        context,
        "-n",
        namespace,
        "get",
        "events",
        "--field-selector",
        "involvedObject.kind=Pod",
        "-o",
        "json",
        REQUEST_TIMEOUT,
    )


def readiness(dgd: Mapping[str, Any]) -> dict[str, Any]:
    """What a DynamoGraphDeployment's status says: Ready when its Ready condition is True and was
    set for the current spec (an upgrade leaves the last Ready=True in place until the operator
    sees the new generation). Pure: the object as `kubectl get -o json` prints it."""
    status = dgd.get("status") or {}
    conditions = [c for c in status.get("conditions") or [] if isinstance(c, Mapping)]
    generation = (dgd.get("metadata") or {}).get("generation")
    observed = [
        g
        for g in [status.get("observedGeneration")]
        + [c.get("observedGeneration") for c in conditions if c.get("type") == "Ready"]
        if g is not None
    ]
    stale = generation is not None and any(g < generation for g in observed)
    ready = next((c for c in conditions if c.get("type") == "Ready"), None)
    failing = [
        {
            "type": c.get("type"),
            "status": c.get("status"),
            "reason": c.get("reason") or "",
            "message": c.get("message") or "",
        }
        for c in conditions
        if c.get("status") != "True"
    ]
    return {
        "ready": bool(ready and ready.get("status") == "True" and not stale),
        "state": status.get("state"),
        "failing": failing,
        "hasReady": ready is not None,
        "stale": stale,
        "generation": generation,
    }


def describe(found: Mapping[str, Any]) -> str:
    """One line on where the graph stands, for the progress output."""
    if found.get("error"):
        return found["error"]
    parts = [f"state {found['state']}"] if found.get("state") else []
    if found["stale"]:
        parts.append(f"the operator has not yet reported on generation {found['generation']}")
    parts += [f"{c['type']}={c['status']}" + (f" ({c['reason']})" if c["reason"] else "") for c in found["failing"]]
    if not found["hasReady"]:
        parts.append("no Ready condition yet")
    return ", ".join(parts)


def wait_ready(
    context: str | None,
    namespace: str,
    name: str,
    *,
    timeout: float,
    progress: Callable[[str], None],
    interval: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Poll the DGD until it is Ready (every `interval`, default POLL_SECONDS); {'seconds': ...}.
    NotReady (exit 5) after `timeout` seconds, with the failing conditions and the last events of
    the graph's pods."""
    interval = POLL_SECONDS if interval is None else interval
    started = clock()
    said = None
    while True:
        found = _dgd_status(context, namespace, name)
        if found.get("ready"):
            return {"seconds": round(clock() - started, 1)}
        line = describe(found)
        if line != said:
            progress(f"waiting for DynamoGraphDeployment {name} to be Ready: {line}")
            said = line
        if clock() - started >= timeout:
            raise NotReady(not_ready_report(name, namespace, timeout, found, graph_pods(context, namespace, name)))
        sleep(interval)


def _dgd_status(context: str | None, namespace: str, name: str) -> dict[str, Any]:
    done = proc.run(dgd_argv(context, namespace, name))
    if done.returncode != 0:
        # not there yet, or the API did not answer: both may pass; the last one is reported
        return {"error": _last_line(done.stderr or done.stdout) or f"kubectl exit {done.returncode}"}
    try:
        return readiness(json.loads(done.stdout))
    except (ValueError, AttributeError, TypeError):
        return {"error": f"unexpected output of `kubectl get {DGD_RESOURCE} {name}`"}


def graph_pods(context: str | None, namespace: str, name: str) -> dict[str, Any]:
    """The graph's pods (name, phase, why a container waits) and their last events; what could not
    be read is said instead."""
    out: dict[str, Any] = {"pods": [], "events": [], "errors": []}
    done = proc.run(pods_argv(context, namespace, name))
    if done.returncode != 0:
        out["errors"].append(f"pods: {_last_line(done.stderr)}")
        return out
    try:
        items = json.loads(done.stdout).get("items") or []
    except (ValueError, AttributeError):
        items = []
    out["pods"] = [pod_summary(p) for p in items]
    if not out["pods"]:
        return out
    done = proc.run(events_argv(context, namespace))
    if done.returncode != 0:
        out["errors"].append(f"events: {_last_line(done.stderr)}")
        return out
    try:
        events = json.loads(done.stdout).get("items") or []
    except (ValueError, AttributeError):
        events = []
    out["events"] = last_events(events, [p["name"] for p in out["pods"]])
    return out


def pod_summary(pod: Mapping[str, Any]) -> dict[str, str]:
    status = pod.get("status") or {}
    waiting = [
        (c.get("state") or {}).get("waiting", {}).get("reason")
        for c in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or [])
    ]
    return {
        "name": (pod.get("metadata") or {}).get("name", "?"),
        "phase": status.get("phase") or "Unknown",
        "waiting": ", ".join(sorted({w for w in waiting if w})),
    }


def last_events(
    events: Sequence[Mapping[str, Any]], pods: Sequence[str], count: int = LAST_EVENTS
) -> list[dict[str, str]]:
    """The last `count` events about these pods, oldest first."""

    def when(e: Mapping[str, Any]) -> str:
        return (
            e.get("lastTimestamp")
            or e.get("eventTime")
            or e.get("firstTimestamp")
            or (e.get("metadata") or {}).get("creationTimestamp")
            or ""
        )

    wanted = set(pods)
    mine = [
        e
        for e in events
        if (e.get("involvedObject") or {}).get("kind") == "Pod"
        and (e.get("involvedObject") or {}).get("name") in wanted
    ]
    mine.sort(key=when)
    return [
        {
            "time": when(e),
            "pod": e["involvedObject"]["name"],
            "type": e.get("type") or "",
            "reason": e.get("reason") or "",
            "message": (e.get("message") or "").strip(),
        }
        for e in mine[-count:]
    ]


def not_ready_report(
    name: str, namespace: str, timeout: float, found: Mapping[str, Any], pods: Mapping[str, Any]
) -> str:
    lines = [
        f"DynamoGraphDeployment {name} (namespace {namespace}) is not Ready after {timeout:g} s; its releases "
        f"are installed (`compose up` again waits again, `compose debug-bundle` collects the rest)"
    ]
    if found.get("error"):
        lines.append(f"  kubectl get {DGD_RESOURCE} {name}: {found['error']}")
    else:
        if found.get("state"):
            lines.append(f"  state: {found['state']}")
        if found.get("stale"):
            lines.append(f"  the operator has not yet reported on generation {found['generation']} of the spec")
        for c in found.get("failing") or []:
            lines.append(
                f"  condition {c['type']}={c['status']}"
                + (f", reason {c['reason']}" if c["reason"] else "")
                + (f": {c['message']}" if c["message"] else "")
            )
        if not found.get("hasReady"):
            lines.append("  no Ready condition: is the Dynamo operator running? (`compose doctor`)")
    if pods["pods"]:
        lines.append(
            "  pods: "
            + ", ".join(
                f"{p['name']} {p['phase']}" + (f" ({p['waiting']})" if p["waiting"] else "") for p in pods["pods"]
            )
        )
        lines.append("  last events of its pods:" if pods["events"] else "  no events about its pods")
        lines += [f"    {e['time']} {e['pod']} {e['type']} {e['reason']}: {e['message']}" for e in pods["events"]]
    elif not pods["errors"]:
        lines.append(f"  no pods with label {GRAPH_LABEL}={name}: the operator has made none")
    lines += [f"  could not read the {err}" for err in pods["errors"]]
    return "\n".join(lines)


def endpoint(*, context: str | None, namespace: str, service: str, port: int) -> dict[str, Any]:
    """Where the graph answers: the frontend Service inside the cluster, and the port-forward that
    reaches it from this machine (local port 8000)."""
    forward = kubectl(context, "-n", namespace, "port-forward", f"svc/{service}", f"8000:{port}")
    return {
        "service": service,
        "namespace": namespace,
        "port": port,
        "url": f"http://{service}.{namespace}.svc.cluster.local:{port}",
        "portForward": " ".join(forward),
        "localUrl": "http://localhost:8000",
    }


def _last_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""


def await_graph(dep, plan, *, wait: bool, timeout: float, progress: Callable[[str], None]) -> dict[str, Any]:
    """After `compose up` installed the releases: wait until the graph is Ready (unless told not
    to), and say where it answers."""
    from composer.model import FRONTEND_PORT

    result: dict[str, Any] = {"name": dep.name, "namespace": dep.namespace, "waited": wait}
    if wait:
        result["readySeconds"] = wait_ready(
            plan.kube_context, dep.namespace, dep.name, timeout=timeout, progress=progress
        )["seconds"]
    result["endpoint"] = endpoint(
        context=plan.kube_context, namespace=dep.namespace, service=dep.frontend_service, port=FRONTEND_PORT
    )
    return result


def format_up(result: Mapping[str, Any]) -> str:
    e = result["endpoint"]
    head = (
        f"ready in {result['readySeconds']:.0f} s: DynamoGraphDeployment {result['name']} reports Ready"
        if result["waited"]
        else f"not waiting for DynamoGraphDeployment {result['name']} to be Ready (--no-wait): "
        f"`kubectl -n {result['namespace']} get {DGD_RESOURCE} {result['name']}` shows it"
    )
    return "\n".join(
        [
            head,
            f"endpoint: {e['url']} (Service {e['service']}, port {e['port']}, inside the cluster)",
            f"from this machine: {e['portForward']}   # then {e['localUrl']}/v1/models",
        ]
    )
