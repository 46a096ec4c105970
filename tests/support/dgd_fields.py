"""DynamoGraphDeployment fields Dynamo added after 1.4.0, as changes to a v1beta1 DGD spec, with
the error a CRD that lacks the field gives (tests/support/validate.py's wording), and whether the
newest CRD that could be read (1.6.1/crds, main of 2026-08-21) has it."""

from collections.abc import Callable

GROVE = {"apiVersion": "grove.io/v1alpha1", "target": "PodCliqueSet", "value": {}}


def _set(path: list, key: str, value) -> Callable[[dict], None]:
    def change(spec: dict) -> None:
        node = spec
        for step in path:
            node = node[step]
        node[key] = value

    return change


# field -> (change to spec, error without it, whether the stand-in 1.6 CRD has it)
LATER_FIELDS = {
    "spec.providerOverride": (
        _set([], "providerOverride", GROVE),
        "spec: Additional properties are not allowed ('providerOverride' was unexpected)",
        True,
    ),
    "components[].providerOverride": (
        _set(["components", 1], "providerOverride", GROVE),
        "spec.components.1: Additional properties are not allowed ('providerOverride' was unexpected)",
        True,
    ),
    "components[].roles": (
        _set(["components", 1], "roles", [{"name": "leader", "replicas": 1}]),
        "spec.components.1: Additional properties are not allowed ('roles' was unexpected)",
        False,
    ),
    "components[].type lpx": (
        _set(["components", 1], "type", "lpx"),
        "spec.components.1.type: 'lpx' is not one of",
        False,
    ),
    "components[].lpx": (
        _set(["components", 1], "lpx", {"buildId": "b"}),
        "spec.components.1: Additional properties are not allowed ('lpx' was unexpected)",
        False,
    ),
    "components[].experimental.flagsInjection": (
        _set(["components", 1], "experimental", {"flagsInjection": "Automatic"}),
        "spec.components.1.experimental: Additional properties are not allowed ('flagsInjection' was unexpected)",
        False,
    ),
}
