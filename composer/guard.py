"""Safety rails before anything touches a cluster: the right kube context, and a yes for production."""

from __future__ import annotations

import os
from pathlib import Path

from composer import yaml
from composer.errors import UsageError, WrongContext
from composer.plan import Plan


def kubeconfig_paths(environ: dict[str, str] | None = None) -> list[Path]:
    env = os.environ if environ is None else environ
    if env.get("KUBECONFIG"):
        return [Path(p) for p in env["KUBECONFIG"].split(os.pathsep) if p]
    return [Path.home() / ".kube" / "config"]


def current_context(paths: list[Path]) -> str | None:
    """kubectl's rule: the first file that sets current-context wins."""
    for path in paths:
        try:
            doc = yaml.load(path.read_text()) or {}
        except (OSError, ValueError):
            continue
        if isinstance(doc, dict) and doc.get("current-context"):
            return str(doc["current-context"])
    return None


def check_context(plan: Plan, current: str | None, *, allow_mismatch: bool) -> None:
    """An environment that pins a context is only acted on while that context is current."""
    pinned = plan.kube_context
    if not pinned or allow_mismatch or current == pinned:
        return
    raise WrongContext(
        f"environment {plan.env!r} is pinned to kube context {pinned!r}, but the current context is "
        f"{current or 'unset'!r}: switch with `kubectl config use-context {pinned}`, "
        "or pass --allow-context-mismatch to go ahead"
    )


def confirm_needed(plan: Plan, production: bool, *, action: str, yes: bool, interactive: bool) -> str | None:
    """The question to ask, or None when no confirmation is needed. Raises when one is needed but
    cannot be asked (no terminal)."""
    if yes or not (production or action == "destroy"):
        return None
    names = ", ".join(r.id for r in plan.releases) or "nothing"
    what = f"{action} {names} in {'production ' if production else ''}environment {plan.env!r}"
    if not interactive:
        raise UsageError(f"{what}: not a terminal, so pass --yes to confirm")
    return f"{what[0].upper()}{what[1:]}?"
