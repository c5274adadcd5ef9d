"""Benchmark: `gen lint` on 10,000 realistic mixed objects (100 files x 100 objects), wall time of a fresh process.

Usage: .venv/bin/python bench/lint_bench.py [--objects 10000] [--files 100] [--runs 3]
The objects cycle through Pod (RDMA, IPoIB-attached), ConfigMap, IPoIBNetwork (nv-ipam), Namespace, NicClusterPolicy
(SR-IOV device plugin, nv-ipam), NodeFeatureRule and IPPool (with per-node exclusions, so its CRD's CEL rule is
evaluated), each with a unique name; the corpus is clean (a finding would be a regression). Prints the median and
min of the runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONFIG = json.dumps({"resourceList": [{"resourcePrefix": "nvidia.com", "resourceName": "ib",
                                       "selectors": {"vendors": ["15b3"], "isRdma": True}}]})
TEMPLATES = [
    """apiVersion: v1
kind: Pod
metadata:
  name: ib-pod-{i}
  namespace: default
  annotations:
    k8s.v1.cni.cncf.io/networks: ib-net-{f}
spec:
  containers:
  - name: ib
    image: registry.example.com/app:v1
    securityContext:
      capabilities:
        add: [IPC_LOCK]
    resources:
      requests: {{nvidia.com/ib: 1, cpu: 500m}}
      limits: {{nvidia.com/ib: 1}}
""",
    """apiVersion: v1
kind: ConfigMap
metadata:
  name: cm-{i}
data:
  a: "1"
  b: hello
""",
    """apiVersion: mellanox.com/v1alpha1
kind: IPoIBNetwork
metadata:
  name: ib-net-{f}-{i}
spec:
  networkNamespace: default
  master: ibP257p0s0
  ipam: '{{"type": "nv-ipam", "poolName": "pool-{f}"}}'
""",
    """apiVersion: v1
kind: Namespace
metadata:
  name: ns-{i}
  labels:
    pod-security.kubernetes.io/enforce: privileged
""",
    """apiVersion: mellanox.com/v1alpha1
kind: NicClusterPolicy
metadata:
  name: policy-{i}
spec:
  nodeAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
      nodeSelectorTerms:
      - matchExpressions:
        - key: feature.node.kubernetes.io/pci-15b3.present
          operator: In
          values: ["true"]
  sriovDevicePlugin:
    repository: nvcr.io/nvidia/mellanox
    image: sriov-network-device-plugin
    version: network-operator-v26.4.1
    config: '""" + CONFIG.replace("{", "{{").replace("}", "}}") + """'
  nvIpam:
    repository: nvcr.io/nvidia/mellanox
    image: nvidia-k8s-ipam
    version: network-operator-v26.4.1
    enableWebhook: false
""",
    """apiVersion: nfd.k8s-sigs.io/v1alpha1
kind: NodeFeatureRule
metadata:
  name: rule-{i}
spec:
  rules:
  - name: ib
    labels:
      feature.node.kubernetes.io/pci-15b3.present: "true"
    matchFeatures:
    - feature: pci.device
      matchExpressions:
        vendor: {{op: In, value: ["15b3"]}}
""",
    """apiVersion: nv-ipam.nvidia.com/v1alpha1
kind: IPPool
metadata:
  name: pool-{f}-{i}
  namespace: nvidia-network-operator
spec:
  subnet: 192.168.0.0/24
  perNodeBlockSize: 100
  gateway: 192.168.0.1
  perNodeExclusions:
  - startIndex: 0
    endIndex: 4
  - startIndex: 90
    endIndex: 99
""",
]


def write_corpus(root: Path, objects: int, files: int) -> None:
    per_file = objects // files
    for f in range(files):
        docs = [TEMPLATES[(f * per_file + i) % len(TEMPLATES)].format(i=f * per_file + i, f=f)
                for i in range(per_file - 2)]  # + the network and pool its pods reference
        extra = (f"---\napiVersion: mellanox.com/v1alpha1\nkind: IPoIBNetwork\nmetadata:\n  name: ib-net-{f}\nspec:\n"
                 f"  networkNamespace: default\n  master: ib0\n---\napiVersion: nv-ipam.nvidia.com/v1alpha1\nkind: "
                 f"IPPool\nmetadata:\n  name: pool-{f}\n  namespace: x\nspec:\n  subnet: 10.0.0.0/24\n"
                 "  perNodeBlockSize: 10\n")
        (root / f"objects-{f:03}.yaml").write_text("---\n".join(docs) + extra)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    gen = Path(sys.executable).parent / "gen"
    env = {**os.environ}
    env.setdefault("GEN_SCHEMA_MIRROR", str(REPO.parent / "shared" / "upstream"))
    with tempfile.TemporaryDirectory(prefix="lint-bench-") as tmp, \
            tempfile.TemporaryDirectory(prefix="lint-bench-cache-") as cache:
        root = Path(tmp)
        env["GEN_CACHE_DIR"] = cache
        write_corpus(root, args.objects, args.files)
        size = sum(p.stat().st_size for p in root.iterdir())
        times = []
        for _ in range(args.runs + 1):  # the first run warms the converted-schema cache and the page cache
            shutil.rmtree(Path(cache) / "lint-verdicts", ignore_errors=True)  # lint, not print the kept verdict
            start = time.perf_counter()
            proc = subprocess.run([str(gen), "lint", "--release", "v26.4.1", "--format", "json", str(root)],
                                  env=env, capture_output=True, text=True, check=False)
            times.append(time.perf_counter() - start)
            summary = json.loads(proc.stdout)["summary"] if proc.stdout.startswith("{") else proc.stderr
        warm = times[1:]
        print(f"gen lint: {args.objects} objects in {args.files} files ({size / 1e6:.1f} MB), fresh process each run")
        print(f"  first run {times[0]:.2f} s; then median {statistics.median(warm):.2f} s, min {min(warm):.2f} s "
              f"over {len(warm)} runs; {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
