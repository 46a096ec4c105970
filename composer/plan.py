"""From a validated deployment to the releases helmfile should manage: pure data, no I/O."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from composer import bench, extraobjects
from composer.dynamo import FRONTEND_PORT, PLATFORM_CHART, PLATFORM_REPO
from composer.model import MODEL_EXPRESS_PORT, Deployment

PLATFORM_RELEASE = PLATFORM_CHART
# Multi-GB model pulls and engine warm-up make Helm's 5 minute default far too short.
TIMEOUT_SECONDS = 3600


@dataclass(frozen=True)
class Release:
    name: str
    namespace: str
    chart: str  # a path relative to the project root for our charts, repo/name for remote ones
    version: str
    component: str
    values: Mapping[str, Any]
    needs: tuple[str, ...] = ()
    remote: bool = False
    # helmfile waits for Jobs by default; not for the benchmark's, which runs as long as its sweep.
    wait_for_jobs: bool = True
    patches: Mapping[str, Any] = field(default_factory=dict)  # strategicMergePatches / jsonPatches

    @property
    def id(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def labels(self) -> dict[str, str]:
        return {"component": self.component, "source": "remote" if self.remote else "local"}


@dataclass(frozen=True)
class Plan:
    env: str
    kube_context: str | None
    releases: tuple[Release, ...]
    repositories: tuple[tuple[str, str], ...] = field(default=())
    create_namespace: bool = True

    def release(self, component: str) -> Release | None:
        return next((r for r in self.releases if r.component == component), None)


def plan(dep: Deployment, chart_versions: Mapping[str, str]) -> Plan:
    """chart_versions: our local charts by directory name -> the version in their Chart.yaml."""
    releases: list[Release] = []

    def add(
        name: str, component: str, values: Mapping[str, Any], *, needs: tuple[str, ...] = (), wait_for_jobs: bool = True
    ) -> Release:
        r = Release(
            name=name,
            namespace=dep.namespace,
            chart=f"charts/{component}",
            version=chart_versions.get(component, ""),
            component=component,
            values=values,
            needs=tuple(n for n in needs if n),
            wait_for_jobs=wait_for_jobs,
            patches=dep.patches(component),
        )
        releases.append(r)
        return r

    comps = dep.components()
    platform = None
    if "platform" in comps:
        platform = Release(
            name=PLATFORM_RELEASE,
            namespace=dep.values["platform"]["namespace"],
            chart=f"{PLATFORM_REPO[0]}/dynamo-platform",
            version=dep.version,
            component="platform",
            values=platform_values(dep),
            remote=True,
            patches=dep.patches("platform"),
        )
        releases.append(platform)
    base_needs = (platform.id,) if platform else ()

    # Order (through needs): platform -> model-express -> model -> gateway -> benchmark;
    # metrics only after the platform.
    mx = model = gateway = None
    if "model-express" in comps:
        mx = add(dep.release("model-express"), "model-express", model_express_values(dep), needs=base_needs)
    model_needs = (mx.id,) if mx else base_needs
    if "model" in comps:
        model = add(dep.release("model"), "model", model_values(dep), needs=model_needs)
    serving = (model.id,) if model else model_needs
    if "inference-gateway" in comps:
        gateway = add(dep.release("gateway"), "inference-gateway", gateway_values(dep), needs=serving)
    if "benchmark" in comps:
        add(
            dep.release("benchmark"),
            "benchmark",
            benchmark_values(dep),
            needs=(gateway.id,) if gateway else serving,
            wait_for_jobs=False,
        )
    if "metrics" in comps:
        add(dep.release("metrics"), "metrics", metrics_values(dep), needs=base_needs)

    repositories = (PLATFORM_REPO,) if platform else ()
    return Plan(
        env=dep.env,
        kube_context=dep.values["cluster"].get("kubeContext"),
        releases=tuple(releases),
        repositories=repositories,
        create_namespace=dep.values["cluster"]["createNamespace"],
    )


def platform_values(dep: Deployment) -> dict[str, Any]:
    operator: dict[str, Any] = {
        # The tag otherwise follows the operator subchart's appVersion, which has lagged the
        # platform version before.
        "controllerManager": {"manager": {"image": {"tag": dep.version}}},
        # An explicit true/false instead of the chart's cluster lookup keeps template/diff stable.
        "dynamo": {"metrics": {"podMonitors": {"enabled": dep.enabled("observability")}}},
    }
    if dep.enabled("modelExpress"):
        operator["modelExpressURL"] = dep.model_express_url
    endpoint = dep.prometheus_endpoint
    if endpoint:
        # The operator gives every component PROMETHEUS_ENDPOINT from it, which the Planner reads
        # (ai-dynamo wheel 1.6.1, dynamo/planner/config/planner_config.py
        # metric_pulling_prometheus_endpoint; the same in 1.4.0).
        operator["dynamo"]["metrics"]["prometheusEndpoint"] = endpoint
    return {"dynamo-operator": operator}


def model_values(dep: Deployment) -> dict[str, Any]:
    """The model chart's values: the values file's `model` section, resolved."""
    # The Planner's Prometheus URL goes to the platform release instead.
    model = {k: v for k, v in dep.model.items() if k != "deployment"}
    # The chart takes the DGD's own metadata; `create` is compose's (whether the release exists at all).
    meta = {k: v for k, v in dep.model["deployment"].items() if k in ("labels", "annotations") and v}
    if meta:
        model["deployment"] = meta
    model["backend"] = {"type": dep.backend, "image": dep.image}
    if "planner" in model:
        model["planner"] = {k: v for k, v in model["planner"].items() if k != "prometheusEndpoint"}
        if dep.planner:
            model["planner"]["image"] = dep.planner_image
    return {"dynamoNamespace": dep.name, "dynamoVersion": dep.version, "model": model}


def model_express_values(dep: Deployment) -> dict[str, Any]:
    # The chart writes `repository:tag`; splitting at the last ':' gives back the same reference
    # for a digest too (repo@sha256 + hex).
    repository, _, tag = dep.values["modelExpress"]["image"].rpartition(":")
    return {
        # So the URL the platform gets (Deployment.model_express_url) names this Service.
        "fullnameOverride": dep.model_express_service,
        "image": {"repository": repository, "tag": tag},
        "service": {"port": MODEL_EXPRESS_PORT},
        "persistence": {"size": dep.values["modelExpress"]["storageSize"]},
        **({"hfTokenSecret": dep.model["hfTokenSecret"]} if dep.model.get("hfTokenSecret") else {}),
    }


def gateway_values(dep: Deployment) -> dict[str, Any]:
    gw = dep.values["inferenceGateway"]["gateway"]
    return {
        "fullnameOverride": dep.release("gateway"),
        "dynamoVersion": dep.version,
        "gateway": {"name": gw["name"], "namespace": gw.get("namespace", dep.namespace)},
        # With an endpoint picker, its InferencePool (whose target port is the workers' frontend
        # sidecars'); otherwise the frontend Service, which any Gateway API implementation can reach.
        "backend": {"kind": "InferencePool", "name": dep.inference_pool, "port": FRONTEND_PORT}
        if dep.epp
        else {"kind": "Service", "name": dep.frontend_service, "port": FRONTEND_PORT},
    }


ARTIFACTS_MOUNT = "/artifacts"


def benchmark_runs(dep: Deployment, *, url: str, tokenizer: str, artifact_dir: str) -> list[dict[str, Any]]:
    """The AIPerf runs of the benchmark sweep, the same for the cluster Job and the local runtime."""
    cfg = dep.values["benchmark"]["config"]
    common: dict[str, Any] = {
        "artifact_dir": artifact_dir,
        "request_count": cfg.get("requestCount"),
        "min_requests": cfg.get("minRequests"),
        "model": dep.model["name"],
        "url": url,
        "tokenizer": tokenizer,
        "isl": cfg["isl"],
        "osl": cfg["osl"],
        "warmup_request_count": cfg["warmupRequestCount"],
        "sla": cfg.get("sla"),
        "extra": bench.checked_extra_args(cfg.get("extraArgs", ())),
    }
    if cfg.get("requestRate"):
        return benchmark_rate_runs(cfg, common)
    sweep = bench.sweep_argvs(cfg["concurrency"], **common)
    return [{"name": f"c{c}", "args": argv} for c, argv in sweep]


def benchmark_rate_runs(cfg: Mapping[str, Any], common: dict[str, Any]) -> list[dict[str, Any]]:
    """A request-rate sweep: one run per rate; the one concurrency given, if any, caps the
    requests in flight at every rate (the values' check refuses more than one)."""
    concurrency = cfg.get("concurrency") or []
    cap = concurrency[0] if len(concurrency) == 1 else None
    return [
        {"name": name, "args": argv} for name, argv in bench.rate_argvs(cfg["requestRate"], concurrency=cap, **common)
    ]


def benchmark_values(dep: Deployment) -> dict[str, Any]:
    cfg = dep.values["benchmark"]["config"]
    runs = benchmark_runs(dep, url=dep.frontend_url, tokenizer=dep.model["name"], artifact_dir=ARTIFACTS_MOUNT)
    storage = cfg.get("storage", {})
    persistence: dict[str, Any] = {"size": storage.get("size", "10Gi")}
    for key in ("storageClassName", "existingClaim"):
        if storage.get(key):
            persistence[key] = storage[key]
    values = {
        "fullnameOverride": dep.release("benchmark"),
        "dynamoVersion": dep.version,
        "target": {"url": dep.frontend_url, "model": dep.model["name"], "gpus": dep.gpu_count},
        "image": dep.benchmark_image,
        "runs": runs,
        "artifacts": {"mountPath": ARTIFACTS_MOUNT, "persistence": persistence},
        "antiAffinity": {"dgdName": dep.name},
        **({"hfTokenSecret": dep.model["hfTokenSecret"]} if dep.model.get("hfTokenSecret") else {}),
        **(
            {"imagePullSecrets": [{"name": n} for n in dep.model["imagePullSecrets"]]}
            if dep.model.get("imagePullSecrets")
            else {}
        ),
    }
    # A Job's pod template cannot be changed in place: any change to what the Job runs (sweep,
    # image, target, Secrets) gets a new Job name, so `helmfile apply` replaces rather than fails.
    # The GPU count is not part of it: the pod reads it from the chart's ConfigMap when it starts,
    # so a change of replicas alone neither replaces nor reruns the benchmark.
    named = {**values, "target": {k: v for k, v in values["target"].items() if k != "gpus"}}
    values["runId"] = hashlib.sha256(json.dumps(named, sort_keys=True).encode()).hexdigest()[:8]
    return values


def metrics_values(dep: Deployment) -> dict[str, Any]:
    obs = dep.values["observability"]
    return {
        "fullnameOverride": dep.release("metrics"),
        "dynamoVersion": dep.version,
        "dgdName": dep.name,
        "namespace": dep.namespace,
        "podMonitor": {"labels": {"release": obs["prometheusRelease"]}},
        "dashboard": {"namespace": obs.get("dashboardNamespace", dep.namespace)},
    }


def rendered_objects(release: Release, *, extra: bool = True) -> list[tuple[str, str]]:
    """(kind, name) of every object our chart renders for this release's values, as its templates
    name them (tests/test_strict_values.py compares this with `helm template`). A remote chart's
    objects are not ours to know: none. extra=False leaves out the model's extraObjects (the user's,
    not the chart's own)."""
    v = release.values
    base = v.get("fullnameOverride") or release.name
    if release.remote:
        return []
    if release.component == "model":
        name = v["dynamoNamespace"]
        model = v["model"]
        configs = [("ConfigMap", cm) for cm in chart_config_maps(name, model)]
        configs += [("ConfigMap", cm) for cm in model.get("configMaps") or {}]
        configs += [("DynamoModel", lora["name"]) for lora in model.get("loras") or []]
        cd = model.get("computeDomain") or {}
        if cd.get("enabled"):  # the driver makes its channel's ResourceClaimTemplate, not the chart
            configs.append(("ComputeDomain", cd.get("name") or f"{name}-compute-domain"))
        dc = model.get("deviceClaim") or {}
        if dc.get("enabled"):
            configs.append(("ResourceClaimTemplate", dc.get("templateName") or f"{name}-gpu"))
        own = [*configs, ("DynamoGraphDeployment", name), ("Pod", f"{name}-test-frontend")]
        return own + extra_objects(release) if extra else own
    if release.component == "model-express":
        persistence = v["persistence"]
        claim = (
            []
            if persistence.get("existingClaim") or not persistence.get("enabled", True)
            else [("PersistentVolumeClaim", base)]
        )
        return [*claim, ("Service", base), ("Deployment", base)]
    if release.component == "inference-gateway":
        return [("HTTPRoute", base)]
    if release.component == "benchmark":
        persistence = v["artifacts"]["persistence"]
        claim = (
            []
            if persistence.get("existingClaim") or not persistence.get("enabled", True)
            else [("PersistentVolumeClaim", f"{base}-artifacts")]
        )
        job = f"{base}-{v['runId']}" if v.get("runId") else base
        return [*claim, ("ConfigMap", f"{base}-scripts"), ("Job", job)]
    if release.component == "metrics":
        dashboard = [("ConfigMap", f"{base}-dashboard")] if v["dashboard"].get("enabled", True) else []
        monitors = [("PodMonitor", f"{base}-frontend"), ("PodMonitor", f"{base}-worker")]
        return [*dashboard, *(monitors if v["podMonitor"].get("enabled", True) else [])]
    raise ValueError(f"no objects known for the {release.component} chart")


def extra_objects(release: Release) -> list[tuple[str, str]]:
    """(kind, name) of the model release's extraObjects, their names rendered as helm will."""
    if release.component != "model":
        return []
    return extraobjects.objects(release.values, {"Name": release.name, "Namespace": release.namespace})


def chart_config_maps(name: str, model: Mapping[str, Any]) -> list[str]:
    """The ConfigMaps the model chart renders of its own: each worker role's engine config it makes,
    the Planner's config (model.configMaps are the user's, beside them)."""
    roles = ("decode", "prefill") if model.get("disaggregation") else ("decode",)
    out = [f"{name}-{role}-config" for role in roles if makes_config(model, role)]
    if (model.get("planner") or {}).get("enabled"):
        out.append(f"{name}-planner-config")
    return out


def makes_config(model: Mapping[str, Any], role: str) -> bool:
    """Whether the model chart makes the role's engine ConfigMap (its model.extraConfig helper):
    inline config, or TRT-LLM disaggregation's default cache transceiver under compose's own flags
    (not a role's `args`, even an empty list), unless a ConfigMap is named."""
    spec = model.get(role) or {}
    cfg = spec.get("extraConfig", {})
    if cfg.get("configMapRef", {}).get("name"):
        return False
    default = model["backend"]["type"] == "trtllm" and bool(model.get("disaggregation")) and spec.get("args") is None
    return bool(cfg.get("inline")) or default
