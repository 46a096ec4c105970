"""Cross-chart wiring, the invariants peers got wrong (peers-notes.md §A.5): every selector matches
the pods it should, every URL names a Service the deployment creates with that port, the model
name is the same everywhere, and the benchmark Job runs exactly what the shared builder returns.
Checked on real `compose template` output."""

import json
from urllib.parse import urlsplit

import pytest
from ruamel.yaml import YAML

from composer import bench
from composer import plan as planmod
from composer import project as p
from composer.explain import DGD_LABEL, TYPE_LABEL
from tests.support.cases import CASES, copy_case
from tests.support.project import compose, make_project
from tests.support.validate import all_errors, load_docs

WIRED = [("everything-on", "staging"), ("disagg-kv-sglang", "dev"), ("agg-vllm", "dev"), ("everything-on", "staging")]
# everything on, with one aggregated worker of type decode (model.decode.type): the metrics' worker
# PodMonitor and explain's worker types follow the type
AGG_DECODE_TYPED = "model:\n  disaggregation: false\n  decode:\n    type: decode\n  prefill: null\n"
WIRED_IDS = ["everything-on", "disagg-kv-sglang", "agg-vllm", "everything-on-agg-decode-typed"]


@pytest.fixture(params=range(len(WIRED)), ids=WIRED_IDS)
def rendered(request, tmp_path):
    case, env = WIRED[request.param]
    proj = copy_case(next(c for c in CASES if c.name == case), tmp_path / "proj")
    if WIRED_IDS[request.param].endswith("-agg-decode-typed"):
        overlay = proj.root / "environments" / f"{env}.yaml"
        overlay.write_text(overlay.read_text() + AGG_DECODE_TYPED)
    r = compose("template", "--env", env, cwd=proj.root)
    assert r.returncode == 0, r.stderr
    docs = load_docs(r.stdout)
    assert all_errors(docs) == []
    return proj, env, docs


def one(docs, kind, suffix=""):
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"].endswith(suffix)]
    assert len(found) == 1, (kind, suffix, [d["metadata"]["name"] for d in docs])
    return found[0]


def pods(dgd):
    """The labels the Dynamo operator gives each component's pods (dynamo-notes.md §1.4)."""
    out = {}
    for c in dgd["spec"]["components"]:
        labels = dict(c.get("podTemplate", {}).get("metadata", {}).get("labels", {}))
        labels.update(
            {
                DGD_LABEL: dgd["metadata"]["name"],
                TYPE_LABEL: c["type"],
                "nvidia.com/dynamo-component": c["name"],
                "nvidia.com/metrics-enabled": "true",
            }
        )
        out[c["name"]] = (c["type"], labels)
    return out


def selects(selector, labels):
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for e in selector.get("matchExpressions", []):
        present, value = e["key"] in labels, labels.get(e["key"])
        ok = {
            "In": present and value in e.get("values", []),
            "NotIn": value not in e.get("values", []),
            "Exists": present,
            "DoesNotExist": not present,
        }[e["operator"]]
        if not ok:
            return False
    return True


def frontend_service(dgd):
    """The operator makes a Service <dgd>-<component> on port 8000 for the frontend component."""
    (front,) = [c for c in dgd["spec"]["components"] if c["type"] == "frontend"]
    return f"{dgd['metadata']['name']}-{front['name'].lower()}", dgd["metadata"]["namespace"], 8000


@pytest.mark.helm
def test_podmonitors_select_exactly_the_right_pods(rendered):
    proj, env, docs = rendered
    monitors = [d for d in docs if d["kind"] == "PodMonitor"]
    if not p.load_deployment(proj, env).enabled("observability"):
        assert monitors == []
        return
    dgd = one(docs, "DynamoGraphDeployment")
    by_name = {m["metadata"]["name"].rsplit("-", 1)[1]: m for m in monitors}
    for role, monitor in by_name.items():
        assert dgd["metadata"]["namespace"] in monitor["spec"]["namespaceSelector"]["matchNames"]
        chosen = {n for n, (t, labels) in pods(dgd).items() if selects(monitor["spec"]["selector"], labels)}
        wanted = {n for n, (t, _) in pods(dgd).items() if (t == "frontend") == (role == "frontend")}
        assert chosen == wanted, role
        release = p.load_deployment(proj, env).values["observability"]["prometheusRelease"]
        assert monitor["metadata"]["labels"]["release"] == release


@pytest.mark.helm
def test_urls_point_at_services_with_those_ports(rendered):
    proj, env, docs = rendered
    dgd = one(docs, "DynamoGraphDeployment")
    name, ns, port = frontend_service(dgd)
    jobs = [d for d in docs if d["kind"] == "Job"]
    for job in jobs:
        env_vars = {e["name"]: e.get("value") for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
        url = urlsplit(env_vars["TARGET_URL"])
        assert (url.hostname, url.port) == (f"{name}.{ns}.svc.cluster.local", port)
    for route in (d for d in docs if d["kind"] == "HTTPRoute"):
        (rule,) = route["spec"]["rules"]
        (backend,) = rule["backendRefs"]
        assert (backend["name"], backend["port"]) == (name, port)
        assert route["metadata"]["namespace"] == ns
    # The platform (a remote chart, not rendered offline) is told model-express's URL in its values.
    platform_values = proj.output / "values" / env / "dynamo-platform.yaml"
    if platform_values.exists():
        url = YAML(typ="safe").load(platform_values.read_text())["dynamo-operator"].get("modelExpressURL")
        services = {(d["metadata"]["name"], d["metadata"]["namespace"]): d for d in docs if d["kind"] == "Service"}
        if url:
            u = urlsplit(url)
            host, svc_ns = u.hostname.split(".")[:2]
            svc = services[(host, svc_ns)]
            assert u.port in [sp["port"] for sp in svc["spec"]["ports"]]
        else:
            assert not any(n == "model-express" for n, _ in services)


def _flag(args, flag):
    return [args[i + 1] for i, a in enumerate(args) if a == flag]


@pytest.mark.helm
def test_model_name_is_the_same_everywhere(rendered):
    proj, env, docs = rendered
    model = p.load_deployment(proj, env).model["name"]
    seen = []
    dgd = one(docs, "DynamoGraphDeployment")
    for c in dgd["spec"]["components"]:
        for container in c["podTemplate"]["spec"]["containers"]:
            for flag in ("--model", "--model-path", "--served-model-name", "--model-name"):
                seen += _flag(container.get("args", []), flag)
    for job in (d for d in docs if d["kind"] == "Job"):
        seen += [
            e["value"] for e in job["spec"]["template"]["spec"]["containers"][0]["env"] if e["name"] == "TARGET_MODEL"
        ]
    for cm in (d for d in docs if d["kind"] == "ConfigMap" and "runs.json" in d.get("data", {})):
        for run in json.loads(cm["data"]["runs.json"]):
            seen += _flag(run["args"], "--model") + _flag(run["args"], "--tokenizer")
    for pod in (d for d in docs if d["kind"] == "Pod"):
        seen += [e["value"] for c in pod["spec"]["containers"] for e in c.get("env", []) if e["name"] == "MODEL"]
    assert len(seen) >= 2 and set(seen) == {model}


@pytest.mark.helm
def test_benchmark_gpu_count_is_what_the_rendered_workers_take(rendered):
    proj, env, docs = rendered
    jobs = [d for d in docs if d["kind"] == "Job"]
    assert bool(jobs) == bool(p.plans(proj, [env])[env].release("benchmark"))
    if not jobs:
        return
    dgd = one(docs, "DynamoGraphDeployment")
    gpus = sum(
        c.get("replicas", 1)
        * int(c["podTemplate"]["spec"]["containers"][0].get("resources", {}).get("limits", {}).get("nvidia.com/gpu", 0))
        for c in dgd["spec"]["components"]
        if c["type"] != "frontend"
    )
    (job,) = jobs
    # run.py reads it from the scripts ConfigMap, mounted from the volume of that name
    env_vars = {e["name"]: e.get("value") for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert "DEPLOYMENT_GPU_COUNT" not in env_vars, "not in the pod template, which cannot change in place"
    scripts = next(v for v in job["spec"]["template"]["spec"]["volumes"] if v["name"] == "scripts")
    cm = one(docs, "ConfigMap", scripts["configMap"]["name"])
    assert env_vars["DEPLOYMENT_FILE"].rsplit("/", 1)[1] in cm["data"]
    assert json.loads(cm["data"]["deployment.json"]) == {"gpus": gpus}


@pytest.mark.helm
def test_bench_reruns_exactly_the_rendered_benchmark_job(rendered):
    """`compose bench` deletes the release's Jobs by label before syncing: the label must select the
    rendered Job and nothing else."""
    from composer import kube

    proj, env, docs = rendered
    release = p.plans(proj, [env])[env].release("benchmark")
    argv = kube.delete_jobs_argv("ctx", release.namespace, release.name) if release else None
    key, value = argv[argv.index("-l") + 1].split("=") if argv else (None, None)
    selected = [d for d in docs if (d["metadata"].get("labels") or {}).get(key) == value]
    assert [(d["kind"], d["metadata"]["namespace"]) for d in selected if d["kind"] == "Job"] == (
        [("Job", release.namespace)] if release else []
    )


@pytest.mark.helm
def test_benchmark_job_runs_what_the_shared_builder_returns(rendered):
    proj, env, docs = rendered
    dep = p.load_deployment(proj, env)
    cms = [d for d in docs if d["kind"] == "ConfigMap" and "runs.json" in d.get("data", {})]
    if not dep.enabled("benchmark"):
        assert cms == []
        return
    (cm,) = cms
    cfg = dep.values["benchmark"]["config"]
    expected = bench.sweep_argvs(
        cfg["concurrency"],
        artifact_dir=planmod.ARTIFACTS_MOUNT,
        request_count=cfg.get("requestCount"),
        model=dep.model["name"],
        url=dep.frontend_url,
        tokenizer=dep.model["name"],
        isl=cfg["isl"],
        osl=cfg["osl"],
        warmup_request_count=cfg["warmupRequestCount"],
    )
    assert [r["args"] for r in json.loads(cm["data"]["runs.json"])] == [argv for _, argv in expected]
    job = one(docs, "Job")
    assert job["spec"]["template"]["spec"]["containers"][0]["command"][-1].endswith("/run.py")


@pytest.mark.helm
def test_explain_reports_what_was_rendered(rendered):
    proj, env, docs = rendered
    r = compose("explain", "--env", env, "-o", "json", cwd=proj.root)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    dgd = one(docs, "DynamoGraphDeployment")
    name, ns, port = frontend_service(dgd)
    assert report["urls"]["frontend"] == f"http://{name}.{ns}.svc.cluster.local:{port}"
    plan = p.plans(proj, [env])[env]
    assert [r["name"] for r in report["releases"]] == [r.name for r in plan.releases]
    worker_types = sorted(c["type"] for c in dgd["spec"]["components"] if c["type"] != "frontend")
    assert sorted(set(report["deployment"]["workerTypes"])) == sorted(set(worker_types))
    monitors = {
        d["metadata"]["name"].rsplit("-", 1)[1]: d["spec"]["selector"] for d in docs if d["kind"] == "PodMonitor"
    }
    assert bool(monitors) == bool(plan.release("metrics"))
    assert {k.split("/")[1]: v for k, v in report["selectors"].items() if k.startswith("podMonitor/")} == {
        role: {
            **sel.get("matchLabels", {}),
            **{e["key"]: e["values"] for e in sel.get("matchExpressions", []) if e["operator"] == "In"},
        }
        for role, sel in monitors.items()
    }
    text = compose("explain", "--env", env, cwd=proj.root)
    assert f"{ns}/{name}:{port}" in text.stdout


@pytest.mark.unit
@pytest.mark.parametrize(
    "change, changed",
    [
        pytest.param("", set(), id="nothing"),
        pytest.param("platform:\n  version: 1.6.0\n", {"image", "dynamoVersion", "runId"}, id="image-tag"),
        pytest.param("model:\n  hfTokenSecret: other-token\n", {"hfTokenSecret", "runId"}, id="secret"),
        pytest.param("benchmark:\n  config:\n    osl: 64\n", {"runs", "runId"}, id="sweep"),
        # the GPU count is recorded (the scripts ConfigMap), not part of what names the Job: scaling the
        # model does not rerun the benchmark by itself
        pytest.param("model:\n  decode:\n    replicas: 3\n", {"target"}, id="replicas"),
    ],
)
def test_benchmark_job_name_changes_with_anything_its_pod_runs(tmp_path, change, changed):
    """A Job's pod template is immutable: helm cannot upgrade it in place, so its name must change
    with anything the pod runs, and only with that."""
    from tests.support.project import make_project

    root = make_project(tmp_path / "proj")
    before = planmod.benchmark_values(p.load_deployment(p.Project.at(root / "values.yaml"), "dev"))
    dev = root / "environments" / "dev.yaml"
    dev.write_text(dev.read_text() + change)
    after = planmod.benchmark_values(p.load_deployment(p.Project.at(root / "values.yaml"), "dev"))
    assert {k for k in after if after[k] != before[k]} == changed


@pytest.mark.helm
@pytest.mark.parametrize("routing", ["none", "kv"])
def test_frontend_env_from_the_values_file_reaches_the_frontend(routing, tmp_path):
    """Beside the DYN_ROUTER_MODE routingPolicy gives; a Secret reference stays a reference."""
    values = (
        "dynamoNamespace: fe\nmodel:\n  name: m\n  backend: {type: vllm}\n"
        f"  routingPolicy: {routing}\n  frontend:\n    env:\n      - {{name: DYN_ROUTER_TEMPERATURE, value: '0.5'}}\n"
        "      - {name: API_KEY, valueFrom: {secretKeyRef: {name: fe-secrets, key: api}}}\n"
    )
    proj = make_project(tmp_path / "p", values, {"dev": "cluster: {namespace: llm}\n"})
    out = compose("template", "--env", "dev", cwd=proj)
    assert out.returncode == 0, out.stderr
    docs = load_docs(out.stdout)
    (dgd,) = [d for d in docs if d["kind"] == "DynamoGraphDeployment"]
    (frontend,) = [c for c in dgd["spec"]["components"] if c["type"] == "frontend"]
    env = frontend["podTemplate"]["spec"]["containers"][0]["env"]
    mode = [{"name": "DYN_ROUTER_MODE", "value": "kv"}] if routing == "kv" else []
    assert env == mode + [
        {"name": "DYN_ROUTER_TEMPERATURE", "value": "0.5"},
        {"name": "API_KEY", "valueFrom": {"secretKeyRef": {"name": "fe-secrets", "key": "api"}}},
    ]
    assert all_errors(docs) == []
