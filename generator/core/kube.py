"""Kubernetes, NFD, kustomize and Argo CD names that the renderer writes and the checks read: defined once, here."""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]

# NVIDIA Mellanox PCI vendor, and the label the bundle's NodeFeatureRule puts on nodes with such a NIC
MELLANOX_VENDOR = "15b3"
NFD_LABEL = "feature.node.kubernetes.io/pci-15b3.present"
NFD_PREFIX = "feature.node.kubernetes.io"
# the components under a NicClusterPolicy's spec.secondaryNetwork (ipamPlugin: whereabouts, up to v25.7.0)
SECONDARY_NETWORK_COMPONENTS = ("cniPlugins", "ipoib", "multus", "ipamPlugin")
POLICY_NAME = "nic-cluster-policy"  # the only NicClusterPolicy name the operator reconciles
PSA_ENFORCE = "pod-security.kubernetes.io/enforce"
NETWORKS_ANNOTATION = "k8s.v1.cni.cncf.io/networks"  # Multus: the networks a pod attaches to

KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
KUSTOMIZE_API = "kustomize.config.k8s.io/v1beta1"

PART_OF = {"app.kubernetes.io/part-of": "rdma-gitops"}  # on every object gen adds for Argo CD

# Argo CD annotations
WAVE = "argocd.argoproj.io/sync-wave"
SYNC_OPTIONS = "argocd.argoproj.io/sync-options"
HOOK = "argocd.argoproj.io/hook"
HOOK_DELETE_POLICY = "argocd.argoproj.io/hook-delete-policy"
SKIP_DRY_RUN = "SkipDryRunOnMissingResource=true"
# Helm hook annotations (Argo CD maps them to its phases)
HELM_HOOK = "helm.sh/hook"
HELM_HOOK_WEIGHT = "helm.sh/hook-weight"


def nfd_node_selector_terms() -> list[Obj]:
    """nodeSelectorTerms that pick the nodes the NodeFeatureRule labelled."""
    return [{"matchExpressions": [{"key": NFD_LABEL, "operator": "In", "values": ["true"]}]}]
