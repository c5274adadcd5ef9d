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

{{/* A CIDR's first and last address as numbers, "start end". */}}
{{- define "rdma.cidrInts" -}}
{{- $parts := splitList "/" . -}}
{{- $ip := include "rdma.ipToInt" (first $parts) | int64 -}}
{{- $size := int64 1 -}}
{{- range until (sub 32 (atoi (last $parts)) | int) -}}
{{- $size = mul $size 2 -}}
{{- end -}}
{{- $start := sub $ip (mod $ip $size) -}}
{{- $start }} {{ add $start (sub $size 1) -}}
{{- end -}}

{{/* What rdma-gitops refuses in a spec, refused here too, so that helm template and helm install stop with the same
reason: the release and its IPAM back-ends (files/releases.json, from rdma-gitops's catalog), the IPoIB range (private,
/8 to /30, its network address), the gateway and the exclusions inside it, nv-ipam's block size, and the device
plugins' resource names as the operator's admission webhook takes them. */}}
{{- define "rdma.checks" -}}
{{- $v := .Values -}}
{{- $facts := .Files.Get "files/releases.json" | fromJson -}}
{{- $release := index $facts.releases $v.release -}}
{{- if not $release -}}
{{- fail (printf "release %s: not a network-operator release this chart knows (%s); set release to the one the images come from" $v.release (keys $facts.releases | sortAlpha | join ", ")) -}}
{{- end -}}
{{- $ipoib := $v.ipoib -}}
{{- if not (has $ipoib.ipam $release.ipam) -}}
{{- $field := index $facts.ipamFields $ipoib.ipam -}}
{{- fail (printf "ipoib.ipam %s: network-operator %s does not deploy it (its NicClusterPolicy CRD has no spec.%s); it supports: %s" $ipoib.ipam $v.release $field (join ", " $release.ipam)) -}}
{{- end -}}
{{- $prefix := splitList "/" $ipoib.range | last | atoi -}}
{{- if or (lt $prefix 8) (gt $prefix 30) -}}
{{- fail (printf "ipoib.range %s: give a /8 to /30 (a range of its own, with addresses beside the network, gateway and broadcast addresses)" $ipoib.range) -}}
{{- end -}}
{{- $bounds := include "rdma.cidrInts" $ipoib.range | splitList " " -}}
{{- $first := index $bounds 0 | int64 -}}
{{- $last := index $bounds 1 | int64 -}}
{{- if ne (include "rdma.ipToInt" (splitList "/" $ipoib.range | first) | int64) $first -}}
{{- fail (printf "ipoib.range %s: host bits are set; give its network address (%s/%d)" $ipoib.range (include "rdma.intToIp" $first) $prefix) -}}
{{- end -}}
{{- $private := false -}}
{{- range $block := $facts.privateRanges -}}
{{- $outer := include "rdma.cidrInts" $block | splitList " " -}}
{{- if and (ge $first (index $outer 0 | int64)) (le $last (index $outer 1 | int64)) -}}
{{- $private = true -}}
{{- end -}}
{{- end -}}
{{- if not $private -}}
{{- fail (printf "ipoib.range %s: not a private range; IPoIB addresses must be private: a range inside %s" $ipoib.range (join ", " $facts.privateRanges)) -}}
{{- end -}}
{{- $gateway := include "rdma.ipToInt" $ipoib.gateway | int64 -}}
{{- if or (le $gateway $first) (ge $gateway $last) -}}
{{- fail (printf "ipoib.gateway %s: not a usable address of ipoib.range %s" $ipoib.gateway $ipoib.range) -}}
{{- end -}}
{{- $excluded := int64 0 -}}
{{- $seen := list -}}
{{- range $i, $cidr := $ipoib.exclude -}}
{{- $ex := include "rdma.cidrInts" $cidr | splitList " " -}}
{{- $start := index $ex 0 | int64 -}}
{{- $end := index $ex 1 | int64 -}}
{{- if or (lt $start $first) (gt $end $last) -}}
{{- fail (printf "ipoib.exclude[%d] %s: outside ipoib.range %s" $i $cidr $ipoib.range) -}}
{{- end -}}
{{- range $other := $seen -}}
{{- if and (le $start (index $other 1)) (ge $end (index $other 0)) -}}
{{- fail (printf "ipoib.exclude[%d] %s: overlaps another exclusion; list each address once (nv-ipam refuses overlapping exclusions)" $i $cidr) -}}
{{- end -}}
{{- end -}}
{{- $seen = append $seen (list $start $end) -}}
{{- $excluded = add $excluded (sub (min $end (sub $last 1)) (max $start (add $first 1)) | add 1 | max 0) -}}
{{- end -}}
{{- $capacity := sub (sub $last $first) 1 -}}
{{- if ge $excluded $capacity -}}
{{- fail (printf "ipoib.exclude: leaves no address of %s to hand out" $ipoib.range) -}}
{{- end -}}
{{- $block := $ipoib.perNodeBlockSize | int64 -}}
{{- if and (eq $ipoib.ipam "nv-ipam") (gt $block (sub $capacity $excluded)) -}}
{{- fail (printf "ipoib.perNodeBlockSize %d: more than the %d address(es) left in %s once the exclusions are taken out; nodes would get blocks with no usable address" $block (sub $capacity $excluded) $ipoib.range) -}}
{{- end -}}
{{- $sriovName := $v.sriovDevicePlugin.resourceName -}}
{{- if not (regexMatch $facts.sriovResourceName $sriovName) -}}
{{- fail (printf "sriovDevicePlugin.resourceName %s: the operator's admission webhook and the SR-IOV device plugin take only %s (letters, digits, '_' and '.', no '-')" $sriovName $facts.sriovResourceName) -}}
{{- end -}}
{{- $sharedName := $v.rdmaSharedDevicePlugin.resourceName -}}
{{- if not (regexMatch $facts.rdmaResourceName $sharedName) -}}
{{- fail (printf "rdmaSharedDevicePlugin.resourceName %s: the operator's admission webhook takes only %s" $sharedName $facts.rdmaResourceName) -}}
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
