"""``gpu.operator.values`` (the gpu-operator chart's values), checked before anything is rendered: every key against the
release's chart facts (``generator.check.values_keys``: nearest-key suggestions, free-form types, retired keys), then
what a value would undo of what the bundle needs, each refused at its line with the fix:

- ``nfd.enabled: true``: a second NFD beside the Network Operator's (rule ``gpu-nfd-twice`` in manifests);
- ``driver.rdma.enabled`` against ``gpu.rdma`` (the spec field says which path; the value follows it);
- ``driver.rdma.useHostMofed: true``: the bundle's NicClusterPolicy deploys the DOCA driver in a container;
- ``driver.enabled: false`` / ``toolkit.enabled: false``: the pool was made with ``--gpu-driver none``, so the
  operator must install both (rule ``gpu-driver-owner``);
- ``operator.upgradeCRD: true``: the chart's CRD-upgrade hook, which Argo CD would run on every sync;
- a boolean the chart tests given as a string (Helm's templates take a non-empty string as true).
"""

from __future__ import annotations

from typing import Any

from generator.catalog.charts import lookup
from generator.catalog.gpu import gpu_chart_facts
from generator.check.values_keys import values_problems
from generator.cluster.model import Cluster
from generator.core.finding import JsonPath

VALUES: JsonPath = ("gpu", "operator", "values")

# value -> (what gen needs it to be, why)
REQUIRED: dict[str, tuple[Any, str]] = {
    "nfd.enabled": (False, "the Network Operator already runs NFD for the cluster; a second instance labels the same "
                           "nodes (Mellanox/network-operator#1212), so gen turns the GPU Operator's off"),
    "driver.enabled": (True, "gpu.driver is operator: the pool is made with --gpu-driver none and only the GPU "
                             "Operator installs a driver there; for the AKS-managed driver set gpu.driver: aks"),
    "toolkit.enabled": (True, "gpu.driver is operator: without its container toolkit nothing configures the nvidia "
                              "runtime on a --gpu-driver none pool (pods fail with 'no runtime for \"nvidia\"')"),
    "driver.rdma.useHostMofed": (False, "the bundle's NicClusterPolicy deploys the DOCA driver in a container; "
                                        "useHostMofed makes the GPU driver look for a host-installed one (and it does "
                                        "nothing without driver.rdma.enabled)"),
    "operator.upgradeCRD": (False, "the chart's CRD-upgrade hook runs as PreSync on every Argo CD sync and replaces "
                                   "the CRDs wholesale; Argo CD applies the chart's CRDs itself, so gen turns it off"),
}
BOOLEANS = ("nfd.enabled", "driver.enabled", "toolkit.enabled", "driver.rdma.enabled", "driver.rdma.useHostMofed",
            "operator.upgradeCRD", "devicePlugin.enabled", "dcgmExporter.enabled", "gfd.enabled",
            "migManager.enabled", "nodeStatusExporter.enabled", "gds.enabled", "gdrcopy.enabled")


def gpu_value_problems(cluster: Cluster) -> list[tuple[JsonPath, str]]:
    """(path in the spec, message) of every ``gpu.operator.values`` problem, keys first."""
    if cluster.gpu is None or cluster.gpu.operator is None:
        return []
    operator = cluster.gpu.operator
    values = operator.values
    facts = gpu_chart_facts(operator.release.tag).chart
    found = [((*VALUES, *path), message) for path, message in
             values_problems(values, facts, cluster.kubernetes.version)]
    if found:
        return found
    for key in BOOLEANS:
        given = lookup(values, key)
        if given is not None and not isinstance(given, bool):
            found.append(((*VALUES, *key.split(".")), f"{given!r} is not a boolean: Helm's templates take any "
                                                      "non-empty string as true; write true or false"))
    wanted_rdma = cluster.gpu.peermem
    rdma = lookup(values, "driver.rdma.enabled")
    if isinstance(rdma, bool) and rdma != wanted_rdma:
        found.append(((*VALUES, "driver", "rdma", "enabled"),
                      f"gpu.rdma is {cluster.gpu.rdma}, which sets driver.rdma.enabled: {str(wanted_rdma).lower()} "
                      "(true only for the legacy nvidia-peermem path); change gpu.rdma instead of this value"))
    for key, (wanted, why) in REQUIRED.items():
        given = lookup(values, key)
        if isinstance(given, bool) and given != wanted:
            found.append(((*VALUES, *key.split(".")), f"{why} (gen sets {str(wanted).lower()}); remove the value"))
    return found
