"""The one place compose runs AIConfigurator (PyPI `aiconfigurator`, pinned in venvs.PINS): its CLI's
`default` mode, in its own venv, through aic_runner.py, into a temporary directory. Returns the files
it saved, read back as plain data (CSV rows, YAML, the Pareto plot's bytes); composer/tune.py turns
them into values. AIConfigurator 0.13 moves the CLI to `aisimulate`: a change of tool is a change here.
"""

from __future__ import annotations

import csv
import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from composer import yaml as cyaml
from composer.errors import ComposeError, UsageError
from composer.local import venvs

TOOL = "aiconfigurator"
RUNNER = Path(__file__).with_name("aic_runner.py")


def version() -> str:
    return venvs.PINS[TOOL]


def run(argv: list[str], *, environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Run `aiconfigurator ARGV --save-dir TMP` and read what it saved: {"modes": {mode: {"top":
    [rows of best_config_topn.csv], "pareto": [rows of pareto.csv], "generator": its top1
    generator_config.yaml}}, "engines": the runner's engine flags and configs, "pareto_png": bytes or
    None, "max_position_embeddings": int or None}. An input AIConfigurator refuses, or for which it finds
    no configuration, is a UsageError carrying its own reason."""
    python = venvs.require(TOOL, "python", environ)
    with tempfile.TemporaryDirectory(prefix="compose-tune-") as tmp:
        result_file = Path(tmp) / "result.json"
        save_dir = Path(tmp) / "out"
        proc = subprocess.run(
            # -I: not the runner's directory on sys.path, where this module would shadow the package
            [str(python), "-I", str(RUNNER), str(result_file), "--", *argv, "--save-dir", str(save_dir)],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env=environ,
        )
        if proc.returncode != 0 or not result_file.is_file():
            tail = "\n".join(proc.stderr.strip().splitlines()[-10:])
            raise ComposeError(f"{TOOL} {version()} failed (exit {proc.returncode}):\n{tail}")
        result = json.loads(result_file.read_text())
        if not result["ok"]:
            raise UsageError(f"{TOOL} {version()}: {result['reason']}")
        root = Path(result["resultDir"])
        modes: dict[str, Any] = {}
        for mode in ("agg", "disagg"):
            top = root / mode / "best_config_topn.csv"
            if not top.is_file():
                continue
            rows = _rows(top)
            if not rows:
                continue
            gen = root / mode / "top1" / "generator_config.yaml"
            pareto = root / mode / "pareto.csv"
            modes[mode] = {
                "top": rows,
                "pareto": _rows(pareto) if pareto.is_file() else [],
                "generator": cyaml.load(gen.read_text()) if gen.is_file() else {},
            }
        png = root / "pareto_frontier.png"
        return {
            "modes": modes,
            "engines": result["engines"],
            "pareto_png": png.read_bytes() if png.is_file() else None,
            "max_position_embeddings": result.get("maxPositionEmbeddings"),
        }


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))
