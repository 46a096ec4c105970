"""Run inside AIConfigurator's own venv (its python, not compose's): `aiconfigurator cli default ARGV`
in this process, then, for the top configuration of each mode, the engine flags and engine config
AIConfigurator's generator renders for it. Writes RESULT (JSON) and exits 0; compose reads that file
and the CSV/YAML files the CLI saved. Imports nothing of compose: compose's interpreter is another.

    python aic_runner.py RESULT.json -- cli default --model-path ... --save-dir DIR

RESULT: {"ok": true, "resultDir": the CLI's result directory, "engines": {mode: {role: {"cliArgs":
[...], "engineConfig": text or null}}}} or {"ok": false, "reason": AIConfigurator's own words}.
"""

from __future__ import annotations

import contextlib
import glob
import io
import json
import logging
import os
import sys
import warnings


class _Errors(logging.Handler):
    """AIConfigurator's error records: its reason when a run yields nothing."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage().strip())


def _flag(argv: list[str], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv else None


def _precheck(argv: list[str]) -> str | None:
    """Refuse what AIConfigurator would only find out over the network (a model outside its
    database makes it download config.json from Hugging Face): compose tunes offline."""
    from aiconfigurator.sdk import common  # its venv, not compose's

    model = _flag(argv, "--model-path") or ""
    if not os.path.isdir(model) and model not in common.DefaultHFModels:
        return (
            f"model {model!r} is not in AIConfigurator's model database (aiconfigurator.sdk.common.DefaultHFModels); "
            "it would download its config.json from Hugging Face: give a directory holding the model's config.json"
        )
    return None


def _run_cli(argv: list[str], errors: _Errors) -> tuple[int, str]:
    from aiconfigurator.main import main

    logging.getLogger("aiconfigurator").addHandler(errors)
    stderr = io.StringIO()
    sys.argv = ["aiconfigurator", *argv]
    code = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the CLI's move to aisimulate in 0.13
        with contextlib.redirect_stderr(stderr):
            try:
                rc = main()
                code = int(rc or 0)
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    sys.stderr.write(stderr.getvalue())
    return code, stderr.getvalue()


def _engines(result_dir: str, backend: str) -> dict:
    """The engine flags (AIConfigurator's own tokens: it shlex-splits its rendered flags the same way)
    and engine config file of each role of each mode's top configuration."""
    import shlex

    import yaml  # type: ignore[import-untyped]
    from aiconfigurator.generator.api import render_backend_templates

    out: dict = {}
    for mode in ("agg", "disagg"):
        path = os.path.join(result_dir, mode, "top1", "generator_config.yaml")
        if not os.path.isfile(path):
            continue
        with open(path) as f:
            params = yaml.safe_load(f)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            artifacts = render_backend_templates(params, backend)
        roles = ("agg",) if mode == "agg" else ("prefill", "decode")
        out[mode] = {
            role: {
                "cliArgs": shlex.split(artifacts.get(f"cli_args_{role}", "") or ""),
                "engineConfig": artifacts.get(f"extra_engine_args_{role}.yaml"),
            }
            for role in roles
        }
    return out


def _context(model: str) -> int | None:
    """The model's context (max_position_embeddings) from the config.json AIConfigurator holds or was given."""
    import aiconfigurator_core

    candidates = [
        os.path.join(model, "config.json"),
        os.path.join(
            os.path.dirname(aiconfigurator_core.__file__), "model_configs", model.replace("/", "--") + "_config.json"
        ),
    ]
    for path in candidates:
        if os.path.isfile(path):
            with open(path) as f:
                config = json.load(f)
            value = config.get("max_position_embeddings") or (config.get("text_config") or {}).get(
                "max_position_embeddings"
            )
            return int(value) if value else None
    return None


def main() -> int:
    result_file, sep, *argv = sys.argv[1:]
    assert sep == "--", "usage: aic_runner.py RESULT.json -- ARGV"
    errors = _Errors()
    reason = _precheck(argv)
    if reason is None:
        code, stderr = _run_cli(argv, errors)
        save_dir = _flag(argv, "--save-dir") or ""
        found = sorted(glob.glob(os.path.join(save_dir, "**", "pareto_frontier.png"), recursive=True))
        found = found or sorted(
            glob.glob(os.path.join(save_dir, "**", "best_config_topn.csv"), recursive=True)
        )  # no plot when one mode only
        if code == 0 and found:
            result_dir = os.path.dirname(found[0])
            if os.path.basename(result_dir) in ("agg", "disagg"):
                result_dir = os.path.dirname(result_dir)
            backend = _flag(argv, "--backend") or "trtllm"
            result = {
                "ok": True,
                "resultDir": result_dir,
                "engines": _engines(result_dir, backend),
                "maxPositionEmbeddings": _context(_flag(argv, "--model-path") or ""),
            }
            with open(result_file, "w") as f:
                json.dump(result, f)
            return 0
        usage = [line for line in stderr.splitlines() if ": error: " in line]  # argparse's
        reason = "; ".join(usage[-1:] or errors.messages) or f"aiconfigurator exited {code} and saved no result"
    with open(result_file, "w") as f:
        json.dump({"ok": False, "reason": reason}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
