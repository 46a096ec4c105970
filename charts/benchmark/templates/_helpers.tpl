{{/*
Chart name, overridable with nameOverride.
*/}}
{{- define "benchmark.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Base name of every object: fullnameOverride, else the release name if it
contains the chart name, else <release>-<chart>; at most 63 characters.
*/}}
{{- define "benchmark.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Job name: <fullname>, or <fullname>-<runId>; the fullname part is shortened so
that runId is never cut (Job names are at most 63 characters).
*/}}
{{- define "benchmark.jobName" -}}
{{- $fullname := include "benchmark.fullname" . }}
{{- if .Values.runId }}
{{- printf "%s-%s" ($fullname | trunc (int (sub 62 (len .Values.runId))) | trimSuffix "-") .Values.runId }}
{{- else }}
{{- $fullname }}
{{- end }}
{{- end }}

{{- define "benchmark.configMapName" -}}
{{- printf "%s-scripts" (include "benchmark.fullname" . | trunc 55 | trimSuffix "-") }}
{{- end }}

{{- define "benchmark.claimName" -}}
{{- if .Values.artifacts.persistence.existingClaim }}
{{- .Values.artifacts.persistence.existingClaim }}
{{- else }}
{{- printf "%s-artifacts" (include "benchmark.fullname" . | trunc 53 | trimSuffix "-") }}
{{- end }}
{{- end }}

{{/*
Chart label value.
*/}}
{{- define "benchmark.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Common labels.
*/}}
{{- define "benchmark.labels" -}}
helm.sh/chart: {{ include "benchmark.chart" . }}
{{ include "benchmark.selectorLabels" . }}
{{- with .Values.dynamoVersion | default .Chart.AppVersion }}
app.kubernetes.io/version: {{ . | quote }}
{{- end }}
app.kubernetes.io/component: benchmark
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
Selector labels.
*/}}
{{- define "benchmark.selectorLabels" -}}
app.kubernetes.io/name: {{ include "benchmark.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Checks what the schema cannot: run names are unique, and each run's argv
writes its artifacts under <artifacts.mountPath>/<name> (the argv itself is
built by the caller and never changed here).
*/}}
{{- define "benchmark.validateRuns" -}}
{{- $mount := trimSuffix "/" .Values.artifacts.mountPath }}
{{- $seen := dict }}
{{- range $i, $run := .Values.runs }}
{{- if hasKey $seen $run.name }}
{{- fail (printf "runs[%d].name %q is used twice: run names name the artifact directories and must be unique" $i $run.name) }}
{{- end }}
{{- $_ := set $seen $run.name true }}
{{- $dirs := list }}
{{- range $j, $arg := $run.args }}
{{- if eq $arg "--artifact-dir" }}
{{- if lt (add1 $j) (len $run.args) }}
{{- $dirs = append $dirs (index $run.args (add1 $j)) }}
{{- else }}
{{- $dirs = append $dirs "" }}
{{- end }}
{{- else if hasPrefix "--artifact-dir=" $arg }}
{{- $dirs = append $dirs (trimPrefix "--artifact-dir=" $arg) }}
{{- end }}
{{- end }}
{{- $want := printf "%s/%s" $mount $run.name }}
{{- if ne (len $dirs) 1 }}
{{- fail (printf "runs[%d] (%s): args must contain --artifact-dir exactly once (found %d); expected --artifact-dir %s" $i $run.name (len $dirs) $want) }}
{{- end }}
{{- $dir := trimSuffix "/" (first $dirs) }}
{{- if not (or (eq $dir $want) (hasPrefix (printf "%s/" $want) $dir)) }}
{{- fail (printf "runs[%d] (%s): --artifact-dir is %q but must be %s or a directory below it, so the artifacts land on the artifacts volume" $i $run.name $dir $want) }}
{{- end }}
{{- end }}
{{- end }}
