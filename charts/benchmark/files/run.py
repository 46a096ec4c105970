#!/usr/bin/env python3
"""Benchmark entrypoint of the dynamo-compose `benchmark` chart.

1. Wait until GET $TARGET_URL/v1/models lists $TARGET_MODEL.
2. Run every argv of $RUNS_FILE ([{"name": ..., "args": [...]}]) in order, unchanged,
   with the working directory $ARTIFACTS_DIR/<name>; output goes to the pod log
   and to $ARTIFACTS_DIR/<name>/benchmark.log.
3. Write $ARTIFACTS_DIR/_summary.json and exit 1 if the model never appeared or any
   run failed (non-zero exit or no profile_export_aiperf.json under its directory).
Before waiting, exit 127 at once if the image lacks a program the runs start (aiperf), saying so.

The deployment's GPU count comes from $DEPLOYMENT_FILE ({"gpus": N}, a ConfigMap key, not the
pod template, so that a change of replicas does not replace the Job). It is read once, at the
start, recorded in _summary.json as what these results were measured against, and passed to
the runs as DEPLOYMENT_GPU_COUNT, as upstream's perf Jobs do.

Standard library only: the image is only assumed to have python3.
"""

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request

EXPORT = "profile_export_aiperf.json"


def log(message):
    print(f"[benchmark] {message}", flush=True)


def served_models(base_url):
    with urllib.request.urlopen(f"{base_url}/v1/models", timeout=10) as response:
        body = json.load(response)
    return [m.get("id") for m in body.get("data", []) if isinstance(m, dict)]


def wait_for_model(base_url, model, timeout, interval):
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            ids = served_models(base_url)
            if model in ids:
                log(f"{model!r} is served at {base_url}")
                return True
            status = f"{model!r} not listed yet (served: {ids})"
        except (urllib.error.URLError, OSError, ValueError, AttributeError) as e:
            status = f"{base_url}/v1/models not ready: {type(e).__name__}: {e}"
        if status != last:
            log(status)
            last = status
        if time.monotonic() >= deadline:
            log(f"gave up after {timeout:g}s: {status}")
            return False
        time.sleep(interval)


def has_export(directory):
    return any(EXPORT in files for _, _, files in os.walk(directory))


def run_one(run, artifacts):
    name, args = run["name"], run["args"]
    workdir = os.path.join(artifacts, name)
    os.makedirs(workdir, exist_ok=True)
    log(f"run {name}: {shlex.join(args)}")
    started = time.time()
    with open(os.path.join(workdir, "benchmark.log"), "wb") as out:
        try:
            proc = subprocess.Popen(args, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        except OSError as e:
            log(f"run {name}: cannot start {args[0]!r}: {e}")
            returncode = 127
        else:
            for line in proc.stdout:
                sys.stdout.buffer.write(line)
                sys.stdout.flush()
                out.write(line)
            returncode = proc.wait()
    exported = has_export(workdir)
    ok = returncode == 0 and exported
    if returncode == 0 and not exported:
        log(f"run {name}: exited 0 but wrote no {EXPORT} under {workdir}")
    log(f"run {name}: {'ok' if ok else 'FAILED'} (exit {returncode}, {time.time() - started:.0f}s)")
    return {
        "name": name,
        "args": args,
        "returncode": returncode,
        "exported": exported,
        "ok": ok,
        "seconds": round(time.time() - started, 3),
    }


def missing_programs(runs):
    """The programs the runs start that this image does not have (checked before waiting an hour)."""
    return sorted({run["args"][0] for run in runs if run["args"] and shutil.which(run["args"][0]) is None})


def deployment_gpus(path):
    """The GPU count in $DEPLOYMENT_FILE; None when it is not there or not a count."""
    try:
        with open(path) as f:
            gpus = json.load(f).get("gpus")
    except (OSError, ValueError, AttributeError) as e:
        log(f"no GPU count ({path}: {type(e).__name__}: {e})")
        return None
    return gpus if isinstance(gpus, int) and not isinstance(gpus, bool) and gpus >= 0 else None


def write_summary(artifacts, summary):
    path = os.path.join(artifacts, "_summary.json")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(summary, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def main():
    base_url = os.environ["TARGET_URL"].rstrip("/")
    model = os.environ["TARGET_MODEL"]
    artifacts = os.environ["ARTIFACTS_DIR"]
    with open(os.environ["RUNS_FILE"]) as f:
        runs = json.load(f)
    missing = missing_programs(runs)
    if missing:
        log(
            f"FAILED: this image has no {', '.join(missing)} (PATH={os.environ.get('PATH', '')}): run the "
            "benchmark on an image that has it, such as the Dynamo frontend image upstream runs its "
            "benchmarks on (benchmark.config.image); the runtime images do not carry aiperf"
        )
        return 127
    timeout = float(os.environ.get("WAIT_TIMEOUT_SECONDS", "3600"))
    interval = float(os.environ.get("WAIT_INTERVAL_SECONDS", "10"))

    gpus = deployment_gpus(os.environ["DEPLOYMENT_FILE"]) if os.environ.get("DEPLOYMENT_FILE") else None
    if gpus is not None:
        os.environ["DEPLOYMENT_GPU_COUNT"] = str(gpus)  # the runs inherit it

    os.makedirs(artifacts, exist_ok=True)
    summary = {
        "target": {"url": base_url, "model": model},
        "deployment": {"gpus": gpus},
        "modelReady": False,
        "runs": [],
    }
    if wait_for_model(base_url, model, timeout, interval):
        summary["modelReady"] = True
        for run in runs:
            summary["runs"].append(run_one(run, artifacts))
            write_summary(artifacts, summary)
    write_summary(artifacts, summary)

    failed = [r["name"] for r in summary["runs"] if not r["ok"]]
    if not summary["modelReady"]:
        log("FAILED: the model was never served")
        return 1
    if failed:
        log(f"FAILED: {len(failed)} of {len(runs)} runs failed: {', '.join(failed)}")
        return 1
    log(f"all {len(runs)} runs succeeded; artifacts in {artifacts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
