"""`compose import` round trip: every upstream DynamoGraphDeployment here is imported, rendered by
`compose template` (real helm), and the rendered DGD compared field by field with the original.

Compared: metadata.name, labels and annotations, the graph's env, and per component (compose's roles matched by type, any
other component by name) type, replicas, sharedMemorySize, multinode, compilationCache, modelRef
(every component field) and the whole podTemplate: pod fields, volumes, the main container's image, command, args (as a multiset of
flag/value pairs), workingDir, env and envFrom (as multisets), resources, mounts, probes, security
context, and every other container field. A v1alpha1 original is compared in its v1beta1 form (as
the 1.x operator converts it: tests/test_import.py holds that conversion to the operator's rules).

What compose adds by design is ignored, each with why (EXCEPTIONS below); nothing else is.
"""

from __future__ import annotations

import copy
import json
import posixpath
import re
from collections import Counter
from pathlib import Path

import pytest

from composer import dgd_import as imp
from composer import dynamo, recipes
from composer import yaml as yamlio
from composer.schema import CHART_LABELS
from tests.support.cases import CASES, copy_case
from tests.support.project import compose
from tests.support.validate import all_errors, load_docs

FIXTURES = Path(__file__).parent / "fixtures"
ROLES = ("frontend", "decode", "prefill")
TEMPLATES = FIXTURES / "dynamo" / "1.6.1" / "dgd-templates"
EXAMPLES = FIXTURES / "dgd-examples"

# Every upstream DGD the tests hold, and ours. Most import with nothing left for patches or
# extraObjects, so `compose template` alone reproduces them; vllm_disagg_router's second worker is
# added by a JSON patch (it keeps its type `worker`), which `compose template` applies through helmfile.
ROUNDTRIP = [
    *sorted(TEMPLATES.glob("*.yaml")),
    EXAMPLES / "v1beta1" / "vllm_agg.yaml",
    EXAMPLES / "vllm_agg.yaml",
    EXAMPLES / "vllm_agg_router.yaml",
    EXAMPLES / "vllm_disagg.yaml",
    EXAMPLES / "vllm_disagg_router.yaml",
    EXAMPLES / "sglang_agg_router.yaml",
    EXAMPLES / "sglang_disagg.yaml",
    EXAMPLES / "trtllm_agg-with-config.yaml",
    EXAMPLES / "gaie" / "vllm_agg.yaml",  # the endpoint picker, and no frontend: compose adds its own
    EXAMPLES / "gaie" / "vllm_disagg.yaml",
    EXAMPLES / "mocker_agg.yaml",  # its one worker typed decode (subComponentType): model.decode.type
    FIXTURES / "import" / "all-settings.yaml",  # ours: every per-component setting at once
    FIXTURES / "import" / "needs-patches.yaml",  # ours: what only patches and extraObjects carry
]
# Left out, not marked xfail: what no values or patch can say (none of the graphs here).
CANNOT: dict[Path, str] = {}

# What compose adds by design, ignored in the comparison, each with why:
EXCEPTIONS = {
    "component name": "compose names its components frontend, decode and prefill (the import reports the renames)",
    "runtimeVersionOverride": "the chart sets it when the image tag is no version the 1.4 operator parses",
    "spec.backendFramework": "the chart states the backend the operator would otherwise infer",
    "compose's pod labels": "app.kubernetes.io/{name,instance,component}: the chart's selector labels",
    "checksum/extra-config": "the pod annotation that rolls workers when their engine config changes",
    "DYNAMO_EXTRA_CONFIG": "the env var holding the config's path, when the config moved into the chart's ConfigMap",
    "extra-config volume": "the chart's ConfigMap volume replaces the original's when the config moved: what the "
    "container sees of ConfigMap volumes is compared instead, file by file (path, content as parsed YAML) and "
    "directory by directory (a directory mount hides the image's files there, a subPath mount does not)",
    "another role's config": "a file of a ConfigMap both roles mount whole that the container names nowhere (not "
    "in its command, args or env): the chart mounts each role its own config only",
    "extra objects' labels and namespace": "the chart puts each into the release namespace with its own labels "
    "(an original's label of one of those keys is the chart's)",
    "replicas absent": "the operator's default is 1, which the chart writes out",
    "empty pod fields": "a pod field given as an empty list or mapping (`tolerations: []`, `affinity: {}`) is the "
    "field left out, as Kubernetes reads it (the chart writes none)",
    "nvidia.com/gpu request": "Kubernetes defaults an extended resource's request to its limit; the chart writes both",
    "added frontend": "a graph without a frontend component (upstream's endpoint-picker graphs) gets compose's, "
    "which every compose graph has (the import says so); only then is a rendered frontend not compared",
    "checksum/planner-config": "the Planner's pod annotation that rolls it when its config changes",
    "planner config inline": "a Planner given its config inline (`--config '<JSON>'`, upstream's examples) reads "
    "the chart's file of it, in the chart's ConfigMap directory (where upstream's profiler mounts it): the config the "
    "Planner reads is compared instead (the JSON, the file's content, parsed), the key compose fills where the "
    "original lacks it only where it is what the Planner takes for it anyway (dynamo.PLANNER_CONFIG_DEFAULTS, "
    "which tests/test_planner.py holds to both versions' PlannerConfig)",
    "chart labels": "helm.sh/chart and app.kubernetes.io/* on the DGD, where the original has none of that key",
    "ComputeDomain defaults": "the chart writes numNodes and allocationMode out, as the CRD defaults them (0, Single)",
}


def flag_pairs(args: list[str]) -> Counter:
    """args as a multiset of (flag, value) pairs: order between flags does not matter to the engines."""
    out: Counter = Counter()
    i = 0
    while i < len(args):
        a = args[i]
        if a.startswith("-") and "=" in a and a.startswith("--"):
            out[tuple(a.split("=", 1))] += 1
        elif a.startswith("-") and i + 1 < len(args) and not args[i + 1].startswith("--"):
            out[(a, args[i + 1])] += 1
            i += 1
        else:
            out[(a, None) if a.startswith("-") else (None, a)] += 1
        i += 1
    return out


def multiset(items) -> Counter:
    return Counter(json.dumps(x, sort_keys=True) for x in items or [])


def resources(r: dict) -> dict:
    """Requests as Kubernetes defaults them: an extended resource's request is its limit; the claims (of
    the pod's resourceClaims) as a multiset."""
    r = copy.deepcopy(r or {})
    claims = multiset(r.pop("claims", []))
    for k, q in (r.get("limits") or {}).items():
        if "/" in k:
            r.setdefault("requests", {}).setdefault(k, q)
    return {side: {k: str(q) for k, q in items.items()} for side, items in r.items() if items} | (
        {"claims": claims} if claims else {}
    )


def role_of(comps: list[dict]) -> dict[str, dict]:
    """The original's components by the name they have once rendered: compose's roles by type (a
    decode and a prefill component are its two roles, else the first worker is its one worker),
    every other component by its own name."""
    fe = next((c for c in comps if c["type"] == "frontend"), None)
    decodes = [c for c in comps if c["type"] == "decode"]
    prefills = [c for c in comps if c["type"] == "prefill"]
    out = {"frontend": fe} if fe else {}
    for kind in ("planner", "epp"):  # by type, as compose's roles (an original's Planner only as compose's)
        one = next((c for c in comps if c["type"] == kind), None)
        if one and (kind == "epp" or "--config" in main_of(one).get("args", [])):
            out[kind] = one
    if decodes and prefills:
        out["decode"], out["prefill"] = decodes[0], prefills[0]
    else:
        out["decode"] = next(c for c in comps if c["type"] in ("worker", "decode", "prefill"))
    for c in comps:
        if not any(c is x for x in out.values()):
            out[c["name"]] = c
    return out


def original_of(path: Path) -> tuple[dict, list[dict]]:
    """(the DGD in its v1beta1 form, the file's other objects)."""
    docs = [d for d in yamlio.load_all(path.read_text()) if d]
    (dgd,) = [d for d in docs if d["kind"] == "DynamoGraphDeployment"]
    if dgd["apiVersion"].endswith("v1alpha1"):
        dgd = {**dgd, "spec": imp.alpha_to_beta(dgd["spec"])[0]}
    return dgd, [d for d in docs if d is not dgd and d["kind"] != "DynamoGraphDeployment"]


def main_of(comp: dict) -> dict:
    containers = comp.get("podTemplate", {}).get("spec", {}).get("containers", [])
    return next((c for c in containers if c["name"] == "main"), {"name": "main"})


def config_view(volumes: list[dict], mounts: list[dict], configmaps: dict[str, dict]):
    """(the files the container sees of the ConfigMaps' volumes, {path: parsed content}; the directories
    those mounts cover, whose image content they hide; the other volumes; the other mounts)."""
    by_name = {v["name"]: v for v in volumes}
    files: dict[str, object] = {}
    dirs: set[str] = set()
    rest, used = [], set()
    for m in mounts:
        ref = by_name.get(m["name"], {}).get("configMap")
        # a ConfigMap volume is read-only whatever the mount says; any other setting is compared as written
        plain = ref and set(ref) <= {"name", "items"} and set(m) <= {"name", "mountPath", "subPath", "readOnly"}
        if not plain or ref["name"] not in configmaps:
            rest.append(m)
            continue
        data = configmaps[ref["name"]]
        items = ref.get("items") or [{"key": k, "path": k} for k in data]
        used.add(m["name"])
        if m.get("subPath"):  # the one file, the directory around it as the image has it
            (item,) = [i for i in items if i["path"] == m["subPath"]]
            files[posixpath.normpath(m["mountPath"])] = yamlio.load(data[item["key"]])
        else:
            dirs.add(posixpath.normpath(m["mountPath"]))
            for i in items:
                files[posixpath.join(posixpath.normpath(m["mountPath"]), i["path"])] = yamlio.load(data[i["key"]])
    return files, dirs, [v for v in volumes if v["name"] not in used], rest


def planner_config_diffs(omain: dict, gmain: dict, ofiles: dict, gfiles: dict, gdirs: set[str]) -> list[str]:
    """The config each Planner reads (`--config`: a file it sees of a ConfigMap, else inline JSON), compared
    parsed; the config then leaves the flags and files compared after (EXCEPTIONS["planner config inline"])."""

    def reads(main: dict, files: dict) -> tuple[dict, str | None]:
        args = main.get("args", [])
        if "--config" not in args:
            return {}, None
        j = args.index("--config") + 1
        value, args[j] = args[j], "<the config>"
        return (copy.deepcopy(files[value]), value) if value in files else (json.loads(value), None)

    (ocfg, opath), (gcfg, gpath) = reads(omain, ofiles), reads(gmain, gfiles)
    for k in set(gcfg) - set(ocfg):
        if gcfg[k] == dynamo.PLANNER_CONFIG_DEFAULTS.get(k, object()):
            ocfg[k] = gcfg[k]  # what the Planner takes for it anyway
    ofiles.pop(opath, None), gfiles.pop(gpath, None)
    if opath is None and gpath is not None:
        gdirs.discard(posixpath.dirname(gpath))
    return [] if ocfg == gcfg else [f"the Planner's config: {ocfg} != {gcfg}"]


def compare_component(orig: dict, got: dict, configs: dict[str, str], rendered_configs: dict[str, str]) -> list[str]:
    """Differences between an original component and the rendered one, EXCEPTIONS aside."""
    diffs = []
    o, g = copy.deepcopy(orig), copy.deepcopy(got)
    o.pop("name"), g.pop("name")  # EXCEPTIONS["component name"]
    g.pop("runtimeVersionOverride", None)  # EXCEPTIONS["runtimeVersionOverride"]
    o.setdefault("replicas", 1)  # EXCEPTIONS["replicas absent"]
    ot, gt = o.pop("podTemplate", {}), g.pop("podTemplate", {})
    if o != g:
        diffs.append(f"component fields: {o} != {g}")
    om, gm = ot.get("metadata", {}), gt.get("metadata", {})
    glabels = {k: v for k, v in gm.get("labels", {}).items() if not k.startswith("app.kubernetes.io/")}
    gann = {
        k: v
        for k, v in gm.get("annotations", {}).items()
        if k not in ("checksum/extra-config", "checksum/planner-config")  # EXCEPTIONS
    }
    if (om.get("labels") or {}) != glabels or (om.get("annotations") or {}) != gann:
        diffs.append(f"pod metadata: {om} != {gm}")
    os_, gs = copy.deepcopy(ot.get("spec", {})), copy.deepcopy(gt.get("spec", {}))
    oc, gc = os_.pop("containers", []), gs.pop("containers", [])
    omain, gmain = (
        main_of({"podTemplate": {"spec": {"containers": oc}}}),
        main_of({"podTemplate": {"spec": {"containers": gc}}}),
    )
    if [c for c in oc if c["name"] != "main"] != [c for c in gc if c["name"] != "main"]:
        diffs.append("containers other than main differ")
    ovols, gvols = os_.pop("volumes", []), gs.pop("volumes", [])
    omounts, gmounts = list(omain.pop("volumeMounts", [])), list(gmain.pop("volumeMounts", []))
    # the engine configs: what the main container sees of ConfigMap volumes, file by file, whatever the
    # volumes' and ConfigMaps' names (the chart's own extra-config against the original's)
    ofiles, odirs, ovols, omounts = config_view(ovols, omounts, configs)
    gfiles, gdirs, gvols, gmounts = config_view(gvols, gmounts, rendered_configs)
    if orig.get("type") == "planner" and "--config" in omain.get("args", []):  # as compose's Planner
        diffs += planner_config_diffs(omain, gmain, ofiles, gfiles, gdirs)
    if odirs != gdirs:
        diffs.append(f"ConfigMap directories mounted: {sorted(odirs)} != {sorted(gdirs)}")
    named = " ".join(
        [*omain.get("command", []), *omain.get("args", [])] + [e.get("value", "") for e in omain.get("env", [])]
    )
    for path in sorted(set(ofiles) | set(gfiles)):
        if path not in gfiles and path not in named and posixpath.basename(path) not in named:
            continue  # EXCEPTIONS["another role's config"]
        if path not in ofiles or path not in gfiles or ofiles[path] != gfiles[path]:
            diffs.append(f"engine config {path} differs")
    if "extra-config" in {v["name"] for v in gt.get("spec", {}).get("volumes", [])}:
        gmain["env"] = [e for e in gmain.get("env", []) if e["name"] != "DYNAMO_EXTRA_CONFIG"]  # EXCEPTIONS
    if multiset(ovols) != multiset(gvols) or multiset(omounts) != multiset(gmounts):
        diffs.append(f"volumes/mounts: {ovols} {omounts} != {gvols} {gmounts}")
    os_, gs = ({k: v for k, v in spec.items() if v not in ([], {})} for spec in (os_, gs))  # EXCEPTIONS
    if os_ != gs:
        diffs.append(f"pod spec: {os_} != {gs}")
    if flag_pairs(omain.pop("args", [])) != flag_pairs(gmain.pop("args", [])):
        diffs.append(f"args: {orig} vs {got}")
    for key in ("env", "envFrom"):
        if multiset(omain.pop(key, [])) != multiset(gmain.pop(key, [])):
            diffs.append(f"{key} differs")
    if resources(omain.pop("resources", {})) != resources(gmain.pop("resources", {})):
        diffs.append(f"resources: {orig} vs {got}")
    omain.pop("name"), gmain.pop("name")
    if omain != gmain:
        diffs.append(f"main container: {omain} != {gmain}")
    return diffs


def roundtrip(src: Path, tmp_path: Path) -> list[str]:
    proj = tmp_path / "proj"
    imported, _ = imp.import_file(src, proj)
    assert [u for u in imported.unexpressed if u.into.startswith("nowhere")] == [], "everything is carried"
    r = compose("validate", cwd=proj)  # every environment, the mocker's local one too
    assert r.returncode == 0, r.stderr
    r = compose("template", "--env", "dev", cwd=proj)
    assert r.returncode == 0, r.stderr
    docs = load_docs(r.stdout)
    assert all_errors(docs) == []
    (dgd,) = [d for d in docs if d["kind"] == "DynamoGraphDeployment"]
    rendered_configs = {d["metadata"]["name"]: d["data"] for d in docs if d["kind"] == "ConfigMap"}
    orig, others = original_of(src)
    configs = {d["metadata"]["name"]: d["data"] for d in others if d["kind"] == "ConfigMap"}
    diffs = []
    if dgd["metadata"]["name"] != orig["metadata"]["name"]:
        diffs.append("name")
    # the DGD's own labels and annotations; the chart's labels beside them (EXCEPTIONS["chart labels"])
    for key in ("labels", "annotations"):
        want_meta = {k: v for k, v in (orig["metadata"].get(key) or {}).items() if not imp._server_annotation(k)}
        got_meta = dict(dgd["metadata"].get(key) or {})
        for k in [k for k in got_meta if k not in want_meta and k.startswith(("helm.sh/", "app.kubernetes.io/"))]:
            got_meta.pop(k)
        if got_meta != want_meta:
            diffs.append(f"metadata.{key}: {want_meta} != {got_meta}")
    ospec, gspec = orig["spec"], dgd["spec"]
    if multiset(ospec.get("env")) != multiset(gspec.get("env")):
        diffs.append("spec.env")
    extra = set(ospec) - {"components", "env", "backendFramework"} | set(gspec) - {
        "components",
        "env",
        "backendFramework",
    }
    if extra:
        diffs.append(f"graph fields {sorted(extra)}")
    got = {c["name"]: c for c in gspec["components"]}
    want = role_of(ospec["components"])
    if "frontend" not in want:  # EXCEPTIONS["added frontend"]
        assert imported.added == ["frontend"]
        got.pop("frontend")
    if set(got) != set(want):
        diffs.append(f"components {sorted(got)} != roles {sorted(want)}")
    rendered = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    for obj in others:
        if obj["kind"] == "ConfigMap" and obj["metadata"]["name"] in imported.configs_moved:
            continue  # its content is the role's extraConfig, compared with the component
        got_obj = copy.deepcopy(rendered.get((obj["kind"], obj["metadata"]["name"]), {}))
        meta = got_obj.get("metadata", {})
        obj = copy.deepcopy(obj)
        obj["metadata"].pop("namespace", None)  # EXCEPTIONS["extra objects' labels and namespace"]
        own = {k: v for k, v in (obj["metadata"].pop("labels", None) or {}).items() if k not in CHART_LABELS}
        if own:
            obj["metadata"]["labels"] = own
        meta.pop("namespace", None)
        if obj["kind"] == "ComputeDomain":  # EXCEPTIONS["ComputeDomain defaults"]
            obj["spec"].setdefault("numNodes", 0)
            obj["spec"]["channel"].setdefault("allocationMode", "Single")
        labels = {
            k: v for k, v in meta.pop("labels", {}).items() if not k.startswith(("helm.sh/", "app.kubernetes.io/"))
        }
        if labels:
            meta["labels"] = labels
        if got_obj != obj:
            diffs.append(f"object {obj['kind']} {obj['metadata']['name']}: {obj} != {got_obj}")
    for role, comp in want.items():
        if role not in (*ROLES, "planner", "epp"):  # added whole by a JSON patch
            if comp != got.get(role):
                diffs.append(f"component {role}: {comp} != {got.get(role)}")
            continue
        diffs += [f"{role}: {d}" for d in compare_component(comp, got[role], configs, rendered_configs)]
    return diffs


@pytest.mark.helm
@pytest.mark.parametrize("src", ROUNDTRIP, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_an_imported_graph_renders_as_the_original(src, tmp_path):
    assert roundtrip(src, tmp_path) == []


@pytest.mark.unit
def test_the_comparison_sees_a_difference(tmp_path):
    """The comparison is not blind: a flag, an env var or a GPU changed is a difference."""
    orig, _ = original_of(TEMPLATES / "sglang_disagg.yaml")
    comp = orig["spec"]["components"][1]
    for change in (
        lambda m: m["args"].__setitem__(m["args"].index("--tp") + 1, "2"),
        lambda m: m.setdefault("env", []).append({"name": "X", "value": "1"}),
        lambda m: m["resources"]["limits"].__setitem__("nvidia.com/gpu", "2"),
        lambda m: m.__setitem__("workingDir", "/elsewhere"),
    ):
        other = copy.deepcopy(comp)
        change(main_of(other))
        assert compare_component(comp, other, {}, {}), change
    assert compare_component(comp, copy.deepcopy(comp), {}, {}) == []


@pytest.mark.unit
def test_the_comparison_sees_what_a_container_reads_of_configmaps():
    """Engine configs are compared as the container sees them, whatever the volumes are called: a file's
    content, a file the container names lost, a directory mounted where the original mounted one file."""
    cms = {"cfg": {"a.yaml": "x: 1\n", "b.yaml": "y: 2\n"}}

    def comp(volume: str, mount: dict, items=None) -> dict:
        ref = {"name": "cfg", **({"items": items} if items else {})}
        main = {"name": "main", "args": ["--config", "/e/a.yaml"], "volumeMounts": [{"name": volume, **mount}]}
        spec = {"containers": [main], "volumes": [{"name": volume, "configMap": ref}]}
        return {"name": "w", "type": "worker", "replicas": 1, "podTemplate": {"spec": spec}}

    whole = comp("v", {"mountPath": "/e"})
    one = comp("extra-config", {"mountPath": "/e", "readOnly": True}, [{"key": "a.yaml", "path": "a.yaml"}])
    assert compare_component(whole, one, cms, cms) == [], "b.yaml is named nowhere: EXCEPTIONS"
    named = copy.deepcopy(whole)
    main_of(named)["args"] += ["--draft", "/e/b.yaml"]
    named_one = copy.deepcopy(one)
    main_of(named_one)["args"] += ["--draft", "/e/b.yaml"]
    assert compare_component(named, named_one, cms, cms), "a file the container names is lost"
    assert compare_component(whole, one, cms, {"cfg": {"a.yaml": "x: 2\n"}}), "its content differs"
    file = copy.deepcopy(whole)
    main_of(file)["volumeMounts"][0].update(mountPath="/e/a.yaml", subPath="a.yaml")
    assert compare_component(file, one, cms, cms), "a directory hides the image's files, a subPath mount does not"


@pytest.mark.unit
def test_the_comparison_sees_the_config_a_planner_reads():
    """An inline config against the chart's file of it: the same keys, a key the original lacks only as
    the Planner's default, else a difference."""
    given = {"backend": "vllm", "ttft_ms": 200}

    def planner(args: list[str], volume: bool) -> dict:
        main = {"name": "main", "args": args}
        spec: dict = {"containers": [main]}
        if volume:
            main["volumeMounts"] = [{"name": "planner-config", "mountPath": "/workspace/planner_config"}]
            spec["volumes"] = [{"name": "planner-config", "configMap": {"name": "m-planner-config"}}]
        return {"name": "Planner", "type": "planner", "replicas": 1, "podTemplate": {"spec": spec}}

    orig = planner(["--config", json.dumps(given)], False)
    got = planner(["--config", "/workspace/planner_config/planner_config.json"], True)

    def rendered(config: dict) -> dict:
        return {"m-planner-config": {"planner_config.json": json.dumps(config)}}

    assert compare_component(orig, got, {}, rendered({**given, "mode": "disagg"})) == [], "the Planner's default"
    assert compare_component(orig, got, {}, rendered({**given, "mode": "agg"})), "not the Planner's default"
    assert compare_component(orig, got, {}, rendered({**given, "ttft_ms": 100})), "another value"
    assert compare_component(orig, got, {}, rendered({"ttft_ms": 200})), "a key lost"
    other = copy.deepcopy(got)
    main_of(other)["args"] += ["--extra"]
    assert compare_component(orig, other, {}, rendered(given)), "the flags beside it are still compared"


@pytest.mark.unit
def test_flag_pairs_ignore_order_but_not_values():
    assert flag_pairs(["--a", "1", "--b"]) == flag_pairs(["--b", "--a", "1"])
    assert flag_pairs(["--a", "1"]) != flag_pairs(["--a", "2"])
    assert flag_pairs(["--a=1"]) == flag_pairs(["--a", "1"])


# Upstream's recipes at the 1.4.0 cut that the values now say (runtimeClassName, schedulerName, ports,
# imagePullPolicy, DGD labels, a null field, engine configs): each renders back as it was.
UPSTREAM = FIXTURES / "dgd-upstream-e147ceea"
EKS = [UPSTREAM / "vllm_agg-eks.yaml", UPSTREAM / "vllm_disagg-eks.yaml"]
UPSTREAM_ROUNDTRIP = [
    UPSTREAM / "deepseek-v4-pro_vllm_agg-h200-agentic.yaml",
    UPSTREAM / "nemotron-3-ultra_vllm_agg-h200-chat-mtp.yaml",
    UPSTREAM / "qwen3-32b_vllm_disagg-kv-router.yaml",
    # model.computeDomain: both workers claim its channel; v1alpha1, only decode claims it
    UPSTREAM / "qwen3.8-2.4t-a95b-fp8_sglang_disagg-gb200-chat.yaml",
    UPSTREAM / "glm-5-nvfp4_sglang_disagg.yaml",
    UPSTREAM / "kimi-k3_vllm_disagg-gb200-agentic.yaml",  # two ComputeDomains: carried as extra objects
    # an engine config of a ConfigMap beside the DGD, which becomes the role's extraConfig.inline
    UPSTREAM / "qwen3-32b-fp8_trtllm_disagg.yaml",  # its flag in a shell script, its path in env
    UPSTREAM / "deepseek-v32-fp4_trtllm_disagg-kv-router.yaml",  # one ConfigMap of both roles' configs
    UPSTREAM / "glm-5.2_sglang_disagg-h200-agentic.yaml",  # both at once
    UPSTREAM / "trtllm_agg-with-config.yaml",  # the file alone mounted by subPath: extraConfig.mountFile
    # model.deviceClaim: Intel XPUs (gpu.intel.com) through DRA, claimed by the one worker; by both
    UPSTREAM / "vllm_agg_xpu_dra.yaml",
    UPSTREAM / "vllm_disagg_xpu_dra.yaml",
    # hostIPC on the worker pods: v1beta1; v1alpha1 extraPodSpec
    UPSTREAM / "inkling_sglang_agg-b200.yaml",
    UPSTREAM / "glm-5-nvfp4_sglang_disagg-efa.yaml",
    # a worker's experimental block: GPU Memory Service; with failover, InterPod; checkpoint
    UPSTREAM / "sglang_agg_gms.yaml",
    UPSTREAM / "vllm_gms-failover.yaml",
    UPSTREAM / "trtllm_snapshot-restore.yaml",
    # what `kubectl kustomize` builds of an upstream overlay (its components patch the base's DGD)
    UPSTREAM / "kustomize_qwen3-32b_vllm_overlays_aks-ib.yaml",
    # the Planner's config inline (`--config '<JSON>'`): model.planner.config; with profiling data of a ConfigMap
    UPSTREAM / "vllm_disagg_planner.yaml",
    UPSTREAM / "sglang_disagg_planner.yaml",
    UPSTREAM / "trtllm_disagg_planner.yaml",  # `python3` its command, `-m dynamo.planner` its args
    UPSTREAM / "vllm_disagg_planner_xpu_dra.yaml",
    # a worker's modelRef (the base model a DynamoModel's LoRA adapters attach to)
    UPSTREAM / "vllm_agg_lora.yaml",
    UPSTREAM / "vllm_agg_qwen_lora.yaml",
    UPSTREAM / "vllm_agg_lora_hf.yaml",  # with its DynamoModel beside the DGD: model.loras
    # workers whose shell command says everything (`bash -c "exec python3 -m dynamo.vllm --model ..."`)
    *EKS,
    # a plain ConfigMap beside the DGD, read by env configMapKeyRef: model.configMaps; its labels the chart's keys
    UPSTREAM / "nemotron-3.5-lightning_vllm_agg-h100-mtp.yaml",
    UPSTREAM / "gpt-oss-120b_vllm_agg-b200-agentic.yaml",
    # the aggregated worker typed decode (model.decode.type): v1beta1, with a ComputeDomain; the mocker;
    # v1alpha1 (subComponentType decode)
    UPSTREAM / "kimi-k3_vllm_agg-gb200-agentic.yaml",
    UPSTREAM / "mocker_agg.yaml",
    UPSTREAM / "qwen3-32b_vllm_agg-round-robin.yaml",
    # an engine config with a key whose value is null: its ConfigMap stays as written (model.configMaps)
    UPSTREAM / "kimi-k2.5_trtllm_disagg-eagle-kv-router.yaml",
]


@pytest.mark.helm
@pytest.mark.parametrize("src", UPSTREAM_ROUNDTRIP, ids=lambda p: p.name)
def test_an_upstream_recipe_renders_as_the_original(src, tmp_path):
    assert roundtrip(src, tmp_path) == []


@pytest.mark.unit
@pytest.mark.parametrize("name", [p.name for p in UPSTREAM_ROUNDTRIP if "planner" in p.name])
def test_upstreams_planner_graphs_import_as_model_planner_without_patches(name):
    """Their Planner, its config inline, is model.planner: nothing in patches, nothing else carried (the
    profiling data's ConfigMap beside the DGD is one of model.configMaps)."""
    imported = imp.convert(imp.read_stream(UPSTREAM / name, name), name)
    assert imported.values["model"]["planner"]["enabled"] is True
    assert "patches" not in imported.values
    assert imported.unexpressed == []


@pytest.mark.unit
@pytest.mark.parametrize(
    "src, model", list(zip(EKS, ["Qwen/Qwen3-0.6B", "Qwen/Qwen3-32B"])), ids=lambda p: getattr(p, "name", p)
)
def test_a_worker_whose_shell_command_says_everything_needs_no_patch(src, model):
    """Its own command and no args: `args: []` (compose writes no flags), not a JSON patch removing
    compose's; model.name is the model its script names."""
    result = imp.convert(imp.read_stream(src, src.name), src.name)
    assert result.unexpressed == [] and "patches" not in result.values
    roles = [r for r in ("decode", "prefill") if r in result.values["model"]]
    assert roles and all(result.values["model"][r]["args"] == [] for r in roles)
    assert result.values["model"]["name"] == model


@pytest.mark.helm
@pytest.mark.parametrize(
    "src",
    [UPSTREAM / "nemotron-3.5-lightning_vllm_agg-h100-mtp.yaml", UPSTREAM / "gpt-oss-120b_vllm_agg-b200-agentic.yaml"],
    ids=lambda p: p.name,
)
def test_a_plain_configmap_beside_the_graph_is_model_configmaps(src, tmp_path):
    """Upstream's ConfigMap of speculative-decoding (and compilation) configs, read by env configMapKeyRef,
    imports into model.configMaps, nothing into extraObjects or patches, and renders with its own name and
    data (the chart's labels on it)."""
    imported, proj = imp.import_file(src, tmp_path / "proj")
    assert imported.unexpressed == []
    _, others = original_of(src)
    (cm,) = [o for o in others if o["kind"] == "ConfigMap"]
    values = yamlio.load((proj / "values.yaml").read_text())
    assert "patches" not in values and "extraObjects" not in values["model"]
    assert values["model"]["configMaps"] == {cm["metadata"]["name"]: cm["data"]}
    r = compose("template", "--env", "dev", cwd=proj)
    assert r.returncode == 0, r.stderr
    (got,) = [d for d in load_docs(r.stdout) if d["kind"] == "ConfigMap"]
    assert (got["metadata"]["name"], got["data"]) == (cm["metadata"]["name"], cm["data"])
    assert got["metadata"]["labels"]["app.kubernetes.io/part-of"] == "dynamo-compose"


@pytest.mark.helm
@pytest.mark.parametrize("mount", ["subPath", "items"])
def test_an_engine_config_under_another_key_renders_as_the_original(tmp_path, mount):
    """The ConfigMap's key is not the name of the file the engine reads: the file alone mounted by a
    subPath naming that key, or the directory with an item mapping the key to the file."""
    text = (UPSTREAM / "trtllm_agg-with-config.yaml").read_text().replace("  agg.yaml: |", "  engine.yaml: |")
    if mount == "subPath":
        text = text.replace("subPath: agg.yaml", "subPath: engine.yaml")
    else:
        text = text.replace(
            "engine_configs/qwen3/agg.yaml\n            name:", "engine_configs/qwen3\n            name:"
        )
        text = text.replace("            subPath: agg.yaml\n", "").replace(
            "            name: nvidia-config\n          name:",
            "            name: nvidia-config\n            items: [{key: engine.yaml, path: agg.yaml}]\n          name:",
        )
    assert (
        "engine.yaml" in text
        and ("subPath" in text) == (mount == "subPath")
        and text.count("items") == (mount == "items")
    )
    (tmp_path / "dgd.yaml").write_text(text)
    imported = imp.convert(imp.read_stream(tmp_path / "dgd.yaml", "x"), "x")
    assert imported.unexpressed == [] and imported.configs_moved == ["nvidia-config"]
    assert roundtrip(tmp_path / "dgd.yaml", tmp_path) == []


@pytest.mark.unit
def test_share_of_graphs_that_need_nothing_more():
    """Of the 18 upstream graphs here, 17 import with nothing in patches or extraObjects (both
    endpoint-picker graphs and a worker typed decode among them); one more with patches (a second worker)."""
    upstream = sorted(p for p in {*ROUNDTRIP, *CANNOT} if "import" not in p.parts)
    found = {p: imp.convert(imp.read_stream(p, p.name), p.name).unexpressed for p in upstream}
    clean = [p for p, u in found.items() if not u]
    carried = [p for p, u in found.items() if u and not any(x.into.startswith("nowhere") for x in u)]
    assert (len(clean), len(carried), len(upstream)) == (17, 1, 18)
    assert sorted([*clean, *carried]) == sorted(p for p in ROUNDTRIP if p in upstream)


def model_objects(text: str, name: str, config_maps: tuple[str, ...] = ()) -> list[dict]:
    """The model release's DGD, its engine- and planner-config ConfigMaps and those of config_maps (model.configMaps)
    in `compose template` output."""
    return [
        d
        for d in load_docs(text)
        if d["kind"] == "DynamoGraphDeployment"
        or (
            d["kind"] == "ConfigMap"
            and (
                re.fullmatch(rf"{name}-(decode|prefill|planner)-config", d["metadata"]["name"])
                or d["metadata"]["name"] in config_maps
            )
        )
    ]


def sources() -> list[tuple[str, object]]:
    return [(f"recipe {r.name}", r.name) for r in recipes.available()] + [(f"case {c.name}", c) for c in CASES]


@pytest.mark.helm
@pytest.mark.parametrize("source", [s for _, s in sources()], ids=[i for i, _ in sources()])
def test_a_graph_compose_rendered_imports_back_to_itself(source, tmp_path):
    """Every recipe's and golden case's DGD, as compose renders it (dev, or the case's environment), imports into values that
    render the very same DGD and engine-config ConfigMaps: compose's flags become args, its ConfigMaps
    extraConfig.inline, a configMapRef's volume a configMapRef again, patches' results patches again, and
    model.configMaps' ConfigMaps (with the chart's labels) model.configMaps again."""
    if isinstance(source, str):
        recipes.scaffold(source, tmp_path / "src")
        src = tmp_path / "src"
    else:
        src = copy_case(source, tmp_path / "src").root
    env = "dev" if (src / "environments" / "dev.yaml").exists() else sorted(src.glob("environments/*.yaml"))[0].stem
    r = compose("template", "--env", env, cwd=src)
    assert r.returncode == 0, r.stderr
    values = yamlio.load((src / "values.yaml").read_text())
    name, config_maps = values["dynamoNamespace"], tuple(values["model"].get("configMaps", {}))
    original = model_objects(r.stdout, name, config_maps)
    (tmp_path / "dgd.yaml").write_text("---\n".join(yamlio.dump(o) for o in original))
    imported, _ = imp.import_file(tmp_path / "dgd.yaml", tmp_path / "imported")
    assert [u for u in imported.unexpressed if u.into.startswith("nowhere")] == []
    if "patches" not in yamlio.load((src / "values.yaml").read_text()):
        # what the values said, the values say again: the Planner, the endpoint picker and its
        # sidecars too, with no patch
        assert imported.unexpressed == []
    assert sorted(imported.values["model"].get("configMaps", {})) == sorted(config_maps)
    r = compose("template", "--env", "dev", cwd=tmp_path / "imported")
    assert r.returncode == 0, r.stderr
    assert model_objects(r.stdout, name, config_maps) == original


@pytest.mark.helm
@pytest.mark.parametrize("case", [c for c in CASES if c.name in ("planner", "epp")], ids=lambda c: c.name)
def test_an_imported_planner_or_picker_project_validates_in_every_environment(case, tmp_path):
    """A DGD does not say where Prometheus is, nor which Gateway serves the picker: the generated
    environments leave the platform release as it is and name a placeholder Gateway, so that the project
    validates as it is written (IMPORT.md says what to set)."""
    src = copy_case(case, tmp_path / "src").root
    r = compose("template", "--env", "dev", cwd=src)
    assert r.returncode == 0, r.stderr
    name = yamlio.load((src / "values.yaml").read_text())["dynamoNamespace"]
    (tmp_path / "dgd.yaml").write_text("---\n".join(yamlio.dump(o) for o in model_objects(r.stdout, name)))
    imp.import_file(tmp_path / "dgd.yaml", tmp_path / "imported")
    r = compose("validate", cwd=tmp_path / "imported")
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("ok: ") == 3, r.stdout


@pytest.mark.helm
@pytest.mark.parametrize("prefill_ref", ["{name: Qwen/Qwen3-0.6B}", "{name: Qwen/Qwen3-8B}", None])
def test_disaggregated_model_refs_render_as_the_original(tmp_path, prefill_ref):
    """Workers naming one model are the roles' modelRef; one naming none or another (which the values
    refuse) stay in patches: either way the graph renders as it was."""
    text = (EXAMPLES / "vllm_disagg.yaml").read_text()
    text = text.replace("    VllmDecodeWorker:\n", "    VllmDecodeWorker:\n      modelRef: {name: Qwen/Qwen3-0.6B}\n")
    if prefill_ref:
        text = text.replace("    VllmPrefillWorker:\n", f"    VllmPrefillWorker:\n      modelRef: {prefill_ref}\n")
    assert text.count("modelRef") == 1 + bool(prefill_ref)
    (tmp_path / "dgd.yaml").write_text(text)
    assert roundtrip(tmp_path / "dgd.yaml", tmp_path) == []
