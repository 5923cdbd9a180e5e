{{/* Chart name, truncated to the 63 characters Kubernetes allows. */}}
{{- define "spy-trading-bot.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified name: the release name, unless it already contains the chart name. */}}
{{- define "spy-trading-bot.fullname" -}}
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

{{- define "spy-trading-bot.selectorLabels" -}}
app.kubernetes.io/name: {{ include "spy-trading-bot.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "spy-trading-bot.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "spy-trading-bot.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: spy-hybrid
{{- end }}

{{- define "spy-trading-bot.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "spy-trading-bot.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* registry/repository:tag, or @digest when a digest is pinned (CI sets image.digest). */}}
{{- define "spy-trading-bot.image" -}}
{{- $ref := printf "%s/%s" .Values.image.registry .Values.image.repository }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" $ref .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" $ref (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{- define "spy-trading-bot.secretName" -}}
{{- default (printf "%s-secrets" (include "spy-trading-bot.fullname" .)) .Values.secrets.existingSecret }}
{{- end }}

{{/* The helm test pod: deliberately outside the bot's selector (no Service or PDB picks it up). */}}
{{- define "spy-trading-bot.testSelectorLabels" -}}
app.kubernetes.io/name: {{ include "spy-trading-bot.name" . }}-test
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: test
{{- end }}
