"""The `compose` command line: parse options, call one function, print its result. Nothing else."""
from __future__ import annotations

import sys

import click

from composer.errors import ComposeError

values_option = click.option("-f", "--values", "values", default="values.yaml", show_default=True,
                             type=click.Path(dir_okay=False), help="The values file.")
env_option = click.option("-e", "--env", "env", required=True, help="Environment: environments/<ENV>.yaml.")
yes_option = click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
passthrough_args = click.argument("helmfile_args", nargs=-1, type=click.UNPROCESSED, metavar="[-- HELMFILE_ARGS]...")
context_option = click.option("--allow-context-mismatch", is_flag=True,
                              help="Act even though the current kube context is not the environment's.")


class Group(click.Group):
    """Turns our errors into one message and an exit code, never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ComposeError as e:
            click.echo(f"error: {e}" if e.exit_code != 2 or "\n" not in str(e) else str(e), err=True)
            ctx.exit(e.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Deploy and benchmark LLMs on NVIDIA Dynamo from one values file."""


def _project(values: str):
    from composer.project import Project

    return Project.at(values)


@main.command()
@values_option
@click.option("-e", "--env", "envs", multiple=True, help="Environment(s) to check (default: all).")
def validate(values: str, envs: tuple[str, ...]) -> None:
    """Check the values file with each environment overlay."""
    from composer import project as p

    proj = _project(values)
    checked = p.plans(proj, list(envs) or None)
    for env in checked:
        click.echo(f"ok: {proj.rel(proj.values_file)} + {proj.rel(proj.env_file(env))}")


@main.command()
@values_option
@click.option("--check", is_flag=True, help="Write nothing; exit 1 with a diff if helmfile.d/ is stale.")
def generate(values: str, check: bool) -> None:
    """Write helmfile.d/ for every environment (deterministic; commit it)."""
    from composer import project as p

    proj = _project(values)
    if check:
        diff = p.stale_diff(proj)
        if diff:
            click.echo(diff, nl=False)
            click.echo(f"{proj.rel(proj.output)}/ is stale: run `{proj.command()}` and commit the result", err=True)
            sys.exit(1)
        click.echo(f"{proj.rel(proj.output)}/ is up to date")
        return
    changed = p.generate(proj)
    click.echo(f"{'wrote' if changed else 'unchanged:'} {proj.rel(proj.output)}/")


def _regenerate(values: str, env: str):
    """Every helmfile command works on freshly generated files, so it never acts on stale ones."""
    from composer import project as p

    proj = _project(values)
    p.check_env_name(proj, env)
    if p.generate(proj):
        click.echo(f"updated {proj.rel(proj.output)}/", err=True)
    return proj, p.plans(proj, [env])[env]


def _guard(proj, plan, *, action: str, allow_mismatch: bool, yes: bool = False) -> None:
    """Refuse the wrong cluster; ask before destroying or touching production."""
    from composer import guard
    from composer import project as p

    guard.check_context(plan, guard.current_context(guard.kubeconfig_paths()), allow_mismatch=allow_mismatch)
    production = p.load_deployment(proj, plan.env).values["cluster"]["production"]
    question = guard.confirm_needed(plan, production, action=action, yes=yes, interactive=sys.stdin.isatty())
    if question:
        click.confirm(question, abort=True)


@main.command()
@values_option
@env_option
def template(values: str, env: str) -> None:
    """Render our charts' Kubernetes manifests offline, to stdout."""
    from composer import helmfile

    proj, plan = _regenerate(values, env)
    inv = helmfile.template(proj.state_file(env), plan)
    for skipped in inv.skipped:
        click.echo(f"skipped remote release {skipped}: not fetched offline; `compose up` installs it", err=True)
    helmfile.run(inv.argv, proj.root)


@main.command()
@values_option
@env_option
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
def explain(values: str, env: str, output: str) -> None:
    """Show the wiring: releases and their order, Services, URLs, selectors, what each switch made."""
    import json

    from composer import explain as ex
    from composer import project as p

    proj = _project(values)
    dep = p.load_deployment(proj, env)
    report = ex.explain(dep, p.plans(proj, [env])[env])
    click.echo(json.dumps(report, indent=2) if output == "json" else ex.format_text(report), nl=output == "json")


@main.command()
@values_option
@env_option
def build(values: str, env: str) -> None:
    """Print helmfile's merged state for the environment (offline)."""
    from composer import helmfile

    proj, _ = _regenerate(values, env)
    helmfile.run(helmfile.build(proj.state_file(env), env), proj.root)


@main.command()
@values_option
@env_option
@context_option
@passthrough_args
def diff(values: str, env: str, allow_context_mismatch: bool, helmfile_args: tuple[str, ...]) -> None:
    """Show what `up` would change in the cluster (needs the helm-diff plugin). Exit 3: changes."""
    from composer import helmfile

    proj, plan = _regenerate(values, env)
    _guard(proj, plan, action="diff", allow_mismatch=allow_context_mismatch, yes=True)
    if not helmfile.has_helm_diff(proj.root):
        raise ComposeError(f"compose diff needs the helm-diff plugin: {helmfile.HELM_DIFF_INSTALL}")
    sys.exit(helmfile.run(helmfile.diff(proj.state_file(env), env, helmfile_args), proj.root, changes_ok=True))


@main.command()
@values_option
@env_option
@yes_option
@context_option
@passthrough_args
def up(values: str, env: str, yes: bool, allow_context_mismatch: bool, helmfile_args: tuple[str, ...]) -> None:
    """Regenerate, then deploy the environment (helmfile apply, or sync without helm-diff)."""
    from composer import helmfile

    proj, plan = _regenerate(values, env)
    _guard(proj, plan, action="deploy", allow_mismatch=allow_context_mismatch, yes=yes)
    have_diff = helmfile.has_helm_diff(proj.root)
    if not have_diff:
        click.echo("helm-diff is not installed: running `helmfile sync`, which upgrades every release", err=True)
    helmfile.run(helmfile.apply(proj.state_file(env), env, have_helm_diff=have_diff, extra=helmfile_args), proj.root)


@main.command()
@values_option
@env_option
@yes_option
@context_option
@passthrough_args
def destroy(values: str, env: str, yes: bool, allow_context_mismatch: bool,
            helmfile_args: tuple[str, ...]) -> None:
    """Uninstall every release of the environment, in reverse dependency order."""
    from composer import helmfile

    proj, plan = _regenerate(values, env)
    _guard(proj, plan, action="destroy", allow_mismatch=allow_context_mismatch, yes=yes)
    helmfile.run(helmfile.destroy(proj.state_file(env), env, helmfile_args), proj.root)


@main.command()
@values_option
@env_option
@passthrough_args
def status(values: str, env: str, helmfile_args: tuple[str, ...]) -> None:
    """Show the releases of the environment and their state."""
    from composer import helmfile

    proj, _ = _regenerate(values, env)
    helmfile.run(helmfile.status(proj.state_file(env), env, helmfile_args), proj.root)
