"""From a validated deployment to the releases helmfile should manage: pure data, no I/O."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from composer.model import Deployment

PLATFORM_REPO = ("nvidia-dynamo", "https://helm.ngc.nvidia.com/nvidia/ai-dynamo")
PLATFORM_RELEASE = "dynamo-platform"
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

    def add(name: str, component: str, values: Mapping[str, Any], *, needs: tuple[str, ...] = (),
            chart: str | None = None, namespace: str | None = None) -> Release:
        r = Release(name=name, namespace=namespace or dep.namespace, chart=chart or f"charts/{component}",
                    version=chart_versions.get(component, ""), component=component, values=values,
                    needs=tuple(n for n in needs if n))
        releases.append(r)
        return r

    platform = None
    if dep.target == "kubernetes" and dep.values["platform"]["install"]:
        platform = Release(name=PLATFORM_RELEASE, namespace=dep.values["platform"]["namespace"],
                           chart=f"{PLATFORM_REPO[0]}/dynamo-platform", version=dep.version,
                           component="platform", values=platform_values(dep), remote=True)
        releases.append(platform)
    base_needs = (platform.id,) if platform else ()

    model = None
    if dep.model["deployment"]["create"]:
        model = add(dep.release("model"), "model", model_values(dep), needs=base_needs)

    repositories = (PLATFORM_REPO,) if platform else ()
    return Plan(env=dep.env, kube_context=dep.values["cluster"].get("kubeContext"),
                releases=tuple(releases), repositories=repositories,
                create_namespace=dep.values["cluster"]["createNamespace"])


def platform_values(dep: Deployment) -> dict[str, Any]:
    operator: dict[str, Any] = {
        # The tag otherwise follows the operator subchart's appVersion, which has lagged the
        # platform version before (dynamo-notes.md §4.3).
        "controllerManager": {"manager": {"image": {"tag": dep.version}}},
        # An explicit true/false instead of the chart's cluster lookup keeps template/diff stable.
        "dynamo": {"metrics": {"podMonitors": {"enabled": dep.enabled("observability")}}},
    }
    if dep.enabled("modelExpress"):
        operator["modelExpressURL"] = dep.model_express_url
    return {"dynamo-operator": operator}


def model_values(dep: Deployment) -> dict[str, Any]:
    """The model chart's values: the values file's `model` section, resolved."""
    model = {k: v for k, v in dep.model.items() if k != "deployment"}
    model["backend"] = {"type": dep.backend, "image": dep.image}
    return {"dynamoNamespace": dep.name, "dynamoVersion": dep.version, "model": model}
