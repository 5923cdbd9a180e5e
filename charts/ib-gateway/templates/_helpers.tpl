{{/* Chart name, truncated to the 63 characters Kubernetes allows. */}}
{{- define "ib-gateway.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified name: the release name, unless it already contains the chart name. */}}
{{- define "ib-gateway.fullname" -}}
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

{{- define "ib-gateway.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ib-gateway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "ib-gateway.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "ib-gateway.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: spy-hybrid
{{- end }}

{{- define "ib-gateway.image" -}}
{{- $ref := printf "%s/%s" .Values.image.registry .Values.image.repository }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" $ref .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" $ref (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Gateway API port inside the pod (IBC binds it to localhost) and the socat relay the bots use. */}}
{{- define "ib-gateway.apiPort" -}}
{{- if eq .Values.tradingMode "live" }}4001{{ else }}4002{{ end }}
{{- end }}

{{- define "ib-gateway.relayPort" -}}
{{- if eq .Values.tradingMode "live" }}4003{{ else }}4004{{ end }}
{{- end }}

{{/* The helm test pod: outside the gateway's selector. */}}
{{- define "ib-gateway.testSelectorLabels" -}}
app.kubernetes.io/name: {{ include "ib-gateway.name" . }}-test
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: test
{{- end }}
