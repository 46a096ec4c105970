"""DynamoGraphDeployment documents shaped like the chart's output, for the local runtime tests."""

from __future__ import annotations

import json
from typing import Any

MODEL = "Qwen/Qwen3-0.6B"
IMAGE = "nvcr.io/nvidia/ai-dynamo/dynamo-planner:1.4.0"


def mocker_docs(
    name: str = "qwen-local",
    *,
    disagg: bool = False,
    router: str | None = None,
    decode_replicas: int = 1,
    prefill_replicas: int = 1,
    engine: dict | None = None,
) -> list[dict[str, Any]]:
    """The DGD (+ one ConfigMap per worker) the chart renders for the mocker backend."""
    engine = {"speedup_ratio": 10.0} if engine is None else engine
    fe_env = [{"name": "DYN_ROUTER_MODE", "value": router}] if router else []
    components = [
        {
            "name": "frontend",
            "type": "frontend",
            "replicas": 1,
            "podTemplate": {
                "spec": {
                    "containers": [
                        {
                            "name": "main",
                            "image": IMAGE,
                            "env": fe_env,
                            "envFrom": [{"secretRef": {"name": "hf-token-secret"}}],
                        }
                    ]
                }
            },
        }
    ]
    docs: list[dict[str, Any]] = []
    workers = (
        [("decode", "decode", decode_replicas), ("prefill", "prefill", prefill_replicas)]
        if disagg
        else [("decode", "worker", decode_replicas)]
    )
    for comp, ctype, replicas in workers:
        args = ["--model-path", MODEL, "--model-name", MODEL]
        if disagg:
            args += ["--disaggregation-mode", comp]
        args += ["--extra-engine-args", "$(DYNAMO_EXTRA_CONFIG)"]
        cm = f"{name}-{comp}-config"
        components.append(
            {
                "name": comp,
                "type": ctype,
                "replicas": replicas,
                "podTemplate": {
                    "spec": {
                        "containers": [
                            {
                                "name": "main",
                                "image": IMAGE,
                                "command": ["python3", "-m", "dynamo.mocker"],
                                "args": args,
                                "env": [
                                    {"name": "DYNAMO_EXTRA_CONFIG", "value": "/opt/dynamo/model/config.yaml"},
                                    {"name": "HF_HOME", "value": "/model-cache"},
                                    {
                                        "name": "HF_TOKEN",
                                        "valueFrom": {"secretKeyRef": {"name": "hf-token-secret", "key": "HF_TOKEN"}},
                                    },
                                ],
                                "volumeMounts": [
                                    {"name": "extra-config", "mountPath": "/opt/dynamo/model", "readOnly": True}
                                ],
                            }
                        ],
                        "volumes": [
                            {
                                "name": "extra-config",
                                "configMap": {"name": cm, "items": [{"key": "config.yaml", "path": "config.yaml"}]},
                            }
                        ],
                    }
                },
            }
        )
        docs.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": cm},
                "data": {"config.yaml": json.dumps(engine)},
            }
        )
    dgd = {
        "apiVersion": "nvidia.com/v1beta1",
        "kind": "DynamoGraphDeployment",
        "metadata": {"name": name},
        "spec": {"components": components},
    }
    return [dgd, *docs]
