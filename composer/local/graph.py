"""A rendered DynamoGraphDeployment -> the local processes that run it. Pure: no I/O.

Each component replica becomes one process, started the way the Dynamo operator and the
kubelet would start its `main` container: same command and args (with `$(VAR)` expanded from
the container env), same env, ConfigMap volumes materialized as files under the state dir.
Then the local differences, all explicit here:

- `python3` is the interpreter of the ai-dynamo venv of the deployment's Dynamo version, and what
  differs between versions comes from its row in composer/dynamo.py RELEASES (`version` below);
- no etcd/NATS: `--discovery-backend file --request-plane tcp --event-plane zmq`, with the
  file store in `<state>/kv` (DYN_FILE_KV);
- everything we can choose binds to loopback: the frontend's HTTP port, the workers'
  system ports (DYN_SYSTEM_PORT, one per process so replicas never collide), the TCP request
  plane (DYN_TCP_RPC_HOST) and response stream (DYN_TCP_RESPONSE_STREAM_HOST, an interface
  name: 1.4.0 fails with an IP there, "Interface not found"). Dynamo binds its ZMQ event
  publishers to 0.0.0.0 on ephemeral ports (1.4.0 and 1.6.1); there is no setting for that, and
  1.6 only lets us choose the address they advertise (Release.local_env);
- the model comes from an offline HF cache (`model_env`, see standin.py).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from composer import dynamo, twin
from composer.dynamo import DGD_API, DGD_KIND
from composer.errors import UsageError

FRONTEND_COMMAND = ("python3", "-m", "dynamo.frontend")  # what the operator runs when none is given
LOCAL_MODULES = ("dynamo.frontend", "dynamo.mocker")
GPU_MODULES = ("dynamo.vllm", "dynamo.sglang", "dynamo.trtllm")
NOT_LOCAL_TYPES = ("planner", "epp")
PLANE_FLAGS = ("--discovery-backend", "file", "--request-plane", "tcp", "--event-plane", "zmq")
# The twin's mocker runs in real time: its perf data are a GPU's timings, not to be sped up.
TWIN_FLAGS = ("--speedup-ratio", "1", "--decode-speedup-ratio", "1")
LOOPBACK = "127.0.0.1"
MAX_SYSTEM_PORT = 32767  # Dynamo parses DYN_SYSTEM_PORT as i16 (1.4.0 and 1.6.1)
LOOPBACK_IFACE = "lo0" if sys.platform == "darwin" else "lo"
_PYTHON = re.compile(r"^python(3(\.\d+)?)?$")
SHELLS = ("sh", "bash", "dash", "zsh")


@dataclass(frozen=True)
class ProcessSpec:
    """One process of the local graph, ready for proc.spawn."""

    name: str  # "<component>-<replica>", e.g. "decode-0"; also the log file name
    component: str
    role: str  # the component type: frontend | worker | prefill | decode
    argv: tuple[str, ...]
    env: Mapping[str, str]  # on top of the caller's environment
    ports: tuple[int, ...]  # fixed ports it binds on 127.0.0.1
    files: tuple[tuple[Path, str], ...] = ()  # to write before starting (ConfigMap contents)
    notes: tuple[str, ...] = ()  # what differs from Kubernetes
    restart: str = "Always"  # the pod's restartPolicy: Always | OnFailure | Never


def plan_processes(
    docs: Sequence[Mapping[str, Any]],
    *,
    python: str,
    state_dir: Path,
    http_port: int,
    model_env: Mapping[str, str],
    system_port_base: int | None = None,
    version: str = dynamo.DEFAULT_VERSION,
    profile_data: Mapping[str, Path] | None = None,
) -> list[ProcessSpec]:
    """The processes for the one DGD in `docs`, frontend first, in component order, for Dynamo
    `version` (the deployment's platform.version). `profile_data`: component name -> the local
    twin's perf data (mocker-format NPZ); those mockers run at that GPU's speed.

    Worker system ports are allocated consecutively from `system_port_base` (default
    `http_port + 1`), one per worker process.
    """
    dgd = find_dgd(docs)
    configmaps = {
        d["metadata"]["name"]: dict(d.get("data") or {})
        for d in docs
        if d.get("kind") == "ConfigMap" and d.get("metadata", {}).get("name")
    }
    spec = dgd.get("spec") or {}
    namespace = str(dgd.get("metadata", {}).get("name") or "dynamo")
    components = list(spec.get("components") or [])
    frontends = [c for c in components if c.get("type") == "frontend"]
    if len(frontends) != 1:
        raise UsageError(
            f"DynamoGraphDeployment {namespace}: a local run needs exactly one component of "
            f"type frontend, found {len(frontends)}"
        )
    release = dynamo.release(version)
    shared_env = _env_entries(spec.get("env"))
    next_port = http_port + 1 if system_port_base is None else system_port_base
    base_env = {
        "DYN_NAMESPACE": namespace,
        "DYN_FILE_KV": str(state_dir / "kv"),
        "DYN_TCP_RPC_HOST": LOOPBACK,
        "DYN_TCP_RESPONSE_STREAM_HOST": LOOPBACK_IFACE,
        "DYN_SDK_DISABLE_ANSI_LOGGING": "1",
        "PYTHONUNBUFFERED": "1",
        **dict(release.local_env),
        **model_env,
    }
    skipped = [
        f"component {c.get('name')} (type {c.get('type')}) is not run locally"
        for c in components
        if c.get("type") in NOT_LOCAL_TYPES
    ]
    # model.loras: the operator loads them into Kubernetes pods; the local workers serve the base model only
    skipped += [
        f"DynamoModel {d.get('metadata', {}).get('name')} (LoRA adapter) is not loaded locally"
        for d in docs
        if d.get("kind") == "DynamoModel"
    ]
    specs: list[ProcessSpec] = []
    for comp in frontends + [c for c in components if c.get("type") not in ("frontend", *NOT_LOCAL_TYPES)]:
        for spec in _component_processes(
            comp,
            configmaps,
            shared_env,
            base_env,
            python,
            state_dir,
            http_port,
            next_port,
            skipped if comp is frontends[0] else [],
            release,
            (profile_data or {}).get(str(comp.get("name"))),
        ):
            specs.append(spec)
            if spec.role != "frontend":
                next_port += 1
    _check_ports(specs)
    return specs


def _component_processes(
    comp, configmaps, shared_env, base_env, python, state_dir, http_port, first_port, notes, release, profile=None
):
    """One ProcessSpec per replica of one component; workers take ports from `first_port` on."""
    name = str(comp.get("name") or "")
    if not name:
        raise UsageError("DynamoGraphDeployment component without a name")
    role = str(comp.get("type") or "worker")
    replicas = int(comp.get("replicas") if comp.get("replicas") is not None else 1)
    notes = list(notes)
    if role == "frontend" and replicas != 1:
        notes.append(f"frontend replicas: {replicas} -> 1 locally (one HTTP port)")
        replicas = 1
    container = _main_container(comp)
    if role != "frontend" and not (container or {}).get("command"):
        raise UsageError(
            f"component {name} (type {role}) has no command: a local run needs `python3 -m dynamo.<module>`"
        )
    command, env, files = _container_view(comp, container, configmaps, shared_env, state_dir)
    module, args = _module_and_args(name, role, command)
    files = _patch_mocker_config(module, args, files, notes, release)
    argv = [python, "-m", module, *_strip_flags(args, _flags_we_set(role, twin=profile is not None)), *PLANE_FLAGS]
    if profile is not None:
        if module != "dynamo.mocker":
            raise UsageError(f"component {name} runs {module}: the local twin's timings are for the mocker")
        argv += [*TWIN_FLAGS, "--planner-profile-data", str(profile)]
        files = _with_twin_timing(name, args, files, profile, release)
    out = []
    for i in range(replicas):
        penv = {**env, **base_env}
        if role == "frontend":
            penv.setdefault("DYN_ROUTER_MODE", "round-robin")  # the frontend's default, made visible
            penv.pop("DYN_SYSTEM_PORT", None)
            ports = (http_port,)
            full = argv + ["--http-host", LOOPBACK, "--http-port", str(http_port)]
        else:
            ports = (first_port + i,)
            # The operator gives workers this too: /health then reports ready once `generate` serves.
            penv.update(
                DYN_SYSTEM_HOST=LOOPBACK,
                DYN_SYSTEM_PORT=str(ports[0]),
                DYN_SYSTEM_USE_ENDPOINT_HEALTH_STATUS='["generate"]',
            )
            full = argv
        out.append(
            ProcessSpec(
                f"{name}-{i}", name, role, tuple(full), penv, ports, tuple(files), tuple(notes), _restart_policy(comp)
            )
        )
    return out


def _restart_policy(comp: Mapping[str, Any]) -> str:
    """The pod template's restartPolicy; Always, as for a Deployment's pods, when none is set."""
    policy = ((comp.get("podTemplate") or {}).get("spec") or {}).get("restartPolicy") or "Always"
    if policy not in ("Always", "OnFailure", "Never"):
        raise UsageError(f"component {comp.get('name')}: restartPolicy {policy!r} is not Always, OnFailure or Never")
    return str(policy)


def find_dgd(docs: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    found = [d for d in docs if isinstance(d, Mapping) and d.get("kind") == DGD_KIND]
    if len(found) != 1:
        raise UsageError(f"expected one {DGD_KIND} in the rendered chart, found {len(found)}")
    dgd = found[0]
    if dgd.get("apiVersion") != DGD_API:
        raise UsageError(f"{DGD_KIND} apiVersion {dgd.get('apiVersion')!r}: local runs read {DGD_API} only")
    return dgd


def served_model(docs: Sequence[Mapping[str, Any]]) -> str | None:
    """The model name the workers register (--model-name, else --model-path), if any."""
    for comp in (find_dgd(docs).get("spec") or {}).get("components") or []:
        if comp.get("type") == "frontend":
            continue
        c = _main_container(comp) or {}
        args = [str(a) for a in (c.get("command") or []) + (c.get("args") or [])]
        for flag in ("--model-name", "--model-path", "--model"):
            value = _flag_value(args, flag)
            if value:
                return value
    return None


def expand(text: str, env: Mapping[str, str]) -> str:
    """Kubernetes `$(VAR)` expansion: defined names are replaced, undefined ones stay as
    written, and `$$` is an escaped `$` (so `$$(VAR)` gives a literal `$(VAR)`)."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "$" and i + 1 < n:
            nxt = text[i + 1]
            if nxt == "$":
                out.append("$")
                i += 2
                continue
            if nxt == "(":
                end = text.find(")", i + 2)
                if end != -1:
                    name = text[i + 2 : end]
                    out.append(env[name] if name in env else text[i : end + 1])
                    i = end + 1
                    continue
        out.append(c)
        i += 1
    return "".join(out)


# -- container -------------------------------------------------------------------------------


def _main_container(comp: Mapping[str, Any]) -> Mapping[str, Any] | None:
    containers = ((comp.get("podTemplate") or {}).get("spec") or {}).get("containers") or []
    for c in containers:
        if c.get("name") == "main":
            return c
    return containers[0] if containers else None


def _env_entries(entries: Any) -> list[tuple[str, str]]:
    """(name, value) pairs; entries with valueFrom (secrets, field refs) don't exist locally."""
    return [(str(e["name"]), str(e.get("value", ""))) for e in entries or [] if "valueFrom" not in e]


def _container_view(comp, container, configmaps, shared_env, state_dir):
    """(command+args, env, files) with $(VAR) expanded and mount paths made local."""
    container = container or {}
    env: dict[str, str] = {}
    for name, value in shared_env + _env_entries(container.get("env")):
        env[name] = expand(value, env)  # kubelet: a value may refer to entries before it
    mounts, files = _config_mounts(comp, container, configmaps, state_dir)
    env = {k: _localize(v, mounts) for k, v in env.items()}
    command = [str(a) for a in container.get("command") or []]
    if not command and comp.get("type") == "frontend":
        command = list(FRONTEND_COMMAND)
    full = command + [str(a) for a in container.get("args") or []]
    full = [_localize(expand(a, env), mounts) for a in full]
    return full, env, files


def _config_mounts(comp, container, configmaps, state_dir):
    """ConfigMap volumes -> ([(mountPath, local path)], [(local file, content)])."""
    volumes = {v.get("name"): v for v in ((comp.get("podTemplate") or {}).get("spec") or {}).get("volumes") or []}
    mounts: list[tuple[str, str]] = []
    files: list[tuple[Path, str]] = []
    for m in container.get("volumeMounts") or []:
        vol = volumes.get(m.get("name")) or {}
        ref = vol.get("configMap")
        if ref is None:
            continue
        cm_name = ref.get("name")
        if cm_name not in configmaps:
            if ref.get("optional"):
                continue
            raise UsageError(
                f"component {comp.get('name')}: ConfigMap {cm_name!r} (volume {m.get('name')}) "
                f"is not in the rendered chart"
            )
        data = configmaps[cm_name]
        items = ref.get("items") or [{"key": k, "path": k} for k in sorted(data)]
        local_dir = state_dir / "config" / str(comp.get("name")) / str(m.get("name"))
        for item in items:
            if item["key"] not in data:
                raise UsageError(f"component {comp.get('name')}: ConfigMap {cm_name!r} has no key {item['key']!r}")
            files.append((local_dir / item["path"], str(data[item["key"]])))
        mount_path = str(m.get("mountPath", "")).rstrip("/") or "/"
        local = local_dir / m["subPath"] if m.get("subPath") else local_dir
        mounts.append((mount_path, str(local)))
    return mounts, files


def _localize(value: str, mounts: Sequence[tuple[str, str]]) -> str:
    """Rewrite a path under a mounted ConfigMap to its local copy."""
    for mount_path, local in mounts:
        if value == mount_path:
            return local
        if value.startswith(mount_path + "/"):
            return local + value[len(mount_path) :]
    return value


def _module_and_args(component: str, role: str, full: list[str]) -> tuple[str, list[str]]:
    if len(full) >= 3 and _PYTHON.match(PurePosixPath(full[0]).name) and full[1] == "-m":
        module = full[2]
        if module in LOCAL_MODULES:
            return module, full[3:]
        if module in GPU_MODULES:
            raise UsageError(
                f"component {component} runs {module}, which needs a GPU: "
                f"local runs support the mocker backend only (dynamo.mocker)"
            )
    if len(full) >= 2 and PurePosixPath(full[0]).name in SHELLS and full[1] == "-c":
        # a script's own python and flags cannot be swapped for the venv's and the local ones
        raise UsageError(
            f"component {component} runs a shell script (`{full[0]} -c ...`): local runs start "
            f"`python3 -m dynamo.mocker` themselves, so the command must be that; in the local environment "
            f"set the role's command and args to null for compose's (as `compose import` does)"
        )
    raise UsageError(
        f"component {component} runs `{' '.join(full[:3])} ...`: "
        f"local runs support `python3 -m` {' or '.join(LOCAL_MODULES)} only"
    )


def _flags_we_set(role: str, *, twin: bool = False) -> tuple[str, ...]:
    ours = tuple(f for f in PLANE_FLAGS if f.startswith("--"))
    if twin:
        ours += (*TWIN_FLAGS[::2], "--planner-profile-data")
    return ours + (("--http-host", "--http-port") if role == "frontend" else ())


def _strip_flags(args: Sequence[str], flags: Sequence[str]) -> list[str]:
    """Drop `--flag value` and `--flag=value` for flags we set ourselves."""
    out: list[str] = []
    skip = False
    for a in args:
        if skip:
            skip = False
            continue
        if a in flags:
            skip = True
            continue
        if a.split("=", 1)[0] in flags and "=" in a:
            continue
        out.append(a)
    return out


def _flag_value(args: Sequence[str], flag: str) -> str | None:
    for i, a in enumerate(args):
        if a == flag and i + 1 < len(args):
            return args[i + 1]
        if a.startswith(flag + "="):
            return a.split("=", 1)[1]
    return None


def _patch_mocker_config(module, args, files, notes, release):
    """Dynamo's mocker takes the worker type from --extra-engine-args when given and ignores
    --disaggregation-mode (1.4.0 to 1.6.1); a prefill worker then answers without disaggregated
    params and every request fails. Add the mode to our local copy of the file when it is missing,
    where the release reads it: `worker_type`, or `engine.worker_type` in the nested form."""
    if module != "dynamo.mocker":
        return files
    mode = _flag_value(args, "--disaggregation-mode")
    mode = mode or ("prefill" if "--is-prefill-worker" in args else "decode" if "--is-decode-worker" in args else None)
    path = _flag_value(args, "--extra-engine-args")
    if mode not in ("prefill", "decode") or not path:
        return files

    def add_mode(local: Path, data: Any) -> dict | None:
        patched = _with_worker_type(data, mode, release.mocker_engine_args_nested)
        if patched is not None:
            key = "engine.worker_type" if release.mocker_engine_args_nested else "worker_type"
            notes.append(
                f"added {key}={mode} to the local copy of {local.name}: the mocker ignores "
                f"--disaggregation-mode when --extra-engine-args is given"
            )
        return patched

    return _edit_json_file(files, path, add_mode)


def _with_twin_timing(name, args, files, profile, release):
    """Once --extra-engine-args is given the mocker reads its whole config from that file and
    ignores --planner-profile-data and --speedup-ratio (1.4.0 and 1.6.1): the twin's timing goes
    into the local copy of the file, in the release's shape (composer/twin.py mocker_timing)."""
    path = _flag_value(args, "--extra-engine-args")
    if not path:
        return files
    timing = twin.mocker_timing(profile, nested=release.mocker_engine_args_nested)

    def add_timing(local: Path, data: Any) -> dict:
        if not isinstance(data, dict) or not isinstance(data.get("engine", {}), dict):
            raise UsageError(
                f"component {name}: the local twin puts its timing into the mocker's engine config "
                f"{local.name}, which is not a JSON object"
            )
        if "engine" in timing:
            return {**data, "engine": {**data.get("engine", {}), **timing["engine"]}}
        return {**data, **timing}

    return _edit_json_file(files, path, add_timing)


def _edit_json_file(files, path: str, edit: Callable[[Path, Any], dict | None]):
    """`files` with the one at `path` replaced by edit(its path, its JSON or None), unless edit
    returns None."""
    out = []
    for local, content in files:
        if str(local) == path:
            try:
                data = json.loads(content)
            except ValueError:
                data = None
            edited = edit(local, data)
            if edited is not None:
                content = json.dumps(edited)
        out.append((local, content))
    return out


def _with_worker_type(data: Any, mode: str, nested: bool) -> dict | None:
    """The mocker config with the worker type added, or None when it has one or is not an object."""
    if not isinstance(data, dict):
        return None
    if not nested:
        return None if "worker_type" in data else {**data, "worker_type": mode}
    engine = data.get("engine", {})
    if not isinstance(engine, dict) or "worker_type" in engine:
        return None
    return {**data, "engine": {**engine, "worker_type": mode}}


def _check_ports(specs: Sequence[ProcessSpec]) -> None:
    owner: dict[int, str] = {}
    for s in specs:
        for p in s.ports:
            if not 0 < p < 65536:
                raise UsageError(f"{s.name}: port {p} is out of range")
            if s.role != "frontend" and p > MAX_SYSTEM_PORT:
                raise UsageError(
                    f"{s.name}: system port {p} is above {MAX_SYSTEM_PORT}, and Dynamo reads "
                    f"DYN_SYSTEM_PORT as a signed 16-bit number; use a lower HTTP port "
                    f"(worker ports follow it) or a lower system port base"
                )
            if p in owner:
                raise UsageError(f"port {p} is used by both {owner[p]} and {s.name}")
            owner[p] = s.name
