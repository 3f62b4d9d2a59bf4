{{- define "prescale.labels" -}}
app.kubernetes.io/name: prescale-operator
app.kubernetes.io/part-of: prescale
{{- end }}

{{- define "prescale.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}
