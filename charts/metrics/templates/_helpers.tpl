{{/*
Chart name, overridable with nameOverride.
*/}}
{{- define "metrics.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Base name of every object: fullnameOverride, else the release name if it
contains the chart name, else <release>-<chart>; at most 63 characters.
*/}}
{{- define "metrics.fullname" -}}
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
Namespace of the DGD (and of the PodMonitors).
*/}}
{{- define "metrics.targetNamespace" -}}
{{- default .Release.Namespace .Values.namespace }}
{{- end }}

{{/*
Chart label value.
*/}}
{{- define "metrics.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Common labels.
*/}}
{{- define "metrics.labels" -}}
helm.sh/chart: {{ include "metrics.chart" . }}
{{ include "metrics.selectorLabels" . }}
{{- with .Values.dynamoVersion | default .Chart.AppVersion }}
app.kubernetes.io/version: {{ . | quote }}
{{- end }}
app.kubernetes.io/component: metrics
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
Selector labels.
*/}}
{{- define "metrics.selectorLabels" -}}
app.kubernetes.io/name: {{ include "metrics.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Relabelings shared by both PodMonitors: copy the operator's pod labels into
series labels, so queries can select one DGD exactly. (Dynamo's worker metrics
already carry `dynamo_namespace`; as in the operator's own PodMonitors, the
scraped value then moves to `exported_dynamo_namespace`.)
*/}}
{{- define "metrics.relabelings" -}}
- sourceLabels: [__meta_kubernetes_pod_label_nvidia_com_dynamo_graph_deployment_name]
  targetLabel: dynamo_graph_deployment
- sourceLabels: [__meta_kubernetes_pod_label_nvidia_com_dynamo_namespace]
  targetLabel: dynamo_namespace
- sourceLabels: [__meta_kubernetes_pod_label_nvidia_com_dynamo_component_type]
  targetLabel: dynamo_component_type
{{- end }}
