"""The `compose` command line: parse options, call one function, print its result. Nothing else."""
from __future__ import annotations

import contextlib
import signal
import sys

import click

from composer.errors import ComposeError, InvalidValues

values_option = click.option("-f", "--values", "values", default=None, type=click.Path(dir_okay=False),
                             help="The values file [default: values.yaml here or in the nearest parent directory "
                                  "that also holds environments/].")


def _require_env(ctx: click.Context, _param, env: str | None) -> str:
    """A missing --env is answered with the environments there are (-f is parsed first)."""
    if env is None and not ctx.resilient_parsing:
        from composer import project as p

        p.check_env_name(_project(ctx.params.get("values")), None)
    return env


env_option = click.option("-e", "--env", "env", callback=_require_env, help="Environment: environments/<ENV>.yaml.")
yes_option = click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
passthrough_args = click.argument("helmfile_args", nargs=-1, type=click.UNPROCESSED, metavar="[-- HELMFILE_ARGS]...")
context_option = click.option("--allow-context-mismatch", is_flag=True,
                              help="Act even though the current kube context is not the environment's.")


def _emit(result, output: str, text) -> None:
    import json

    click.echo(json.dumps(result, indent=2) if output == "json" else text(result))


output_option = click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


class Group(click.Group):
    """Turns our errors into one message and an exit code, never a traceback."""

    def main(self, *args, **kwargs):
        # `kill` and a closed terminal stop compose the way Ctrl-C does: the child's process group
        # stopped, temporary files removed, exit 130. Restored after, for callers in-process.
        previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
        try:
            return super().main(*args, **kwargs)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ComposeError as e:
            # located problems speak for themselves (file:line:column: ...); anything else is one line
            click.echo(str(e) if isinstance(e, InvalidValues) else f"error: {e}", err=True)
            ctx.exit(e.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="dynamo-compose", message="compose %(version)s")
def main() -> None:
    """Deploy and benchmark LLMs on NVIDIA Dynamo from one values file."""


def _project(values: str | None):
    from composer.project import Project

    return Project.find(values)


@main.command()
@values_option
@click.option("-e", "--env", "envs", multiple=True, help="Environment(s) to check (default: all).")
@output_option
def validate(values: str, envs: tuple[str, ...], output: str) -> None:
    """Check the values file with each environment overlay."""
    from composer import project as p

    proj = _project(values)
    checked = p.plans(proj, list(envs) or None)
    result = {"ok": True, "checked": [{"env": env, "files": [proj.rel(proj.values_file), proj.rel(proj.env_file(env))]}
                                      for env in checked]}
    _emit(result, output, lambda r: "\n".join(f"ok: {' + '.join(c['files'])}" for c in r["checked"]))


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


@contextlib.contextmanager
def _generated(values: str | None, env: str):
    """(project, plan, root) for read-only commands, which render and run helmfile in root
    (project.generated): the project's helmfile.d/ when up to date, else a temporary copy."""
    from composer import project as p

    proj = _project(values)
    p.check_env_name(proj, env)
    env_plans = p.plans(proj)
    with p.generated(proj, env_plans) as root:
        yield proj, env_plans[env], root


def _regenerate(values: str, env: str):
    """Every helmfile command works on freshly generated files, so it never acts on stale ones."""
    from composer import project as p

    proj = _project(values)
    p.check_env_name(proj, env)
    env_plans = p.plans(proj)
    if p.generate(proj, env_plans):
        click.echo(f"updated {proj.rel(proj.output)}/", err=True)
    return proj, env_plans[env]


def _runs_locally(values: str, env: str) -> bool:
    """Whether env's processes are on this machine: `compose up --env ENV` left a record of them
    (then that record alone decides: stopping what runs must not depend on the values file still
    being valid, or still local), or env targets this machine."""
    from composer.local import target

    return target.started(_project(values).root, env) or _local(values, env) is not None


def _local(values: str, env: str):
    """(project, deployment, plan) when env targets this machine, else None."""
    from composer import project as p

    proj = _project(values)
    p.check_env_name(proj, env)
    dep = p.load_deployment(proj, env)
    if dep.target != "local":
        return None
    proj, plan = _regenerate(values, env)
    return proj, dep, plan


def _progress(message: str) -> None:
    click.echo(f"  {message}", err=True)




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
    from composer import render

    with _generated(values, env) as (_, plan, root):
        for r in plan.releases:
            if r.remote:
                click.echo(f"skipped remote release {r.id} ({r.chart} {r.version}): not fetched offline; "
                           "`compose up` installs it", err=True)
        click.echo(render.template(root, plan), nl=False)


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
@click.option("--output-dir", type=click.Path(file_okay=False), default=None,
              help="Where to write (default: export/<ENV>): a new or empty directory, or an earlier export, "
                   "which is replaced as a whole.")
def export(values: str, env: str, output_dir: str | None) -> None:
    """Write plain manifests per release plus a kustomization.yaml (for Argo CD, Flux, kubectl -k)."""
    from pathlib import Path

    from composer import export as ex
    from composer import write

    with _generated(values, env) as (proj, plan, root):
        target = Path(output_dir) if output_dir else proj.root / "export" / env
        ex.check_target(target, proj.root)  # before rendering, which takes the longest
        inputs = [proj.rel(proj.values_file), proj.rel(proj.env_file(env))]
        files, skipped = ex.export(root, proj.state_file(env), plan, inputs, f"compose export --env {env}")
    target.parent.mkdir(parents=True, exist_ok=True)
    write.write_tree(target, files)
    for s in skipped:
        click.echo(f"not exported: {s}", err=True)
    click.echo(f"wrote {len(files) - 1} manifests and kustomization.yaml to {proj.rel(target.absolute())}/")


@main.command()
@values_option
@env_option
def build(values: str, env: str) -> None:
    """Print helmfile's merged state for the environment (offline)."""
    from composer import helmfile

    with _generated(values, env) as (proj, _, root):
        helmfile.run(helmfile.build(proj.state_file(env), env), root)


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
    """Regenerate, then deploy the environment (helmfile apply, or sync without helm-diff).
    A `target: local` environment runs on this machine instead, as real Dynamo processes."""
    from composer import helmfile

    local = _local(values, env)
    if local:
        from composer.local import target

        proj, dep, plan = local
        click.echo(f"starting {dep.name} locally ({dep.backend}, "
                   f"{'disaggregated' if dep.model['disaggregation'] else 'aggregated'}, "
                   f"routing {dep.model['routingPolicy']})", err=True)
        result = target.up(proj.root, dep, plan, _progress)
        click.echo(f"ready in {result['ready_seconds']:.1f} s: {result['url']}/v1/models lists {result['model']}"
                   f" ({len(result['processes'])} processes; `compose status --env {env}`, "
                   f"`compose down --env {env}`)")
        return
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
    """Uninstall every release of the environment, in reverse dependency order
    (local: stop every process it started)."""
    from composer import helmfile

    if _runs_locally(values, env):
        _down_local(values, env)
        return
    proj, plan = _regenerate(values, env)
    _guard(proj, plan, action="destroy", allow_mismatch=allow_context_mismatch, yes=yes)
    helmfile.run(helmfile.destroy(proj.state_file(env), env, helmfile_args), proj.root)


@main.command()
@values_option
@env_option
@output_option
@passthrough_args
def status(values: str, env: str, output: str, helmfile_args: tuple[str, ...]) -> None:
    """Show the releases of the environment and their state (local: processes, PIDs, ports, health)."""
    from composer import helmfile

    if _runs_locally(values, env):
        from composer.local import target

        _emit(target.status(_project(values).root, env), output, target.format_status)
        return
    if output == "json":
        raise click.UsageError(f"-o json reports a local environment; {env!r} runs on Kubernetes, where "
                               "`compose status` streams `helmfile status`")
    proj, _ = _regenerate(values, env)
    helmfile.run(helmfile.status(proj.state_file(env), env, helmfile_args), proj.root)


@main.group()
def recipes() -> None:
    """Tuned values files for hand-picked models; `compose init --recipe NAME` starts a project from one."""


@recipes.command("list")
@output_option
def recipes_list(output: str) -> None:
    """Every recipe: its name (<model>/<backend>/<mode>) and what it deploys."""
    from composer import recipes as r

    found = r.available()
    if output == "json":
        _emit([{"name": x.name, "summary": x.summary} for x in found], output, None)
    else:
        click.echo(r.listing(found), nl=False)


@recipes.command("show")
@click.argument("name")
def recipes_show(name: str) -> None:
    """Print the recipe's values file."""
    from composer import recipes as r

    click.echo(r.show(name), nl=False)


@main.command()
@click.option("--recipe", "recipe", default=None, metavar="NAME", help="Recipe to start from (`compose recipes list`).")
@click.option("--from", "from_values", default=None, metavar="VALUES_FILE", type=click.Path(dir_okay=False),
              help="An existing values file: add what its directory lacks of a project (environments/, charts/, "
                   ".gitignore), never changing a file.")
@click.option("--dir", "directory", default=".", show_default=True, type=click.Path(file_okay=False),
              help="Project directory for --recipe; created if missing. No existing file is overwritten.")
@click.option("--name", "dynamo_namespace", default=None, metavar="DYNAMO_NAMESPACE",
              help="dynamoNamespace of the deployment (default: the recipe's).")
def init(recipe: str | None, from_values: str | None, directory: str, dynamo_namespace: str | None) -> None:
    """Start a project from a recipe (values.yaml, environments/{dev,prod,local}.yaml, charts/), or
    around an existing values file (--from)."""
    from pathlib import Path

    from composer import recipes as r

    if (recipe is None) == (from_values is None):
        raise click.UsageError("give one of --recipe NAME or --from VALUES_FILE")
    if from_values is not None:
        if directory != "." or dynamo_namespace is not None:
            raise click.UsageError("--from works in the values file's directory and leaves the file as it is: "
                                   "no --dir or --name")
        values = Path(from_values)
        written, kept = r.scaffold_around(values.absolute())
        click.echo(r.next_steps(values.parent, written, str(values), kept, values.name), nl=False)
        return
    written = r.scaffold(recipe, Path(directory), dynamo_namespace=dynamo_namespace)
    click.echo(r.next_steps(Path(directory), written, f"recipe {recipe}"), nl=False)


@main.command()
@values_option
@env_option
@click.pass_context
def down(ctx: click.Context, values: str, env: str) -> None:
    """Stop what `up` started: local processes (proved gone by PID), or `destroy` on a cluster."""
    if _runs_locally(values, env):
        _down_local(values, env)
    else:
        ctx.invoke(destroy, values=values, env=env, yes=False, allow_context_mismatch=False, helmfile_args=())


def _down_local(values: str, env: str) -> None:
    from composer.local import target

    result = target.down(_project(values).root, env)
    if not result["pids"] and not result["supervisor"]:
        click.echo(f"nothing runs locally for environment {env!r}")
        return
    click.echo(target.format_down(result))


@main.group(invoke_without_command=True)
@values_option
@click.option("-e", "--env", "env", help="Environment: environments/<ENV>.yaml.")
@output_option
@context_option
@yes_option
@click.pass_context
def bench(ctx: click.Context, values: str, env: str | None, output: str, allow_context_mismatch: bool,
          yes: bool) -> None:
    """Run the benchmark sweep (benchmark.config) against the deployment, with AIPerf."""
    if ctx.invoked_subcommand:
        return
    _require_env(ctx, None, env)
    from composer import bench as b

    local = _local(values, env)
    if local:
        from composer.local import target

        proj, dep, _ = local
        result = target.bench_run(proj.root, dep, env, _progress)
        _emit(result, output, b.format_result)
        return
    from composer import helmfile, kube

    proj, plan = _regenerate(values, env)
    release = plan.release("benchmark")
    if not release:
        raise ComposeError(f"benchmark.enabled is false for environment {env!r}")
    _guard(proj, plan, action="benchmark", allow_mismatch=allow_context_mismatch, yes=yes)
    kube.delete_jobs(plan.kube_context, release.namespace, release.name)
    helmfile.run(helmfile.base(proj.state_file(env), env) + ["--selector", "component=benchmark", "sync"], proj.root)
    click.echo(f"benchmark Job started; `compose bench results --env {env}` copies its artifacts back when done")


@bench.command("results")
@values_option
@env_option
@output_option
def bench_results(values: str, env: str, output: str) -> None:
    """Show the latest results (Kubernetes: copy the artifacts back from the benchmark's PVC first)."""
    from composer import bench as b

    local = _local(values, env)
    if local:
        from composer.local import target

        _emit(target.latest_results(local[0].root, env), output, b.format_result)
        return
    from composer import kube

    proj, plan = _regenerate(values, env)
    release = plan.release("benchmark")
    if not release:
        raise ComposeError(f"benchmark.enabled is false for environment {env!r}")
    result = kube.fetch_results(proj.root, env, plan, release)
    _emit(result, output, b.format_result)


@main.command()
@values_option
@click.option("-e", "--env", "env", default="local", show_default=True, help="A `target: local` environment.")
@click.pass_context
def quickstart(ctx: click.Context, values: str, env: str) -> None:
    """Run the model locally, benchmark it, print the report, stop it: `up`, `bench`, `down`."""
    from composer.local import target

    local = _local(values, env)
    if not local:
        raise click.UsageError(f"quickstart runs a `target: local` environment; {env!r} is not one")
    if target.status(local[0].root, env)["processes"]:
        raise ComposeError(f"the local graph of environment {env!r} already runs (`compose status --env {env}`); "
                           f"quickstart stops only what it starts, so it left that one alone; benchmark it with "
                           f"`compose bench --env {env}`, or stop it with `compose down --env {env}` first")
    # a failed `up` stops what it started itself; from here on, what runs is quickstart's
    ctx.invoke(up, values=values, env=env, yes=False, allow_context_mismatch=False, helmfile_args=())
    try:
        ctx.invoke(bench, values=values, env=env, output="text", allow_context_mismatch=False, yes=False)
    finally:
        _down_local(values, env)


@main.command()
@values_option
@click.option("-e", "--env", "env", help="Environment to check (default: only the tools).")
@output_option
def doctor(values: str, env: str | None, output: str) -> None:
    """Read-only checks of what a deploy needs, each with its fix. Exit 1 when one fails."""
    from composer import doctor as d

    result = d.run(_project(values), env)
    _emit(result, output, d.format_text)
    sys.exit(0 if result["ok"] else 1)


@main.command("debug-bundle")
@values_option
@env_option
@click.option("--output", "output", type=click.Path(dir_okay=False), default=None,
              help="Archive to write (default: ./compose-debug-<env>-<time>.tar.gz).")
def debug_bundle(values: str, env: str, output: str | None) -> None:
    """One .tar.gz for a bug report: cluster (or local) state, logs, releases, generated files,
    explain and doctor results; secrets redacted, failed commands recorded."""
    from pathlib import Path

    from composer import bundle

    result = bundle.debug_bundle(_project(values), env, Path(output) if output else None)
    click.echo(bundle.format_text(result))


@main.group()
def fault() -> None:
    """Fault injection: kill a worker (during `compose bench`), or measure what a kill costs."""


fault_component = click.option("--component", required=True, help="Component of the DGD: decode, prefill, frontend.")
fault_replica = click.option("--replica", type=click.IntRange(min=0), default=None,
                             help="Which replica (local: <component>-<N>; Kubernetes: the Nth pod by name).")
fault_signal = click.option("--signal", "sig", type=click.Choice(["KILL", "TERM"]), default="KILL", show_default=True)


@fault.command("kill")
@values_option
@env_option
@fault_component
@fault_replica
@fault_signal
@yes_option
@context_option
@output_option
def fault_kill(values: str, env: str, component: str, replica: int | None, sig: str, yes: bool,
               allow_context_mismatch: bool, output: str) -> None:
    """Kill one process (local) or delete one pod (Kubernetes) of a component."""
    from composer import fault as f
    from composer import project as p

    proj = _project(values)
    dep = p.load_deployment(proj, env)
    if dep.target == "local":
        result = f.kill_local(proj.root, env, component, replica, sig)
    else:
        plan = p.plans(proj, [env])[env]
        _guard(proj, plan, action="fault", allow_mismatch=allow_context_mismatch, yes=yes)
        result = f.kill_kube(dep, plan, component, replica, sig)
    _emit(result, output, f.format_kill)


@fault.command("bench")
@values_option
@env_option
@fault_component
@fault_replica
@fault_signal
@click.option("--after", type=click.FloatRange(min=0), default=None,
              help="Seconds after the load starts to kill (default: half the baseline's first run).")
@output_option
def fault_bench(values: str, env: str, component: str, replica: int | None, sig: str, after: float | None,
                output: str) -> None:
    """Benchmark without, then with, one worker killed mid-run: errors, latency, recovery time (local)."""
    from composer import fault as f

    local = _local(values, env)
    if not local:
        raise ComposeError(f"`compose fault bench` runs on `target: local` environments; on Kubernetes run "
                           f"`compose bench --env {env}` and, meanwhile, `compose fault kill --env {env} "
                           f"--component {component}`")
    proj, dep, _ = local
    result = f.bench_local(proj.root, dep, env, component, replica=replica, after=after, sig_name=sig,
                           progress=_progress)
    _emit(result, output, f.format_report)
