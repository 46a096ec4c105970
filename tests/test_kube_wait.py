"""`compose up` waits until the DynamoGraphDeployment reports Ready: what its status means, the
kubectl commands the wait runs (faked with pytest-subprocess) and what a timeout reports.
tests/test_fake_cluster.py runs the same against the fake API server with real kubectl."""

import json

import pytest
from click.testing import CliRunner

from composer import kube
from composer.cli import main
from tests.support.helmfile_stubs import HELM_PLUGINS_WITH_DIFF, state

READY = {"type": "Ready", "status": "True", "reason": "AllComponentsReady", "message": ""}
PENDING = {"type": "Ready", "status": "False", "reason": "ComponentsNotReady", "message": "decode: 0/2 ready"}


def dgd(*conditions, generation=None, observed=None, state=None):
    status = {"conditions": list(conditions)}
    if observed is not None:
        status["observedGeneration"] = observed
    if state:
        status["state"] = state
    return {
        "metadata": {"name": "g", **({"generation": generation} if generation is not None else {})},
        "status": status,
    }


@pytest.mark.unit
@pytest.mark.parametrize(
    "doc, ready",
    [
        ({"metadata": {"name": "g"}}, False),  # the operator has not written a status yet
        (dgd(PENDING), False),
        (dgd(READY), True),
        (dgd(READY, generation=3, observed=3), True),
        (dgd(READY, generation=3, observed=2), False),  # Ready=True from before the upgrade
        (dgd({**READY, "observedGeneration": 2}, generation=3), False),
        (dgd({"type": "Other", "status": "True", "reason": "X", "message": ""}), False),
    ],
    ids=["no-status", "pending", "ready", "ready-current", "ready-stale", "condition-stale", "no-ready-condition"],
)
def test_ready_means_the_ready_condition_is_true_for_the_current_spec(doc, ready):
    assert kube.readiness(doc)["ready"] is ready


@pytest.mark.unit
def test_what_fails_is_described():
    found = kube.readiness(dgd(PENDING, state="pending"))
    assert found["failing"] == [
        {"type": "Ready", "status": "False", "reason": "ComponentsNotReady", "message": "decode: 0/2 ready"}
    ]
    assert kube.describe(found) == "state pending, Ready=False (ComponentsNotReady)"
    assert kube.describe(kube.readiness({"metadata": {}})) == "no Ready condition yet"
    stale = kube.readiness(dgd(READY, generation=5, observed=4))
    assert kube.describe(stale) == "the operator has not yet reported on generation 5"


class Clock:
    """Time that passes only when the wait sleeps."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


ARGV = kube.dgd_argv("dev", "llm", "g")
NOT_FOUND = 'Error from server (NotFound): dynamographdeployments.nvidia.com "g" not found\n'


@pytest.mark.unit
def test_wait_polls_until_ready_and_says_each_change_once(fp):
    fp.register(ARGV, returncode=1, stderr=NOT_FOUND)
    for _ in range(3):
        fp.register(ARGV, stdout=json.dumps(dgd(PENDING, state="pending")))
    fp.register(ARGV, stdout=json.dumps(dgd(READY, state="successful")))
    said, clock = [], Clock()
    result = kube.wait_ready(
        "dev", "llm", "g", timeout=60, progress=said.append, interval=2, clock=clock, sleep=clock.sleep
    )
    assert result == {"seconds": 8.0}
    assert said == [
        "waiting for DynamoGraphDeployment g to be Ready: Error from server (NotFound): "
        'dynamographdeployments.nvidia.com "g" not found',
        "waiting for DynamoGraphDeployment g to be Ready: state pending, Ready=False (ComponentsNotReady)",
    ]
    assert fp.call_count(ARGV) == 5


@pytest.mark.unit
def test_timeout_reports_conditions_pods_and_their_last_events(fp):
    fp.keep_last_process(True)
    fp.register(ARGV, stdout=json.dumps(dgd(PENDING, state="pending")))
    pods = {
        "items": [
            {
                "metadata": {"name": "g-decode-0"},
                "status": {
                    "phase": "Running",
                    "containerStatuses": [{"state": {"waiting": {"reason": "CrashLoopBackOff"}}}],
                },
            },
            {"metadata": {"name": "g-frontend-1"}, "status": {"phase": "Running"}},
        ]
    }
    fp.register(kube.pods_argv("dev", "llm", "g"), stdout=json.dumps(pods))
    events = {
        "items": [
            {
                "involvedObject": {"kind": "Pod", "name": f"g-decode-{n % 2}"},
                "type": "Warning",
                "reason": "BackOff",
                "message": f"restart {n}",
                "lastTimestamp": f"2026-12-04T10:00:{n:02d}Z",
            }
            for n in range(24)
        ]
        + [
            {
                "involvedObject": {"kind": "Pod", "name": "g-decode-0"},
                "type": "Normal",
                "reason": "Pulled",
                "message": "no lastTimestamp",
                "eventTime": "2026-12-04T10:00:13.5Z",
            }
        ]
    }
    fp.register(kube.events_argv("dev", "llm"), stdout=json.dumps(events))
    clock = Clock()
    with pytest.raises(kube.NotReady) as e:
        kube.wait_ready(
            "dev", "llm", "g", timeout=10, progress=lambda _: None, interval=2, clock=clock, sleep=clock.sleep
        )
    assert e.value.exit_code == 5
    lines = str(e.value).splitlines()
    assert lines[:4] == [
        "DynamoGraphDeployment g (namespace llm) is not Ready after 10 s; its releases are installed "
        "(`compose up` again waits again, `compose debug-bundle` collects the rest)",
        "  state: pending",
        "  condition Ready=False, reason ComponentsNotReady: decode: 0/2 ready",
        "  pods: g-decode-0 Running (CrashLoopBackOff), g-frontend-1 Running",
    ]
    assert lines[4] == "  last events of its pods:"
    shown = lines[5:]
    # the last ten of g-decode-0's 13 (g-decode-1 is no pod of the graph), oldest first
    assert len(shown) == kube.LAST_EVENTS
    assert shown[0] == "    2026-12-04T10:00:06Z g-decode-0 Warning BackOff: restart 6"
    assert shown[4] == "    2026-12-04T10:00:13.5Z g-decode-0 Normal Pulled: no lastTimestamp"
    assert shown[-1] == "    2026-12-04T10:00:22Z g-decode-0 Warning BackOff: restart 22"


@pytest.mark.unit
def test_timeout_without_pods_or_a_ready_condition_points_at_the_operator(fp):
    fp.keep_last_process(True)
    fp.register(ARGV, stdout=json.dumps({"metadata": {"name": "g"}}))
    fp.register(kube.pods_argv("dev", "llm", "g"), stdout='{"items": []}')
    clock = Clock()
    with pytest.raises(kube.NotReady) as e:
        kube.wait_ready("dev", "llm", "g", timeout=4, progress=lambda _: None, clock=clock, sleep=clock.sleep)
    assert str(e.value).splitlines()[1:] == [
        "  no Ready condition: is the Dynamo operator running? (`compose doctor`)",
        "  no pods with label nvidia.com/dynamo-graph-deployment-name=g: the operator has made none",
    ]
    assert fp.call_count(kube.events_argv("dev", "llm")) == 0


@pytest.mark.unit
def test_endpoint_is_the_frontend_service_and_its_port_forward():
    e = kube.endpoint(context="dev", namespace="llm", service="g-frontend", port=8000)
    assert e["url"] == "http://g-frontend.llm.svc.cluster.local:8000"
    assert e["portForward"] == "kubectl --context dev -n llm port-forward svc/g-frontend 8000:8000"


@pytest.mark.unit
@pytest.mark.parametrize("value", ["0", "abc", "10d", "-5", "1.5m"])
def test_a_timeout_that_is_not_a_duration_is_exit_2(generated_proj, fp, value):
    r = CliRunner().invoke(main, ["up", "--env", "dev", "--timeout", value])
    assert r.exit_code == 2 and "is not a duration" in r.output, r.output
    assert not fp.calls


@pytest.mark.unit
def test_up_that_times_out_exits_5_after_installing(generated_proj, fp, monkeypatch):
    monkeypatch.setattr(kube, "POLL_SECONDS", 0.05)
    fp.keep_last_process(True)
    fp.register(["helm", "plugin", "list"], stdout=HELM_PLUGINS_WITH_DIFF)
    fp.register(state() + ["apply", "--suppress-secrets"])
    fp.register(["kubectl", "-n", "llm", "get", kube.DGD_RESOURCE, fp.any()], stdout=json.dumps(dgd(PENDING)))
    fp.register(["kubectl", "-n", "llm", "get", "pods", fp.any()], stdout='{"items": []}')
    r = CliRunner().invoke(main, ["up", "--env", "dev", "--timeout", "1s"])
    assert r.exit_code == 5, r.output
    assert "error: DynamoGraphDeployment sg-disagg (namespace llm) is not Ready after 1 s" in r.output
    assert "endpoint:" not in r.output


@pytest.mark.cli
def test_without_kubectl_up_says_so_before_installing_anything(generated_proj, tmp_path):
    """The wait asks kubectl: when there is none, up stops before helmfile runs (exit 127), unless
    told not to wait."""
    import subprocess

    from tests.support.project import outside_venv

    bin_dir = tmp_path / "bin"
    ran = tmp_path / "helmfile-ran"
    for name, body in (("helm", f"printf '{HELM_PLUGINS_WITH_DIFF}'\n"), ("helmfile", f"echo $@ >> '{ran}'\n")):
        (bin_dir / name).parent.mkdir(exist_ok=True)
        (bin_dir / name).write_text("#!/bin/sh\n" + body)
        (bin_dir / name).chmod(0o755)
    python, env = outside_venv(bin_dir)
    env["PATH"] = str(bin_dir)  # no kubectl anywhere

    def up(*extra):
        return subprocess.run(
            [python, "-m", "composer", "up", "--env", "dev", *extra],
            cwd=generated_proj.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )

    r = up()
    assert r.returncode == 127, r.stderr
    assert r.stderr.splitlines()[-1].startswith("error: kubectl not found: run ./scripts/setup")
    assert not ran.exists()
    r = up("--no-wait")
    assert r.returncode == 0, r.stderr
    assert ran.read_text().split()[-2:] == ["apply", "--suppress-secrets"]
