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

from composer import helmfiles, load, schema, write
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
    """Every tensor/pipeline/data-parallel size a role states, in its engine config or its flags."""
    inline = (role.get("extraConfig") or {}).get("inline") or {}
    args = role.get("extraArgs") or []
    out: dict[str, set[int]] = {"tp": set(), "pp": set(), "dp": set()}
    keys = {
        "tp": ("tensor-parallel-size", "tensor_parallel_size"),
        "pp": ("pipeline-parallel-size", "pipeline_parallel_size"),
        "dp": ("data-parallel-size", "data_parallel_size"),
    }
    for kind, names in keys.items():
        for k in names:
            if k in inline:
                out[kind].add(int(inline[k]))
            flag = f"--{k.replace('_', '-')}"
            if flag in args:
                out[kind].add(int(args[args.index(flag) + 1]))
    return out


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
        assert spec["gpus"] == tp * pp * dp, f"{role}: {spec['gpus']} GPUs for TP{tp} x PP{pp} x DP{dp}"


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
        local.model[role]["gpus"] == 0 and "extraConfig" not in local.model[role] for role in worker_roles(local.values)
    )
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


@pytest.mark.helm
@pytest.mark.parametrize("name", SMALL)
def test_small_recipe_renders_for_the_local_runtime(name, tmp_path):
    docs = rendered(tmp_path, name, "local")
    dgd = next(d for d in docs if d["kind"] == "DynamoGraphDeployment")
    workers = [c for c in dgd["spec"]["components"] if c["type"] != "frontend"]
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
