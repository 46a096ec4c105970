"""The `compose` command line: parse options, call one function, print its result. Nothing else."""

from __future__ import annotations

import atexit
import contextlib
import gc
import signal
import sys

import click

from composer.errors import ComposeError, ExitCode, InvalidValues

values_option = click.option(
    "-f",
    "--values",
    "values",
    default=None,
    type=click.Path(dir_okay=False),
    help="The values file [default: values.yaml here or in the nearest parent directory "
    "that also holds environments/].",
)


def _require_env(ctx: click.Context, _param, env: str | None) -> str | None:
    """A missing --env is answered with the environments there are (-f is parsed first)."""
    if env is None and not ctx.resilient_parsing:
        from composer import project as p

        p.check_env_name(_project(ctx.params.get("values")), None)
    return env


env_option = click.option("-e", "--env", "env", callback=_require_env, help="Environment: environments/<ENV>.yaml.")
yes_option = click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
passthrough_args = click.argument("helmfile_args", nargs=-1, type=click.UNPROCESSED, metavar="[-- HELMFILE_ARGS]...")
context_option = click.option(
    "--allow-context-mismatch", is_flag=True, help="Act even though the current kube context is not the environment's."
)


def _emit(result, output: str, text) -> None:
    import json

    click.echo(json.dumps(result, indent=2) if output == "json" else text(result))


output_option = click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True)


# At exit the interpreter collects garbage over everything compose loaded (~30 ms of CPU, ~40 ms wall, for
# `compose up --env local`, after its graph is ready) only to free memory the exit frees anyway.
# Registered when cli is imported: it runs after the handlers registered later.
atexit.register(gc.freeze)


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
            ctx.exit(ExitCode.INTERRUPTED)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except Exception as e:  # a bug: one line for the user, the traceback for the report
            from composer import errors

            click.echo(f"error: {errors.crash_line(e, errors.crash_log(e))}", err=True)
            ctx.exit(ExitCode.BUG)


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
    result = {
        "ok": True,
        "checked": [
            {"env": env, "files": [proj.rel(proj.values_file), proj.rel(proj.env_file(env))]} for env in checked
        ],
    }
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
    """(project, plan) with helmfile.d/ freshly generated: commands that act never act on stale files."""
    from composer import targets

    proj = _project(values)
    return proj, targets.regenerate(proj, env, _console())


def _console():
    from composer import targets

    return targets.Console(
        progress=lambda message: click.echo(message, err=True),
        confirm=lambda question: click.confirm(question, abort=True),
        write=lambda text: click.echo(text, err=True, nl=False),
        tty=sys.stderr.isatty(),
    )


def _target(values: str | None, env: str, *, running: bool = False):
    """Where env runs (composer.targets), decided once; `running` for verbs on what runs now."""
    from composer import targets

    return targets.of(_project(values), env, _console(), running=running)


def _guard(yes: bool = False, allow_context_mismatch: bool = False):
    from composer import targets

    return targets.Guard(yes=yes, allow_context_mismatch=allow_context_mismatch)


def _show(report, output: str = "text") -> None:
    """Print what a verb reported (its data for -o json, else its text) and exit with its code."""
    import json

    if output == "json":
        click.echo(json.dumps(report.data, indent=2))
    elif report.text:
        click.echo(report.text)
    if report.exit_code:
        sys.exit(report.exit_code)


@main.command()
@values_option
@env_option
def template(values: str, env: str) -> None:
    """Render our charts' Kubernetes manifests offline, to stdout."""
    from composer import manifests

    with _generated(values, env) as (_, plan, root):
        for r in plan.releases:
            if r.remote:
                click.echo(
                    f"skipped remote release {r.id} ({r.chart} {r.version}): not fetched offline; "
                    "`compose up` installs it",
                    err=True,
                )
        click.echo(manifests.template(root, plan), nl=False)


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
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Where to write (default: export/<ENV>): a new or empty directory, or an earlier export, "
    "which is replaced as a whole.",
)
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
    from composer import helmfile, targets

    proj, plan = _regenerate(values, env)
    targets.guard_cluster(
        proj, plan, "diff", _guard(yes=True, allow_context_mismatch=allow_context_mismatch), _console()
    )
    if not helmfile.has_helm_diff(proj.root):
        raise ComposeError(f"compose diff needs the helm-diff plugin: {helmfile.HELM_DIFF_INSTALL}")
    sys.exit(helmfile.run(helmfile.diff(proj.state_file(env), env, helmfile_args), proj.root, changes_ok=True))


class Duration(click.ParamType):
    """Seconds, or a number with s, m or h: 900, 90s, 15m, 1h."""

    name = "DURATION"
    UNITS = {"": 1, "s": 1, "m": 60, "h": 3600}

    def convert(self, value, param, ctx):
        import re

        m = re.fullmatch(r"(\d{1,7})([smh]?)", str(value).strip())
        if not m or int(m.group(1)) == 0:
            self.fail(
                f"{value!r} is not a duration: give seconds, or a number with s, m or h (900, 15m, 1h)", param, ctx
            )
        return int(m.group(1)) * self.UNITS[m.group(2)]


@main.command()
@values_option
@env_option
@yes_option
@context_option
@click.option(
    "--no-wait",
    is_flag=True,
    help="Return once the releases are installed, without waiting for the DynamoGraphDeployment to report Ready.",
)
@click.option(
    "--timeout",
    "timeout",
    type=Duration(),
    default="60m",
    show_default=True,
    help="How long to wait for Ready (Kubernetes): seconds, or with s, m or h. Exit 5 when it is not.",
)
@passthrough_args
def up(
    values: str,
    env: str,
    yes: bool,
    allow_context_mismatch: bool,
    no_wait: bool,
    timeout: int,
    helmfile_args: tuple[str, ...],
) -> None:
    """Regenerate, then deploy the environment (helmfile apply, or sync without helm-diff), wait
    until the DynamoGraphDeployment reports Ready and print its endpoint.
    A `target: local` environment runs on this machine instead, as real Dynamo processes."""
    _show(
        _target(values, env).up(
            _guard(yes, allow_context_mismatch), wait=not no_wait, timeout=timeout, helmfile_args=helmfile_args
        )
    )


@main.command()
@values_option
@env_option
@yes_option
@context_option
@passthrough_args
def destroy(values: str, env: str, yes: bool, allow_context_mismatch: bool, helmfile_args: tuple[str, ...]) -> None:
    """Uninstall every release of the environment, in reverse dependency order
    (local: stop every process it started)."""
    _show(_target(values, env, running=True).destroy(_guard(yes, allow_context_mismatch), helmfile_args))


@main.command()
@values_option
@env_option
@output_option
@passthrough_args
def status(values: str, env: str, output: str, helmfile_args: tuple[str, ...]) -> None:
    """Show the releases of the environment and their state (local: processes, PIDs, ports, health)."""
    _show(_target(values, env, running=True).status(helmfile_args, json_output=output == "json"), output)


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
@click.option(
    "--from",
    "from_values",
    default=None,
    metavar="VALUES_FILE",
    type=click.Path(dir_okay=False),
    help="An existing values file: add what its directory lacks of a project (environments/, charts/, "
    ".gitignore), never changing a file.",
)
@click.option(
    "--dir",
    "directory",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Project directory for --recipe; created if missing. No existing file is overwritten.",
)
@click.option(
    "--name",
    "dynamo_namespace",
    default=None,
    metavar="DYNAMO_NAMESPACE",
    help="dynamoNamespace of the deployment (default: the recipe's).",
)
def init(recipe: str | None, from_values: str | None, directory: str, dynamo_namespace: str | None) -> None:
    """Start a project from a recipe (values.yaml, environments/{dev,prod,local}.yaml, charts/), or
    around an existing values file (--from)."""
    from pathlib import Path

    from composer import recipes as r

    if (recipe is None) == (from_values is None):
        raise click.UsageError("give one of --recipe NAME or --from VALUES_FILE")
    if from_values is not None:
        if directory != "." or dynamo_namespace is not None:
            raise click.UsageError(
                "--from works in the values file's directory and leaves the file as it is: no --dir or --name"
            )
        values = Path(from_values)
        written, kept = r.scaffold_around(values.absolute())
        click.echo(r.next_steps(values.parent, written, str(values), kept, values.name), nl=False)
        return
    assert recipe is not None  # one of --recipe, --from: checked above
    written = r.scaffold(recipe, Path(directory), dynamo_namespace=dynamo_namespace)
    click.echo(r.next_steps(Path(directory), written, f"recipe {recipe}"), nl=False)


@main.command()
@click.option("--model", default=None, metavar="HF_ID", help="Model id, as AIConfigurator's database names it.")
@click.option("--backend", default=None, type=click.Choice(["vllm", "sglang", "trtllm"]), help="Engine.")
@click.option("--gpu", default=None, metavar="SYSTEM", help="GPU, by AIConfigurator's system name (h200_sxm, ...).")
@click.option("--gpus", "total_gpus", default=None, type=int, help="GPUs the graph may use in all.")
@click.option("--gpus-per-node", default=None, type=int, help="GPUs per node (a worker gets at most this many).")
@click.option("--isl", default=None, type=int, help="Input sequence length (tokens).")
@click.option("--osl", default=None, type=int, help="Output sequence length (tokens).")
@click.option("--ttft", default=None, type=float, help="Time-to-first-token target (ms).")
@click.option("--itl", default=None, type=float, help="Inter-token latency target (ms).")
@click.option(
    "--e2e-latency", default=None, type=float, help="End-to-end latency target (ms), instead of --ttft/--itl."
)
@click.option("--request-rate", default=None, type=float, help="Target request rate (req/s).")
@click.option("--concurrency", default=None, type=float, help="Target concurrency.")
@click.option("--dir", "directory", default=".", show_default=True, type=click.Path(file_okay=False),
              help="Project directory for a new project; created if missing. No existing file is overwritten.")  # fmt: skip
@click.option("--name", "dynamo_namespace", default=None, metavar="DYNAMO_NAMESPACE", help="dynamoNamespace.")
@click.option("--update", is_flag=True, help="Re-tune the current project from its values file's tune: section.")
@click.option("--emit", multiple=True, type=click.Choice(["dgdr"]), help="Also write a DynamoGraphDeploymentRequest.")
@values_option
def tune(update: bool, values: str | None, directory: str, dynamo_namespace: str | None, emit: tuple[str, ...],
         **given) -> None:  # fmt: skip
    """The best configuration AIConfigurator predicts for a model, its GPUs and its SLA, as a new
    project (like `compose init`), or re-tuned in place (--update)."""
    from pathlib import Path

    from composer import tune as t

    result = t.command(
        {k: v for k, v in given.items() if v is not None},
        update=update, values=values, directory=Path(directory), name=dynamo_namespace, emit=emit,
    )  # fmt: skip
    click.echo(t.report(result), nl=False)


@main.command("import")
@click.argument("dgd_file", metavar="DGD.yaml", type=click.Path(dir_okay=False))
@click.option(
    "--dir",
    "directory",
    default=None,
    type=click.Path(file_okay=False),
    help="Project directory; created, must be new or empty [default: the DGD's name].",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Fail (exit 2, listing them) if any part needs patches or extraObjects, or is written null.",
)
@click.option(
    "--graph", metavar="NAME", default=None, help="The DynamoGraphDeployment to import, of a file that holds several."
)
@output_option
def import_(dgd_file: str, directory: str | None, strict: bool, graph: str | None, output: str) -> None:
    """Make a project from an existing DynamoGraphDeployment (v1beta1 or v1alpha1) that renders the same graph."""
    from pathlib import Path

    from composer import dgd_import

    imported, dest = dgd_import.import_file(
        Path(dgd_file), Path(directory) if directory else None, strict=strict, graph=graph
    )
    _emit(dgd_import.report(imported, dest), output, lambda _: dgd_import.summary(imported, dest).rstrip("\n"))


@main.command()
@values_option
@env_option
def down(values: str, env: str) -> None:
    """Stop what `up` started: local processes (proved gone by PID), or `destroy` on a cluster."""
    _show(_target(values, env, running=True).down(_guard()))


@main.group(invoke_without_command=True)
@values_option
@click.option("-e", "--env", "env", help="Environment: environments/<ENV>.yaml.")
@output_option
@context_option
@yes_option
@click.option(
    "--follow",
    is_flag=True,
    help="Kubernetes: stream the benchmark Job's log, then copy its results back when it ends "
    "(as `bench results`). A local run always shows its progress.",
)
@click.pass_context
def bench(
    ctx: click.Context,
    values: str,
    env: str | None,
    output: str,
    allow_context_mismatch: bool,
    yes: bool,
    follow: bool,
) -> None:
    """Run the benchmark sweep (benchmark.config) against the deployment, with AIPerf."""
    if ctx.invoked_subcommand:
        return
    _require_env(ctx, None, env)
    assert env is not None  # _require_env answered a missing one
    _show(_target(values, env).bench(_guard(yes, allow_context_mismatch), follow=follow), output)


@bench.command("results")
@values_option
@env_option
@output_option
def bench_results(values: str, env: str, output: str) -> None:
    """Show the latest results (Kubernetes: copy the artifacts back from the benchmark's PVC first)."""
    _show(_target(values, env).results(), output)


@bench.command("compare")
@values_option
@click.argument("runs", nargs=-1, required=True, metavar="RUN_A RUN_B [RUN...]")
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default=None,
    help="Where the plots and compare.json go [default: results/compare-<UTC time>/].",
)
@click.option("--no-plots", is_flag=True, help="Only the numbers (compare.json): draw no PNGs.")
@output_option
def bench_compare(values: str, runs: tuple[str, ...], out: str | None, no_plots: bool, output: str) -> None:
    """Compare benchmark results, the first the baseline: deltas per level, overlaid plots.

    A RUN is a results directory (results/<env>/<time>/) or an environment's name (its latest)."""
    from composer import bench_compare

    result = bench_compare.run(runs, root=_project(values).root, out=out, plots=not no_plots)
    _emit(result, output, bench_compare.format_compare)


@main.command()
@values_option
@click.option("-e", "--env", "env", default="local", show_default=True, help="A `target: local` environment.")
@click.pass_context
def quickstart(ctx: click.Context, values: str, env: str) -> None:
    """Run the model locally, benchmark it, print the report, stop it: `up`, `bench`, `down`."""
    from composer import targets

    local = targets.local_only(_target(values, env), "quickstart")
    if local.running():
        raise ComposeError(
            f"the local graph of environment {env!r} already runs (`compose status --env {env}`); "
            f"quickstart stops only what it starts, so it left that one alone; benchmark it with "
            f"`compose bench --env {env}`, or stop it with `compose down --env {env}` first"
        )
    # a failed `up` stops what it started itself; from here on, what runs is quickstart's
    _show(local.up(_guard()))
    try:
        _show(local.bench(_guard()))
    finally:
        _show(local.down())


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
@click.option(
    "--output",
    "output",
    type=click.Path(dir_okay=False),
    default=None,
    help="Archive to write (default: ./compose-debug-<env>-<time>.tar.gz).",
)
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
fault_replica = click.option(
    "--replica",
    type=click.IntRange(min=0),
    default=None,
    help="Which replica (local: <component>-<N>; Kubernetes: the Nth pod by name).",
)
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
def fault_kill(
    values: str,
    env: str,
    component: str,
    replica: int | None,
    sig: str,
    yes: bool,
    allow_context_mismatch: bool,
    output: str,
) -> None:
    """Kill one process (local) or delete one pod (Kubernetes) of a component."""
    _show(_target(values, env).kill(_guard(yes, allow_context_mismatch), component, replica, sig), output)


@fault.command("bench")
@values_option
@env_option
@fault_component
@fault_replica
@fault_signal
@click.option(
    "--after",
    type=click.FloatRange(min=0),
    default=None,
    help="Seconds after the load starts to kill (default: half the baseline's first run).",
)
@output_option
def fault_bench(
    values: str, env: str, component: str, replica: int | None, sig: str, after: float | None, output: str
) -> None:
    """Benchmark without, then with, one worker killed mid-run: errors, latency, recovery time (local)."""
    _show(_target(values, env).fault_bench(component, replica=replica, after=after, sig=sig), output)
