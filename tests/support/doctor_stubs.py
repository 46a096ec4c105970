"""What helm and kubectl answer `compose doctor` on a cluster with everything in place (registered
with pytest-subprocess by the doctor and debug-bundle tests)."""

import json

from composer import doctor as d

PLUGINS = "NAME\tVERSION\tDESCRIPTION\ndiff\t3.9.11\tPreview helm upgrade changes as a diff\n"
KUBECTL_VERSION = json.dumps({"clientVersion": {"gitVersion": "v1.31.2"}})
CRD = json.dumps({"spec": {"versions": [{"name": "v1alpha1", "served": True}, {"name": "v1beta1", "served": True}]}})
# what `helm list -o json` prints (test_fake_cluster runs the real thing)
PLATFORM = json.dumps(
    [
        {
            "name": "dynamo-platform",
            "namespace": "dynamo-system",
            "revision": "1",
            "status": "deployed",
            "chart": "dynamo-platform-1.4.0",
            "app_version": "1.4.0",
        }
    ]
)


def register_cluster(fp):
    """The example's dev cluster with everything in place: CRD, platform, namespace, HF Secret."""
    fp.register(d.crd_argv("dev"), stdout=CRD)
    fp.register(d.platform_argv("dev", "dynamo-system"), stdout=PLATFORM)
    fp.register(d.namespace_argv("dev", "llm"), stdout="namespace/llm\n")
    fp.register(d.secret_keys_argv("dev", "llm", "hf-token-secret"), stdout="HF_TOKEN\n")
