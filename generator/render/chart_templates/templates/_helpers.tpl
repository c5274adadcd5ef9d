{{/*
Shared pieces of the rdma-infiniband chart. Every object is the one rdma-gitops writes to
output/<cluster>/overlays/<mode>/, built from the values: a test renders both and compares them.
*/}}

{{/* The label the NodeFeatureRule puts on nodes with an InfiniBand NIC; the operands run there. */}}
{{- define "rdma.nfdLabel" -}}
feature.node.kubernetes.io/pci-15b3.present
{{- end -}}

{{/* nodeSelectorTerms that pick the nodes the NodeFeatureRule labelled. */}}
{{- define "rdma.nodeSelectorTerms" -}}
- matchExpressions:
  - key: {{ include "rdma.nfdLabel" . }}
    operator: In
    values:
    - "true"
{{- end -}}

{{/* Argo CD annotations of a custom resource (dict root, wave): its sync wave, and no dry run while its CRD is
missing (the operator installs some CRDs only once the policy asks for the component). */}}
{{- define "rdma.crAnnotations" -}}
{{- if .root.Values.argocd.annotations -}}
annotations:
  argocd.argoproj.io/sync-wave: {{ .wave | quote }}
  argocd.argoproj.io/sync-options: SkipDryRunOnMissingResource=true
{{- end -}}
{{- end -}}

{{/* A NicClusterPolicy component's image (dict root, component): repository, image, version, pull secrets. */}}
{{- define "rdma.image" -}}
{{- $image := index .root.Values.images .component -}}
{{- if not $image -}}
{{- fail (printf "images.%s is required for mode %s" .component .root.Values.mode) -}}
{{- end -}}
repository: {{ $image.repository | toJson }}
image: {{ $image.image | toJson }}
version: {{ $image.version | toJson }}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets: {{ toJson . }}
{{- end -}}
{{- end -}}

{{/* The SR-IOV device plugin's config: one resource, <resourcePrefix>/<resourceName>, per IB VF. */}}
{{- define "rdma.sriovConfig" -}}
{{- $plugin := .Values.sriovDevicePlugin -}}
{{- $selectors := dict "vendors" (list .Values.nics.vendor) "linkTypes" (list "infiniband") "isRdma" true -}}
{{- $resource := dict "resourcePrefix" $plugin.resourcePrefix "resourceName" $plugin.resourceName "selectors" $selectors -}}
{{- toPrettyJson (dict "resourceList" (list $resource)) -}}
{{- end -}}

{{/* The RDMA shared device plugin's config: rdmaHcaMax pods per node share the NICs. */}}
{{- define "rdma.sharedConfig" -}}
{{- $plugin := .Values.rdmaSharedDevicePlugin -}}
{{- $selectors := dict "vendors" (list .Values.nics.vendor) "linkTypes" (list "infiniband") -}}
{{- $resource := dict "resourceName" $plugin.resourceName "rdmaHcaMax" (int $plugin.rdmaHcaMax) "selectors" $selectors -}}
{{- toPrettyJson (dict "configList" (list $resource)) -}}
{{- end -}}

{{/* The IPoIB network's CNI IPAM config: the nv-ipam pool, or the guide's whereabouts block. */}}
{{- define "rdma.ipamConfig" -}}
{{- $ipoib := .Values.ipoib -}}
{{- if eq $ipoib.ipam "nv-ipam" -}}
{{- toPrettyJson (dict "type" "nv-ipam" "poolName" $ipoib.networkName) -}}
{{- else -}}
{{- $kubeconfig := dict "kubeconfig" "/etc/cni/net.d/whereabouts.d/whereabouts.kubeconfig" -}}
{{- toPrettyJson (dict "type" "whereabouts" "datastore" "kubernetes" "kubernetes" $kubeconfig "range" $ipoib.range "exclude" $ipoib.exclude "log_file" "/var/log/whereabouts.log" "log_level" "info" "gateway" $ipoib.gateway) -}}
{{- end -}}
{{- end -}}

{{/* An IPv4 address as a number, and back. */}}
{{- define "rdma.ipToInt" -}}
{{- $o := splitList "." . -}}
{{- add (mul (atoi (index $o 0)) 16777216) (mul (atoi (index $o 1)) 65536) (mul (atoi (index $o 2)) 256) (atoi (index $o 3)) -}}
{{- end -}}
{{- define "rdma.intToIp" -}}
{{- $n := int64 . -}}
{{- printf "%d.%d.%d.%d" (div $n 16777216) (mod (div $n 65536) 256) (mod (div $n 256) 256) (mod $n 256) -}}
{{- end -}}

{{/* A CIDR's first and last address, "start end" (an nv-ipam exclusion covers the whole CIDR). */}}
{{- define "rdma.cidrBounds" -}}
{{- $parts := splitList "/" . -}}
{{- $ip := include "rdma.ipToInt" (first $parts) | int64 -}}
{{- $size := 1 -}}
{{- range until (sub 32 (atoi (last $parts)) | int) -}}
{{- $size = mul $size 2 -}}
{{- end -}}
{{- $start := sub $ip (mod $ip $size) -}}
{{- include "rdma.intToIp" $start }} {{ include "rdma.intToIp" (add $start (sub $size 1)) -}}
{{- end -}}

{{/* The verify objects' hook annotations (dict root, weight): Argo CD PostSync, else a Helm test. */}}
{{- define "rdma.verifyHook" -}}
{{- if .root.Values.argocd.annotations -}}
argocd.argoproj.io/hook: PostSync
argocd.argoproj.io/hook-delete-policy: BeforeHookCreation
{{- else -}}
helm.sh/hook: test
helm.sh/hook-weight: {{ .weight | quote }}
helm.sh/hook-delete-policy: before-hook-creation
{{- end -}}
{{- end -}}

{{/* A check container's securityContext: privileged in mode base (no device plugin hands out /dev/infiniband),
else IPC_LOCK (RDMA registers its buffers). */}}
{{- define "rdma.checkSecurity" -}}
{{- if eq .Values.mode "base" -}}
securityContext:
  privileged: true
{{- else -}}
securityContext:
  capabilities:
    add:
    - IPC_LOCK
{{- end -}}
{{- end -}}

{{/* The NCCL objects' hook annotations (dict root, weight): Argo CD PostSync in wave 1 (after the ib_write_bw Job),
else a Helm test after it. */}}
{{- define "rdma.ncclHook" -}}
{{- if .root.Values.argocd.annotations -}}
argocd.argoproj.io/hook: PostSync
argocd.argoproj.io/hook-delete-policy: BeforeHookCreation
argocd.argoproj.io/sync-wave: "1"
{{- else -}}
helm.sh/hook: test
helm.sh/hook-weight: {{ .weight | quote }}
helm.sh/hook-delete-policy: before-hook-creation
{{- end -}}
{{- end -}}

{{/* A check container's resources from a list of {name, quantity}: requests and limits alike (nothing when empty). */}}
{{- define "rdma.checkResources" -}}
{{- if . -}}
resources:
  requests:
    {{- range . }}
    {{ .name }}: {{ .quantity | quote }}
    {{- end }}
  limits:
    {{- range . }}
    {{ .name }}: {{ .quantity | quote }}
    {{- end }}
{{- end -}}
{{- end -}}
