{{/*
Chart name, overridable with nameOverride.
*/}}
{{- define "model-express.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Name of the Deployment, Service and PVC, and so the host of the server URL:
fullnameOverride, else the release name if it contains the chart name, else
<release>-<chart>; at most 63 characters.
*/}}
{{- define "model-express.fullname" -}}
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
In-cluster URL of the server.
*/}}
{{- define "model-express.url" -}}
{{- printf "http://%s.%s.svc.cluster.local:%d" (include "model-express.fullname" .) .Release.Namespace (int .Values.service.port) }}
{{- end }}

{{- define "model-express.claimName" -}}
{{- default (include "model-express.fullname" .) .Values.persistence.existingClaim }}
{{- end }}

{{/*
Chart label value.
*/}}
{{- define "model-express.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Common labels.
*/}}
{{- define "model-express.labels" -}}
helm.sh/chart: {{ include "model-express.chart" . }}
{{ include "model-express.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | trunc 63 | trimSuffix "-" | trimSuffix "." | trimSuffix "_" | quote }}
app.kubernetes.io/component: model-cache
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
Selector labels.
*/}}
{{- define "model-express.selectorLabels" -}}
app.kubernetes.io/name: {{ include "model-express.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}
