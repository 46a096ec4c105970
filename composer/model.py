"""The validated deployment: values with defaults resolved, and the names everything derives from.

Every cross-component name (Services, releases, ConfigMaps, URLs) is computed here, once, so
that the charts, the helmfile and the local runtime cannot disagree about them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from composer import dynamo
from composer.dynamo import FRONTEND_PORT, RUNTIME_IMAGES
from composer.twin import WorkerPerf

HELM_RELEASE_MAX = 53
K8S_NAME_MAX = 63
MODEL_EXPRESS_PORT = 8001  # our model-express chart's Service

# Suffixes added to dynamoNamespace to make release and object names (see `names`).
RELEASE_SUFFIXES = ("model", "benchmark", "metrics", "gateway", "model-express")
OBJECT_SUFFIXES = (
    "frontend",
    "decode",
    "prefill",
    "planner",
    "epp",
    "pool",
    "decode-config",
    "prefill-config",
    "planner-config",
    "benchmark-artifacts",
)


@dataclass(frozen=True)
class Engine:
    """The GPU engine values.yaml deploys, read before an environment swaps in the mocker: what
    the local twin simulates. tp: each worker role's tensor parallelism, all the GPUs of one
    worker (gpus x nodes), as the chart passes it."""

    backend: str
    tp: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class TwinWorker:
    """One worker role of the local twin: the mocker runs at the speed AIConfigurator gives `perf`."""

    role: str
    perf: WorkerPerf


@dataclass(frozen=True)
class Deployment:
    env: str
    values: dict[str, Any]
    engine: Engine | None = None

    @property
    def name(self) -> str:
        return self.values["dynamoNamespace"]

    @property
    def model(self) -> dict[str, Any]:
        return self.values["model"]

    @property
    def backend(self) -> str:
        return self.model["backend"]["type"]

    @property
    def namespace(self) -> str:
        return self.values["cluster"]["namespace"]

    @property
    def version(self) -> str:
        return self.values["platform"]["version"]

    @property
    def release_line(self) -> dynamo.Release:
        return dynamo.release(self.version)

    @property
    def target(self) -> str:
        return self.values["target"]

    def upstream_image(self, name: str) -> str:
        """Dynamo's image `name` of this version, from the environment's registry."""
        return f"{self.values['cluster']['imageRegistry']}/{name}:{self.version}"

    @property
    def image(self) -> str:
        return self.model["backend"].get("image") or self.upstream_image(RUNTIME_IMAGES[self.backend])

    @property
    def epp(self) -> bool:
        """Whether the graph has an endpoint picker (model.epp.enabled)."""
        return bool((self.model.get("epp") or {}).get("enabled"))

    @property
    def inference_pool(self) -> str:
        """The InferencePool the Dynamo operator makes for the graph's endpoint picker."""
        return f"{self.name}-pool"

    @property
    def planner(self) -> dict[str, Any] | None:
        """model.planner when enabled, else None."""
        planner = self.model.get("planner") or {}
        return planner if planner.get("enabled") else None

    @property
    def prometheus_endpoint(self) -> str | None:
        """The Prometheus URL the Planner reads (model.planner.prometheusEndpoint), when there is a Planner."""
        return (self.planner or {}).get("prometheusEndpoint")

    @property
    def planner_image(self) -> str:
        return (self.planner or {}).get("image") or self.upstream_image(dynamo.PLANNER_IMAGE)

    @property
    def benchmark_image(self) -> str:
        """The image the benchmark Job runs aiperf in: the one upstream runs its own on."""
        return self.values["benchmark"]["config"].get("image") or self.upstream_image(self.release_line.benchmark_image)

    @property
    def gpu_count(self) -> int:
        """GPUs the workers take: replicas x nodes x GPUs per node of each role (the chart's default:
        1 GPU, the mocker 0; one node unless multinode). A role claiming model.deviceClaim's DRA devices
        (gpus: 0) counts them as its GPUs: they are its accelerators, which per-GPU figures divide by."""
        default = 0 if self.backend == "mocker" else 1
        claimed = device_claim_roles(self.model)
        per_pod = {r: (self.model.get(r) or {}).get("gpus", default) for r in self.worker_roles}
        for r in claimed:
            per_pod[r] = per_pod[r] or self.model["deviceClaim"].get("count", 1)
        specs = {r: self.model.get(r) or {} for r in self.worker_roles}
        return sum(
            s.get("replicas", 1) * s.get("multinode", {}).get("nodeCount", 1) * per_pod[r] for r, s in specs.items()
        )

    @property
    def worker_roles(self) -> tuple[str, ...]:
        return ("decode", "prefill") if self.model["disaggregation"] else ("decode",)

    @property
    def worker_types(self) -> tuple[str, ...]:
        """The DGD component types of the workers, as the model chart renders them (model.componentType)."""
        if self.model["disaggregation"]:
            return ("prefill", "decode")
        return ("decode",) if self.epp else ((self.model.get("decode") or {}).get("type", "worker"),)

    @property
    def gpu_sku(self) -> str | None:
        return self.values["cluster"].get("gpuSku")

    @property
    def twin(self) -> tuple[TwinWorker, ...]:
        """The local twin's workers: a local run with a cluster.gpuSku and a GPU engine in
        values.yaml; empty otherwise (the mocker's timings then predict nothing)."""
        if self.target != "local" or not self.gpu_sku or self.engine is None:
            return ()
        return tuple(
            TwinWorker(
                role, WorkerPerf(self.model["name"], self.gpu_sku, self.engine.backend, self.engine.tp.get(role, 1))
            )
            for role in self.worker_roles
        )

    @property
    def twin_summary(self) -> dict[str, Any] | None:
        """What the twin simulates, as plain data (explain and the local state show it)."""
        if not self.twin:
            return None
        return {"gpu": self.gpu_sku, "backend": self.twin[0].perf.backend, "tp": {w.role: w.perf.tp for w in self.twin}}

    @property
    def twin_gpu_count(self) -> int:
        """GPUs of the deployment the twin simulates: replicas x GPUs of one worker, per role."""
        return sum((self.model.get(w.role) or {}).get("replicas", 1) * w.perf.tp for w in self.twin)

    @property
    def graph_components(self) -> tuple[str, ...]:
        return graph_components(self.model["disaggregation"], planner=self.planner is not None, epp=self.epp)

    def enabled(self, section: str) -> bool:
        return bool(self.values.get(section, {}).get("enabled"))

    def components(self) -> list[str]:
        """The releases this deployment has, by component, in install order."""
        wanted = {
            "platform": self.target == "kubernetes" and self.values["platform"]["install"],
            "model-express": self.enabled("modelExpress"),
            "model": self.model["deployment"]["create"],
            "inference-gateway": self.enabled("inferenceGateway"),
            "benchmark": self.enabled("benchmark"),
            "metrics": self.enabled("observability"),
        }
        return [c for c, on in wanted.items() if on]

    def patches(self, component: str) -> dict[str, Any]:
        return self.values.get("patches", {}).get(component, {})

    def release(self, suffix: str) -> str:
        return f"{self.name}-{suffix}"

    @property
    def frontend_service(self) -> str:
        # The operator names each component's objects <dgd>-<component> (see composer/dynamo.py).
        return f"{self.name}-frontend"

    @property
    def frontend_url(self) -> str:
        return f"http://{self.frontend_service}.{self.namespace}.svc.cluster.local:{FRONTEND_PORT}"

    @property
    def model_express_service(self) -> str:
        # The model-express release's Service (the chart names it after its fullnameOverride): one
        # per deployment, so two projects in one namespace each have their own.
        return self.release("model-express")

    @property
    def model_express_url(self) -> str:
        return f"http://{self.model_express_service}.{self.namespace}.svc.cluster.local:{MODEL_EXPRESS_PORT}"


def device_claim_roles(model: Mapping[str, Any]) -> list[str]:
    """The worker roles that claim model.deviceClaim's DRA devices (none when it is off)."""
    dc = model.get("deviceClaim")
    if not isinstance(dc, dict) or not dc.get("enabled"):
        return []
    workers = ["decode", "prefill"] if model.get("disaggregation") else ["decode"]
    roles = dc.get("roles", workers)
    return [r for r in roles if r in workers] if isinstance(roles, list) else []


def engine_of(values: Any) -> Engine | None:
    """The GPU engine a values file (without its environment) deploys, or None: no GPU engine
    (the mocker), or values too broken to say (validation of the merged file says why)."""
    model = values.get("model") if isinstance(values, dict) else None
    if not isinstance(model, dict) or not isinstance(model.get("backend"), dict):
        return None
    backend = model["backend"].get("type")
    if backend not in RUNTIME_IMAGES or backend == "mocker":
        return None
    tp = {}
    for role in ("decode", "prefill"):
        spec = model.get(role)
        spec = spec if isinstance(spec, dict) else {}
        multinode = spec.get("multinode")
        gpus = spec.get("gpus", 1)
        if gpus == 0 and role in device_claim_roles(model):  # its DRA devices are its accelerators
            gpus = model["deviceClaim"].get("count", 1)
        nodes = multinode.get("nodeCount", 1) if isinstance(multinode, dict) else 1
        if isinstance(gpus, int) and isinstance(nodes, int) and gpus > 0 and nodes > 0:
            tp[role] = gpus * nodes
    return Engine(backend, tp)


def graph_components(disaggregation: bool, *, planner: bool = False, epp: bool = False) -> tuple[str, ...]:
    """The DynamoGraphDeployment's components, by name, in the order the model chart renders them
    (their index in spec.components): what compiles `patches.model.components` into JSON patches.
    tests/test_patches.py holds this to the chart's render."""
    workers = ("decode", "prefill") if disaggregation else ("decode",)
    return ("frontend", *workers, *(("planner",) if planner else ()), *(("epp",) if epp else ()))


def derived_names(name: str) -> list[tuple[str, int]]:
    """Every name made from dynamoNamespace, with the length limit it must respect."""
    return [(f"{name}-{s}", HELM_RELEASE_MAX) for s in RELEASE_SUFFIXES] + [
        (f"{name}-{s}", K8S_NAME_MAX) for s in OBJECT_SUFFIXES
    ]
