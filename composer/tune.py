"""`compose tune`: the best configuration AIConfigurator predicts for a model, its GPUs and its SLA,
written as a compose values file (with RECIPE.md, the Pareto plot and, on request, a
DynamoGraphDeploymentRequest).

Pure, but for `tune_new`/`tune_update` at the end: `Inputs` (the values file's `tune:` section, named
as DynamoGraphDeploymentRequest v1beta1 names them) -> `argv` for AIConfigurator's `cli default` ->
its saved files (read by composer/local/tuning.py, the one module that runs it) -> `choose`
-> `values_text`, `recipe_doc`, `dgdr_text`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from composer import twin
from composer import yaml as cyaml
from composer.errors import UsageError

TOOL = "aiconfigurator"
TOOL_VERSION = twin.AICONFIGURATOR_VERSION  # venvs.PINS["aiconfigurator"]; tests check they agree
# The GPUs AIConfigurator has a performance database for (composer/twin.py, checked against its venv).
SYSTEMS = twin.GPU_SKUS
# DynamoGraphDeploymentRequest v1beta1's GPUSKUType (ai-dynamo 1.6.1, dynamo/profiler/utils/dgdr_v1beta1_types.py)
DGDR_SKUS = (
    "vr_nvl72", "gb200", "gb200_sxm", "gb10", "b300_sxm", "b200_sxm", "h200_sxm", "h100_sxm", "h100_pcie",
    "a100_sxm", "a100_pcie", "a30", "l40s", "l40", "l4", "v100_sxm", "v100_pcie", "t4", "mi200", "mi300",
)  # fmt: skip
BACKENDS = ("vllm", "sglang", "trtllm")
PNG = "pareto.png"
DGDR_FILE = "dgdr.yaml"
# Flags the model chart passes itself (charts/model/templates/_helpers.tpl, model.workerArgs): the
# engine config leaves them out so that each is said once. SGLang's --tp is the role's `gpus`: its
# tensor-parallel-size stays in the engine config, the same number, so the config says its parallelism.
CHART_FLAGS = {
    "vllm": ("model", "served-model-name"),
    "sglang": ("model-path", "served-model-name", "disaggregation-transfer-backend"),
    "trtllm": (),
}


@dataclass(frozen=True)
class Inputs:
    """What to tune for: the model and backend (model.name, model.backend.type) and the `tune:`
    section (sla, hardware, workload), as the values file holds them."""

    model: str
    backend: str
    gpu_sku: str
    total_gpus: int
    isl: int
    osl: int
    ttft: float | None = None
    itl: float | None = None
    e2e_latency: float | None = None
    gpus_per_node: int | None = None
    request_rate: float | None = None
    concurrency: float | None = None

    def check(self) -> None:
        if self.backend not in BACKENDS:
            raise UsageError(f"--backend {self.backend!r}: AIConfigurator tunes {', '.join(BACKENDS)}")
        if self.gpu_sku not in SYSTEMS:
            raise UsageError(
                f"--gpu {self.gpu_sku!r}: AIConfigurator {TOOL_VERSION} has no data for it; it knows {', '.join(SYSTEMS)}"
            )
        if self.e2e_latency is not None and (self.ttft is not None or self.itl is not None):
            raise UsageError("give --ttft and --itl, or --e2e-latency, not both (as a DynamoGraphDeploymentRequest)")
        if self.e2e_latency is None and (self.ttft is None or self.itl is None):
            raise UsageError("give both --ttft and --itl (ms), or --e2e-latency (ms)")
        if self.request_rate is not None and self.concurrency is not None:
            raise UsageError("give --request-rate or --concurrency, not both")
        for name, v in (("--gpus", self.total_gpus), ("--isl", self.isl), ("--osl", self.osl)):
            if v < 1:
                raise UsageError(f"{name} must be at least 1, not {v}")
        if self.gpus_per_node is not None and not 1 <= self.gpus_per_node <= 16:
            raise UsageError(f"--gpus-per-node must be 1 to 16 (a pod runs on one node), not {self.gpus_per_node}")
        for name, f in (
            ("--ttft", self.ttft),
            ("--itl", self.itl),
            ("--e2e-latency", self.e2e_latency),
            ("--request-rate", self.request_rate),
            ("--concurrency", self.concurrency),
        ):
            if f is not None and not f > 0:
                raise UsageError(f"{name} must be more than 0, not {f}")

    def section(self) -> dict[str, Any]:
        """The values file's `tune:` inputs, in DynamoGraphDeploymentRequest v1beta1's names."""
        sla = {"e2eLatency": _num(self.e2e_latency)} if self.e2e_latency is not None else {
            "ttft": _num(self.ttft), "itl": _num(self.itl)}  # fmt: skip
        hardware: dict[str, Any] = {"gpuSku": self.gpu_sku, "totalGpus": self.total_gpus}
        if self.gpus_per_node is not None:
            hardware["numGpusPerNode"] = self.gpus_per_node
        workload: dict[str, Any] = {"isl": self.isl, "osl": self.osl}
        if self.request_rate is not None:
            workload["requestRate"] = _num(self.request_rate)
        if self.concurrency is not None:
            workload["concurrency"] = _num(self.concurrency)
        return {"sla": sla, "hardware": hardware, "workload": workload}

    @classmethod
    def from_values(cls, values: dict[str, Any], where: str) -> Inputs:
        tune = values.get("tune")
        model = values.get("model") or {}
        if not isinstance(tune, dict) or not {"sla", "hardware", "workload"} <= set(tune):
            raise UsageError(f"{where}: no tune: section with sla, hardware and workload to re-tune from")
        sla, hw, wl = tune["sla"], tune["hardware"], tune["workload"]
        return cls(
            model=model.get("name", ""),
            backend=(model.get("backend") or {}).get("type", ""),
            gpu_sku=hw.get("gpuSku", ""),
            total_gpus=hw.get("totalGpus", 0),
            gpus_per_node=hw.get("numGpusPerNode"),
            isl=wl.get("isl", 0),
            osl=wl.get("osl", 0),
            request_rate=wl.get("requestRate"),
            concurrency=wl.get("concurrency"),
            ttft=sla.get("ttft"),
            itl=sla.get("itl"),
            e2e_latency=sla.get("e2eLatency"),
        )


def _num(v: float | None) -> int | float | None:
    """A number as the user would write it: 600, not 600.0."""
    return int(v) if isinstance(v, float) and v.is_integer() else v


def argv(inputs: Inputs) -> list[str]:
    """AIConfigurator's `cli default` arguments for the inputs (the runner adds --save-dir)."""
    out = ["cli", "default", "--model-path", inputs.model, "--system", inputs.gpu_sku, "--backend", inputs.backend]
    out += ["--total-gpus", str(inputs.total_gpus), "--isl", str(inputs.isl), "--osl", str(inputs.osl)]
    if inputs.e2e_latency is not None:
        out += ["--request-latency", str(_num(inputs.e2e_latency))]
    else:
        out += ["--ttft", str(_num(inputs.ttft)), "--tpot", str(_num(inputs.itl))]
    if inputs.request_rate is not None:
        out += ["--target-request-rate", str(_num(inputs.request_rate))]
    if inputs.concurrency is not None:
        out += ["--target-concurrency", str(_num(inputs.concurrency))]
    return out


# ------------------------------------------------------------------------------------------- choose


@dataclass(frozen=True)
class Role:
    replicas: int
    gpus: int  # per worker
    tp: int
    batch_size: int  # the simulated batch size per worker
    inline: dict[str, Any]


@dataclass(frozen=True)
class Choice:
    mode: str  # agg | disagg
    row: dict[str, str]  # the mode's top row of best_config_topn.csv
    roles: dict[str, Role]  # decode (and prefill when disagg)
    concurrency: int  # over the whole graph
    routing: str

    def figure(self, key: str) -> float:
        return float(self.row[key])

    @property
    def predicted(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "concurrency": self.concurrency,
            "ttftMs": round(self.figure("ttft"), 3),
            "itlMs": round(self.figure("tpot"), 3),
            "tokensPerSecondPerGpu": round(self.figure("tokens/s/gpu"), 3),
            "tokensPerSecondPerUser": round(self.figure("tokens/s/user"), 3),
        }


@dataclass(frozen=True)
class Tuned:
    inputs: Inputs
    chosen: Choice
    other: Choice | None  # the other mode's top configuration, if it found one
    pareto: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    pareto_png: bytes | None = None
    max_position_embeddings: int | None = None


def _int(v: Any) -> int:
    return int(float(v))


def engine_inline(backend: str, cli_args: list[str], engine_config: str | None) -> dict[str, Any]:
    """A role's engine config in the backend's own key names: TensorRT-LLM's engine YAML as
    AIConfigurator rendered it; vLLM's and SGLang's flags as their config-file keys (`--max-num-seqs
    512` -> max-num-seqs: 512, a bare flag -> true, several values -> a list), less the chart's own."""
    if backend == "trtllm" and engine_config:
        loaded = cyaml.load(engine_config)
        return loaded if isinstance(loaded, dict) else {}
    out: dict[str, Any] = {}
    key: str | None = None
    for token in cli_args:
        if token.startswith("--"):
            key = token[2:]
            out[key] = True
        elif key is not None:
            value = _scalar(token)
            prev = out[key]
            out[key] = value if prev is True else (prev + [value] if isinstance(prev, list) else [prev, value])
    return {k: v for k, v in out.items() if k not in CHART_FLAGS.get(backend, ())}


def _scalar(token: str) -> Any:
    for conv in (int, float):
        try:
            return conv(token)
        except ValueError:
            pass
    return token


def choose(inputs: Inputs, saved: dict[str, Any]) -> Tuned:
    """The best configuration of the saved results: the mode whose top configuration has the most
    tokens/s/GPU (as AIConfigurator's own "Best Experiment Chosen"), agg on a tie."""
    choices = {mode: _choice(inputs.backend, mode, data, saved["engines"].get(mode, {}))
               for mode, data in saved["modes"].items()}  # fmt: skip
    if not choices:
        raise UsageError(f"{TOOL} {TOOL_VERSION} found no configuration for these inputs")
    order = sorted(choices, key=lambda m: (-choices[m].figure("tokens/s/gpu_cluster"), m))
    chosen = choices[order[0]]
    other = choices[order[1]] if len(order) > 1 else None
    node = inputs.gpus_per_node
    for name, role in chosen.roles.items():
        if node is not None and role.gpus > node:
            raise UsageError(
                f"the best configuration gives each {name} worker {role.gpus} GPUs, more than a node's "
                f"{node}: compose tune writes single-node workers only"
            )
    return Tuned(
        inputs=inputs,
        chosen=chosen,
        other=other,
        pareto={m: d["pareto"] for m, d in saved["modes"].items()},
        pareto_png=saved.get("pareto_png"),
        max_position_embeddings=saved.get("max_position_embeddings"),
    )


def _choice(backend: str, mode: str, data: dict[str, Any], engines: dict[str, Any]) -> Choice:
    row = data["top"][0]
    gen = data["generator"] or {}
    workers = gen.get("WorkerConfig") or {}
    routing = "kv" if (gen.get("DynConfig") or {}).get("enable_router") else "none"

    def role(name: str, prefix: str, workers_key: str, gpus_key: str) -> Role:
        eng = engines.get(name) or {}
        tp = _int(row[f"{prefix}tp"])
        gpus = workers.get(gpus_key) or tp * _int(row[f"{prefix}pp"]) * _int(row[f"{prefix}dp"])
        return Role(
            replicas=int(workers[workers_key]),
            gpus=int(gpus),
            tp=tp,
            batch_size=_int(row[f"{prefix}bs"]),
            inline=engine_inline(backend, eng.get("cliArgs") or [], eng.get("engineConfig")),
        )

    if mode == "agg":
        decode = role("agg", "", "agg_workers", "agg_gpus_per_worker")
        # best_config_topn.csv's concurrency is one replica's; each agg replica is one worker
        return Choice(mode, row, {"decode": decode}, _int(row["concurrency"]) * decode.replicas, routing)
    prefill = role("prefill", "(p)", "prefill_workers", "prefill_gpus_per_worker")
    decode = role("decode", "(d)", "decode_workers", "decode_gpus_per_worker")
    replicas = decode.replicas // max(_int(row["(d)workers"]), 1)  # xPyD units
    return Choice(mode, row, {"decode": decode, "prefill": prefill}, _int(row["concurrency"]) * replicas, routing)


def sweep(concurrency: int) -> list[int]:
    """Concurrency levels around the predicted operating point: a quarter, half, it, and twice it."""
    levels = {max(1, concurrency // 4), max(1, concurrency // 2), concurrency, concurrency * 2}
    return sorted(c for c in levels if c <= 65535)


# -------------------------------------------------------------------------------------------- write


def default_name(model: str, mode: str) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", model.split("/")[-1].lower()).strip("-")
    return f"{base[: 39 - len(mode) - 1].rstrip('-')}-{mode}"


def _scalar_text(v: Any) -> str:
    text = cyaml.dump(v)
    return text[: -len("\n...\n")] if text.endswith("\n...\n") else text.rstrip("\n")


def _block(data: dict[str, Any], indent: int) -> str:
    """A mapping as block YAML, but lists of scalars in flow style (`batch_sizes: [1, 2, 4]`), as
    the hand-written recipes have them."""
    pad, out = " " * indent, []
    for k, v in data.items():
        if isinstance(v, dict) and v:
            out.append(f"{pad}{_scalar_text(k)}:\n{_block(v, indent + 2)}")
        elif v == {}:
            out.append(f"{pad}{_scalar_text(k)}: {{}}\n")
        elif isinstance(v, list) and not any(isinstance(x, (dict, list)) for x in v):
            out.append(f"{pad}{_scalar_text(k)}: [{', '.join(_scalar_text(x) for x in v)}]\n")
        elif isinstance(v, (dict, list)):
            out.append(
                f"{pad}{_scalar_text(k)}:\n" + "".join(pad + "  " + line + "\n" for line in cyaml.dump(v).splitlines())
            )
        else:
            out.append(f"{pad}{_scalar_text(k)}: {_scalar_text(v)}\n")
    return "".join(out)


def values_text(tuned: Tuned, *, dynamo_namespace: str, head: str) -> str:
    """The values file: `head` (the editor's schema line, summary and sources lines), then the chosen
    configuration, its benchmark, and the `tune:` section that says why."""
    c, i = tuned.chosen, tuned.inputs
    pred = c.predicted
    tag = f"# Predicted by {TOOL} {TOOL_VERSION} (not measured)"
    lines = [head, f"dynamoNamespace: {dynamo_namespace}\n\n", "model:\n", f"  name: {i.model}\n"]
    lines += ["  backend:\n", f"    type: {i.backend}\n", f"  disaggregation: {str(c.mode == 'disagg').lower()}\n"]
    lines += [
        f"  # {TOOL}'s generated deployment: {'KV-aware routing' if c.routing == 'kv' else 'the default routing'}\n"
    ]
    lines += [f"  routingPolicy: {c.routing}\n"]
    for name in ("decode", "prefill"):
        r = c.roles.get(name)
        if r is None:
            continue
        what = "worker" if c.mode == "agg" else f"{name} worker"
        lines += [f"  {name}:\n"]
        lines += [
            f"    # {TOOL}'s top {c.mode} configuration: {r.replicas} x TP{r.tp} {what}(s), batch size {r.batch_size} each\n"
        ]
        lines += [f"    replicas: {r.replicas}\n", f"    gpus: {r.gpus}\n"]
        if r.inline:
            lines += [f"    # The engine config {TOOL} generated for it, in {i.backend}'s own keys\n"]
            lines += ["    extraConfig:\n", "      inline:\n", _block(r.inline, 8)]
    bench: dict[str, Any] = {"concurrency": sweep(c.concurrency), "warmupRequestCount": c.concurrency}
    bench.update({"isl": i.isl, "osl": i.osl})
    if i.ttft is not None and i.itl is not None:
        bench["sla"] = {"ttft": _num(i.ttft), "itl": _num(i.itl)}
    lines += ["\nbenchmark:\n", "  enabled: true\n", "  config:\n"]
    sla_note = "; sla: tune.sla" if "sla" in bench else ""
    lines += [f"    # Around the predicted operating point, {c.concurrency} requests in flight{sla_note}\n"]
    lines += [_block(bench, 4)]
    lines += ["\n# Why the graph is as it is: `compose tune --update` re-tunes from these inputs.\n", "tune:\n"]
    lines += [_block(i.section(), 2), f"  {tag}:\n", "  predicted:\n", _block(pred, 4)]
    return "".join(lines)


def summary_line(tuned: Tuned) -> str:
    c, i = tuned.chosen, tuned.inputs
    shape = " + ".join(f"{r.replicas} x TP{r.tp} {n if c.mode == 'disagg' else 'worker'}" for n, r in sorted(
        c.roles.items(), key=lambda kv: kv[0] != "prefill"))  # fmt: skip
    return f"{i.model} on {i.backend}, {c.mode} ({shape}), tuned by compose tune for {i.total_gpus} x {i.gpu_sku}."


def recipe_doc(tuned: Tuned, title: str, *, png: str | None = PNG, again: str = "`compose tune --update`") -> str:
    """RECIPE.md: inputs, tool and version, the chosen configuration and its predictions, the other
    mode's best and by how much it lost, the Pareto frontier, and where every setting comes from."""
    c, o, i = tuned.chosen, tuned.other, tuned.inputs
    p = c.predicted
    src = f"{TOOL} {TOOL_VERSION} (PyPI), `cli default`, top {c.mode} configuration"
    out = [f"# {title}\n\n", f"Generated by `compose tune` with {TOOL} {TOOL_VERSION} (PyPI `{TOOL}=={TOOL_VERSION}`, "
           f"offline, its own performance database); not measured. Regenerate with {again}.\n\n"]  # fmt: skip
    out += [
        "## Inputs\n\n",
        "| input | value |\n|---|---|\n",
        f"| model | `{i.model}` |\n",
        f"| backend | {i.backend} |\n",
    ]
    out += [f"| GPU | {i.gpu_sku} |\n", f"| total GPUs | {i.total_gpus} |\n", f"| ISL / OSL | {i.isl} / {i.osl} |\n"]
    if i.e2e_latency is not None:
        out += [f"| SLA | end-to-end latency {_num(i.e2e_latency)} ms |\n"]
    else:
        out += [f"| SLA | TTFT {_num(i.ttft)} ms, ITL {_num(i.itl)} ms |\n"]
    if i.request_rate is not None:
        out += [f"| target request rate | {_num(i.request_rate)} req/s |\n"]
    if i.concurrency is not None:
        out += [f"| target concurrency | {_num(i.concurrency)} |\n"]
    out += [f"\nCommand: `{TOOL} {' '.join(argv(i))} --save-dir DIR`\n\n"]
    out += ["## Chosen configuration (predicted)\n\n", f"**{c.mode}**: {summary_line(tuned)}\n\n"]
    out += ["| figure | predicted |\n|---|---|\n", f"| tokens/s/GPU | {p['tokensPerSecondPerGpu']} |\n"]
    out += [f"| tokens/s/user | {p['tokensPerSecondPerUser']} |\n", f"| TTFT | {p['ttftMs']} ms |\n"]
    out += [f"| ITL | {p['itlMs']} ms |\n", f"| concurrency | {p['concurrency']} |\n\n"]
    if o is not None:
        lost = 100 * (1 - o.figure("tokens/s/gpu_cluster") / c.figure("tokens/s/gpu_cluster"))
        op = o.predicted
        out += [f"Runner-up, the best **{o.mode}** configuration: {op['tokensPerSecondPerGpu']} tokens/s/GPU "
                f"({lost:.1f}% fewer), {op['tokensPerSecondPerUser']} tokens/s/user, TTFT {op['ttftMs']} ms, "
                f"ITL {op['itlMs']} ms at concurrency {op['concurrency']}.\n\n"]  # fmt: skip
    else:
        out += [f"{TOOL} found no configuration in the other mode that meets the SLA.\n\n"]
    if png:
        out += ["## Pareto frontier\n\n", f"![tokens/s/GPU against tokens/s/user, as {TOOL} drew it]({png})\n\n"]
    out += ["## Where every setting comes from\n\n", "| setting | value | source |\n|---|---|---|\n"]
    out += [f"| `model.name`, `model.backend.type` | `{i.model}`, {i.backend} | the inputs |\n"]
    out += [
        f"| `model.disaggregation` | {str(c.mode == 'disagg').lower()} | {src}: the mode with the most tokens/s/GPU |\n"
    ]
    out += [f"| `model.routingPolicy` | {c.routing} | {src} (its generated deployment's router) |\n"]
    for name, r in c.roles.items():
        out += [
            f"| `model.{name}.replicas`, `gpus` | {r.replicas}, {r.gpus} | {src}: workers, GPUs per worker (TP{r.tp}) |\n"
        ]
        if r.inline:
            out += [f"| `model.{name}.extraConfig.inline` | batch size limit, max tokens, parallelism | "
                    f"{src}: its generated engine config |\n"]  # fmt: skip
    if tuned.max_position_embeddings:
        out += [f"| max length | engine default: the model's context, {tuned.max_position_embeddings:,} tokens | "
                f"`max_position_embeddings` in the model's config.json, as {TOOL} holds it |\n"]  # fmt: skip
    out += ["| `benchmark.config.concurrency`, `.warmupRequestCount` | "
            f"{sweep(c.concurrency)}, {c.concurrency} | around the predicted concurrency |\n"]  # fmt: skip
    out += [f"| `benchmark.config.isl`, `.osl` | {i.isl}, {i.osl} | the inputs |\n"]
    if i.ttft is not None and i.itl is not None:
        out += [f"| `benchmark.config.sla` | TTFT {_num(i.ttft)} ms, ITL {_num(i.itl)} ms | the inputs |\n"]
    return "".join(out)


def dgdr_text(inputs: Inputs, name: str) -> str:
    """A DynamoGraphDeploymentRequest (nvidia.com/v1beta1, ai-dynamo 1.6 types) asking Dynamo's
    profiler for the same model, backend, SLA, hardware and workload."""
    if inputs.gpu_sku not in DGDR_SKUS:
        raise UsageError(f"--emit dgdr: DynamoGraphDeploymentRequest v1beta1 has no gpuSku {inputs.gpu_sku!r}")
    spec = {"model": inputs.model, "backend": inputs.backend, **inputs.section()}
    doc = {"apiVersion": "nvidia.com/v1beta1", "kind": "DynamoGraphDeploymentRequest",
           "metadata": {"name": name}, "spec": spec}  # fmt: skip
    return f"# The same request for Dynamo's own profiler (written by compose tune).\n{cyaml.dump(doc)}"


# ---------------------------------------------------------------------------------------- commands


def run(inputs: Inputs) -> Tuned:
    from composer.local import tuning

    inputs.check()
    return choose(inputs, tuning.run(argv(inputs)))


def project_files(
    tuned: Tuned, *, name: str, title: str, emit: tuple[str, ...] = ()
) -> tuple[dict[str, str], dict[str, bytes]]:
    """values.yaml, RECIPE.md (and dgdr.yaml) as text, and the Pareto plot as bytes."""
    from composer import recipes

    head = (
        f"# yaml-language-server: $schema={recipes.SCHEMA_FILE}\n# {summary_line(tuned)}\n"
        f"# Tuned by compose tune; {recipes.RECIPE_DOC} says what was predicted and where every setting comes from.\n"
    )
    png = PNG if tuned.pareto_png else None
    texts = {recipes.VALUES: values_text(tuned, dynamo_namespace=name, head=head),
             recipes.RECIPE_DOC: recipe_doc(tuned, title, png=png)}  # fmt: skip
    if "dgdr" in emit:
        texts[DGDR_FILE] = dgdr_text(tuned.inputs, name)
    _check_values(texts[recipes.VALUES])
    return texts, ({PNG: tuned.pareto_png} if tuned.pareto_png else {})


def _check_values(text: str) -> None:
    """The values file validates before it is written (InvalidValues, exit 2, otherwise): a number
    AIConfigurator gives outside the schema's ranges is refused, not written."""
    import tempfile

    from composer import load, schema

    with tempfile.TemporaryDirectory(prefix="compose-tune-") as tmp:
        path = Path(tmp) / "values.yaml"
        path.write_text(text)
        schema.validate(load.load(path, display="values.yaml (tuned)"))


def recipe_files(tuned: Tuned, name: str) -> tuple[dict[str, str], dict[str, bytes]]:
    """A recipe (recipes/<name>/): values.yaml in recipe form (the schema line into the repository,
    the summary, the sources line), README.md, the plot. scripts/tune-recipes writes them."""
    from composer import recipes

    head = f"# yaml-language-server: $schema=../../../../composer/schema/values.schema.json\n# {summary_line(tuned)}\n{recipes.SOURCES_LINE}"
    namespace = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:39].rstrip("-")
    png = PNG if tuned.pareto_png else None
    texts = {recipes.VALUES: values_text(tuned, dynamo_namespace=namespace, head=head),
             recipes.README: recipe_doc(tuned, name, png=png, again=f"`scripts/tune-recipes {name}`")}  # fmt: skip
    return texts, ({PNG: tuned.pareto_png} if tuned.pareto_png else {})


def tune_new(inputs: Inputs, dest: Path, *, name: str | None = None, emit: tuple[str, ...] = ()) -> dict[str, Any]:
    """`compose tune --model ...`: a new project in dest, as `compose init` makes one, from the tuned values."""
    from composer import recipes

    if name is not None:
        recipes.check_dynamo_namespace(name)
    inputs.check()
    recipes.check_free(dest)  # before the minutes of tuning, and again when writing
    tuned = run(inputs)
    name = name or default_name(inputs.model, tuned.chosen.mode)
    texts, blobs = project_files(tuned, name=name, title=f"{inputs.model} on {inputs.backend}, tuned", emit=emit)
    written = recipes.scaffold_files(dest, texts, blobs, gpu_sku=inputs.gpu_sku)
    return {"written": [str(p) for p in written], "dir": str(dest), "predicted": tuned.chosen.predicted}


def tune_update(values_file: Path, *, emit: tuple[str, ...] = ()) -> dict[str, Any]:
    """`compose tune --update`: re-tune the project from its own tune: section; values.yaml, RECIPE.md
    and the plot are replaced whole (the environments are the project's)."""
    from composer import load, recipes, write

    values = load.load(values_file).data
    inputs = Inputs.from_values(values, str(values_file))
    tuned = run(inputs)
    name = values.get("dynamoNamespace") or default_name(inputs.model, tuned.chosen.mode)
    texts, blobs = project_files(tuned, name=name, title=f"{inputs.model} on {inputs.backend}, tuned", emit=emit)
    root = values_file.parent
    texts = {(values_file.name if k == recipes.VALUES else k): v for k, v in texts.items()}
    with write.locked(root):
        for rel, text in texts.items():
            write.replace_file(root / rel, text.encode())
        for rel, data in blobs.items():
            write.replace_file(root / rel, data)
    return {"written": [str(root / r) for r in [*texts, *blobs]], "dir": str(root), "predicted": tuned.chosen.predicted}


OPTIONS = {"model": "model", "backend": "backend", "gpu": "gpu_sku", "total_gpus": "total_gpus",
           "gpus_per_node": "gpus_per_node", "isl": "isl", "osl": "osl", "ttft": "ttft", "itl": "itl",
           "e2e_latency": "e2e_latency", "request_rate": "request_rate", "concurrency": "concurrency"}  # fmt: skip
REQUIRED = ("model", "backend", "gpu", "total_gpus", "isl", "osl")


def command(options: dict[str, Any], *, update: bool, values: str | None, directory: Path, name: str | None,
            emit: tuple[str, ...]) -> dict[str, Any]:  # fmt: skip
    """`compose tune`: the given options (those set) -> a new project, or --update of the current one."""
    if update:
        if options or str(directory) != "." or name:
            raise UsageError("--update takes its inputs from the values file's tune: section: no other options")
        from composer.project import Project

        return tune_update(Project.find(values).values_file, emit=emit)
    missing = ["--" + ("gpus" if k == "total_gpus" else k) for k in REQUIRED if k not in options]
    if missing:
        raise UsageError(f"missing {', '.join(missing)} (or --update in a tuned project)")
    inputs = Inputs(**{OPTIONS[k]: v for k, v in options.items()})
    return tune_new(inputs, directory, name=name, emit=emit)


def report(result: dict[str, Any]) -> str:
    p = result["predicted"]
    return (
        f"wrote {len(result['written'])} files into {result['dir']}/\n"
        f"predicted (not measured): {p['mode']}, {p['tokensPerSecondPerGpu']} tokens/s/GPU, "
        f"{p['tokensPerSecondPerUser']} tokens/s/user, TTFT {p['ttftMs']} ms, ITL {p['itlMs']} ms at concurrency {p['concurrency']}\n"
        "next: compose validate; compose bench --env local\n"
    )
