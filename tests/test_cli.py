"""The command line as a user meets it: what read-only commands leave behind (nothing), how an
environment is named and found, the project root from a subdirectory, -o json, --version,
`init --from`, a missing chart, and the wording of reports."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from composer import bench, cli, fault
from tests.support.cases import copy_case
from tests.support.project import REPO, make_project

TIMEOUT = 60  # a command that waits on a FIFO would otherwise hang the test run


def compose_t(*args, cwd: Path) -> subprocess.CompletedProcess:
    """compose() with a timeout: a command blocked on a FIFO fails the test instead of hanging it."""
    return subprocess.run(
        [sys.executable, "-m", "composer", *args], cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT
    )


def snapshot(root: Path) -> dict[str, tuple]:
    """Every path under root (links not followed) with its type, mtime and, for files, a sha256."""
    out = {".": (os.lstat(root).st_mode, os.lstat(root).st_mtime_ns)}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            st = os.lstat(path)
            digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() and not path.is_symlink() else ""
            out[str(path.relative_to(root))] = (st.st_mode, st.st_mtime_ns, st.st_size, digest)
    return out


BAD_OVERLAY = "model:\n  decode:\n    replicas: many\n"

READ_ONLY = [
    ("validate",),
    ("validate", "--env", "dev"),
    ("template", "--env", "dev"),
    ("build", "--env", "dev"),
    ("explain", "--env", "dev"),
    ("explain", "--env", "dev", "-o", "json"),
    ("generate", "--check"),
]


@pytest.mark.helm
@pytest.mark.parametrize("generated", [False, True], ids=["fresh", "generated"])
@pytest.mark.parametrize("bad", [False, True], ids=["good-input", "bad-input"])
@pytest.mark.parametrize("args", READ_ONLY, ids=" ".join)
def test_read_only_commands_leave_a_project_byte_identical(tmp_path, args, bad, generated):
    proj = make_project(tmp_path / "proj")
    if generated:  # helmfile.d/ up to date: helm and helmfile run on it, and keep nothing
        assert compose_t("generate", cwd=proj).returncode == 0
    if bad:
        (proj / "environments" / "dev.yaml").write_text(BAD_OVERLAY)
    before = snapshot(proj)
    out = compose_t(*args, cwd=proj)
    expected = (2,) if bad else (0, 1)  # generate --check: 1 when stale
    assert out.returncode in expected, out.stderr
    assert snapshot(proj) == before


@pytest.mark.helm
@pytest.mark.parametrize("generated", [False, True], ids=["fresh", "generated"])
@pytest.mark.parametrize("command", ["template", "build"])
def test_a_release_with_patches_renders_through_helmfile_and_writes_nothing(tmp_path, command, generated):
    proj = copy_case(REPO / "tests/cases/valid/patched", tmp_path / "proj").root
    (env,) = sorted(p.stem for p in (proj / "environments").glob("*.yaml"))
    if generated:
        assert compose_t("generate", cwd=proj).returncode == 0
    before = snapshot(proj)
    out = compose_t(command, "--env", env, cwd=proj)
    assert out.returncode == 0, out.stderr
    assert snapshot(proj) == before


@pytest.mark.helm
def test_export_writes_only_its_export(tmp_path):
    proj = make_project(tmp_path / "proj")
    before = snapshot(proj)
    out = compose_t("export", "--env", "dev", cwd=proj)
    assert out.returncode == 0, out.stderr
    after = snapshot(proj)
    new = {p for p in after if p not in before}
    assert new and all(p == "export" or p.startswith("export/") for p in new), sorted(new)
    assert {p: v for p, v in after.items() if p in before and p != "."} == {p: v for p, v in before.items() if p != "."}


@pytest.mark.helm
def test_template_on_an_up_to_date_project_is_what_it_prints_from_a_fresh_one(tmp_path):
    fresh = make_project(tmp_path / "fresh")
    generated = make_project(tmp_path / "generated")
    assert compose_t("generate", cwd=generated).returncode == 0
    a, b = compose_t("template", "--env", "dev", cwd=fresh), compose_t("template", "--env", "dev", cwd=generated)
    assert a.returncode == b.returncode == 0 and a.stdout == b.stdout and a.stdout


@pytest.mark.cli
def test_generate_on_bad_input_writes_no_lock_and_nothing_else(tmp_path):
    proj = make_project(tmp_path / "proj")
    (proj / "environments" / "dev.yaml").write_text(BAD_OVERLAY)
    before = snapshot(proj)
    out = compose_t("generate", cwd=proj)
    assert out.returncode == 2 and "replicas" in out.stderr
    assert not (proj / ".compose.lock").exists()
    assert snapshot(proj) == before


# -- environments that are not files ---------------------------------------------------------------


def _make_odd(kind: str, path: Path) -> None:
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "loop":
        path.symlink_to(path.name)
    elif kind == "directory":
        path.mkdir()
    elif kind == "broken-link":
        path.symlink_to("nowhere.yaml")


@pytest.mark.cli
@pytest.mark.parametrize(
    "kind,said",
    [
        ("fifo", "is a FIFO (named pipe)"),
        ("loop", "is a symbolic link loop"),
        ("directory", "is a directory"),
        ("broken-link", "is a broken symbolic link"),
    ],
)
def test_an_overlay_that_is_not_a_file_is_named_for_what_it_is_and_not_listed(tmp_path, kind, said):
    proj = make_project(tmp_path / "proj")
    _make_odd(kind, proj / "environments" / "odd.yaml")
    out = compose_t("validate", "--env", "odd", cwd=proj)
    assert out.returncode == 2
    assert f"environments/odd.yaml {said}, not an environment file" in out.stderr
    assert "environments: dev, local, prod)" in out.stderr and "Traceback" not in out.stderr
    # and the environments that are files validate as before, the odd one not read
    every = compose_t("validate", cwd=proj)
    assert every.returncode == 0, every.stderr
    assert "odd" not in every.stdout


@pytest.mark.cli
def test_a_missing_env_lists_the_environments(project):
    out = compose_t("template", cwd=project)
    assert out.returncode == 2
    assert "missing option '-e' / '--env'" in out.stderr and "environments: dev, local, prod" in out.stderr


@pytest.mark.cli
def test_an_unknown_env_lists_the_environments_with_did_you_mean(project):
    out = compose_t("template", "--env", "dve", cwd=project)
    assert out.returncode == 2
    assert "environments/dve.yaml does not exist (environments: dev, local, prod); did you mean 'dev'?" in out.stderr


# -- the project from a subdirectory -----------------------------------------------------------------


@pytest.mark.cli
def test_a_subdirectory_of_a_project_finds_its_root_and_f_still_wins(project):
    sub = project / "docs" / "deeper"
    sub.mkdir(parents=True)
    out = compose_t("validate", cwd=sub)
    assert out.returncode == 0, out.stderr
    assert "ok: values.yaml + environments/dev.yaml" in out.stdout
    assert compose_t("explain", "--env", "dev", cwd=sub).returncode == 0
    assert compose_t("validate", "-f", "../../values.yaml", cwd=sub).returncode == 0
    own = compose_t("validate", "-f", "values.yaml", cwd=sub)  # -f names this directory's file, which is missing
    assert own.returncode == 2 and "values.yaml" in own.stderr


# -- a missing chart ---------------------------------------------------------------------------------


@pytest.mark.cli
def test_generate_names_a_missing_chart_and_the_fix(tmp_path):
    proj = make_project(tmp_path / "proj")
    (proj / "charts").unlink()
    (proj / "charts").mkdir()
    for chart in (REPO / "charts").iterdir():
        if chart.name != "model":
            (proj / "charts" / chart.name).symlink_to(chart)
    before = snapshot(proj)
    out = compose_t("generate", cwd=proj)
    assert out.returncode == 2
    assert "helmfile.d/dev.yaml would reference charts/model/, which the project does not have" in out.stderr
    assert "hint: `compose init --from values.yaml` copies compose's charts" in out.stderr
    assert snapshot(proj) == before


# -- init --from -------------------------------------------------------------------------------------


@pytest.mark.cli
def test_init_from_scaffolds_around_a_values_file_and_never_changes_a_file(tmp_path):
    proj = tmp_path / "proj"
    proj.mkdir()
    values = (REPO / "values.yaml").read_bytes()
    (proj / "values.yaml").write_bytes(values)
    out = compose_t("init", "--from", "values.yaml", cwd=proj)
    assert out.returncode == 0, out.stderr
    for rel in (
        "environments/dev.yaml",
        "environments/prod.yaml",
        "environments/local.yaml",
        ".gitignore",
        "charts/model/Chart.yaml",
        "charts/benchmark/Chart.yaml",
    ):
        assert (proj / rel).is_file(), rel
    assert (proj / "values.yaml").read_bytes() == values
    assert ".compose/" in (proj / ".gitignore").read_text()
    assert compose_t("validate", cwd=proj).returncode == 0
    assert compose_t("generate", cwd=proj).returncode == 0

    # run again, after an edit and a lost chart: the edit stays, the chart comes back
    (proj / "environments" / "dev.yaml").write_text("cluster:\n  namespace: mine\n")
    import shutil

    shutil.rmtree(proj / "charts" / "model")
    again = compose_t("init", "--from", "values.yaml", cwd=proj)
    assert again.returncode == 0, again.stderr
    assert "kept as they were: environments/dev.yaml" in again.stdout
    assert (proj / "environments" / "dev.yaml").read_text() == "cluster:\n  namespace: mine\n"
    assert (proj / "charts" / "model" / "Chart.yaml").read_bytes() == (REPO / "charts/model/Chart.yaml").read_bytes()


@pytest.mark.cli
def test_init_from_a_broken_values_file_writes_nothing(tmp_path):
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "values.yaml").write_text("model: [unclosed\n")
    out = compose_t("init", "--from", "values.yaml", cwd=proj)
    assert out.returncode == 2 and "values.yaml:" in out.stderr
    assert sorted(p.name for p in proj.iterdir()) == ["values.yaml"]


@pytest.mark.cli
def test_init_takes_a_recipe_or_a_values_file(tmp_path):
    assert compose_t("init", cwd=tmp_path).returncode == 2
    assert compose_t("init", "--recipe", "qwen3-0.6b/vllm/agg", "--from", "values.yaml", cwd=tmp_path).returncode == 2


# -- -o json, --version ------------------------------------------------------------------------------

REPORTING = [
    "validate",
    "explain",
    "status",
    "bench",
    "bench results",
    "doctor",
    "recipes list",
    "fault kill",
    "fault bench",
    "import",
]


@pytest.mark.unit
@pytest.mark.parametrize("name", REPORTING)
def test_every_command_that_lists_or_reports_takes_o_json(name):
    cmd = cli.main
    for word in name.split():
        cmd = cmd.commands[word]
    assert "-o" in {o for p in cmd.params for o in getattr(p, "opts", [])}, name


@pytest.mark.cli
def test_validate_and_recipes_list_print_json(project):
    v = compose_t("validate", "-o", "json", cwd=project)
    assert v.returncode == 0, v.stderr
    assert [c["env"] for c in json.loads(v.stdout)["checked"]] == ["dev", "local", "prod"]
    r = compose_t("recipes", "list", "-o", "json", cwd=project)
    assert r.returncode == 0, r.stderr
    names = [x["name"] for x in json.loads(r.stdout)]
    assert "qwen3-0.6b/vllm/agg" in names and all(x["summary"] for x in json.loads(r.stdout))


@pytest.mark.cli
def test_version_is_the_package_version(tmp_path):
    out = compose_t("--version", cwd=tmp_path)
    assert out.returncode == 0 and out.stdout == f"compose {metadata.version('dynamo-compose')}\n"


# -- wording -----------------------------------------------------------------------------------------


@pytest.mark.unit
def test_down_names_every_process_it_stopped_and_those_that_had_exited():
    from composer.local.target import format_down

    assert (
        format_down(
            {
                "stopped": ["frontend-0", "decode-0", "prefill-0"],
                "already_exited": [],
                "pids": [1, 2, 3],
                "supervisor": 4,
            }
        )
        == "stopped the supervisor (pid 4); stopped 3 processes (frontend-0, decode-0, prefill-0); "
        "none of PIDs 1, 2, 3, 4 is alive"
    )
    assert (
        format_down(
            {
                "stopped": ["frontend-0", "prefill-0"],
                "already_exited": ["decode-0"],
                "pids": [1, 2, 3],
                "supervisor": None,
            }
        )
        == "stopped 2 processes (frontend-0, prefill-0); decode-0 had already exited; none of PIDs 1, 2, 3 is alive"
    )
    assert format_down({"stopped": ["frontend-0"], "already_exited": [], "pids": [1], "supervisor": None}).startswith(
        "stopped 1 process (frontend-0);"
    )
    assert (
        format_down({"stopped": [], "already_exited": ["decode-0"], "pids": [2], "supervisor": None})
        == "stopped nothing; decode-0 had already exited; none of PIDs 2 is alive"
    )
    assert (
        format_down(
            {
                "stopped": ["frontend-0"],
                "already_exited": [],
                "pids": [1],
                "supervisor": None,
                "state_file_missing": True,
            }
        )
        == "stopped 1 process (frontend-0); found by their marker: the state file was missing; none of PIDs 1 is alive"
    )


@pytest.mark.unit
def test_one_plot_is_one_png():
    result = {"runs": [], "artifact_dir": "a", "seconds": 1.0, "plots": ["a/plots/ttft.png"]}
    assert "plots: 1 PNG in a/plots" in bench.format_result(result)
    assert "plots: 2 PNGs in a/plots" in bench.format_result({**result, "plots": ["x.png", "y.png"]})


@pytest.mark.unit
def test_one_exited_process_has_exited():
    procs = [{"component": "decode", "name": "decode-0", "pid": 1}]
    with pytest.raises(Exception, match="decode-0 has exited"):
        fault.pick_local(procs, "decode", None, alive=lambda p: False)
    with pytest.raises(Exception, match="decode-0, decode-1 have exited"):
        fault.pick_local(
            [*procs, {"component": "decode", "name": "decode-1", "pid": 2}], "decode", None, alive=lambda p: False
        )


HOW_READ = ["search tool", "stored cop", "fetched", "mirror", "read from", "the copy that was read", "snapshot of"]


@pytest.mark.unit
def test_recipe_readmes_cite_upstream_by_repository_path_and_commit_only():
    readmes = sorted((REPO / "recipes").glob("**/README.md"))
    assert readmes
    said = [(p.relative_to(REPO).as_posix(), w) for p in readmes for w in HOW_READ if w in p.read_text().lower()]
    assert said == []


@pytest.mark.cli
def test_status_o_json_on_kubernetes_says_it_reports_only_local_environments(project):
    before = snapshot(project)
    out = compose_t("status", "--env", "dev", "-o", "json", cwd=project)
    assert out.returncode == 2 and "-o json reports a local environment" in out.stderr
    assert snapshot(project) == before


@pytest.mark.cli
def test_bench_without_env_lists_the_environments(project):
    out = compose_t("bench", cwd=project)
    assert out.returncode == 2 and "environments: dev, local, prod" in out.stderr


@pytest.mark.cli
def test_compose_exits_without_collecting_the_garbage_of_everything_it_loaded(tmp_path):
    # an exit handler registered before compose's runs after it: it sees what the final collection will
    probe = (
        "import atexit, gc, sys\n"
        "atexit.register(lambda: sys.stdout.write(f'{gc.get_freeze_count()}\\n'))\n"
        "from composer.cli import main\n"
        "main(['--help'])\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.splitlines()[-1]) > 10_000  # frozen: left out of the final collection


@pytest.mark.cli
def test_http_client_is_not_imported_before_compose_up_renders(tmp_path):
    # what `compose up --env local` imports before helm runs; http.client comes in a thread beside helm
    probe = "import sys, composer.cli, composer.targets, composer.local.target\nprint('http.client' in sys.modules)\n"
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=TIMEOUT)
    assert (done.returncode, done.stdout) == (0, "False\n"), done.stderr
