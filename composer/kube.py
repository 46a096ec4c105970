"""What compose asks of kubectl: rerunning the benchmark Job, copying its artifacts back.

The artifacts live on the benchmark's PVC, and the Job's pod is gone when it finishes, so a
short-lived reader pod mounts the claim, `kubectl cp` copies it, and the pod is deleted.
argv and manifests are built by pure functions; composer.proc runs them.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from composer import bench, proc
from composer.errors import ComposeError

READER_MOUNT = "/artifacts"


def reader_pod(*, name: str, namespace: str, claim: str, image: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace,
                     "labels": {"app.kubernetes.io/managed-by": "dynamo-compose",
                                "app.kubernetes.io/component": "benchmark-reader"}},
        "spec": {
            "restartPolicy": "Never",
            "securityContext": {"runAsNonRoot": True, "runAsUser": 1000, "fsGroup": 1000,
                                "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{"name": "reader", "image": image, "command": ["sleep", "600"],
                            "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
                            "volumeMounts": [{"name": "artifacts", "mountPath": READER_MOUNT, "readOnly": True}]}],
            "volumes": [{"name": "artifacts", "persistentVolumeClaim": {"claimName": claim, "readOnly": True}}],
        },
    }


def kubectl(context: str | None, *args: str) -> list[str]:
    return ["kubectl", *(["--context", context] if context else []), *args]


def delete_jobs_argv(context: str | None, namespace: str, release: str) -> list[str]:
    """The release's benchmark Jobs, finished or not. helm recreates a missing object on upgrade,
    so deleting the Job before `helmfile sync` runs the sweep again even when nothing changed."""
    return kubectl(context, "-n", namespace, "delete", "job", "-l", f"app.kubernetes.io/instance={release}",
                   "--ignore-not-found", "--wait=true")


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
                raise ComposeError(f"{' '.join(argv[:5])}... failed (exit {done.returncode}): "
                                   f"{(done.stderr or done.stdout).strip()}")
    finally:
        proc.run(kubectl(context, "-n", namespace, "delete", "pod", pod, "--ignore-not-found", "--wait=false"))


def fetch_results(root: Path, env: str, plan, release) -> dict[str, Any]:
    """Copy the benchmark release's artifacts to results/<env>/<time>/ and summarize each run."""
    values = release.values
    claim = values["artifacts"]["persistence"].get("existingClaim") or f"{release.name}-artifacts"
    dest = bench.results_dir(root, env)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fetch_artifacts(context=plan.kube_context, namespace=release.namespace, claim=claim, image=values["image"],
                    pod=f"{release.name}-reader", dest=dest)
    recorded = recorded_gpus(dest / SUMMARY)
    return bench.collect(dest, values["runs"], gpus=values["target"].get("gpus", 0) if recorded is None else recorded)


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
