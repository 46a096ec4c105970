"""Recipes (recipes/<model>/<backend>/<mode>/values.yaml) and `compose init`, which scaffolds a project
from one. Every recipe must validate with every environment init writes, generate, render with real
helm/helmfile into a DynamoGraphDeployment that passes the CRD schema, and match its golden: the
helmfile.d/ of the scaffolded project for env dev, in tests/cases/recipes/<name, / as __>/expected
(a missing golden fails; `pytest --update-goldens` rewrites them: review the diff)."""

import re
import shutil
from importlib import resources
from pathlib import Path

import pytest
import yaml

from composer import helmfiles, load, schema, tune, write
from composer import project as p
from composer import recipes as r
from composer.errors import UsageError
from tests.support.cases import small_recipes
from tests.support.project import REPO, compose, make_project
from tests.support.validate import all_errors, load_docs

RECIPES = r.available()
NAMES = [x.name for x in RECIPES]
GOLDENS = Path(__file__).parent / "cases" / "recipes"
SMALL = small_recipes()
COMMIT = re.compile(r"@ [0-9a-f]{40}\b")
HOW_READ = re.compile(r"wxsms|\bfork\b|read in ", re.I)
MAX_LENGTH = re.compile(r"max-model-len|max_model_len|max_seq_len|context-length")
CLUSTER_FACTS = ("cluster", "target", "local", "platform", "observability", "inferenceGateway", "modelExpress")
MODEL_CLUSTER_FACTS = ("hfTokenSecret", "modelCache", "imagePullSecrets", "nodeSelector", "tolerations")


def scaffolded(tmp_path: Path, name: str, **kw) -> p.Project:
    dest = tmp_path / "proj"
    r.scaffold(name, dest, **kw)
    return p.Project.at(dest / "values.yaml")


def values_of(name: str) -> dict:
    return load.load(r.get(name).values_file).data


def dev_files(proj: p.Project) -> dict[str, str]:
    """What `compose generate` writes for env dev (the golden)."""
    plan = p.plans(proj, ["dev"])["dev"]
    return helmfiles.files(plan, [proj.rel(proj.values_file), proj.rel(proj.env_file("dev"))], proj.command())


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


# --- where recipes live -----------------------------------------------------------------------


@pytest.mark.unit
def test_recipes_and_charts_resolve_from_the_installed_package():
    pkg = resources.files("composer")
    assert pkg.joinpath("recipes").is_dir() and pkg.joinpath("charts").is_dir()
    assert r.recipes_dir().resolve() == (REPO / "recipes").resolve()
    assert r.charts_dir().resolve() == (REPO / "charts").resolve()
    assert r.schema_file().read_text() == (REPO / "composer" / "schema" / "values.schema.json").read_text()
    assert "recipes/**/*" in (REPO / "pyproject.toml").read_text(), "recipes must be package data"
    assert "charts/**/*" in (REPO / "pyproject.toml").read_text(), "charts must be package data"


@pytest.mark.unit
def test_the_hand_picked_models_have_recipes():
    models = {values_of(n)["model"]["name"] for n in NAMES}
    assert {
        "Qwen/Qwen3-0.6B",
        "meta-llama/Llama-3.1-8B-Instruct",
        "deepseek-ai/DeepSeek-R1-Distill-Llama-8B",
        "Qwen/Qwen3-32B-FP8",
        "RedHatAI/Llama-3.3-70B-Instruct-FP8-dynamic",
        "openai/gpt-oss-120b",
        "deepseek-ai/DeepSeek-R1",
    } <= models
    assert {n.split("/")[1] for n in SMALL} == {"vllm", "sglang", "trtllm"}


# --- every recipe -----------------------------------------------------------------------------


@pytest.mark.unit
@pytest.mark.parametrize("name", NAMES)
def test_recipe_is_documented_and_keeps_to_its_own_facts(name):
    recipe = r.get(name)
    lines = recipe.values_file.read_text().splitlines(keepends=True)
    assert lines[0].startswith("# yaml-language-server: $schema=")
    assert (recipe.values_file.parent / lines[0].split("$schema=")[1].strip()).resolve() == (
        REPO / "composer" / "schema" / "values.schema.json"
    ).resolve(), "the editor's schema line must resolve"
    assert recipe.summary and lines[1] == f"# {recipe.summary}\n"
    assert lines[2] == r.SOURCES_LINE
    doc = recipe.readme.read_text()
    assert doc.startswith(f"# {name}\n") and "| setting | value | source |" in doc
    if "tune" in values_of(name):  # written by compose tune: its source is the tool, by version
        assert f"Generated by `compose tune` with aiconfigurator {tune.TOOL_VERSION}" in doc
        assert f"`scripts/tune-recipes {name}`" in doc and "tuned-" in name
    else:
        assert COMMIT.search(doc), "the README names the upstream commit it read"
    assert not HOW_READ.search(doc), "cite upstream by repository, path and commit, not the copy it was read in"
    assert f"`{name}`" in (REPO / "recipes" / "README.md").read_text(), "list it in recipes/README.md"

    values = values_of(name)
    assert not set(values) & set(CLUSTER_FACTS), "cluster facts belong to environments"
    assert not set(values["model"]) & set(MODEL_CLUSTER_FACTS)
    assert "image" not in values["model"]["backend"], "the image follows platform.version and the registry"
    assert re.fullmatch(r"[A-Za-z0-9][\w.-]*/[\w.-]+", values["model"]["name"]), "a Hugging Face model id"
    bench = values["benchmark"]
    assert bench["enabled"] is True
    assert bench["config"]["concurrency"] and bench["config"]["isl"] > 0 and bench["config"]["osl"] > 0
    for role in worker_roles(values):
        assert values["model"][role]["gpus"] >= 1, f"{role}: GPUs stated, not left to the default"
    # a max length is set, or the README says which one the engine takes and where that comes from
    assert MAX_LENGTH.search(recipe.values_file.read_text()) or re.search(
        r"^\| max length \| engine default: the model's context, [\d,]+ tokens \| `max_position_embeddings`", doc, re.M
    )


KEY = re.compile(r"(?:model|benchmark)(?:\.[\w-]+)+|dynamoNamespace")
SIBLING = re.compile(r"\.?[A-Za-z][\w-]*(?:\.[\w-]+)*")
UNKEYED_ROWS = ("max length", "engine config")  # facts about the engine's defaults, not values keys
ROLES = ("frontend", "decode", "prefill", "planner", "epp")
DEFAULTED = re.compile(r"\bdefault\b|\bnot set\b")


def source_rows(doc: str) -> list[list[str]]:
    """The cells of each row of the README's "Where every setting comes from" table."""
    rows, table = [], False
    for line in doc.split("## Where every setting comes from", 1)[1].splitlines():
        if line.startswith("| setting | value | source |"):
            table = True
        elif table and not line.startswith("|"):
            break
        elif table and not line.startswith("|---"):
            rows.append([c.strip() for c in line.strip().strip("|").split(" | ")])
    return rows


def named_keys(cell: str) -> list[str]:
    """The values keys a row's setting cell names: full paths (`model.decode.gpus`), and after one, its
    siblings by their last parts (`model.decode.replicas`, `gpus`; `benchmark.config.isl`, `.osl`)."""
    keys: list[str] = []
    parent = None
    for token in re.findall(r"`([^`]+)`", cell.split(":", 1)[0] if cell.startswith("`") else cell):
        if KEY.fullmatch(token):
            keys.append(token)
            parent = token.rsplit(".", 1)[0] if "." in token else None
        elif parent and SIBLING.fullmatch(token):
            keys.append(f"{parent}.{token.lstrip('.')}")
    return keys


def lookup(values: dict, key: str):
    node = values
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(key)
        node = node[part]
    return node


@pytest.mark.unit
@pytest.mark.parametrize("name", NAMES)
def test_every_setting_the_readme_names_is_set_and_every_role_setting_is_named(name):
    """Each row of the README's sources table names the values keys it is about; each is set in the
    values file (or the row says it is left to the default). And each setting of a component in the
    values file is named by a row: a setting without a source is not a recipe's."""
    recipe = r.get(name)
    values = values_of(name)
    named: set[str] = set()
    for row in source_rows(recipe.readme.read_text()):
        setting, value = row[0], row[1]
        keys = named_keys(setting)
        assert keys or setting.startswith(UNKEYED_ROWS), f"row {setting!r} names no values key"
        for key in keys:
            try:
                lookup(values, key)
            except KeyError:
                assert DEFAULTED.search(value), f"README row {setting!r} names {key}, which values.yaml does not set"
        named.update(keys)
    for role in ROLES:
        for setting in values["model"].get(role) or {}:
            key = f"model.{role}.{setting}"
            assert any(n == key or n.startswith(key + ".") for n in named), f"{key} has no row in the README"
    for setting in ("env", "extraObjects", "sharedMemorySize"):
        if setting in values["model"]:
            assert f"model.{setting}" in named, f"model.{setting} has no row in the README"


@pytest.mark.unit
@pytest.mark.parametrize("name", NAMES)
def test_each_role_has_as_many_gpus_as_its_parallelism(name):
    values = values_of(name)
    for role in worker_roles(values):
        spec = values["model"][role]
        sizes = parallelism(spec)
        for kind, found in sizes.items():
            assert len(found) <= 1, f"{role}: conflicting {kind} sizes {sorted(found)}"
        tp, pp, dp = (next(iter(sizes[k]), 1) for k in ("tp", "pp", "dp"))
        total = spec["gpus"] * nodes(spec)
        assert total == tp * pp * dp, f"{role}: {total} GPUs over {nodes(spec)} node(s) for TP{tp} x PP{pp} x DP{dp}"


@pytest.mark.unit
def test_the_70b_recipes_give_each_worker_its_tensor_parallel_gpus():
    agg = values_of("llama-3.3-70b-instruct-fp8/vllm/agg")["model"]
    assert agg["decode"]["gpus"] == agg["decode"]["extraConfig"]["inline"]["tensor-parallel-size"] == 4
    disagg = values_of("llama-3.3-70b-instruct-fp8/vllm/disagg")["model"]
    assert disagg["decode"]["gpus"] == disagg["decode"]["extraConfig"]["inline"]["tensor-parallel-size"] == 4
    assert disagg["prefill"]["gpus"] == disagg["prefill"]["extraConfig"]["inline"]["tensor-parallel-size"] == 2


@pytest.mark.unit
def test_trtllm_recipes_state_the_same_tensor_parallel_size_in_flags_and_engine_config():
    gpt = values_of("gpt-oss-120b/trtllm/agg")["model"]["decode"]
    assert gpt["extraArgs"][gpt["extraArgs"].index("--tensor-parallel-size") + 1] == "4" and gpt["gpus"] == 4
    q32 = values_of("qwen3-32b-fp8/trtllm/disagg")["model"]
    assert q32["decode"]["extraConfig"]["inline"]["tensor_parallel_size"] == 2 == q32["decode"]["gpus"]
    assert q32["prefill"]["extraConfig"]["inline"]["tensor_parallel_size"] == 1 == q32["prefill"]["gpus"]


@pytest.mark.unit
@pytest.mark.parametrize("name", NAMES)
def test_recipe_validates_with_every_scaffolded_environment(name, tmp_path):
    proj = scaffolded(tmp_path, name)
    assert proj.environments() == ["dev", "local", "prod"]
    plans = p.plans(proj)  # raises InvalidValues, with every problem located, if any environment is invalid
    assert set(plans) == {"dev", "local", "prod"}
    local = p.load_deployment(proj, "local")
    assert local.target == "local" and local.backend == "mocker"
    assert all(
        local.model[role]["gpus"] == 0 and not {"extraConfig", *r.ENGINE_ONLY} & set(local.model[role])
        for role in worker_roles(local.values)
    ), "the mocker runs its own command line on one node"
    prod = p.load_deployment(proj, "prod")
    assert prod.values["cluster"]["production"] is True and prod.values["cluster"]["kubeContext"]
    assert plans["prod"].kube_context == prod.values["cluster"]["kubeContext"]
    assert plans["dev"].release("model").values["model"]["name"] == values_of(name)["model"]["name"]


@pytest.mark.unit
@pytest.mark.parametrize("name", NAMES)
def test_recipe_generates_its_golden(name, tmp_path, request):
    proj = scaffolded(tmp_path, name)
    files = dev_files(proj)
    expected = GOLDENS / name.replace("/", "__") / "expected"
    if request.config.getoption("--update-goldens"):
        shutil.rmtree(expected, ignore_errors=True)
        expected.parent.mkdir(parents=True, exist_ok=True)
        write.write_tree(expected, files)
    assert expected.is_dir(), f"missing golden {expected}: run pytest --update-goldens and review it"
    assert files == write.read_tree(expected), write.diff_tree(expected, files)
    model = next(v for k, v in files.items() if k.endswith("-model.yaml"))
    assert "chart: ../charts/model" in files["dev.yaml"] and model


@pytest.mark.unit
def test_no_golden_without_a_recipe():
    stale = sorted(d.name for d in GOLDENS.iterdir() if d.is_dir()) if GOLDENS.is_dir() else []
    assert stale == sorted(n.replace("/", "__") for n in NAMES)


def rendered(tmp_path: Path, name: str, env: str) -> list[dict]:
    """`compose template --env ENV` of a project made from the recipe: schema-valid manifests."""
    proj = scaffolded(tmp_path, name)
    out = compose("template", "--env", env, cwd=proj.root)
    assert out.returncode == 0, out.stderr
    docs = load_docs(out.stdout)
    assert all_errors(docs) == []
    return docs


@pytest.mark.helm
@pytest.mark.parametrize("name", NAMES)
def test_recipe_renders_with_helmfile_into_a_valid_dynamographdeployment(name, tmp_path):
    docs = rendered(tmp_path, name, "dev")
    dgds = [d for d in docs if d["kind"] == "DynamoGraphDeployment"]
    assert len(dgds) == 1
    values = values_of(name)
    assert dgds[0]["metadata"]["name"] == values["dynamoNamespace"]
    components = {c["name"]: c for c in dgds[0]["spec"]["components"]}
    for role in worker_roles(values):
        spec = values["model"][role]
        comp = components[role]
        assert comp["replicas"] == spec.get("replicas", 1)
        main = comp["podTemplate"]["spec"]["containers"][0]
        assert main["resources"]["limits"]["nvidia.com/gpu"] == str(spec["gpus"])
        for arg in spec.get("extraArgs") or []:
            assert arg in main["args"]
        inline = (spec.get("extraConfig") or {}).get("inline")
        if inline:
            cm = next(
                d
                for d in docs
                if d["kind"] == "ConfigMap" and d["metadata"]["name"] == f"{values['dynamoNamespace']}-{role}-config"
            )
            assert yaml.safe_load(next(iter(cm["data"].values()))) == inline
    assert_component_settings_render_as_written(dgds[0], values)


CONTAINER_KEYS = (
    "image",
    "command",
    "workingDir",
    "securityContext",
    "startupProbe",
    "livenessProbe",
    "readinessProbe",
)
POD_KEYS = {
    "affinity": "affinity",
    "podSecurityContext": "securityContext",
    "nodeSelector": "nodeSelector",
    "tolerations": "tolerations",
    "priorityClassName": "priorityClassName",
    "serviceAccountName": "serviceAccountName",
    "terminationGracePeriodSeconds": "terminationGracePeriodSeconds",
    "resourceClaims": "resourceClaims",
}


def assert_component_settings_render_as_written(dgd: dict, values: dict) -> None:
    """What a recipe sets on a component (the settings its README cites upstream for) is in the
    DynamoGraphDeployment as written: probes, security contexts, affinity, env, flags, nodes."""
    model = values["model"]
    components = {c["name"]: c for c in dgd["spec"]["components"]}
    if "env" in model:
        assert dgd["spec"]["env"] == model["env"]
    for role in ["frontend", *worker_roles(values)]:
        spec = model.get(role) or {}
        comp = components[role]
        pod = comp["podTemplate"]["spec"]
        main = next(c for c in pod["containers"] if c["name"] == "main")
        for key in CONTAINER_KEYS:
            if key in spec:
                assert main[key] == spec[key], f"{role}.{key}"
        for key, field in POD_KEYS.items():
            if key in spec:
                assert pod[field] == spec[key], f"{role}.{key}"
        for entry in spec.get("env") or []:
            assert entry in main["env"], f"{role}.env {entry['name']}"
        for volume in spec.get("volumes") or []:
            assert volume in pod["volumes"], f"{role}.volumes {volume['name']}"
        for mount in spec.get("volumeMounts") or []:
            assert mount in main["volumeMounts"], f"{role}.volumeMounts {mount['name']}"
        flags = [str(a) for a in (spec.get("args") or []) + (spec.get("extraArgs") or [])]
        if "args" in spec or role == "frontend":
            assert main.get("args", []) == flags, f"{role}: the flags are exactly args + extraArgs"
        if role == "frontend" and flags and "command" not in spec:
            assert main["command"] == ["python3", "-m", "dynamo.frontend"]
        if "multinode" in spec:
            assert comp["multinode"] == {"nodeCount": spec["multinode"]["nodeCount"]}
        shm = spec.get("sharedMemorySize", model.get("sharedMemorySize") if role != "frontend" else None)
        assert comp.get("sharedMemorySize") == shm, f"{role}.sharedMemorySize"


# The worker command lines of recipes/deepseek-r1/sglang/disagg-16gpu/deploy.yaml in ai-dynamo/dynamo @
# c51febe8fd87431c1577e6fc8f7d5f737a62f381, the flags after `python3 -m dynamo.sglang`.
DSR1_SGLANG_DECODE = (
    "--model-path deepseek-ai/DeepSeek-R1 --served-model-name deepseek-ai/DeepSeek-R1 --tp 16 --dp 16 "
    "--enable-dp-attention --ep-size 16 --trust-remote-code --skip-tokenizer-init --disaggregation-mode decode "
    "--disaggregation-bootstrap-port 30001 --mem-fraction-static 0.75 --host 0.0.0.0 --prefill-round-robin-balance "
    "--watchdog-timeout 3600"
).split()
DSR1_SGLANG_PREFILL = (
    "--model-path deepseek-ai/DeepSeek-R1 --served-model-name deepseek-ai/DeepSeek-R1 --tp 16 --ep-size 16 "
    "--trust-remote-code --skip-tokenizer-init --disaggregation-mode prefill --disaggregation-bootstrap-port 30001 "
    "--mem-fraction-static 0.75 --host 0.0.0.0 --load-balance-method round_robin --watchdog-timeout 3600"
).split()


@pytest.mark.helm
@pytest.mark.parametrize("version", ["1.4.0", "1.6.1"])
def test_the_multinode_recipe_renders_upstreams_flags_over_two_nodes(version, tmp_path):
    """deepseek-r1/sglang/disagg-16gpu: each worker one SGLang engine of 2 nodes x 8 GPUs, with upstream's
    flags and no other (compose's own would add --page-size and the NIXL backend, change the bootstrap
    port, and drop --skip-tokenizer-init from 1.6), whatever the release line; the benchmark counts 32 GPUs."""
    proj = scaffolded(tmp_path, "deepseek-r1/sglang/disagg-16gpu")
    env = proj.env_file("dev")
    env.write_text(env.read_text() + f"platform:\n  version: {version}\n")
    out = compose("template", "--env", "dev", cwd=proj.root)
    assert out.returncode == 0, out.stderr
    dgd = next(d for d in load_docs(out.stdout) if d["kind"] == "DynamoGraphDeployment")
    components = {c["name"]: c for c in dgd["spec"]["components"]}
    for role, upstream in (("decode", DSR1_SGLANG_DECODE), ("prefill", DSR1_SGLANG_PREFILL)):
        comp = components[role]
        main = comp["podTemplate"]["spec"]["containers"][0]
        assert main["command"] == ["python3", "-m", "dynamo.sglang"]
        assert sorted(main["args"]) == sorted(upstream), role
        assert comp["multinode"] == {"nodeCount": 2} and comp["sharedMemorySize"] == "80Gi"
        assert main["resources"]["limits"]["nvidia.com/gpu"] == "8"
        tp = int(main["args"][main["args"].index("--tp") + 1])
        assert tp == 8 * 2, "SGLang's --tp is the engine's, over both nodes"
    from composer.model import Deployment

    values = schema.with_defaults(schema.values_schema(), values_of("deepseek-r1/sglang/disagg-16gpu"))
    assert Deployment(env="x", values=values).gpu_count == 32


@pytest.mark.helm
@pytest.mark.parametrize("name", SMALL)
def test_small_recipe_renders_for_the_local_runtime(name, tmp_path):
    docs = rendered(tmp_path, name, "local")
    dgd = next(d for d in docs if d["kind"] == "DynamoGraphDeployment")
    workers = [c for c in dgd["spec"]["components"] if c["type"] not in ("frontend", "planner", "epp")]
    assert workers and all(c["podTemplate"]["spec"]["containers"][0]["command"][-1] == "dynamo.mocker" for c in workers)


# --- scaffold ---------------------------------------------------------------------------------


@pytest.mark.unit
def test_scaffold_writes_a_self_contained_project(tmp_path):
    proj = scaffolded(tmp_path, "qwen3-0.6b/vllm/disagg-kv", dynamo_namespace="my-qwen")
    root = proj.root
    text = proj.values_file.read_text()
    assert text.startswith("# yaml-language-server: $schema=values.schema.json\n")
    assert (root / "values.schema.json").read_text() == r.schema_file().read_text()
    assert "\ndynamoNamespace: my-qwen\n" in text
    assert "RECIPE.md says where every setting comes from" in text
    assert (root / "RECIPE.md").read_text() == r.get("qwen3-0.6b/vllm/disagg-kv").readme.read_text()
    for chart in ("model", "benchmark", "metrics", "model-express", "inference-gateway"):
        assert (root / "charts" / chart / "Chart.yaml").read_text() == (
            REPO / "charts" / chart / "Chart.yaml"
        ).read_text()
        assert not (root / "charts" / chart / "ci").exists(), "chart-testing fixtures stay in the repository"
    assert not any(pth.is_symlink() for pth in root.rglob("*")), "copies, not links into the package"
    assert (root / "charts" / "model" / ".helmignore").is_file()
    local = load.load(root / "environments" / "local.yaml").data
    assert local["model"]["prefill"]["extraConfig"] is None and local["model"]["decode"]["gpus"] == 0


@pytest.mark.unit
def test_scaffold_is_deterministic_and_machine_independent(tmp_path):
    a = write.read_tree(scaffolded(tmp_path / "a", "gpt-oss-120b/trtllm/disagg").root)
    b = write.read_tree(scaffolded(tmp_path / "b", "gpt-oss-120b/trtllm/disagg").root)
    assert a == b
    assert not any(str(tmp_path) in t or str(REPO) in t for t in a.values())


@pytest.mark.unit
def test_scaffold_refuses_to_overwrite_and_writes_nothing(tmp_path):
    dest = tmp_path / "proj"
    (dest / "charts" / "model").mkdir(parents=True)
    (dest / "charts" / "model" / "Chart.yaml").write_text("mine\n")
    with pytest.raises(UsageError, match=r"refusing to overwrite charts/model/Chart\.yaml in .*nothing was written"):
        r.scaffold("qwen3-0.6b/vllm/agg", dest)
    assert sorted(str(x.relative_to(dest)) for x in dest.rglob("*")) == [
        "charts",
        "charts/model",
        "charts/model/Chart.yaml",
    ]
    assert (dest / "charts" / "model" / "Chart.yaml").read_text() == "mine\n"


@pytest.mark.unit
def test_scaffold_refuses_a_path_blocked_by_a_file(tmp_path):
    dest = tmp_path / "proj"
    dest.mkdir()
    (dest / "environments").write_text("not a directory\n")
    with pytest.raises(UsageError, match="environments/dev.yaml"):
        r.scaffold("qwen3-0.6b/vllm/agg", dest)
    assert sorted(x.name for x in dest.iterdir()) == ["environments"]


@pytest.mark.unit
@pytest.mark.parametrize("bad", ["Qwen", "-x", "a" * 44])
def test_scaffold_refuses_a_bad_dynamo_namespace(tmp_path, bad):
    with pytest.raises(UsageError, match="--name"):
        r.scaffold("qwen3-0.6b/vllm/agg", tmp_path / "proj", dynamo_namespace=bad)
    assert not (tmp_path / "proj").exists()


@pytest.mark.unit
def test_unknown_recipe_suggests_the_closest(tmp_path):
    with pytest.raises(UsageError, match=r"no recipe 'qwen3-0.6b/vlm/agg': did you mean 'qwen3-0.6b/vllm/agg'\?"):
        r.get("qwen3-0.6b/vlm/agg")
    with pytest.raises(UsageError, match="compose recipes list"):
        r.get("../../etc")


# --- the command line -------------------------------------------------------------------------


@pytest.mark.helm
def test_init_then_validate_generate_and_template(tmp_path):
    out = compose("init", "--recipe", "qwen3-0.6b/vllm/agg", "--dir", "proj", "--name", "my-qwen", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("wrote ") and "from recipe qwen3-0.6b/vllm/agg into proj/" in out.stdout
    steps = [line.split("#")[0].strip() for line in out.stdout.splitlines()[2:]]
    assert steps == ["cd proj", "compose validate", "compose generate", "compose up --env local"]
    proj = tmp_path / "proj"
    ok = compose("validate", cwd=proj)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.splitlines() == [f"ok: values.yaml + environments/{e}.yaml" for e in ("dev", "local", "prod")]
    gen = compose("generate", cwd=proj)
    assert gen.returncode == 0 and gen.stdout == "wrote helmfile.d/\n", gen.stderr
    assert "chart: ../charts/model" in (proj / "helmfile.d" / "dev.yaml").read_text()
    assert (proj / "helmfile.d" / "values" / "dev" / "my-qwen-model.yaml").is_file()
    tpl = compose("template", "--env", "dev", cwd=proj)
    assert tpl.returncode == 0, tpl.stderr


@pytest.mark.cli
def test_init_in_the_current_directory_needs_no_cd(tmp_path):
    out = compose("init", "--recipe", "qwen3-0.6b/sglang/disagg", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "cd " not in out.stdout and (tmp_path / "values.yaml").is_file()


@pytest.mark.cli
def test_init_refuses_to_overwrite_and_writes_nothing(tmp_path):
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "values.yaml").write_text("dynamoNamespace: mine\n")
    out = compose("init", "--recipe", "qwen3-0.6b/vllm/agg", "--dir", str(proj), cwd=tmp_path)
    assert out.returncode == 2
    assert out.stdout == ""
    assert out.stderr.startswith("error: refusing to overwrite values.yaml in ")
    assert "nothing was written" in out.stderr and "Traceback" not in out.stderr
    assert [x.name for x in proj.iterdir()] == ["values.yaml"]
    assert (proj / "values.yaml").read_text() == "dynamoNamespace: mine\n"


@pytest.mark.cli
def test_init_unknown_recipe_is_a_usage_error(tmp_path):
    out = compose("init", "--recipe", "qwen3-0.6b/vllm/agregated", "--dir", "proj", cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr == "error: no recipe 'qwen3-0.6b/vllm/agregated': did you mean 'qwen3-0.6b/vllm/agg'?\n"
    assert not (tmp_path / "proj").exists()


@pytest.mark.cli
def test_recipes_list_lists_every_recipe_with_its_summary(tmp_path):
    out = compose("recipes", "list", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert [line.split()[0] for line in lines] == NAMES
    for line, recipe in zip(lines, RECIPES):
        assert line.endswith(recipe.summary)


@pytest.mark.cli
def test_recipes_show_prints_the_values_file(tmp_path):
    out = compose("recipes", "show", "llama-3.3-70b-instruct-fp8/vllm/agg", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout == (REPO / "recipes" / "llama-3.3-70b-instruct-fp8" / "vllm" / "agg" / "values.yaml").read_text()
    missing = compose("recipes", "show", "nope", cwd=tmp_path)
    assert missing.returncode == 2 and missing.stderr.startswith("error: no recipe 'nope'")


@pytest.mark.unit
def test_gpu_count_derived_from_the_recipe_matches_the_table():
    """Deployment.gpu_count (what the benchmark gets as DEPLOYMENT_GPU_COUNT) against the GPUs
    column of recipes/README.md, written by hand from the upstream graphs."""
    table = dict(re.findall(r"^\| `([^`]+)` \| (\d+) \|", (REPO / "recipes" / "README.md").read_text(), re.M))
    assert sorted(table) == sorted(NAMES)
    from composer.model import Deployment

    for name in NAMES:
        values = schema.with_defaults(schema.values_schema(), values_of(name))
        assert Deployment(env="x", values=values).gpu_count == int(table[name]), name


@pytest.mark.unit
def test_production_does_not_benchmark_by_default(tmp_path):
    """The example's prod.yaml and every project `compose init` makes keep the benchmark Job out of
    production: it would load the GPUs that serve users."""
    example = make_project(tmp_path / "example")
    assert p.plans(p.Project.at(example / "values.yaml"), ["prod"])["prod"].release("benchmark") is None
    assert p.plans(p.Project.at(example / "values.yaml"), ["dev"])["dev"].release("benchmark") is not None
    for recipe in r.available():
        dest = tmp_path / recipe.name.replace("/", "-")
        r.scaffold(recipe.name, dest)
        assert p.plans(p.Project.at(dest / "values.yaml"), ["prod"])["prod"].release("benchmark") is None, recipe.name
