"""Where an environment runs, decided once: on a Kubernetes cluster (helmfile, kubectl) or on this
machine (Dynamo processes). Both answer the same verbs (up, down, destroy, status, bench, results,
kill, fault_bench) with a `Report`: plain data for `-o json`, the text a person reads, an exit
code. `cli.py` picks the target with `of` and prints what the verb returns.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from composer import project as p
from composer.errors import ComposeError, UsageError
from composer.model import Deployment
from composer.plan import Plan


@dataclass(frozen=True)
class Report:
    data: Any  # what `-o json` prints; None when the verb has nothing to report but its text
    text: str = ""  # what a person reads; "" prints nothing (a child process spoke already)
    exit_code: int = 0


@dataclass(frozen=True)
class Console:
    """How a target talks to the person running compose while it works."""

    progress: Callable[[str], None]  # one line of what is happening (stderr)
    confirm: Callable[[str], None]  # ask; raises (click.Abort) when the answer is no
    interactive: bool = field(default_factory=lambda: sys.stdin.isatty())
    # text as is on stderr (a line rewritten in place), and whether stderr is a terminal
    write: Callable[[str], None] | None = None
    tty: bool = False

    def meter(self):
        """What shows a benchmark run's progress while it runs; None when there is no writer."""
        from composer.bench_progress import Meter

        return Meter(self.write, tty=self.tty) if self.write else None


@dataclass(frozen=True)
class Guard:
    """The safety rails' options: confirmation and the kube context check."""

    yes: bool = False
    allow_context_mismatch: bool = False


def regenerate(proj: p.Project, env: str, console: Console) -> Plan:
    """Every command that acts works on freshly generated files, so it never acts on stale ones."""
    p.check_env_name(proj, env)
    env_plans = p.plans(proj)
    if p.generate(proj, env_plans):
        console.progress(f"updated {proj.rel(proj.output)}/")
    return env_plans[env]


def guard_cluster(proj: p.Project, plan: Plan, action: str, guard: Guard, console: Console) -> None:
    """Refuse the wrong cluster; ask before destroying or touching production."""
    from composer import guard as g

    g.check_context(plan, g.current_context(g.kubeconfig_paths()), allow_mismatch=guard.allow_context_mismatch)
    production = p.load_deployment(proj, plan.env).values["cluster"]["production"]
    question = g.confirm_needed(plan, production, action=action, yes=guard.yes, interactive=console.interactive)
    if question:
        console.confirm(question)


def local_only(target: Kubernetes | Local, command: str) -> Local:
    """The target of a command that runs only on this machine."""
    if not isinstance(target, Local):
        raise UsageError(f"{command} runs a `target: local` environment; {target.env!r} is not one")
    return target


def of(proj: p.Project, env: str, console: Console, *, running: bool = False) -> Kubernetes | Local:
    """The environment's target. With `running`, for verbs that act on what runs (down, destroy,
    status): a record left by `compose up --env ENV` on this machine decides alone, so that
    stopping what runs depends neither on the values file still being valid nor still local."""
    from composer.local import target

    if running and target.started(proj.root, env):
        return Local(proj, env, console)
    p.check_env_name(proj, env)
    dep = p.load_deployment(proj, env)
    return Local(proj, env, console, dep) if dep.target == "local" else Kubernetes(proj, env, console, dep)


LINUX_ONLY = (
    "the local runtime runs on Linux only: it finds, watches and stops its processes through /proc; "
    "use a Linux machine or VM, or an environment with `target: kubernetes`"
)


class Kubernetes:
    """helmfile for the releases, kubectl for the graph, the benchmark Job and faults."""

    where = "kubernetes"

    def __init__(self, proj: p.Project, env: str, console: Console, dep: Deployment):
        self.proj, self.env, self.console, self.dep = proj, env, console, dep

    def _plan(self, action: str, guard: Guard) -> Plan:
        plan = regenerate(self.proj, self.env, self.console)
        self._guard(plan, action, guard)
        return plan

    def _guard(self, plan: Plan, action: str, guard: Guard) -> None:
        guard_cluster(self.proj, plan, action, guard, self.console)

    def up(self, guard: Guard, *, wait: bool, timeout: int, helmfile_args: Sequence[str] = ()) -> Report:
        from composer import helmfile, kube

        plan = self._plan("deploy", guard)
        have_diff = helmfile.has_helm_diff(self.proj.root)
        if not have_diff:
            self.console.progress("helm-diff is not installed: running `helmfile sync`, which upgrades every release")
        # the wait asks kubectl: a missing one is said before anything is installed
        helmfile.run(
            helmfile.apply(self.proj.state_file(self.env), self.env, have_helm_diff=have_diff, extra=helmfile_args),
            self.proj.root,
            needs=("helm", "kubectl") if wait else ("helm",),
        )
        result = kube.await_graph(self.dep, plan, wait=wait, timeout=timeout, progress=self.console.progress)
        return Report(result, kube.format_up(result))

    def destroy(self, guard: Guard, helmfile_args: Sequence[str] = ()) -> Report:
        from composer import helmfile

        self._plan("destroy", guard)
        code = helmfile.run(helmfile.destroy(self.proj.state_file(self.env), self.env, helmfile_args), self.proj.root)
        return Report(None, exit_code=code)

    def down(self, guard: Guard) -> Report:
        return self.destroy(guard)

    def status(self, helmfile_args: Sequence[str] = (), *, json_output: bool = False) -> Report:
        from composer import helmfile

        if json_output:
            raise UsageError(
                f"-o json reports a local environment; {self.env!r} runs on Kubernetes, where "
                "`compose status` streams `helmfile status`"
            )
        regenerate(self.proj, self.env, self.console)
        code = helmfile.run(helmfile.status(self.proj.state_file(self.env), self.env, helmfile_args), self.proj.root)
        return Report(None, exit_code=code)

    def _benchmark_release(self, plan: Plan):
        release = plan.release("benchmark")
        if not release:
            raise ComposeError(f"benchmark.enabled is false for environment {self.env!r}")
        return release

    def bench(self, guard: Guard, *, follow: bool = False) -> Report:
        from composer import helmfile, kube

        plan = regenerate(self.proj, self.env, self.console)
        release = self._benchmark_release(plan)
        self._guard(plan, "benchmark", guard)
        kube.delete_jobs(plan.kube_context, release.namespace, release.name)
        helmfile.run(helmfile.sync_component(self.proj.state_file(self.env), self.env, "benchmark"), self.proj.root)
        if follow:
            return self._follow(plan, release)
        return Report(
            {"started": release.name},
            f"benchmark Job started; `compose bench results --env {self.env}` copies its artifacts back when done",
        )

    def _follow(self, plan: Plan, release) -> Report:
        """The started Job's log until it ends, then its results, as `compose bench results` fetches them."""
        from composer import bench, kube
        from composer.plan import rendered_objects

        job = next(name for kind, name in rendered_objects(release) if kind == "Job")
        self.console.progress(f"benchmark Job started: following job/{job} (Ctrl-C stops following, not the Job)")
        outcome = kube.follow_job(plan.kube_context, release.namespace, job, self.console.progress)
        if outcome != "Complete":
            raise ComposeError(
                f"the benchmark job/{job} failed (its log is above; `kubectl -n {release.namespace} describe "
                f"job/{job}`); `compose bench results --env {self.env}` copies back what its runs wrote"
            )
        self.console.progress(f"job/{job} complete: copying its artifacts back")
        result = kube.fetch_results(self.proj.root, self.env, plan, release)
        return Report(result, bench.format_result(result))

    def results(self) -> Report:
        from composer import bench, kube, report

        plan = regenerate(self.proj, self.env, self.console)
        result = kube.fetch_results(self.proj.root, self.env, plan, self._benchmark_release(plan))
        result = report.report_collected(
            result, report.spec(self.dep, gpus=result.get("gpus", 0), timing_note=report.CLUSTER_TIMINGS)
        )
        return Report(result, bench.format_result(result))

    def kill(self, guard: Guard, component: str, replica: int | None, sig: str) -> Report:
        from composer import fault

        plan = p.plans(self.proj, [self.env])[self.env]
        self._guard(plan, "fault", guard)
        result = fault.kill_kube(self.dep, plan, component, replica, sig)
        return Report(result, fault.format_kill(result))

    def fault_bench(self, component: str, **_: Any) -> Report:
        raise ComposeError(
            f"`compose fault bench` runs on `target: local` environments; on Kubernetes run "
            f"`compose bench --env {self.env}` and, meanwhile, `compose fault kill --env {self.env} "
            f"--component {component}`"
        )


class Local:
    """The model chart's graph as Dynamo processes on this machine (composer.local)."""

    where = "local"

    def __init__(self, proj: p.Project, env: str, console: Console, dep: Deployment | None = None):
        if not sys.platform.startswith("linux"):
            raise UsageError(f"environment {env!r} runs locally, but {LINUX_ONLY}")
        # dep is None when only a record of what runs is known (the values may no longer load)
        self.proj, self.env, self.console, self.dep = proj, env, console, dep

    def _deployment(self) -> Deployment:
        if self.dep is None:
            self.dep = p.load_deployment(self.proj, self.env)
        return self.dep

    def up(self, guard: Guard, **_: Any) -> Report:
        from composer.local import target

        dep = self._deployment()
        plan = regenerate(self.proj, self.env, self.console)
        self.console.progress(
            f"starting {dep.name} locally ({dep.backend}, "
            f"{'disaggregated' if dep.model['disaggregation'] else 'aggregated'}, "
            f"routing {dep.model['routingPolicy']})"
        )
        result = target.up(self.proj.root, dep, plan, lambda m: self.console.progress(f"  {m}"))
        return Report(
            result,
            f"ready in {result['ready_seconds']:.1f} s: {result['url']}/v1/models lists "
            f"{result['model']} ({len(result['processes'])} processes; "
            f"`compose status --env {self.env}`, `compose down --env {self.env}`)",
        )

    def down(self, guard: Guard | None = None) -> Report:
        from composer.local import target

        result = target.down(self.proj.root, self.env)
        if not result["pids"] and not result["supervisor"]:
            return Report(result, f"nothing runs locally for environment {self.env!r}")
        return Report(result, target.format_down(result))

    def destroy(self, guard: Guard, helmfile_args: Sequence[str] = ()) -> Report:
        return self.down(guard)

    def status(self, helmfile_args: Sequence[str] = (), *, json_output: bool = False) -> Report:
        from composer.local import target

        result = target.status(self.proj.root, self.env)
        return Report(result, target.format_status(result))

    def running(self) -> bool:
        from composer.local import target

        return bool(target.status(self.proj.root, self.env)["processes"])

    def bench(self, guard: Guard, *, follow: bool = False) -> Report:
        """`follow` changes nothing here: a local run shows its progress as it goes."""
        from composer import bench
        from composer.local import target

        dep = self._deployment()
        regenerate(self.proj, self.env, self.console)
        result = target.bench_run(
            self.proj.root, dep, self.env, lambda m: self.console.progress(f"  {m}"), meter=self.console.meter()
        )
        return Report(result, bench.format_result(result))

    def results(self) -> Report:
        from composer import bench
        from composer.local import target

        regenerate(self.proj, self.env, self.console)
        result = target.latest_results(self.proj.root, self.env)
        return Report(result, bench.format_result(result))

    def kill(self, guard: Guard, component: str, replica: int | None, sig: str) -> Report:
        from composer import fault

        result = fault.kill_local(self.proj.root, self.env, component, replica, sig)
        return Report(result, fault.format_kill(result))

    def fault_bench(self, component: str, *, replica: int | None, after: float | None, sig: str) -> Report:
        from composer import fault

        dep = self._deployment()
        regenerate(self.proj, self.env, self.console)
        result = fault.bench_local(
            self.proj.root,
            dep,
            self.env,
            component,
            replica=replica,
            after=after,
            sig_name=sig,
            progress=lambda m: self.console.progress(f"  {m}"),
        )
        return Report(result, fault.format_report(result))
