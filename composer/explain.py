"""The wiring report: what each switch produced and how the pieces find each other.

Everything here is derived from the same Deployment and Plan that the files are generated
from, so the report cannot drift from what is deployed.
"""

from __future__ import annotations

from typing import Any

from composer.dynamo import FRONTEND_PORT
from composer.dynamo import LABEL_COMPONENT_TYPE as TYPE_LABEL
from composer.dynamo import LABEL_DGD_NAME as DGD_LABEL
from composer.dynamo import LABEL_METRICS_ENABLED as METRICS_LABEL
from composer.model import MODEL_EXPRESS_PORT, Deployment
from composer.plan import Plan
from composer.twin import describe_tp

SWITCHES = {  # values switch -> the component its release carries
    "model.deployment.create": "model",
    "modelExpress.enabled": "model-express",
    "inferenceGateway.enabled": "inference-gateway",
    "benchmark.enabled": "benchmark",
    "observability.enabled": "metrics",
    "platform.install": "platform",
}


def explain(dep: Deployment, plan: Plan) -> dict[str, Any]:
    services = [
        {
            "name": dep.frontend_service,
            "namespace": dep.namespace,
            "port": FRONTEND_PORT,
            "made_by": "the Dynamo operator, from the DGD's frontend component",
        }
    ]
    urls = {"frontend": dep.frontend_url}
    model_express = plan.release("model-express")
    if model_express:
        services.append(
            {
                "name": dep.model_express_service,
                "namespace": dep.namespace,
                "port": MODEL_EXPRESS_PORT,
                "made_by": f"release {model_express.id}",
            }
        )
        urls["modelExpress"] = dep.model_express_url
    prometheus = dep.prometheus_endpoint
    if prometheus:
        urls["prometheus"] = prometheus  # the Planner reads it, through the platform
    selectors: dict[str, dict[str, Any]] = {}
    if plan.release("metrics"):
        # as charts/metrics renders them: the operator labels pods that serve metrics
        selectors["podMonitor/frontend"] = {DGD_LABEL: dep.name, TYPE_LABEL: "frontend", METRICS_LABEL: "true"}
        selectors["podMonitor/worker"] = {
            DGD_LABEL: dep.name,
            METRICS_LABEL: "true",
            TYPE_LABEL: ["worker", "prefill", "decode"],
        }
    if plan.release("inference-gateway"):
        gw = dep.values["inferenceGateway"]["gateway"]
        selectors["httpRoute"] = {
            "gateway": f"{gw.get('namespace', dep.namespace)}/{gw['name']}",
            "backend": f"Service/{dep.frontend_service}:{FRONTEND_PORT}",
        }
    switches = {}
    for switch, component in SWITCHES.items():
        release = plan.release(component)
        switches[switch] = release.id if release else None
    return {
        "environment": plan.env,
        "target": dep.target,
        "kubeContext": plan.kube_context,
        "deployment": {
            "name": dep.name,
            "namespace": dep.namespace,
            "model": dep.model["name"],
            "backend": dep.backend,
            "image": dep.image,
            "mode": "disaggregated" if dep.model["disaggregation"] else "aggregated",
            "routing": dep.model["routingPolicy"],
            "workerTypes": list(dep.worker_types),
            **({"twin": dep.twin_summary} if dep.twin else {}),
        },
        "releases": [
            {
                "name": r.name,
                "namespace": r.namespace,
                "chart": r.chart,
                "version": r.version,
                "component": r.component,
                "needs": list(r.needs),
                "patches": _patch_targets(r.patches),
            }
            for r in plan.releases
        ],
        "services": services,
        "urls": urls,
        "selectors": selectors,
        "switches": switches,
    }


def _patch_targets(patches) -> list[str]:
    """What each patch changes, as kind/name (and its kind of patch)."""
    out = [f"strategic-merge {p['kind']}/{p['metadata']['name']}" for p in patches.get("strategicMergePatches", [])]
    out += [
        f"json {p['target']['kind']}/{p['target']['name']}: " + ", ".join(f"{o['op']} {o['path']}" for o in p["patch"])
        for p in patches.get("jsonPatches", [])
    ]
    # compiled into JSON patches only with a render (composer/patches.py): shown as written
    out += [f"components {name}: " + ", ".join(_leaves(patch)) for name, patch in patches.get("components", {}).items()]
    return out


def _leaves(patch, prefix: str = "") -> list[str]:
    """The dotted keys a partial component sets, a container by its name ({} counts as a value:
    it adds an empty mapping)."""
    if prefix.endswith("podTemplate.spec.containers") and isinstance(patch, list):
        return [
            leaf
            for c in patch
            for leaf in _leaves({k: v for k, v in c.items() if k != "name"}, f"{prefix}[{c['name']}]")
        ]
    if not isinstance(patch, dict) or not patch:
        return [prefix]
    return [leaf for k in sorted(patch) for leaf in _leaves(patch[k], f"{prefix}.{k}" if prefix else k)]


def format_text(report: dict[str, Any]) -> str:
    d = report["deployment"]
    lines = [
        f"environment {report['environment']} (target {report['target']}"
        + (f", kube context {report['kubeContext']})" if report["kubeContext"] else ")"),
        f"deployment {d['namespace']}/{d['name']}: {d['model']} on {d['backend']} ({d['image']}), "
        f"{d['mode']}, routing {d['routing']}",
    ]
    if d.get("twin"):
        t = d["twin"]
        lines.append(f"local twin: the mocker runs at {t['gpu']}'s speed for {t['backend']} ({describe_tp(t['tp'])})")
    lines += [
        "",
        "releases (install order follows needs):",
    ]
    for r in report["releases"]:
        needs = f" <- needs {', '.join(r['needs'])}" if r["needs"] else ""
        lines.append(f"  {r['namespace']}/{r['name']}  {r['chart']} {r['version']}{needs}")
        lines += [f"      patch: {t}" for t in r["patches"]]
    lines += ["", "services:"]
    lines += [f"  {s['namespace']}/{s['name']}:{s['port']}  ({s['made_by']})" for s in report["services"]]
    lines += ["", "urls:"] + [f"  {k}: {v}" for k, v in report["urls"].items()]
    if report["selectors"]:
        lines += ["", "selectors:"]
        for name, sel in report["selectors"].items():
            # kubectl's selector syntax: `kubectl get pods -l '<this>'` lists the same pods
            lines.append(
                f"  {name}: "
                + ",".join(f"{k}={v}" if isinstance(v, str) else f"{k} in ({','.join(v)})" for k, v in sel.items())
            )
    lines += ["", "switches:"]
    lines += [f"  {k}: {v or 'off'}" for k, v in report["switches"].items()]
    return "\n".join(lines) + "\n"
