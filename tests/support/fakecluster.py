"""A fake Kubernetes cluster that the real helm and helmfile can deploy to, for tests.

Two halves in one file:

* the server, run as its own process (`python tests/support/fakecluster.py --resource ...`):
  an in-memory Kubernetes API on 127.0.0.1 built on PyPI `kmock` (its KubernetesEmulator), with
  the three changes helm 3.15 needs:
    1. `/api/v1` discovery says `groupVersion: v1` (kmock says `/v1`, and client-go's RESTMapper then
       finds no ConfigMap kind);
    2. PUT replaces an object (kmock answers 404, so helm's release Secret would stay pending-install);
    3. `?labelSelector=` filters lists (kmock ignores it, so helm would see other releases' Secrets).
  It also serves Namespaces (which kmock cannot: objects may only be created in a namespace that
  exists, as on an apiserver), and two test-only endpoints: `/_fake/requests` (every request, in
  order: method, path, object name, status) and `/_fake/objects` (every live object). It binds an ephemeral port on 127.0.0.1, prints
  `listening on http://127.0.0.1:PORT` on its first line, and exits on SIGTERM/SIGINT.

* the pytest side: the `fake_cluster` fixture starts that process, writes a 0600 kubeconfig, gives
  helm its own HELM_*_HOME, and at teardown stops the server by PID and checks that it is gone; the
  `stub_chart_repo` fixture serves a stand-in `dynamo-platform` chart over HTTP on 127.0.0.1.

Like an apiserver, it refuses a change to a Job's pod template (422, `field is immutable`).

What the fake cannot do (a fake, not an apiserver): no OpenAPI (pass helm
`--disable-openapi-validation`, and never `--create-namespace`: helm validates the Namespace object
against OpenAPI regardless), no controllers (nothing becomes ready by itself; only `--wait` on kinds
helm does not wait for is safe; a test plays the Dynamo operator with `FakeCluster.set_status`,
and creates pods and events itself), no CRD lifecycle (declare custom kinds with --resource instead),
PATCH is a plain recursive merge. /version says v1.30.0 (--kube-version).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Custom resource kinds our charts render, as GROUP/VERSION/PLURAL=Kind.
CHART_KINDS = (
    "nvidia.com/v1beta1/dynamographdeployments=DynamoGraphDeployment:dgd",
    "monitoring.coreos.com/v1/podmonitors=PodMonitor",
    "gateway.networking.k8s.io/v1/httproutes=HTTPRoute",
)
STARTUP_SECONDS = 20
# What /version reports (kmock's own says 1.26, below our charts' kubeVersion floor).
KUBE_VERSION = "1.30.0"


# ---------------------------------------------------------------------------------------------
# The server (runs in its own process; imports kmock/aiohttp only there).
# ---------------------------------------------------------------------------------------------


def selector_matches(labels: dict, selector: str) -> bool:
    """Equality-based label selectors, the kind helm sends: a=b, a==b, a!=b, a, !a (comma = and)."""
    for term in (t.strip() for t in selector.split(",")):
        if not term:
            continue
        if "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key) == value:
                return False
        elif "=" in term:
            key, value = re.split("==?", term, maxsplit=1)
            if labels.get(key) != value:
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


NAMESPACES_PATH = re.compile(r"^/api/v1/namespaces/?$")
NAMESPACE_PATH = re.compile(r"^/api/v1/namespaces/([^/]+)/?$")


def _status(code: int, reason: str, message: str, **details: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Status",
        "metadata": {},
        "status": "Failure",
        "code": code,
        "reason": reason,
        "message": message,
        "details": details,
    }


def _is_job(request) -> bool:
    res = request.resource
    return res is not None and res.group == "batch" and res.plural == "jobs" and not request.subresource


def _emulator_class():
    import aiohttp.web
    import kmock

    class Emulator(kmock.KubernetesEmulator):
        """kmock's emulator, made good enough for helm, plus Namespaces and a request log."""

        def __attrs_post_init__(self) -> None:
            super().__attrs_post_init__()
            self.log: list[dict[str, Any]] = []
            self.kube_version = KUBE_VERSION
            self.namespaces: dict[str, dict[str, Any]] = {
                n: {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}, "status": {"phase": "Active"}}
                for n in ("default", "kube-system", "kube-public")
            }

        async def __call__(self, raw_request):
            path = raw_request.path
            if path.startswith("/_fake/") or NAMESPACES_PATH.match(path) or NAMESPACE_PATH.match(path):
                # kmock cannot parse the cluster-scoped Namespace paths: served here.
                response = await self._serve_extra(raw_request)
            else:
                response = await super().__call__(raw_request)
            name = None
            if raw_request.method == "POST" and raw_request.body_exists:
                try:  # a create names its object in the body, not in the path
                    name = ((await raw_request.json()).get("metadata") or {}).get("name")
                except (ValueError, AttributeError):
                    pass
            self.log.append(
                {
                    "method": raw_request.method,
                    "path": raw_request.path_qs,
                    "name": name or raw_request.path.rstrip("/").rsplit("/", 1)[-1],
                    "status": response.status,
                }
            )
            return response

        async def _serve_extra(self, raw_request):
            path, method = raw_request.path, raw_request.method
            if path == "/_fake/requests":
                return aiohttp.web.json_response(self.log)
            if path == "/_fake/objects":
                async with self._lock:
                    return aiohttp.web.json_response(self._dump())
            if NAMESPACES_PATH.match(path):
                if method == "GET":
                    return aiohttp.web.json_response(
                        {
                            "apiVersion": "v1",
                            "kind": "NamespaceList",
                            "metadata": {},
                            "items": list(self.namespaces.values()),
                        }
                    )
                if method == "POST":
                    doc = await raw_request.json()
                    name = (doc.get("metadata") or {}).get("name", "")
                    if name in self.namespaces:
                        return aiohttp.web.json_response(
                            _status(
                                409,
                                "AlreadyExists",
                                f'namespaces "{name}" already exists',
                                name=name,
                                kind="namespaces",
                            ),
                            status=409,
                        )
                    doc.setdefault("status", {"phase": "Active"})
                    self.namespaces[name] = doc
                    return aiohttp.web.json_response(doc, status=201)
            m = NAMESPACE_PATH.match(path)
            if m and method in ("GET", "DELETE"):
                name = m.group(1)
                if name not in self.namespaces:
                    return aiohttp.web.json_response(
                        _status(404, "NotFound", f'namespaces "{name}" not found', name=name, kind="namespaces"),
                        status=404,
                    )
                doc = self.namespaces[name] if method == "GET" else self.namespaces.pop(name)
                return aiohttp.web.json_response(doc)
            return aiohttp.web.json_response(_status(405, "MethodNotAllowed", f"{method} {path}"), status=405)

        def _dump(self) -> list[dict[str, Any]]:
            out = []
            for (res, ns, name), obj in self.objects.items():
                if not obj.deleted:
                    out.append(
                        {
                            "group": res.group,
                            "version": res.version,
                            "plural": res.plural,
                            "namespace": ns,
                            "name": name,
                            "object": obj.raw,
                        }
                    )
            return out

        async def _serve_server_version(self, request):
            doc = await super()._serve_server_version(request)
            major, minor, _ = self.kube_version.split(".")
            return {**doc, "major": major, "minor": minor, "gitVersion": f"v{self.kube_version}"}

        async def _serve_version(self, request):
            doc = await super()._serve_version(request)
            if doc.get("groupVersion", "").startswith("/"):  # change 1: "/v1" -> "v1"
                doc["groupVersion"] = doc["groupVersion"][1:]
            return doc

        async def _serve_list(self, request):
            doc = await super()._serve_list(request)
            res = request.resource  # change 4: the list says its kind, which kubectl needs to decode it
            kind = self._resources[res].kind if res in self._resources else None
            doc.setdefault("apiVersion", f"{res.group}/{res.version}" if res.group else res.version)
            doc.setdefault("kind", f"{kind}List" if kind else "List")
            selector = request.params.get("labelSelector")
            if selector:  # change 3
                doc["items"] = [
                    o
                    for o in doc["items"]
                    if selector_matches(((o.get("metadata") or {}).get("labels") or {}), selector)
                ]
            return doc

        async def _handle(self, request):
            if request.method == kmock.method.POST and request.namespace and request.namespace not in self.namespaces:
                # like an apiserver: objects go only into namespaces that exist
                ns = request.namespace
                return aiohttp.web.json_response(
                    _status(404, "NotFound", f'namespaces "{ns}" not found', name=ns, kind="namespaces"), status=404
                )
            if request.method in (kmock.method.PUT, kmock.method.PATCH) and _is_job(request) and request.name:
                refused = await self._job_template_change(request)
                if refused is not None:
                    return refused
            if request.method == kmock.method.PUT and request.resource is not None and request.name:
                key = (request.resource, request.namespace, request.name)  # change 2: PUT replaces
                async with self._lock:
                    if key not in self.objects or self.objects[key].deleted:
                        raise kmock.KubernetesObjectNotFoundError()
                    self.objects[key].create(request.data)
                    return aiohttp.web.json_response(self.objects[key].raw)
            return await super()._handle(request)

        async def _job_template_change(self, request):
            """Like an apiserver, refuse a change to a Job's pod template (immutable): a PUT with
            another template, or a PATCH that carries one (helm's three-way patch names
            spec.template only when it differs). None: the change may go ahead."""
            key = (request.resource, request.namespace, request.name)
            async with self._lock:
                if key not in self.objects or self.objects[key].deleted:
                    return None
                current = (self.objects[key].raw.get("spec") or {}).get("template")
            wanted = (
                ((request.data or {}).get("spec") or {}).get("template") if isinstance(request.data, dict) else None
            )
            if request.method == kmock.method.PUT and wanted == current:
                return None
            if wanted is None:
                return None
            message = (
                f'Job.batch "{request.name}" is invalid: spec.template: Invalid value: '
                f"core.PodTemplateSpec{{...}}: field is immutable"
            )
            return aiohttp.web.json_response(
                _status(422, "Invalid", message, name=request.name, group="batch", kind="Job"), status=422
            )

    return Emulator


async def _serve(resources: list[str], port: int, kube_version: str) -> None:
    import asyncio

    import kmock

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    emulator = _emulator_class()()
    emulator.kube_version = kube_version
    async with emulator as k, kmock.Server(k, host="127.0.0.1", port=port or None) as server:
        k.resources.load_bundled()  # the built-in kinds of a K3s 1.26 cluster
        for item in resources:
            resource, kind = item.split("=")
            kind, *short = kind.split(":")
            k.resources[resource] = kmock.ResourceInfo(
                kind=kind,
                singular=kind.lower(),
                namespaced=True,
                shortnames=short,
                verbs={"get", "list", "watch", "create", "update", "patch", "delete"},
            )
        print(f"listening on http://127.0.0.1:{server.port}", flush=True)
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    import asyncio

    ap = argparse.ArgumentParser(description="A fake Kubernetes API on 127.0.0.1 for helm tests.")
    ap.add_argument("--port", type=int, default=0, help="default: an ephemeral port")
    ap.add_argument(
        "--resource",
        action="append",
        default=[],
        metavar="GROUP/VERSION/PLURAL=Kind[:SHORTNAME]",
        help="declare a custom resource kind",
    )
    ap.add_argument("--kube-version", default=KUBE_VERSION, help="what /version reports (MAJOR.MINOR.PATCH)")
    a = ap.parse_args(argv)
    asyncio.run(_serve(a.resource, a.port, a.kube_version))


# ---------------------------------------------------------------------------------------------
# The test side.
# ---------------------------------------------------------------------------------------------


def _start(argv: list[str], what: str, pattern: str, log: Path) -> tuple[subprocess.Popen, re.Match]:
    """Start a server as the leader of its own process group, its stderr going to `log`, and wait
    for the first line of its stdout to match `pattern`; fail with its log otherwise."""
    import selectors

    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as err:
        proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=err, text=True, stdin=subprocess.DEVNULL, start_new_session=True
        )
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + STARTUP_SECONDS
    line = ""
    while time.monotonic() < deadline:
        if sel.select(timeout=0.1):
            line = proc.stdout.readline()
            break
        if proc.poll() is not None:
            break
    sel.close()
    m = re.search(pattern, line or "")
    if not m:
        _terminate(proc)
        raise RuntimeError(f"{what} did not start (exit {proc.returncode}): {line!r}\n{log.read_text()}")
    return proc, m


def _terminate(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """Stop a child we started, by its PID (it leads its own process group), and reap it."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    if proc.stdout:
        proc.stdout.close()


def assert_gone(pid: int, port: int) -> None:
    """The process no longer exists and nothing listens on its port any more."""
    assert not Path(f"/proc/{pid}").exists(), f"process {pid} is still there"
    with socket.socket() as s:
        s.settimeout(1)
        assert s.connect_ex(("127.0.0.1", port)) != 0, f"something still listens on 127.0.0.1:{port}"


KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster: {{server: "{url}"}}
users:
- name: fake
  user: {{token: not-a-secret}}
contexts:
{contexts}
current-context: {current}
"""


def write_kubeconfig(path: Path, url: str, contexts: list[str], current: str) -> Path:
    """A kubeconfig (mode 0600, so helm does not warn) whose contexts all point at url."""
    text = KUBECONFIG.format(
        url=url,
        current=current,
        contexts="".join(
            f"- name: {c}\n  context: {{cluster: fake, user: fake, namespace: default}}\n" for c in contexts
        ),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(fd, "w") as f:
        f.write(text)
    return path


@dataclass
class FakeCluster:
    """A running fake API server and the environment that points helm, helmfile and compose at it."""

    proc: subprocess.Popen
    url: str
    port: int
    context: str
    kubeconfig: Path
    home: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.proc.pid

    # --- talking to the API -----------------------------------------------------------------
    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def get(self, path: str) -> Any:
        status, doc = self.request("GET", path)
        assert status == 200, f"GET {path}: {status} {doc}"
        return doc

    def set_status(self, path: str, status: dict[str, Any]) -> None:
        """What a controller does: write an object's status (its /status subresource); the fake
        merges it into the object, which later reads return."""
        code, doc = self.request("PATCH", f"{path}/status", {"status": status})
        assert code == 200, f"PATCH {path}/status: {code} {doc}"

    def create_namespace(self, name: str) -> None:
        status, doc = self.request(
            "POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        )
        assert status in (200, 201), f"creating namespace {name}: {status} {doc}"

    # --- what the tests look at -------------------------------------------------------------
    def requests(self) -> list[dict[str, Any]]:
        return self.get("/_fake/requests")

    def writes(self, since: int = 0) -> list[dict[str, Any]]:
        """Requests that change state (POST, PUT, PATCH, DELETE), from request number `since` on."""
        return [r for r in self.requests()[since:] if r["method"] in ("POST", "PUT", "PATCH", "DELETE")]

    def objects(self) -> list[dict[str, Any]]:
        return self.get("/_fake/objects")

    def find(self, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        return [
            o["object"]
            for o in self.objects()
            if o["object"].get("kind") == kind and (namespace is None or o["namespace"] == namespace)
        ]

    def stop(self) -> None:
        _terminate(self.proc)
        assert_gone(self.pid, self.port)


def start_fake_cluster(
    home: Path, *, context: str = "fake", resources: tuple[str, ...] = CHART_KINDS, namespaces: tuple[str, ...] = ()
) -> FakeCluster:
    """Start the server, write its kubeconfig and the helm homes under `home`, create namespaces."""
    home.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-u", str(Path(__file__).resolve())]
    for r in resources:
        argv += ["--resource", r]
    proc, m = _start(argv, "fake cluster", r"listening on (http://127\.0\.0\.1:(\d+))", home / "fakecluster.log")
    url, port = m.group(1), int(m.group(2))
    kubeconfig = write_kubeconfig(home / "kube" / "config", url, [context], context)
    env = {"KUBECONFIG": str(kubeconfig)}
    for var in ("HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"):
        (home / var.lower()).mkdir(exist_ok=True)
        env[var] = str(home / var.lower())
    cluster = FakeCluster(proc=proc, url=url, port=port, context=context, kubeconfig=kubeconfig, home=home, env=env)
    try:
        for ns in namespaces:
            cluster.create_namespace(ns)
    except BaseException:
        cluster.stop()
        raise
    return cluster


# --- a stand-in chart repository ---------------------------------------------------------------

STUB_CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-stub
  namespace: {{ .Release.Namespace }}
  labels:
    app.kubernetes.io/instance: {{ .Release.Name }}
    app.kubernetes.io/managed-by: {{ .Release.Service }}
data:
  chartVersion: {{ .Chart.Version | quote }}
  values.json: {{ toJson .Values | quote }}
"""


@dataclass
class ChartRepo:
    proc: subprocess.Popen
    url: str
    port: int
    directory: Path

    def stop(self) -> None:
        _terminate(self.proc)
        assert_gone(self.proc.pid, self.port)


def tool(name: str) -> str:
    """A program from PATH or, like compose finds it, from our interpreter's directory."""
    import shutil

    found = shutil.which(name, path=os.pathsep.join([os.environ.get("PATH", ""), str(Path(sys.executable).parent)]))
    if not found:
        raise FileNotFoundError(f"{name} not found: run ./scripts/setup")
    return found


def build_stub_chart(workdir: Path, name: str, version: str) -> Path:
    """`helm create NAME`, pinned to `version`, rendering only one ConfigMap; packaged and indexed
    in workdir/repo. Returns the repo directory."""
    helm = tool("helm")
    workdir.mkdir(parents=True, exist_ok=True)
    subprocess.run([helm, "create", name], cwd=workdir, check=True, capture_output=True)
    chart = workdir / name
    text = (chart / "Chart.yaml").read_text()
    text = re.sub(r"(?m)^version:.*$", f"version: {version}", text)
    text = re.sub(r"(?m)^appVersion:.*$", f'appVersion: "{version}"', text)
    (chart / "Chart.yaml").write_text(text)
    for f in (chart / "templates").rglob("*"):
        if f.is_file():
            f.unlink()
    (chart / "templates" / "configmap.yaml").write_text(STUB_CONFIGMAP)
    (chart / "values.yaml").write_text("# stand-in for the upstream chart: takes any values\n")
    repo = workdir / "repo"
    repo.mkdir(exist_ok=True)
    subprocess.run([helm, "package", str(chart), "-d", str(repo)], check=True, capture_output=True)
    subprocess.run([helm, "repo", "index", str(repo)], check=True, capture_output=True)
    return repo


def serve_directory(directory: Path) -> ChartRepo:
    """`python -m http.server` on an ephemeral 127.0.0.1 port."""
    proc, m = _start(
        [sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", str(directory)],
        "chart repository",
        r"port (\d+)",
        directory.parent / "http.server.log",
    )
    port = int(m.group(1))
    return ChartRepo(proc=proc, url=f"http://127.0.0.1:{port}", port=port, directory=directory)


# --- a stand-in helm-diff plugin -----------------------------------------------------------------

DIFF_PLUGIN_YAML = """\
name: diff
version: 0.0.0-stub
usage: stand-in for helm-diff in tests
description: prints a fixed diff; exits 2 under --detailed-exitcode
command: "$HELM_PLUGIN_DIR/diff.sh"
"""

DIFF_SCRIPT = """\
#!/bin/sh
# Stand-in for `helm diff`: log the call, print a diff, report changes when asked for an exit code.
echo "$*" >> "$HELM_PLUGIN_DIR/calls.log"
echo "stub-diff: $*"
echo "+ a change"
for arg in "$@"; do
  [ "$arg" = "--detailed-exitcode" ] && exit 2
done
exit 0
"""


def install_stub_helm_diff(helm_data_home: Path) -> Path:
    plugin = helm_data_home / "plugins" / "diff"
    plugin.mkdir(parents=True, exist_ok=True)
    (plugin / "plugin.yaml").write_text(DIFF_PLUGIN_YAML)
    (plugin / "diff.sh").write_text(DIFF_SCRIPT)
    (plugin / "diff.sh").chmod(0o755)
    return plugin


# --- pytest fixtures ---------------------------------------------------------------------------

try:
    import pytest
except ImportError:  # the server half runs without pytest
    pytest = None

if pytest is not None:

    @pytest.fixture(scope="module")
    def stub_chart_repo(tmp_path_factory) -> Iterator[ChartRepo]:
        """The upstream dynamo-platform of the default version, stood in by a one-ConfigMap chart on 127.0.0.1."""
        from composer import dynamo

        repo_dir = build_stub_chart(tmp_path_factory.mktemp("stub-chart"), "dynamo-platform", dynamo.DEFAULT_VERSION)
        repo = serve_directory(repo_dir)
        yield repo
        repo.stop()

    @pytest.fixture
    def fake_cluster(tmp_path, monkeypatch) -> Iterator[FakeCluster]:
        """A fresh fake cluster per test (context `fake`). KUBECONFIG and HELM_*_HOME point at its
        own files for the whole test, so nothing reaches a real cluster or the user's helm. At
        teardown the server is stopped by PID and shown to be gone."""
        cluster = start_fake_cluster(tmp_path / "fake-home")
        for var, value in cluster.env.items():
            monkeypatch.setenv(var, value)
        yield cluster
        cluster.stop()


def helm_repo_add(env: dict[str, str], name: str, url: str) -> None:
    r = subprocess.run(
        [tool("helm"), "repo", "add", name, url], env={**os.environ, **env}, capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr


if __name__ == "__main__":
    main()
