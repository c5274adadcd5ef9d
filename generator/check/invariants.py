"""What a cluster's bundle promises, whatever the user's overlay does to it: exactly one NicClusterPolicy named
``nic-cluster-policy`` (the only one the operator reconciles), and the operator's Namespace under its own name (a
``namespace:`` in the overlay renames it, and the Namespace is then no longer the one the Application deploys to)."""

from __future__ import annotations

from typing import Any

from generator.core.finding import Finding
from generator.core.kube import POLICY_NAME
from generator.core.objects import group_kind, name_of
from generator.core.rules import define

BUNDLE_INVARIANT = define(
    "bundle-invariant", "error",
    "the built overlay breaks what the bundle promises: exactly one NicClusterPolicy named nic-cluster-policy, "
    "and the operator's Namespace under the Application's destination namespace",
    "bundle")


def check_invariants(members: list[tuple[int, Any]], namespace: str, overlay: str,
                     own: tuple[str, ...] = ()) -> list[Finding]:
    """``members``: (index, object) of what Argo CD applies, built from the ``overlay`` directory (where a missing
    object is reported); ``own``: the other namespaces the bundle makes on purpose (the nvidia-peermem reloader's)."""
    objects = [(i, o) for i, o in members if isinstance(o, dict)]
    policies = [(i, o) for i, o in objects if group_kind(o) == ("mellanox.com", "NicClusterPolicy")]
    out = []
    if not any(name_of(o) == POLICY_NAME for _, o in policies):
        out.append(BUNDLE_INVARIANT.in_file(overlay, f"the built overlay has no NicClusterPolicy {POLICY_NAME!r} "
                                                     "(a `$patch: delete` or a rename in overlays/?): nothing would "
                                                     "be deployed"))
    for index, policy in policies:
        if name_of(policy) != POLICY_NAME:
            out.append(BUNDLE_INVARIANT.at(("metadata", "name"), f"NicClusterPolicy {name_of(policy)!r}: the operator "
                                           f"reconciles only {POLICY_NAME!r} and marks any other ignored", index))
    namespaces = [(i, o) for i, o in objects if group_kind(o) == ("", "Namespace")]
    if not any(name_of(o) == namespace for _, o in namespaces):
        out.append(BUNDLE_INVARIANT.in_file(overlay, f"the built overlay has no Namespace {namespace!r} (renamed by "
                                                     "a `namespace:` in overlays/?): the operator's namespace would "
                                                     "not be labelled privileged"))
    for index, obj in namespaces:
        if name_of(obj) != namespace and name_of(obj) not in own:
            out.append(BUNDLE_INVARIANT.at(("metadata", "name"), f"Namespace {name_of(obj)!r}: the Application "
                                           f"deploys to {namespace!r}; set networkOperator.namespace in the spec "
                                           "instead of renaming it in overlays/", index))
    return out
