"""What compose knows of NVIDIA Dynamo, in one place, each fact with its upstream source.

A source is a file of github.com/ai-dynamo/dynamo at a commit (`V1_4_0` unless said otherwise), or
a file inside the `ai-dynamo` wheel on PyPI. Everything that depends on the Dynamo version reads it
from here, so that supporting another version means changing this module (and its fixtures).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

UPSTREAM = "ai-dynamo/dynamo"
# main at the 1.4.0 branch cut: the parent of "chore: bump version to 1.5.0 post 1.4.0 branch cut"
V1_4_0 = "e147ceeac0563354f530b9624d0fc90ccfa6952a"

# --- Versions -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Release:
    """One supported Dynamo release line (MAJOR.MINOR): what compose renders and runs differently for it.
    Adding a line is one row in RELEASES plus its fixtures (tests/fixtures/dynamo/<version>/)."""

    line: str  # "1.6": platform.version 1.6.x is this release
    newest: str  # the newest patch release of the line compose is tested with
    # The frontend's --router-mode choices (python -m dynamo.frontend --help; the same set in the
    # 1.4.0 and 1.6.1 wheels' dynamo/frontend argument parsers).
    router_modes: tuple[str, ...]
    # The image upstream runs its in-cluster benchmark Job on: the runtime images do not carry
    # aiperf (benchmarks/incluster/benchmark_job.yaml).
    benchmark_image: str
    # TRT-LLM flags that make a worker publish what kv routing reads (dynamo/trtllm/backend_args.py:
    # --publish-kv-events from 1.4 on; 1.6 adds --publish-metrics, and its deprecated
    # --publish-events-and-metrics expands to both, dynamo/trtllm/args.py).
    trtllm_kv_flags: tuple[str, ...]
    # vLLM's --kv-transfer-config per disaggregated role, None for no flag: what upstream's DGD
    # templates pass (dynamo/profiler/templates/dgd/vllm/disagg.yaml in the ai-dynamo wheel; 1.6
    # gives prefill kv_producer and decode nothing, and dynamo/vllm/args.py refuses a prefill worker
    # without one).
    vllm_kv_transfer: Mapping[str, str | None]
    # Whether SGLang workers get --skip-tokenizer-init: upstream's DGD templates pass it up to 1.5 and
    # not in 1.6 (dynamo/profiler/templates/dgd/sglang/{agg,disagg}.yaml in the 1.5.1 and 1.6.1 wheels).
    sglang_skip_tokenizer_init: bool
    # The mocker's --extra-engine-args JSON. 1.4 and 1.5 read engine keys at the top level
    # (MockEngineArgs.from_json of the file: dynamo/mocker/config.py load_mocker_engine_args in the
    # 1.4.0 and 1.5.1 wheels) and refuse an "engine" key; 1.6 reads them under "engine" (runtime
    # keys under "dynamo") and refuses them at the top (1.6.1 wheel: the same function, through
    # normalize_mocker_config). Every line ignores --disaggregation-mode once a file is given.
    mocker_engine_args_nested: bool
    # Env the local runtime gives every process of this line, each with why.
    # DYN_EVENT_PLANE_HOST is the address the ZMQ event publishers advertise (they still bind
    # 0.0.0.0); unset, 1.6.1 advertises the host's first non-loopback IP. The name is in
    # ai-dynamo-runtime 1.6.1's dynamo/_core.abi3.so, not in 1.4.0's or 1.5.1's.
    local_env: tuple[tuple[str, str], ...] = ()


NIXL_KV_BOTH = '{"kv_connector":"NixlConnector","kv_role":"kv_both"}'
NIXL_KV_PRODUCER = '{"kv_connector":"NixlConnector","kv_role":"kv_producer"}'
ALL_ROUTER_MODES = ("round-robin", "random", "power-of-two", "kv", "direct", "least-loaded", "device-aware-weighted")

RELEASES: dict[str, Release] = {
    r.line: r
    for r in (
        Release(
            line="1.4",
            newest="1.4.0",
            router_modes=ALL_ROUTER_MODES,
            benchmark_image="dynamo-frontend",
            trtllm_kv_flags=("--publish-kv-events",),
            vllm_kv_transfer={"prefill": NIXL_KV_BOTH, "decode": NIXL_KV_BOTH},
            sglang_skip_tokenizer_init=True,
            mocker_engine_args_nested=False,
        ),
        Release(
            line="1.5",
            newest="1.5.1",
            router_modes=ALL_ROUTER_MODES,
            benchmark_image="dynamo-frontend",
            trtllm_kv_flags=("--publish-kv-events",),
            vllm_kv_transfer={"prefill": NIXL_KV_BOTH, "decode": NIXL_KV_BOTH},
            sglang_skip_tokenizer_init=True,
            mocker_engine_args_nested=False,
        ),
        Release(
            line="1.6",
            newest="1.6.1",
            router_modes=ALL_ROUTER_MODES,
            benchmark_image="dynamo-frontend",
            trtllm_kv_flags=("--publish-kv-events", "--publish-metrics"),
            vllm_kv_transfer={"prefill": NIXL_KV_PRODUCER, "decode": None},
            sglang_skip_tokenizer_init=False,
            mocker_engine_args_nested=True,
            local_env=(("DYN_EVENT_PLANE_HOST", "127.0.0.1"),),
        ),
    )
}
SUPPORTED = tuple(f"{line}.x" for line in RELEASES)  # for messages: 1.4.x, 1.5.x, 1.6.x
DEFAULT_VERSION = max(RELEASES.values(), key=lambda r: tuple(map(int, r.line.split(".")))).newest


def line(version: str) -> str:
    """MAJOR.MINOR of MAJOR.MINOR.PATCH: its key in RELEASES, when supported."""
    return ".".join(version.split(".")[:2])


def release(version: str) -> Release:
    """The release line of MAJOR.MINOR.PATCH; KeyError for an unsupported one (the schema refuses it first)."""
    return RELEASES[line(version)]


# --- The DynamoGraphDeployment custom resource ----------------------------------------------------
# deploy/operator/config/crd/bases/nvidia.com_dynamographdeployments.yaml
DGD_GROUP = "nvidia.com"
DGD_VERSION = "v1beta1"
DGD_API = f"{DGD_GROUP}/{DGD_VERSION}"
DGD_KIND = "DynamoGraphDeployment"
DGD_CRD = f"dynamographdeployments.{DGD_GROUP}"

# --- Labels the operator puts on every pod of a DGD component -------------------------------------
# deploy/operator/internal/consts/consts.go (KubeLabelDynamo*, KubeLabelMetricsEnabled)
LABEL_DGD_NAME = "nvidia.com/dynamo-graph-deployment-name"
LABEL_COMPONENT = "nvidia.com/dynamo-component"  # the component's key in the DGD, case kept
LABEL_COMPONENT_TYPE = "nvidia.com/dynamo-component-type"
LABEL_METRICS_ENABLED = "nvidia.com/metrics-enabled"

# --- Ports and images -----------------------------------------------------------------------------
# The frontend's HTTP port and its Service's (deploy/operator/internal/consts/consts.go
# DynamoServicePort); the operator names each component's objects <dgd>-<component lowercased>
# (deploy/operator/internal/dynamo/graph.go GetDynamoComponentName).
FRONTEND_PORT = 8000
IMAGE_REGISTRY = "nvcr.io/nvidia/ai-dynamo"
# Runtime images per engine (examples/backends/<engine>/deploy/*.yaml). Dynamo publishes no mocker
# image: its mocker examples run on the planner image (examples/backends/mocker/deploy/agg.yaml).
RUNTIME_IMAGES = {
    "vllm": "vllm-runtime",
    "sglang": "sglang-runtime",
    "trtllm": "tensorrtllm-runtime",
    "mocker": "dynamo-planner",
}

# The Planner's image: the upstream profiler derives it from its own image's registry and tag
# (ai-dynamo wheel 1.6.1, dynamo/profiler/utils/profile_common.py PLANNER_IMAGE_NAME and
# derive_planner_image; the same name in 1.4.0).
PLANNER_IMAGE = "dynamo-planner"
# Where the Planner's config file and, by default, its profiling results are mounted: where the upstream
# profiler mounts them (ai-dynamo wheels 1.4.0 and 1.6.1, dynamo/profiler/utils/dgd_generation.py
# PLANNER_CONFIG_MOUNT and PROFILE_DATA_MOUNT, under the image's /workspace). The model chart mounts them there.
PLANNER_CONFIG_MOUNT = "/workspace/planner_config"
PLANNER_CONFIG_FILE = f"{PLANNER_CONFIG_MOUNT}/planner_config.json"
PLANNER_PROFILE_MOUNT = "/workspace/profiling_results"
# What the Planner takes for the config keys compose fills when a config leaves them out (ai-dynamo
# wheels 1.4.0 and 1.6.1, dynamo/planner/config/planner_config.py PlannerConfig's defaults; it infers
# none of them from the graph): a config that lacks one runs as compose's only where compose fills this.
PLANNER_CONFIG_DEFAULTS = {
    "environment": "kubernetes",
    "backend": "vllm",
    "mode": "disagg",
    "profile_results_dir": "profiling_results",  # relative to the working directory
}
# Where the Planner looks for Prometheus when nothing says (ai-dynamo wheels 1.4.0 and 1.6.1,
# dynamo/planner/config/defaults.py, PROMETHEUS_ENDPOINT's default: kube-prometheus-stack in monitoring).
PLANNER_PROMETHEUS_DEFAULT = "http://prometheus-kube-prometheus-prometheus.monitoring.svc.cluster.local:9090"

# --- The platform (operator) chart ----------------------------------------------------------------
# deploy/helm/charts/platform/Chart.yaml (name dynamo-platform), published at this repository
PLATFORM_REPO = ("nvidia-dynamo", "https://helm.ngc.nvidia.com/nvidia/ai-dynamo")
PLATFORM_CHART = "dynamo-platform"

# --- Metrics --------------------------------------------------------------------------------------
# Counters the 1.4.0 frontend and workers export on /metrics (the local fault tests read them from
# running processes): requests the frontend has started, and requests a worker has served.
FRONTEND_REQUESTS_STARTED = "dynamo_frontend_requests_started_total"
COMPONENT_REQUESTS = "dynamo_component_requests_total"
