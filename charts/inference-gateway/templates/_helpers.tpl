{{/*
Chart name, overridable with nameOverride.
*/}}
{{- define "inference-gateway.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Name of the HTTPRoute: fullnameOverride, else the release name if it contains
the chart name, else <release>-<chart>; at most 63 characters.
*/}}
{{- define "inference-gateway.fullname" -}}
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
API group of the backend: the core group ("") for a Service.
*/}}
{{- define "inference-gateway.backendGroup" -}}
{{- if eq .Values.backend.kind "Service" }}{{ else }}{{ .Values.backend.group }}{{ end }}
{{- end }}

{{/*
Chart label value.
*/}}
{{- define "inference-gateway.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Common labels.
*/}}
{{- define "inference-gateway.labels" -}}
helm.sh/chart: {{ include "inference-gateway.chart" . }}
{{ include "inference-gateway.selectorLabels" . }}
{{- with .Values.dynamoVersion | default .Chart.AppVersion }}
app.kubernetes.io/version: {{ . | quote }}
{{- end }}
app.kubernetes.io/component: inference-gateway
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
Selector labels.
*/}}
{{- define "inference-gateway.selectorLabels" -}}
app.kubernetes.io/name: {{ include "inference-gateway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}
