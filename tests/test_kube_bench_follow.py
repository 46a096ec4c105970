"""`compose bench --env <cluster env> --follow`: the Job's log streamed, then its results fetched
(kubectl and helmfile faked at the process boundary, as in test_kube_bench.py)."""

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from composer import kube
from composer import project as p
from composer.cli import main
from composer.plan import rendered_objects
from tests.support.cases import CASES, copy_case

SAMPLE = Path(__file__).parent / "support" / "aiperf-0.13.0-profile_export_aiperf.json"
CTX = ["kubectl", "--context", "staging", "-n", "llm-staging"]


@pytest.fixture
def proj(tmp_path, monkeypatch):
    proj = copy_case(next(c for c in CASES if c.name == "everything-on"), tmp_path / "proj")
    p.generate(proj)
    monkeypatch.chdir(proj.root)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
    (tmp_path / "kubeconfig").write_text("current-context: staging\n")
    monkeypatch.setattr(kube, "POLL_SECONDS", 0.01)
    return proj


def _release(proj):
    return p.plans(proj, ["staging"])["staging"].release("benchmark")


def _job_name(proj) -> str:
    return next(name for kind, name in rendered_objects(_release(proj)) if kind == "Job")


def _job(outcome: str | None) -> str:
    conditions = [{"type": outcome, "status": "True"}] if outcome else []
    return json.dumps({"status": {"active": 0 if outcome else 1, "conditions": conditions}})


def _register_start(fp):
    fp.register(CTX[:3] + ["-n", "llm-staging", "delete", "job", fp.any()])
    fp.register(["helmfile", fp.any()])


def _register_results(fp, proj):
    runs = _release(proj).values["runs"]

    def copy(process):
        dest = Path(process.args[-1])
        for run in runs:
            (dest / run["name"]).mkdir(parents=True)
            shutil.copy(SAMPLE, dest / run["name"] / "profile_export_aiperf.json")

    fp.register(CTX[:3] + ["apply", "-f", "-"])
    fp.register(CTX + ["wait", fp.any()])
    fp.register(CTX + ["cp", fp.any()], callback=copy)
    fp.register(CTX + ["delete", "pod", fp.any()])


@pytest.mark.unit
def test_follow_streams_the_job_log_then_fetches_its_results(proj, fp):
    job = _job_name(proj)
    _register_start(fp)
    logs = CTX + ["logs", "-f", f"job/{job}", "--pod-running-timeout=30m"]
    fp.register(logs, stdout="[benchmark] run c1: ok (exit 0, 12s)\n")
    get = CTX + ["get", "job", job, "-o", "json", "--request-timeout=10s"]
    fp.register(get, stdout=_job(None))  # its status lags its pod's end
    fp.register(get, stdout=_job("Complete"))
    _register_results(fp, proj)
    r = CliRunner().invoke(main, ["bench", "--env", "staging", "--follow", "-o", "json"])
    assert r.exit_code == 0, r.output
    assert fp.call_count(logs) == 1 and fp.call_count(get) == 2
    # stdout is the report, as `compose bench results -o json` prints it
    result = json.loads(r.stdout)
    assert [x["name"] for x in result["runs"]] == ["c1", "c8", "c32"]
    assert Path(result["artifact_dir"]).parent == proj.root / "results" / "staging"
    # the order: start, follow, ask the Job, then copy back
    known = {"logs", "get", "apply", "wait", "cp", "delete", "helmfile"}
    verbs = [next(a for a in c if a in known) for c in fp.calls]
    assert verbs[verbs.index("logs") :] == ["logs", "get", "get", "apply", "wait", "cp", "delete"]
    assert f"following job/{job}" in r.stderr
    assert "[benchmark] run c1: ok (exit 0, 12s)" in r.stderr  # the log, on stderr: stdout is the report
    assert f"job/{job} complete: copying its artifacts back" in r.stderr


@pytest.mark.unit
def test_a_failed_job_is_an_error_and_nothing_is_fetched(proj, fp):
    job = _job_name(proj)
    _register_start(fp)
    fp.register(CTX + ["logs", fp.any()], stdout="[benchmark] run c1: FAILED (exit 1, 3s)\n")
    fp.register(CTX + ["get", "job", fp.any()], stdout=_job("Failed"))
    r = CliRunner().invoke(main, ["bench", "--env", "staging", "--follow"])
    assert r.exit_code == 1
    assert f"error: the benchmark job/{job} failed" in r.stderr
    assert not any("cp" in c for c in fp.calls)


@pytest.mark.unit
def test_a_log_stream_that_ends_early_is_followed_again(proj, fp, monkeypatch):
    monkeypatch.setattr(kube, "_await_job", _settle_quickly(kube._await_job))
    job = _job_name(proj)
    _register_start(fp)
    logs = CTX + ["logs", "-f", f"job/{job}", fp.any()]
    fp.register(logs, returncode=1, stderr="error: unexpected EOF\n")
    fp.register(logs, stdout="[benchmark] run c32: ok\n")
    get = CTX + ["get", "job", job, fp.any()]
    fp.register(get, stdout=_job(None), occurrences=3)
    fp.register(get, stdout=_job("Complete"))
    _register_results(fp, proj)
    r = CliRunner().invoke(main, ["bench", "--env", "staging", "--follow"])
    assert r.exit_code == 0, r.output
    assert fp.call_count(logs) == 2
    assert f"kubectl logs ended (exit 1); following job/{job} again" in r.stderr


def _settle_quickly(await_job):
    def wrapped(*args, settle):
        return await_job(*args, settle=min(settle, 0.02))

    return wrapped


@pytest.mark.unit
def test_without_follow_the_job_is_only_started(proj, fp):
    _register_start(fp)
    r = CliRunner().invoke(main, ["bench", "--env", "staging"])
    assert r.exit_code == 0, r.output
    assert not any("logs" in c for c in fp.calls)


@pytest.mark.cli
def test_a_followed_log_goes_to_stderr_for_real(capfd):
    import sys

    from composer import proc

    done = proc.stream([sys.executable, "-c", "print('[benchmark] run c1: ok')"], to_stderr=True)
    out, err = capfd.readouterr()
    assert done.returncode == 0
    assert (out, err) == ("", "[benchmark] run c1: ok\n")
