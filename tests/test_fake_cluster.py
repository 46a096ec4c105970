"""The deploy path end to end: the real `compose up/diff/status/destroy` CLI in a subprocess drives the
real helmfile and helm against a fake Kubernetes API (tests/support/fakecluster.py) on 127.0.0.1.

What is faked, and how:
* the cluster: an in-memory API server, fresh for each test, with the Dynamo CRD kinds declared. It
  has no OpenAPI, so the environment sets `createNamespace: false` and the tests create the
  namespaces first; helm gets `--disable-openapi-validation`.
* the upstream `dynamo-platform` chart (https://helm.ngc.nvidia.com/..., unreachable here): a stand-in
  chart (of the default version) rendering one ConfigMap, served over HTTP on 127.0.0.1 and registered in the test's own
  helm repositories under the same name, `nvidia-dynamo`. helmfile gets `--skip-deps` so that it
  does not re-add the real URL. The generated files are used as they are.
* helm-diff (for `diff` and `apply`): a stub plugin that prints a diff and exits 2 under
  --detailed-exitcode.

How helmfile 0.166 takes the test-only flags (everything after `--` goes to helmfile as is):
`--skip-deps` is accepted by every verb. `--args "A B"` is split on spaces and appended to *every*
helm command the verb runs: `helm upgrade` for sync, `helm diff upgrade` and `helm upgrade` for
apply, `helm diff` for diff, `helm delete` for destroy, where `--disable-openapi-validation` is an
`unknown flag` (so destroy gets no --args). helm keeps the generated `--wait`: nothing our test
values render is a kind helm waits for.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from composer import dynamo, kube
from composer import project as p
from composer import yaml as composer_yaml
from tests.support.fakecluster import (  # its fixtures (fake_cluster, stub_chart_repo): conftest's plugins
    FakeCluster,
    helm_repo_add,
    install_stub_helm_diff,
    start_fake_cluster,
    write_kubeconfig,
)
from tests.support.project import make_project

NAME = "fk"
NAMESPACE = "fake-llm"
VALUES = textwrap.dedent(f"""\
    dynamoNamespace: {NAME}
    model:
      name: Qwen/Qwen3-0.6B
      backend:
        type: vllm
      disaggregation: true
      routingPolicy: kv
      decode:
        replicas: 1
        extraConfig:
          inline: {{max-model-len: 1024}}
      prefill:
        replicas: 1
        extraConfig:
          inline: {{max-model-len: 1024, enforce-eager: true}}
    """)
ENV = f"cluster: {{kubeContext: fake, namespace: {NAMESPACE}, createNamespace: false}}\n"
UP = ["up", "--env", "fake", "--yes", "--no-wait", "--", "--skip-deps", "--args", "--disable-openapi-validation"]
TIMEOUT = 90
DGD = f"/apis/nvidia.com/v1beta1/namespaces/{NAMESPACE}/dynamographdeployments/{NAME}"
PORT_FORWARD = f"kubectl --context fake -n {NAMESPACE} port-forward svc/{NAME}-frontend 8000:8000"


def condition(status: str, reason: str, message: str) -> dict:
    """A Ready condition as the Dynamo operator writes it (metav1.Condition)."""
    return {
        "type": "Ready",
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": "2026-12-04T10:00:00Z",
    }


class Deployed:
    """A project, the fake cluster it deploys to, and its plan."""

    def __init__(self, root: Path, cluster: FakeCluster):
        self.root = root
        self.cluster = cluster
        self.plan = p.plans(p.Project.at(root / "values.yaml"), ["fake"])["fake"]

    def compose(self, *args: str, timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
        """`python -m composer ARGS` as a user runs it, pointed at the fake. On a hang, Ctrl-C it
        (compose then stops helmfile's process group) rather than leave helm running."""
        proc = subprocess.Popen(
            [sys.executable, "-m", "composer", *args],
            cwd=self.root,
            text=True,
            env={**os.environ, **self.cluster.env},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=30)
            pytest.fail(f"compose {' '.join(args)} ran over {timeout}s:\n{out}\n{err}")
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)

    def helm_releases(self) -> dict[str, dict]:
        """What real helm reads back from the fake: `helm list -A -o json`, by release name."""
        r = subprocess.run(
            ["helm", "--kube-context", "fake", "list", "--all-namespaces", "--all", "-o", "json"],
            env={**os.environ, **self.cluster.env},
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert r.returncode == 0, r.stderr
        return {rel["name"]: rel for rel in json.loads(r.stdout)}

    def release_order(self, method: str, since: int = 0) -> list[str]:
        """Release names in the order helm first created (POST) or deleted (DELETE) their release
        records, the Secrets `sh.helm.release.v1.<release>.v<revision>`."""
        order: list[str] = []
        for req in self.cluster.requests()[since:]:
            name = req.get("name") or ""
            if req["method"] == method and "/secrets" in req["path"] and name.startswith("sh.helm.release.v1."):
                release = name[len("sh.helm.release.v1.") :].rsplit(".v", 1)[0]
                if release not in order:
                    order.append(release)
        return order

    def assert_respects_needs(self, order: list[str], *, reverse: bool = False) -> None:
        by_id = {r.id: r for r in self.plan.releases}
        assert sorted(order) == sorted(r.name for r in self.plan.releases), order
        for r in self.plan.releases:
            for need in r.needs:
                first, then = (r.name, by_id[need].name) if reverse else (by_id[need].name, r.name)
                assert order.index(first) < order.index(then), f"{first} should come before {then}: {order}"


@pytest.fixture
def deployed(tmp_path, fake_cluster, stub_chart_repo) -> Deployed:
    root = make_project(tmp_path / "proj", VALUES, {"fake": ENV})
    d = Deployed(root, fake_cluster)
    for ns in sorted({r.namespace for r in d.plan.releases}):
        fake_cluster.create_namespace(ns)
    helm_repo_add(fake_cluster.env, "nvidia-dynamo", stub_chart_repo.url)
    return d


@pytest.mark.unit
def test_the_plan_under_test_has_the_platform_first():
    """Guards the other tests' premise: the upstream platform plus our model, linked by needs."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        plan = p.plans(p.Project.at(make_project(Path(tmp) / "proj", VALUES, {"fake": ENV}) / "values.yaml"), ["fake"])[
            "fake"
        ]
    model = plan.release("model")
    assert plan.release("platform").remote and plan.release("platform").id in model.needs
    assert plan.kube_context == "fake" and plan.create_namespace is False


@pytest.mark.helm
def test_up_installs_every_release_in_needs_order(deployed):
    r = deployed.compose(*UP)
    assert r.returncode == 0, r.stderr
    assert "helm-diff is not installed: running `helmfile sync`" in r.stderr
    fake = deployed.cluster

    deployed.assert_respects_needs(deployed.release_order("POST"))
    assert all(w["status"] < 300 for w in fake.writes()), fake.writes()

    dgds = fake.find("DynamoGraphDeployment")
    assert [(d["metadata"]["name"], d["metadata"]["namespace"]) for d in dgds] == [(NAME, NAMESPACE)]
    assert dgds[0]["apiVersion"] == "nvidia.com/v1beta1"
    workers = {c["name"]: c for c in dgds[0]["spec"]["components"]}
    assert set(workers) == {"frontend", "decode", "prefill"}

    configmaps = {(c["metadata"]["namespace"], c["metadata"]["name"]): c for c in fake.find("ConfigMap")}
    assert (NAMESPACE, f"{NAME}-decode-config") in configmaps
    assert (NAMESPACE, f"{NAME}-prefill-config") in configmaps
    assert "enforce-eager: true" in configmaps[(NAMESPACE, f"{NAME}-prefill-config")]["data"]["config.yaml"]
    # the stand-in platform chart got the generated values file: the operator pinned to the version
    platform = deployed.plan.release("platform")
    stub = configmaps[(platform.namespace, "dynamo-platform-stub")]
    assert stub["data"]["chartVersion"] == dynamo.DEFAULT_VERSION
    assert json.loads(stub["data"]["values.json"]) == json.loads(json.dumps(platform.values))

    releases = deployed.helm_releases()
    assert {n: (r["namespace"], r["status"], r["revision"]) for n, r in releases.items()} == {
        rel.name: (rel.namespace, "deployed", "1") for rel in deployed.plan.releases
    }


@pytest.mark.helm
def test_second_up_upgrades_to_revision_2(deployed):
    assert deployed.compose(*UP).returncode == 0
    values = deployed.root / "values.yaml"
    values.write_text(values.read_text().replace("  decode:\n    replicas: 1", "  decode:\n    replicas: 3"))
    plugin = install_stub_helm_diff(Path(deployed.cluster.env["HELM_DATA_HOME"]))
    since = len(deployed.cluster.requests())

    r = deployed.compose(*UP)
    assert r.returncode == 0, r.stderr
    assert "updated helmfile.d/" in r.stderr, "up regenerates from the changed values first"
    # with helm-diff, up runs `helmfile apply`: a diff per release, then the upgrades
    calls = (plugin / "calls.log").read_text().splitlines()
    assert sorted(c.split()[2] for c in calls) == sorted(rel.name for rel in deployed.plan.releases)
    assert all("--detailed-exitcode" in c.split() for c in calls)

    releases = deployed.helm_releases()
    assert {n: r["revision"] for n, r in releases.items()} == {rel.name: "2" for rel in deployed.plan.releases}
    [dgd] = deployed.cluster.find("DynamoGraphDeployment")
    replicas = {c["name"]: c["replicas"] for c in dgd["spec"]["components"]}
    assert replicas == {"frontend": 1, "decode": 3, "prefill": 1}
    writes = deployed.cluster.writes(since)
    assert not [w for w in writes if w["method"] == "DELETE"], "an upgrade patches; it deletes nothing"
    assert any(w["method"] == "PATCH" and "/dynamographdeployments/" in w["path"] for w in writes)


@pytest.mark.helm
def test_diff_exits_3_on_changes_and_status_exits_0_and_neither_writes(deployed):
    assert deployed.compose(*UP).returncode == 0
    plugin = install_stub_helm_diff(Path(deployed.cluster.env["HELM_DATA_HOME"]))
    since = len(deployed.cluster.requests())

    diff = deployed.compose("diff", "--env", "fake", "--", "--skip-deps")
    assert diff.returncode == 3, diff.stdout + diff.stderr
    for rel in deployed.plan.releases:
        assert f"stub-diff: upgrade --allow-unreleased {rel.name} " in diff.stdout
    calls = (plugin / "calls.log").read_text().splitlines()
    assert len(calls) == len(deployed.plan.releases)
    assert all({"--detailed-exitcode", "--suppress-secrets"} <= set(c.split()) for c in calls)

    status = deployed.compose("status", "--env", "fake", "--", "--skip-deps")
    assert status.returncode == 0, status.stderr
    for rel in deployed.plan.releases:
        assert f"NAME: {rel.name}\n" in status.stdout
    assert status.stdout.count("STATUS: deployed") == len(deployed.plan.releases)

    assert deployed.cluster.writes(since) == []


@pytest.mark.helm
def test_destroy_uninstalls_in_reverse_order_and_leaves_nothing(deployed):
    assert deployed.compose(*UP).returncode == 0
    assert deployed.cluster.find("DynamoGraphDeployment")
    since = len(deployed.cluster.requests())

    r = deployed.compose("destroy", "--env", "fake", "--yes", "--", "--skip-deps")
    assert r.returncode == 0, r.stderr
    deployed.assert_respects_needs(deployed.release_order("DELETE", since), reverse=True)
    assert deployed.cluster.objects() == [], "no DGD, ConfigMap or helm release Secret is left"
    assert deployed.helm_releases() == {}


@pytest.mark.helm
def test_up_refuses_when_the_pinned_context_is_not_current(deployed):
    fake = deployed.cluster
    write_kubeconfig(fake.kubeconfig, fake.url, ["fake", "other"], current="other")
    since = len(fake.requests())

    r = deployed.compose(*UP)
    assert r.returncode == 1
    assert r.stderr.endswith(
        "error: environment 'fake' is pinned to kube context 'fake', but the current "
        "context is 'other': switch with `kubectl config use-context fake`, or pass "
        "--allow-context-mismatch to go ahead\n"
    )
    assert [q for q in fake.requests()[since:] if not q["path"].startswith("/_fake/")] == [], (
        "the cluster was not even asked"
    )


@pytest.mark.helm
def test_up_into_a_missing_namespace_fails_without_creating_it(deployed):
    """createNamespace: false means helm may not create it; the fake, like an apiserver, refuses
    objects in a namespace that does not exist."""
    assert deployed.cluster.request("DELETE", f"/api/v1/namespaces/{NAMESPACE}")[0] == 200
    r = deployed.compose(*UP)
    assert r.returncode == 1
    assert f'namespaces "{NAMESPACE}" not found' in r.stderr
    assert r.stderr.rstrip().endswith("error: helmfile sync failed (exit 1)")
    assert deployed.cluster.find("DynamoGraphDeployment") == []


@pytest.mark.cli
def test_the_fake_cluster_is_stopped_by_pid_and_gone(tmp_path):
    cluster = start_fake_cluster(tmp_path / "home")
    assert Path(f"/proc/{cluster.pid}").exists()
    assert cluster.get("/version")["gitVersion"] == "v1.30.0"
    assert (cluster.kubeconfig.stat().st_mode & 0o777) == 0o600
    cluster.stop()  # asserts that the PID is gone and the port closed
    assert cluster.proc.returncode == 0, "it exits cleanly on SIGTERM"


@pytest.mark.helm
def test_doctor_and_debug_bundle_read_what_up_made_and_change_nothing(deployed, tmp_path):
    """The read-only operations against the fake API, with real helm and kubectl."""
    from tests.support.bundles import read_bundle

    assert deployed.compose(*UP).returncode == 0
    since = len(deployed.cluster.requests())

    r = deployed.compose("doctor", "--env", "fake", "-o", "json")
    checks = {c["name"]: c for c in json.loads(r.stdout)["checks"]}
    assert checks["kube context"]["status"] == "ok"
    platform = deployed.plan.release("platform")
    assert checks["platform release"]["detail"] == f"{platform.id} deployed (chart {platform.version})"
    assert checks["namespace"] == {"name": "namespace", "status": "ok", "detail": f"{NAMESPACE} exists", "fix": ""}

    bundle = tmp_path / "bundle.tar.gz"
    r = deployed.compose("debug-bundle", "--env", "fake", "--output", str(bundle))
    assert r.returncode == 0, r.stderr
    members = read_bundle(bundle)
    assert json.loads(members["manifest.json"])["failed"] == [], "every kubectl and helm step worked"
    dgd = YAML(typ="safe").load(members["cluster/dgd.yaml"])
    assert (dgd["kind"], dgd["metadata"]["name"]) == ("DynamoGraphDeployment", NAME)
    model = deployed.plan.release("model")
    assert "max-model-len: 1024" in members[f"helm/values/{NAMESPACE}/{model.name}.yaml"]
    assert f"name: {NAME}" in members[f"helm/manifest/{NAMESPACE}/{model.name}.yaml"]

    assert deployed.cluster.writes(since) == [], "doctor and debug-bundle only read"


@pytest.mark.helm
def test_helm_recreates_a_deleted_job_on_an_unchanged_upgrade(fake_cluster, tmp_path):
    """What `compose bench` relies on to rerun the sweep: delete the finished Job, sync, and real helm
    creates it again although nothing in the release changed."""
    chart = tmp_path / "jobchart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: jobchart\nversion: 0.1.0\n")
    (chart / "templates" / "job.yaml").write_text(
        textwrap.dedent("""\
        apiVersion: batch/v1
        kind: Job
        metadata:
          name: bench-1a2b3c4d
          labels: {app.kubernetes.io/instance: {{ .Release.Name }}}
        spec:
          template:
            spec:
              restartPolicy: Never
              containers: [{name: main, image: busybox, command: ["true"]}]
        """)
    )
    env = {**os.environ, **fake_cluster.env}
    fake_cluster.create_namespace("bench")

    def run(*argv):
        r = subprocess.run(list(argv), env=env, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        return r

    helm = ["helm", "--kube-context", "fake", "-n", "bench"]
    run(*helm, "upgrade", "--install", "b", str(chart), "--disable-openapi-validation")
    assert [j["metadata"]["name"] for j in fake_cluster.find("Job", "bench")] == ["bench-1a2b3c4d"]
    run(
        "kubectl",
        "--context",
        "fake",
        "-n",
        "bench",
        "delete",
        "job",
        "-l",
        "app.kubernetes.io/instance=b",
        "--ignore-not-found",
        "--wait=true",
    )
    assert fake_cluster.find("Job", "bench") == []
    run(*helm, "upgrade", "--install", "b", str(chart), "--disable-openapi-validation")
    assert [j["metadata"]["name"] for j in fake_cluster.find("Job", "bench")] == ["bench-1a2b3c4d"]


@pytest.mark.helm
def test_two_deployments_in_one_namespace_render_disjoint_objects(tmp_path):
    """Two projects sharing a namespace, every switch on: no release, and no object their charts
    render, is named the same, so neither `up` takes over what the other installed."""
    from composer import manifests
    from tests.support.cases import CASES, copy_case

    case = next(c for c in CASES if c.name == "everything-on")
    rendered = {}
    for name in ("full", "other"):
        proj = copy_case(case, tmp_path / name)
        values = proj.values_file
        values.write_text(values.read_text().replace("dynamoNamespace: full", f"dynamoNamespace: {name}"))
        p.generate(proj)
        plan = p.plans(proj, ["staging"])["staging"]
        local = {r.id for r in plan.releases if not r.remote}
        objects = {
            (d["kind"], d["metadata"].get("namespace", "llm-staging"), d["metadata"]["name"])
            for d in composer_yaml.load_manifests(manifests.template(proj.root, plan))
        }
        rendered[name] = (local, objects)
    (releases_a, objects_a), (releases_b, objects_b) = rendered.values()
    assert "llm-staging/full-model-express" in releases_a and "llm-staging/other-model-express" in releases_b
    assert releases_a.isdisjoint(releases_b)
    assert {k for k, _, _ in objects_a} >= {"Deployment", "Service", "PersistentVolumeClaim", "Job"}
    assert objects_a.isdisjoint(objects_b), sorted(objects_a & objects_b)


@pytest.mark.helm
def test_a_change_of_replicas_upgrades_the_benchmark_without_a_new_job(fake_cluster, tmp_path):
    """The deployment's GPU count is recorded in the benchmark's ConfigMap, not in its Job: real helm
    upgrades the release after a change of replicas without touching the Job. A new Job name would
    run the sweep again; a new pod template under the same name is refused, as an apiserver does."""
    root = make_project(tmp_path / "proj")  # the example: dev benchmarks 1 decode + 1 prefill GPU
    dev = root / "environments" / "dev.yaml"
    base = dev.read_text()
    env = {**os.environ, **fake_cluster.env}

    def upgrade(replicas: int, *extra: str) -> subprocess.CompletedProcess:
        dev.write_text(base + f"model:\n  decode:\n    replicas: {replicas}\n")
        release = p.plans(p.Project.at(root / "values.yaml"), ["dev"])["dev"].release("benchmark")
        values = tmp_path / f"values-{replicas}.json"
        values.write_text(json.dumps(release.values))
        return subprocess.run(
            [
                "helm",
                "--kube-context",
                "fake",
                "-n",
                release.namespace,
                "upgrade",
                "--install",
                release.name,
                str(root / "charts" / "benchmark"),
                "-f",
                str(values),
                "--disable-openapi-validation",
                *extra,
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    fake_cluster.create_namespace("dynamo-dev")
    assert upgrade(1).returncode == 0
    [job] = fake_cluster.find("Job", "dynamo-dev")
    since = len(fake_cluster.requests())

    r = upgrade(3)
    assert r.returncode == 0, r.stderr
    [after] = fake_cluster.find("Job", "dynamo-dev")
    assert after["metadata"]["name"] == job["metadata"]["name"]
    assert after["spec"]["template"] == job["spec"]["template"]
    assert [w for w in fake_cluster.writes(since) if "/jobs" in w["path"]] == [], "the Job is left as it was"
    [cm] = [c for c in fake_cluster.find("ConfigMap", "dynamo-dev") if "deployment.json" in c["data"]]
    assert json.loads(cm["data"]["deployment.json"]) == {"gpus": 4}

    # what makes the above matter: the fake refuses a new pod template under the Job's old name
    refused = upgrade(3, "--set", "image=example.com/other:1")
    assert refused.returncode == 1 and "field is immutable" in refused.stderr, refused.stderr


@pytest.mark.helm
def test_up_waits_until_the_graph_reports_ready_then_prints_the_endpoint(deployed, tmp_path):
    """`compose up` polls the DynamoGraphDeployment's status conditions: it keeps waiting while the
    operator (here, the test) reports it pending, and returns once Ready is True."""
    fake = deployed.cluster
    first = deployed.compose(*UP)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[-3].startswith(f"not waiting for DynamoGraphDeployment {NAME} to be Ready")
    assert first.stdout.splitlines()[-1].startswith(f"from this machine: {PORT_FORWARD}")
    fake.set_status(
        DGD,
        {"state": "pending", "conditions": [condition("False", "ComponentsNotReady", "decode: 0/1 replicas ready")]},
    )

    err = tmp_path / "up.err"
    waiting = subprocess.Popen(
        [sys.executable, "-m", "composer", *[a for a in UP if a != "--no-wait"]],
        cwd=deployed.root,
        env={**os.environ, **fake.env},
        text=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=open(err, "w"),
    )
    try:
        said = "waiting for DynamoGraphDeployment fk to be Ready: state pending, Ready=False (ComponentsNotReady)"
        deadline = time.monotonic() + TIMEOUT
        while said not in err.read_text():
            assert waiting.poll() is None, err.read_text()
            assert time.monotonic() < deadline, err.read_text()
            time.sleep(0.1)
        time.sleep(2 * kube.POLL_SECONDS)  # a few polls more: still pending, still waiting
        assert waiting.poll() is None, err.read_text()

        fake.set_status(DGD, {"state": "successful", "conditions": [condition("True", "AllComponentsReady", "")]})
        out, _ = waiting.communicate(timeout=TIMEOUT)
    finally:
        if waiting.poll() is None:
            waiting.send_signal(signal.SIGINT)
            waiting.wait(30)
    assert waiting.returncode == 0, err.read_text()
    assert out.splitlines()[-3:] == [
        f"ready in {out.splitlines()[-3].split()[2]} s: DynamoGraphDeployment {NAME} reports Ready",
        f"endpoint: http://{NAME}-frontend.{NAMESPACE}.svc.cluster.local:8000 (Service {NAME}-frontend, port 8000, "
        "inside the cluster)",
        f"from this machine: {PORT_FORWARD}   # then http://localhost:8000/v1/models",
    ]


@pytest.mark.helm
def test_up_not_ready_in_time_names_the_failing_condition_and_its_pods_last_events(deployed):
    fake = deployed.cluster
    assert deployed.compose(*UP).returncode == 0
    fake.set_status(
        DGD,
        {"state": "pending", "conditions": [condition("False", "ComponentsNotReady", "decode: 0/1 replicas ready")]},
    )
    pods = f"/api/v1/namespaces/{NAMESPACE}/pods"
    for pod, graph, reason in ((f"{NAME}-decode-0", NAME, "ImagePullBackOff"), ("other-decode-0", "other", "")):
        assert fake.request(
            "POST",
            pods,
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": pod, "namespace": NAMESPACE, "labels": {kube.GRAPH_LABEL: graph}},
                "spec": {"containers": [{"name": "main", "image": "x"}]},
                "status": {
                    "phase": "Pending",
                    "containerStatuses": [{"name": "main", "state": {"waiting": {"reason": reason}}}],
                },
            },
        )[0] in (200, 201)
    events = [
        (f"{NAME}-decode-0", "2026-12-04T10:00:02Z", "Failed", 'Failed to pull image "x": not found'),
        (f"{NAME}-decode-0", "2026-12-04T10:00:01Z", "Scheduled", "Successfully assigned to node-1"),
        ("other-decode-0", "2026-12-04T10:00:03Z", "Killing", "not this graph's"),
    ]
    for i, (pod, when, reason, message) in enumerate(events):
        assert fake.request(
            "POST",
            f"/api/v1/namespaces/{NAMESPACE}/events",
            {
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {"name": f"e{i}", "namespace": NAMESPACE},
                "involvedObject": {"kind": "Pod", "name": pod, "namespace": NAMESPACE},
                "type": "Warning" if reason == "Failed" else "Normal",
                "reason": reason,
                "message": message,
                "lastTimestamp": when,
            },
        )[0] in (200, 201)

    started = time.monotonic()
    r = deployed.compose(*[a for a in UP if a != "--no-wait"][:4], "--timeout", "3s", *UP[UP.index("--") :])
    assert r.returncode == kube.EXIT_NOT_READY == 5, r.stderr
    assert time.monotonic() - started < 60
    report = r.stderr[r.stderr.index("error: ") :].splitlines()
    assert report == [
        f"error: DynamoGraphDeployment {NAME} (namespace {NAMESPACE}) is not Ready after 3 s; its releases are "
        "installed (`compose up` again waits again, `compose debug-bundle` collects the rest)",
        "  state: pending",
        "  condition Ready=False, reason ComponentsNotReady: decode: 0/1 replicas ready",
        f"  pods: {NAME}-decode-0 Pending (ImagePullBackOff)",
        "  last events of its pods:",
        f"    2026-12-04T10:00:01Z {NAME}-decode-0 Normal Scheduled: Successfully assigned to node-1",
        f'    2026-12-04T10:00:02Z {NAME}-decode-0 Warning Failed: Failed to pull image "x": not found',
    ]
    assert "endpoint:" not in r.stdout


@pytest.mark.helm
def test_up_runs_the_pinned_helm_although_an_older_one_is_first_on_path(deployed, tmp_path):
    """The helmfile compose runs, and the helm that helmfile runs (compose gives it its search path),
    are the ones ./scripts/setup pinned in the venv's bin directory, not older ones first on PATH."""
    old = tmp_path / "old-bin"
    old.mkdir()
    called = tmp_path / "old-helm-called"
    for tool in ("helm", "helmfile", "kubectl"):
        (old / tool).write_text(f"#!/bin/sh\necho {tool} \"$@\" >> '{called}'\necho 'v3.10.0+gce66412'\nexit 1\n")
        (old / tool).chmod(0o755)
    deployed.cluster.env["PATH"] = f"{old}{os.pathsep}{os.environ['PATH']}"
    try:
        r = deployed.compose(*UP)
    finally:
        del deployed.cluster.env["PATH"]
    assert r.returncode == 0, r.stderr
    assert not called.exists(), called.read_text()
    assert {rel["status"] for rel in deployed.helm_releases().values()} == {"deployed"}
