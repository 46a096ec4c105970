"""What the recipe tests hold of a values file's workers, shared with the tests of `compose tune`."""

from __future__ import annotations


def worker_roles(values: dict) -> list[str]:
    return ["decode", "prefill"] if values["model"].get("disaggregation") else ["decode"]


def parallelism(role: dict) -> dict[str, set[int]]:
    """Every tensor/pipeline/data-parallel size a role states, in its engine config or its flags
    (`args` and `extraArgs`; SGLang's short forms too). SGLang's data-parallel attention splits the
    tensor-parallel group rather than adding GPUs, so its --dp is not counted then."""
    inline = (role.get("extraConfig") or {}).get("inline") or {}
    args = (role.get("args") or []) + (role.get("extraArgs") or [])
    out: dict[str, set[int]] = {"tp": set(), "pp": set(), "dp": set()}
    keys = {
        "tp": ("tensor-parallel-size", "tensor_parallel_size", "tp", "tp-size"),
        "pp": ("pipeline-parallel-size", "pipeline_parallel_size", "pp", "pp-size"),
        "dp": ("data-parallel-size", "data_parallel_size", "dp", "dp-size"),
    }
    for kind, names in keys.items():
        if kind == "dp" and "--enable-dp-attention" in args:
            continue
        for k in names:
            if k in inline:
                out[kind].add(int(inline[k]))
            flag = f"--{k.replace('_', '-')}"
            if flag in args:
                out[kind].add(int(args[args.index(flag) + 1]))
    return out


def nodes(role: dict) -> int:
    return (role.get("multinode") or {}).get("nodeCount", 1)
