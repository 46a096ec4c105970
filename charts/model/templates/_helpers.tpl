{{/*
Chart name, for the app.kubernetes.io/name label.
*/}}
{{- define "model.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The DynamoGraphDeployment name, which every other object name derives from.
It is dynamoNamespace rather than the release name so that the frontend
Service the operator creates, <dynamoNamespace>-frontend, is predictable for
the benchmark and gateway charts.
*/}}
{{- define "model.fullname" -}}
{{- required "dynamoNamespace is required: it names the DynamoGraphDeployment and its <dynamoNamespace>-frontend Service" .Values.dynamoNamespace -}}
{{- end -}}

{{/*
Chart name and version, for the helm.sh/chart label.
*/}}
{{- define "model.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Labels that select this release's objects. Never add helm.sh/chart here:
selectors cannot change after creation.
*/}}
{{- define "model.selectorLabels" -}}
app.kubernetes.io/name: {{ include "model.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/*
Labels for every object. The version is the Dynamo version deployed.
*/}}
{{- define "model.labels" -}}
helm.sh/chart: {{ include "model.chart" . }}
{{ include "model.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.dynamoVersion | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: dynamo-compose
{{- end -}}

{{/*
Fail early on values the schema cannot express.
*/}}
{{- define "model.validate" -}}
{{- $v := .Values -}}
{{- if semverCompare "<1.2.0-0" $v.dynamoVersion -}}
{{- fail (printf "dynamoVersion %s is not supported: this chart renders nvidia.com/v1beta1 DynamoGraphDeployments, which Dynamo serves from 1.2.0" $v.dynamoVersion) -}}
{{- end -}}
{{- $_ := required "model.name is required (the Hugging Face model id to serve, e.g. Qwen/Qwen3-0.6B)" $v.model.name -}}
{{- $_ := required "model.backend.image is required (full image reference for frontend and workers)" $v.model.backend.image -}}
{{- if ($v.model.planner | default dict).enabled -}}
{{- $_ := required "model.planner.image is required with model.planner.enabled (e.g. nvcr.io/nvidia/ai-dynamo/dynamo-planner:<dynamoVersion>)" $v.model.planner.image -}}
{{- end -}}
{{- $cd := $v.model.computeDomain | default dict -}}
{{- if $cd.enabled -}}
{{- range $cd.roles | default list -}}
{{- if not (has . (include "model.workerRoles" $ | fromJsonArray)) -}}
{{- fail (printf "model.computeDomain.roles: %s is no worker role of this graph (prefill needs model.disaggregation)" .) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $dc := $v.model.deviceClaim | default dict -}}
{{- if $dc.enabled -}}
{{- $_ := required "model.deviceClaim.deviceClassName is required with model.deviceClaim.enabled (e.g. gpu.intel.com)" $dc.deviceClassName -}}
{{- range $dc.roles | default list -}}
{{- if not (has . (include "model.workerRoles" $ | fromJsonArray)) -}}
{{- fail (printf "model.deviceClaim.roles: %s is no worker role of this graph (prefill needs model.disaggregation)" .) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if eq ($v.model.decode.type | default "") "worker" -}}
{{- if $v.model.disaggregation -}}
{{- fail "model.decode.type: worker: a disaggregated graph's decode workers are of type decode" -}}
{{- else if include "model.epp" . -}}
{{- fail "model.decode.type: worker: the endpoint picker's decode profile selects workers of type decode" -}}
{{- end -}}
{{- end -}}
{{- range $role := include "model.workerRoles" . | fromJsonArray -}}
{{- $r := index $v.model $role -}}
{{- $ec := $r.extraConfig -}}
{{- if regexMatch `(^|/)\.{1,2}(/|$)` $ec.path -}}
{{- fail (printf "model.%s.extraConfig.path %q: use a plain absolute path, without . or .. segments" $role $ec.path) -}}
{{- end -}}
{{- if and $ec.configMapRef.name (not (empty $ec.inline)) -}}
{{- fail (printf "model.%s.extraConfig: set configMapRef.name or inline, not both" $role) -}}
{{- end -}}
{{- if and (eq $v.model.backend.type "sglang") (eq (include "model.gpus" (dict "root" $ "role" $role)) "0") -}}
{{- fail (printf "model.%s.gpus: sglang needs at least 1 GPU per worker (it is passed as --tp)" $role) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
The ComputeDomain's name (model.computeDomain.name, else <dynamoNamespace>-compute-domain); the
NVIDIA DRA driver makes its channel's ResourceClaimTemplate <name>-channel, as upstream's GB200
recipes name theirs.
*/}}
{{- define "model.computeDomainName" -}}
{{- .Values.model.computeDomain.name | default (printf "%s-compute-domain" (include "model.fullname" .)) -}}
{{- end -}}

{{/*
The DRA ResourceClaimTemplate's name (model.deviceClaim.templateName, else <dynamoNamespace>-gpu).
*/}}
{{- define "model.deviceClaimTemplate" -}}
{{- .Values.model.deviceClaim.templateName | default (printf "%s-gpu" (include "model.fullname" .)) -}}
{{- end -}}

{{/*
"true" when a worker role claims the DRA devices of model.deviceClaim (enabled, and the role among its
roles, every worker role when none are named), else empty. Call with (dict "root" $ "role" "decode").
*/}}
{{- define "model.deviceClaimed" -}}
{{- $dc := .root.Values.model.deviceClaim | default dict -}}
{{- if $dc.enabled -}}
{{- if has .role ($dc.roles | default (include "model.workerRoles" .root | fromJsonArray)) -}}
true
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
"true" when a worker role claims the ComputeDomain's channel (model.computeDomain.enabled, and the
role among its roles, every worker role when none are named), else empty.
Call with (dict "root" $ "role" "decode").
*/}}
{{- define "model.computeDomainClaim" -}}
{{- $cd := .root.Values.model.computeDomain | default dict -}}
{{- if $cd.enabled -}}
{{- if has .role ($cd.roles | default (include "model.workerRoles" .root | fromJsonArray)) -}}
true
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Worker roles in use, as a JSON list: ["decode"] (aggregated: the one worker
is called decode) or ["decode","prefill"].
*/}}
{{- define "model.workerRoles" -}}
{{- if .Values.model.disaggregation -}}
["decode","prefill"]
{{- else -}}
["decode"]
{{- end -}}
{{- end -}}

{{/*
v1beta1 component type of a worker role: model.decode.type types the aggregated worker (worker or
decode, as many upstream aggregated recipes type it); model.validate refuses worker where decode is
needed.
*/}}
{{- define "model.componentType" -}}
{{- if .root.Values.model.disaggregation -}}
{{- .role -}}
{{- else if include "model.epp" .root -}}
{{- /* The picker's decode profile filters on the component type: upstream's aggregated gaie
example types its worker decode. */ -}}
decode
{{- else -}}
{{- .root.Values.model.decode.type | default "worker" -}}
{{- end -}}
{{- end -}}

{{/*
"true" when the graph has an endpoint picker (model.epp.enabled), else empty.
*/}}
{{- define "model.epp" -}}
{{- if (.Values.model.epp | default dict).enabled -}}
true
{{- end -}}
{{- end -}}

{{/*
The endpoint picker's EndpointPickerConfig: model.epp.config, or the one upstream's examples give
(examples/backends/vllm/deploy/gaie/{agg,disagg}.yaml, ai-dynamo/dynamo e147ceea to 2a6da14c):
Dynamo's KV scorers behind a filter on each worker role, the best score picked.
*/}}
{{- define "model.eppConfig" -}}
{{- $v := .Values -}}
{{- if $v.model.epp.config -}}
{{- toYaml $v.model.epp.config -}}
{{- else -}}
{{- $roles := ternary (list "prefill" "decode") (list "decode") $v.model.disaggregation -}}
{{- $plugins := list (dict "type" "disagg-profile-handler") -}}
{{- range $roles -}}
{{- $filter := dict "allowsNoLabel" (not $v.model.disaggregation) "label" "nvidia.com/dynamo-component-type" "validValues" (list .) -}}
{{- $plugins = append $plugins (dict "name" (printf "%s-filter" .) "type" "label-filter" "parameters" $filter) -}}
{{- end -}}
{{- $plugins = append $plugins (dict "name" "picker" "type" "max-score-picker") -}}
{{- range $roles -}}
{{- $plugins = append $plugins (dict "name" (printf "dyn-%s" .) "type" (printf "dyn-%s-scorer" .)) -}}
{{- end -}}
{{- $profiles := list -}}
{{- range $roles -}}
{{- $refs := list (dict "pluginRef" (printf "%s-filter" .) "weight" 1) (dict "pluginRef" (printf "dyn-%s" .) "weight" 1) (dict "pluginRef" "picker" "weight" 1) -}}
{{- $profiles = append $profiles (dict "name" . "plugins" $refs) -}}
{{- end -}}
{{- toYaml (dict "plugins" $plugins "schedulingProfiles" $profiles) -}}
{{- end -}}
{{- end -}}

{{/*
GPUs per pod of a role; null means 0 for mocker and 1 for the GPU engines.
Call with (dict "root" $ "role" "decode").
*/}}
{{- define "model.gpus" -}}
{{- $r := index .root.Values.model .role -}}
{{- if kindIs "invalid" $r.gpus -}}
{{- ternary 0 1 (eq .root.Values.model.backend.type "mocker") -}}
{{- else -}}
{{- int $r.gpus -}}
{{- end -}}
{{- end -}}

{{/*
SGLang's --tp of a role: all the GPUs of one worker, across its nodes when multinode (the
operator adds --nnodes, --node-rank and --dist-init-addr). Call with (dict "root" $ "role" "decode").
*/}}
{{- define "model.tensorParallel" -}}
{{- $nodes := ((index .root.Values.model .role).multinode | default dict).nodeCount | default 1 -}}
{{- mul (include "model.gpus" . | int) (int $nodes) -}}
{{- end -}}

{{/*
Engine config of a role, as YAML: enabled, create (chart-made ConfigMap),
configMapName, key, file, dir, path, mountFile, content and checksum (when created).
Call with (dict "root" $ "role" "decode").
*/}}
{{- define "model.extraConfig" -}}
{{- $v := .root.Values -}}
{{- $ec := (index $v.model .role).extraConfig -}}
{{- $file := base $ec.path -}}
{{- $out := dict "enabled" false "create" false "path" $ec.path "file" $file "dir" (dir $ec.path) "key" ($ec.configMapRef.key | default $file) "mountFile" ($ec.mountFile | default false) -}}
{{- $inline := $ec.inline -}}
{{- /* Only under compose's own flags, which pass the file: a role's `args` (even an empty list) replace them. */ -}}
{{- if and (eq $v.model.backend.type "trtllm") $v.model.disaggregation (not $ec.configMapRef.name) (not (kindIs "string" $inline)) (not (kindIs "slice" (index $v.model .role).args)) -}}
{{- /* TRT-LLM moves the KV cache from prefill to decode only through a cache transceiver:
every upstream disaggregated engine config sets one (1.4.0). Default it where the config is ours. */ -}}
{{- $inline = deepCopy (default (dict) $inline) -}}
{{- if not (hasKey $inline "cache_transceiver_config") -}}
{{- $_ := set $inline "cache_transceiver_config" (dict "backend" "DEFAULT") -}}
{{- end -}}
{{- end -}}
{{- if $ec.configMapRef.name -}}
{{- $_ := set $out "enabled" true -}}
{{- $_ := set $out "configMapName" $ec.configMapRef.name -}}
{{- else if not (empty $inline) -}}
{{- $content := "" -}}
{{- if kindIs "string" $inline -}}
{{- $content = $inline -}}
{{- else if eq $v.model.backend.type "mocker" -}}
{{- /* dynamo.mocker reads --extra-engine-args as JSON (JSON is also valid YAML). With that file
it ignores --disaggregation-mode, so a disaggregated role also says its worker_type, where the
version reads it (ai-dynamo wheel, dynamo/mocker/config.py load_mocker_engine_args): 1.4 and 1.5
take engine keys at the top level and refuse "engine"; 1.6 takes them under "engine" (runtime
keys under "dynamo", through normalize_mocker_config) and refuses them at the top. The rest of
the inline config is written as given: it must be in the shape of dynamoVersion. */ -}}
{{- $inline := deepCopy $inline -}}
{{- if $v.model.disaggregation -}}
{{- if semverCompare ">=1.6.0-0" $v.dynamoVersion -}}
{{- $engine := $inline.engine | default (dict) -}}
{{- $_ := set $engine "worker_type" ($engine.worker_type | default .role) -}}
{{- $_ := set $inline "engine" $engine -}}
{{- else -}}
{{- $_ := set $inline "worker_type" ($inline.worker_type | default .role) -}}
{{- end -}}
{{- end -}}
{{- $content = printf "%s\n" (toPrettyJson $inline) -}}
{{- else -}}
{{- $content = printf "%s\n" (toYaml $inline) -}}
{{- end -}}
{{- $_ := set $out "enabled" true -}}
{{- $_ := set $out "create" true -}}
{{- $_ := set $out "configMapName" (printf "%s-%s-config" (include "model.fullname" .root) .role) -}}
{{- $_ := set $out "content" $content -}}
{{- $_ := set $out "checksum" (sha256sum (printf "%s\n%s" $out.key $content)) -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{/*
Worker argv after `python3 -m dynamo.<backend>`, as a JSON list (lossless, unlike toYaml's text,
which drops a block scalar's last line break), for the
dynamoVersion: model flags, role flags (disaggregation only), KV event flags
(kv routing only; prefill only when disaggregated), the engine-config flag; or the role's
`args` instead, when given (an empty list: no flags, the command says everything); then extraArgs.
Call with (dict "root" $ "role" "decode").
*/}}
{{- define "model.workerArgs" -}}
{{- $v := .root.Values -}}
{{- $be := $v.model.backend.type -}}
{{- $name := $v.model.name -}}
{{- $disagg := $v.model.disaggregation -}}
{{- /* KV events feed the KV router; disaggregated, upstream's templates publish them from prefill only
(dynamo/profiler/templates/dgd/trtllm/disagg.yaml, 1.6.1). */ -}}
{{- $kv := and (eq $v.model.routingPolicy "kv") (or (not $disagg) (eq .role "prefill")) -}}
{{- $ec := include "model.extraConfig" . | fromYaml -}}
{{- $args := list -}}
{{- if eq $be "vllm" -}}
  {{- $args = list "--model" $name -}}
  {{- if $disagg -}}
    {{- $args = concat $args (list "--disaggregation-mode" .role) -}}
    {{- /* What upstream's DGD templates pass (dynamo/profiler/templates/dgd/vllm/disagg.yaml):
    kv_both on both roles up to 1.5; from 1.6 kv_producer on prefill and nothing on decode. */ -}}
    {{- if semverCompare "<1.6.0-0" $v.dynamoVersion -}}
      {{- $args = concat $args (list "--kv-transfer-config" `{"kv_connector":"NixlConnector","kv_role":"kv_both"}`) -}}
    {{- else if eq .role "prefill" -}}
      {{- $args = concat $args (list "--kv-transfer-config" `{"kv_connector":"NixlConnector","kv_role":"kv_producer"}`) -}}
    {{- end -}}
  {{- end -}}
  {{- if $kv -}}
    {{- $args = concat $args (list "--kv-events-config" `{"publisher":"zmq","topic":"kv-events","endpoint":"tcp://*:20080","enable_kv_cache_events":true}`) -}}
  {{- end -}}
  {{- if $ec.enabled -}}
    {{- $args = concat $args (list "--config" "$(DYNAMO_EXTRA_CONFIG)") -}}
  {{- end -}}
{{- else if eq $be "sglang" -}}
  {{- $args = list "--model-path" $name "--served-model-name" $name "--page-size" "16" "--tp" (include "model.tensorParallel" .) "--trust-remote-code" -}}
  {{- /* upstream's DGD templates (dynamo/profiler/templates/dgd/sglang/) pass it up to 1.5, not in 1.6 */ -}}
  {{- if semverCompare "<1.6.0-0" $v.dynamoVersion -}}
    {{- $args = append $args "--skip-tokenizer-init" -}}
  {{- end -}}
  {{- if $disagg -}}
    {{- $args = concat $args (list "--disaggregation-mode" .role "--disaggregation-transfer-backend" "nixl" "--disaggregation-bootstrap-port" "12345" "--host" "0.0.0.0") -}}
  {{- end -}}
  {{- if $kv -}}
    {{- $args = concat $args (list "--kv-events-config" `{"publisher":"zmq","topic":"kv-events","endpoint":"tcp://*:5557"}`) -}}
  {{- end -}}
  {{- if $ec.enabled -}}
    {{- $args = concat $args (list "--config" "$(DYNAMO_EXTRA_CONFIG)") -}}
  {{- end -}}
{{- else if eq $be "trtllm" -}}
  {{- $args = list "--model-path" $name "--served-model-name" $name -}}
  {{- if $disagg -}}
    {{- $args = concat $args (list "--disaggregation-mode" .role) -}}
  {{- end -}}
  {{- if $kv -}}
    {{- /* dynamo/trtllm/backend_args.py: --publish-kv-events (1.4 on); 1.6 splits out
    --publish-metrics, which the deprecated --publish-events-and-metrics also meant. */ -}}
    {{- $args = concat $args (list "--publish-kv-events") -}}
    {{- if semverCompare ">=1.6.0-0" $v.dynamoVersion -}}
      {{- $args = concat $args (list "--publish-metrics") -}}
    {{- end -}}
  {{- end -}}
  {{- if $ec.enabled -}}
    {{- $args = concat $args (list "--extra-engine-args" "$(DYNAMO_EXTRA_CONFIG)") -}}
  {{- end -}}
{{- else if eq $be "mocker" -}}
  {{- /* The mocker publishes KV events on its own: kv routing needs no flag. */ -}}
  {{- $args = list "--model-path" $name "--model-name" $name -}}
  {{- if $disagg -}}
    {{- $args = concat $args (list "--disaggregation-mode" .role) -}}
  {{- end -}}
  {{- if $ec.enabled -}}
    {{- $args = concat $args (list "--extra-engine-args" "$(DYNAMO_EXTRA_CONFIG)") -}}
  {{- end -}}
{{- end -}}
{{- $r := index $v.model .role -}}
{{- /* kindIs, not `default`: an empty list is a choice (no flags), unlike no list */ -}}
{{- toJson (concat (ternary $r.args $args (kindIs "slice" $r.args)) ($r.extraArgs | default list)) -}}
{{- end -}}

{{/*
runtimeVersionOverride for the components: the 1.4 operator refuses a DGD
whose main image tag it cannot parse as a version (`:latest`, `:my-tag`, a
digest) unless this is set, so set it to dynamoVersion exactly then. The tag
rule copies the operator's (internal runtimeversion.ParseImageVersion).
*/}}
{{- define "model.runtimeVersionOverride" -}}
{{- $image := .Values.model.backend.image | trim -}}
{{- $ref := regexReplaceAll "@.*$" $image "" -}}
{{- $last := regexReplaceAll "^.*/" $ref "" -}}
{{- $tag := "" -}}
{{- if contains ":" $last -}}
{{- $tag = regexReplaceAll "^.*:" $last "" -}}
{{- end -}}
{{- if not (regexMatch `^[vV]?[0-9]+\.[0-9]+(\.[0-9]+)?(-[0-9A-Za-z][0-9A-Za-z.-]*)?(\+[0-9A-Za-z][0-9A-Za-z.-]*)?$` $tag) -}}
{{- .Values.dynamoVersion -}}
{{- end -}}
{{- end -}}

{{/*
spec.backendFramework: the CRD enum has no mocker.
*/}}
{{- define "model.backendFramework" -}}
{{- $be := .Values.model.backend.type -}}
{{- if has $be (list "vllm" "sglang" "trtllm") -}}
{{- $be -}}
{{- end -}}
{{- end -}}

{{/*
The Planner's PlannerConfig, as JSON: model.planner.config with what compose knows filled in
where it is absent (the given keys win): environment kubernetes, the backend, the mode the graph
has (agg or disagg), and, with profile data, profile_results_dir where it is mounted. The upstream
profiler writes the same file (ai-dynamo wheel 1.6.1, dynamo/profiler/utils/dgd_generation.py
add_planner_to_config: PlannerConfig.model_dump_json into a ConfigMap's planner_config.json).
*/}}
{{- define "model.plannerConfig" -}}
{{- $v := .Values -}}
{{- $p := $v.model.planner -}}
{{- $cfg := deepCopy ($p.config | default dict) -}}
{{- $filled := dict "environment" "kubernetes" "backend" $v.model.backend.type "mode" (ternary "disagg" "agg" $v.model.disaggregation) -}}
{{- if (($p.profileData | default dict).configMapRef | default dict).name -}}
{{- $_ := set $filled "profile_results_dir" (include "model.plannerProfileDir" .) -}}
{{- end -}}
{{- toJson (merge $cfg $filled) -}}
{{- end -}}

{{/*
Where the Planner's profiling data is mounted: the config's profile_results_dir, else where the
upstream profiler mounts it (dgd_generation.py PROFILE_DATA_MOUNT, /workspace in the image).
*/}}
{{- define "model.plannerProfileDir" -}}
{{- (.Values.model.planner.config | default dict).profile_results_dir | default "/workspace/profiling_results" -}}
{{- end -}}

{{/*
Whether the Planner scales a worker role through an adapter, "true" or "": the roles its mode
targets, none when advisory or scalingAdapters is false (dgd_generation.py enable_planner_worker_scaling_adapters and
_planner_scaling_subcomponents, 1.4.0 and 1.6.1 alike: prefill -> prefill; decode, agg -> decode;
disagg -> both). The aggregated worker is our `decode` component; the Planner finds it as the
`type: decode` component (model.decode.type), else as the one generic `type: worker` component
(dynamo/planner/monitoring/dgd_services.py get_component_from_type_or_name, 1.4.0 and 1.6.1).
Call with (dict "root" $ "role" "decode").
*/}}
{{- define "model.plannerScales" -}}
{{- $p := .root.Values.model.planner | default dict -}}
{{- if $p.enabled -}}
{{- $cfg := include "model.plannerConfig" .root | fromJson -}}
{{- $roles := dict "prefill" (list "prefill") "decode" (list "decode") "agg" (list "decode") "disagg" (list "prefill" "decode") -}}
{{- if and (not $cfg.advisory) (ne $p.scalingAdapters false) (has .role (get $roles (toString $cfg.mode) | default list)) -}}
true
{{- end -}}
{{- end -}}
{{- end -}}
