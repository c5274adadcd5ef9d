"""Run a fixed set of 120 gen invocations (every command's help, the catalog, lint of the guide's configs, a repo
with a fleet of specs through bundle/check/plan/images/lint/diff/upgrade/chart, drift, pruning, a destination clash,
user overlays, 40 broken specs, gen init) and record the exit code, stdout and stderr of each, normalised (temporary
paths, timings). A refactor that should change no behaviour is checked by capturing before and after and comparing.
Run from the repo root, with ../shared beside it:

    .venv/bin/python -m maint.cli_capture --gen .venv/bin/gen --out /tmp/before.json     # on the old commit
    .venv/bin/python -m maint.cli_capture --gen .venv/bin/gen --out /tmp/after.json --compare /tmp/before.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path.cwd()
SHARED = (HERE / ".." / "shared").resolve()
REF = SHARED / "reference/aks-rdma-infiniband/configs"

PROD = """name: prod
mode: sriov
vmSize: Standard_ND96asr_v4
networkOperator:
  version: v25.4.0
argocd:
  repoURL: https://github.com/example/aks-gitops.git
  targetRevision: main
"""


def spec(name: str, extra: str = "", mode: str = "sriov", version: str = "v26.4.1",
         vm: str = "Standard_ND96asr_v4", server: str | None = None) -> str:
    dest = f"  destination:\n    server: {server}\n" if server else \
        f"  destination:\n    name: {name}\n"
    return (f"name: {name}\nmode: {mode}\nvmSize: {vm}\nnetworkOperator:\n  version: {version}\n"
            f"argocd:\n  repoURL: https://github.com/example/aks-gitops.git\n  targetRevision: main\n{dest}"
            + extra)


GOOD = {
    "ipoib-nvipam": spec("ipoib1", mode="ipoib"),
    "ipoib-wb": spec("ipoib2", mode="ipoib", version="v25.4.0",
                     extra="ipoib:\n  range: 10.10.0.0/16\n  exclude: [10.10.0.0/24]\n"),
    "shared": spec("shared1", mode="shared", version="v25.10.0", vm="Standard_ND96isr_H100_v5",
                   extra="shared:\n  rdmaHcaMax: 16\n"),
    "base": spec("base1", mode="base", version="v25.1.0", vm="Standard_HB120rs_v3"),
    "tainted": spec("taint1", extra="tolerations:\n  - {key: sku, operator: Equal, value: gpu, effect: NoSchedule}\n"
                                    "taints:\n  - {key: sku, value: gpu, effect: NoSchedule}\n"),
    "mirror": spec("mirror1", version="v25.10.0",
                   extra="imageRegistry:\n  nvcr.io/nvidia: myacr.azurecr.io/nvidia\n"
                         "  ghcr.io: myacr.azurecr.io/ghcr\n"),
    "verify": spec("verify1", mode="shared", extra="verify:\n  enabled: true\n"),
    "values": spec("values1").replace("  version: v26.4.1\n", "  version: v26.4.1\n  values:\n    operator:\n"
                                      "      resources:\n        limits:\n          cpu: 500m\n"),
    "zz-chart-source": spec("chart1", extra="", mode="shared").replace("targetRevision: main\n",
                                                                   "targetRevision: main\n  source: chart\n"),
    "unknown-vm": spec("vm1", vm="Standard_Foo_v9", extra="nic:\n  count: 2\n  deviceIds: ['101e']\n"),
}

BAD = {
    "unknown-key": PROD + "colour: blue\n",
    "bad-mode": PROD.replace("mode: sriov", "mode: fast"),
    "bad-version": PROD.replace("v25.4.0", "v24.1.0"),
    "bad-cidr": PROD + "ipoib:\n  range: 10.0.0.1/16\n",
    "wide-range": PROD + "ipoib:\n  range: 10.0.0.0/7\n",
    "gateway": PROD + "ipoib:\n  range: 10.0.0.0/24\n  gateway: 10.0.1.1\n",
    "exclude-outside": PROD + "ipoib:\n  range: 10.0.0.0/24\n  exclude: [10.0.1.0/28]\n",
    "exclude-overlap": PROD + "ipoib:\n  range: 10.0.0.0/24\n  exclude: [10.0.0.0/28, 10.0.0.8/29]\n",
    "block": PROD.replace("v25.4.0", "v26.4.1") + "ipoib:\n  range: 10.0.0.0/28\n  perNodeBlockSize: 1000\n",
    "ipam-release": PROD.replace("v25.4.0", "v26.4.1") + "ipoib:\n  ipam: whereabouts\n",
    "vm-unknown": PROD.replace("Standard_ND96asr_v4", "Standard_X"),
    "values-typo": PROD + "  values:\n    nfd:\n      enabeld: true\n",
    "values-retired": PROD + "  values:\n    deployCR: true\n",
    "values-type": PROD + "  values:\n    operator:\n      tolerations: 3\n",
    "credentials": PROD.replace("https://github.com", "https://u:p@github.com"),
    "http": PROD.replace("https://github.com", "http://github.com"),
    "reserved": PROD.replace("name: prod", "name: fleet"),
    "name-mismatch": PROD.replace("name: prod", "name: other"),
    "kube-system": PROD + "  namespace: kube-system\n",
    "yaml-syntax": PROD + "argocd: [\n",
    "duplicate": PROD + "mode: base\n",
    "tab": PROD + "\tx: 1\n",
    "deep": "a: " + "[" * 300 + "]" * 300 + "\n",
    "alias": "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
             "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
             "e: [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n",
    "empty": "",
    "list": "- a\n- b\n",
    "verify-image": PROD + "verify:\n  image: 'not an image!'\n",
    "digest-bad": PROD + "imageDigests:\n  nvcr.io/nvidia/mellanox/doca-driver: sha256:abc\n",
    "digest-old-driver": PROD + "imageDigests:\n  nvcr.io/nvidia/mellanox/doca-driver: sha256:" + "a" * 64 + "\n",
    "registry-bad": PROD + "imageRegistry:\n  'nvcr.io/': 'x y'\n",
    "registry-unused": PROD + "imageRegistry:\n  quay.io/foo: myacr.azurecr.io/foo\n",
    "chart-rendered": PROD.replace("targetRevision: main\n",
                                   "targetRevision: main\n  source: chart\n  delivery: rendered\n"),
    "dest-both": PROD + "  destination:\n    name: a\n    server: https://x\n",
    "rendered-no-chart": PROD.replace("targetRevision: main\n", "targetRevision: main\n  delivery: rendered\n"),
    "eol-warning-only": PROD.replace("v25.4.0", "v25.1.0"),
    "nic-count-zero": PROD + "nic:\n  count: 0\n",
    "rdmahcamax": PROD + "shared:\n  rdmaHcaMax: 100000\n",
    "master-dots": PROD + "ipoib:\n  master: '..'\n",
}


def normalise(text: str, tmp: str) -> str:
    text = text.replace(tmp, "<TMP>")
    text = re.sub(r"\b\d+(\.\d+)? s\b", "<T> s", text)
    text = re.sub(r"\b\d+\.\d+ ?ms\b", "<T> ms", text)
    text = re.sub(r"pid \d+", "pid <PID>", text)
    return text


class Runner:
    def __init__(self, gen: str, tmp: Path):
        self.gen, self.tmp = gen, tmp
        self.results: list[dict[str, object]] = []
        home = tmp / "home"
        home.mkdir()
        self.env = {"PATH": f"{Path(gen).parent}:/usr/bin:/bin", "HOME": str(home), "CI": "true",
                    "GEN_CACHE_DIR": str(tmp / "cache"), "GEN_SCHEMA_MIRROR": str(SHARED / "upstream"),
                    "LANG": "C.UTF-8", "PYTHONHASHSEED": "0", "TZ": "UTC"}

    def run(self, label: str, args: list[str], cwd: Path, env: dict[str, str] | None = None,
            files: tuple[str, ...] = ()) -> None:
        proc = subprocess.run([self.gen, *args], cwd=cwd, env={**self.env, **(env or {})}, capture_output=True,
                              text=True, timeout=600)
        record: dict[str, object] = {
            "label": label, "args": [normalise(a, str(self.tmp)) for a in args], "code": proc.returncode,
            "out": normalise(proc.stdout, str(self.tmp)), "err": normalise(proc.stderr, str(self.tmp))}
        for rel in files:
            path = cwd / rel
            record[f"file:{rel}"] = path.read_text() if path.is_file() else None
        self.results.append(record)
        print(f"{proc.returncode:3} {label}", file=sys.stderr)


def tree_digest(root: Path) -> str:
    import hashlib
    h = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file() and ".gen.lock" not in path.name:
            h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def new_repo(tmp: Path, name: str, source: Path, git: bool = True) -> Path:
    repo = tmp / name
    repo.mkdir()
    shutil.copytree(source / "clusters", repo / "clusters")
    shutil.copytree(source / "output", repo / "output")
    (repo / "clusters/prod.yaml").write_text(PROD)
    if git:
        for cmd in (["init", "-q", "-b", "main"], ["add", "-A"],
                    ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "init"]):
            subprocess.run(["git", *cmd], cwd=repo, check=True, capture_output=True,
                           env={**os.environ, "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
                                "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z"})
    return repo


def capture(gen: str, source: Path) -> list[dict[str, object]]:
    tmp = Path(tempfile.mkdtemp(prefix="gen-capture-"))
    try:
        r = Runner(gen, tmp)
        plain = tmp / "plain"
        plain.mkdir()
        r.run("version", ["--version"], plain)
        r.run("help", ["--help"], plain)
        for sub in ["bundle", "chart", "check", "schemas", "plan", "diff", "lint", "catalog", "upgrade", "images",
                    "releases", "init", "cache"]:
            r.run(f"help-{sub}", [sub, "--help"], plain)
        r.run("no-command", [], plain)
        r.run("bogus", ["bogus"], plain)
        r.run("schemas-pull", ["schemas", "pull"], plain)
        r.run("catalog", ["catalog"], plain)
        r.run("catalog-releases", ["catalog", "releases"], plain)
        r.run("catalog-vm", ["catalog", "vm-sizes"], plain)
        r.run("releases", ["releases"], plain)
        r.run("releases-json", ["releases", "--format", "json"], plain)
        r.run("list-rules", ["lint", "--list-rules"], plain)
        r.run("no-clusters", ["bundle", "--all"], plain)
        r.run("check-no-clusters", ["check"], plain)
        for mode in ["base", "sriov-device-plugin", "rdma-shared-device-plugin", "ipoib"]:
            r.run(f"lint-guide-{mode}", ["lint", str(REF / "nicclusterpolicy" / mode)], plain)
        for tag in ["v25.4.0", "v26.4.1"]:
            examples = SHARED / f"upstream/network-operator/{tag}/examples"
            r.run(f"lint-examples-{tag}", ["lint", "--release", tag, str(examples)], plain)
        r.run("lint-examples-json", ["lint", "--format", "json", "--release", "v26.4.1",
                                     str(SHARED / "upstream/network-operator/v26.4.1/examples")], plain)
        r.run("lint-examples-github", ["lint", "--format", "github", "--release", "v26.4.1",
                                       str(SHARED / "upstream/network-operator/v26.4.1/examples")], plain)
        r.run("lint-missing", ["lint", "nope.yaml"], plain)

        repo = new_repo(tmp, "repo", source)
        r.run("bundle-prod", ["bundle", "--cluster", "prod"], repo)
        r.run("check", ["check"], repo)
        r.run("check-prod", ["check", "--cluster", "prod"], repo)
        r.run("plan-prod", ["plan", "--cluster", "prod"], repo)
        r.run("images-prod", ["images", "--cluster", "prod"], repo)
        r.run("images-json", ["images", "--all", "--format", "json"], repo)
        r.run("lint-output", ["lint", "output/"], repo)
        r.run("lint-output-json", ["lint", "--format", "json", "output/prod"], repo)
        r.run("lint-against", ["lint", "--against", "HEAD", "output/prod"], repo)
        r.run("diff-prod", ["diff", "--cluster", "prod"], repo)
        r.run("diff-md", ["diff", "--all", "--format", "markdown"], repo)
        r.run("upgrade-dry", ["upgrade", "--cluster", "prod", "--to", "v25.7.0", "--dry-run"], repo)
        r.run("upgrade-dry-far", ["upgrade", "--cluster", "prod", "--to", "v26.4.1", "--dry-run"], repo)
        r.run("upgrade-down", ["upgrade", "--cluster", "prod", "--to", "v25.1.0", "--dry-run"], repo)
        r.run("bundle-unknown", ["bundle", "--cluster", "nope"], repo)
        r.run("prune-no-all", ["bundle", "--cluster", "prod", "--prune"], repo)

        # a fleet of good specs
        for label, text in GOOD.items():
            if label.startswith("zz"):
                continue
            found = re.search(r"^name: (\S+)", text, re.M)
            assert found is not None
            name = found.group(1)
            (repo / "clusters" / f"{name}.yaml").write_text(text)
        r.run("bundle-all", ["bundle", "--all"], repo)
        r.results[-1]["tree"] = tree_digest(repo / "output")
        r.run("bundle-all-again", ["bundle", "--all"], repo)
        r.run("check-all", ["check"], repo)
        r.run("images-all", ["images", "--all"], repo)
        r.run("plan-ipoib", ["plan", "--cluster", "ipoib1"], repo)
        r.run("plan-tainted", ["plan", "--cluster", "taint1"], repo)
        r.run("lint-output-all", ["lint", "output/"], repo)
        r.run("chart-with-mirror", ["chart"], repo)
        # drift
        (repo / "output/prod/base/namespace.yaml").write_text("edited\n")
        (repo / "output/ipoib1/stray.yaml").write_text("x: 1\n")
        os.remove(repo / "output/base1/examples/pod.yaml") if (repo / "output/base1/examples/pod.yaml").exists() \
            else None
        r.run("check-drift", ["check"], repo)
        r.run("bundle-after-drift", ["bundle", "--all"], repo)
        r.run("bundle-force", ["bundle", "--all", "--force"], repo)
        r.run("check-clean", ["check"], repo)
        (repo / "clusters/base1.yaml").unlink()
        r.run("check-stale", ["check"], repo)
        r.run("bundle-stale", ["bundle", "--all"], repo)
        r.run("bundle-prune", ["bundle", "--all", "--prune"], repo)
        r.run("check-pruned", ["check"], repo)
        # destination clash
        (repo / "clusters/clash.yaml").write_text(spec("clash", server="https://kubernetes.default.svc")
                                                   .replace("  destination:\n    server: https://kubernetes."
                                                            "default.svc\n", ""))
        r.run("clash-all", ["bundle", "--all"], repo)
        (repo / "clusters/clash.yaml").unlink()
        # user overlay
        overlay = repo / "overlays/prod"
        overlay.mkdir(parents=True)
        (overlay / "kustomization.yaml").write_text(
            "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches:\n  - path: p.yaml\n")
        (overlay / "p.yaml").write_text(
            "apiVersion: mellanox.com/v1alpha1\nkind: NicClusterPolicy\nmetadata:\n  name: nic-cluster-policy\n"
            "spec:\n  ofedDriver:\n    version: 'not a version'\n")
        r.run("overlay-bad", ["bundle", "--cluster", "prod"], repo)
        (overlay / "p.yaml").write_text(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n  namespace: kube-system\n")
        (overlay / "kustomization.yaml").write_text(
            "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources:\n  - p.yaml\n")
        r.run("overlay-project", ["bundle", "--cluster", "prod"], repo)
        shutil.rmtree(repo / "overlays")

        # broken specs, one at a time, in the clean repo
        bad = new_repo(tmp, "bad", source)
        r.run("bad-baseline", ["bundle", "--all"], bad)
        before = tree_digest(bad / "output")
        for label, text in BAD.items():
            (bad / "clusters/prod.yaml").write_text(text)
            r.run(f"bad-{label}", ["bundle", "--cluster", "prod"], bad)
            r.results[-1]["output-unchanged"] = tree_digest(bad / "output") == before
            if tree_digest(bad / "output") != before:
                (bad / "clusters/prod.yaml").write_text(PROD)
                subprocess.run([r.gen, "bundle", "--all", "--force"], cwd=bad, env=r.env, capture_output=True)
                before = tree_digest(bad / "output")
        (bad / "clusters/prod.yaml").write_text(PROD)
        (bad / "clusters/Bad_Name.yaml").write_text(PROD)
        r.run("bad-filename", ["bundle", "--all"], bad)
        (bad / "clusters/Bad_Name.yaml").unlink()
        (bad / "clusters/other.yaml").write_text(BAD["unknown-key"].replace("name: prod", "name: other"))
        r.run("other-broken", ["bundle", "--cluster", "prod"], bad)
        r.run("other-broken-check", ["check", "--cluster", "prod"], bad)
        (bad / "clusters/other.yaml").unlink()

        # the rdma-infiniband chart
        charted = new_repo(tmp, "charted", source)
        (charted / "clusters/chart1.yaml").write_text(GOOD["zz-chart-source"])
        (charted / "clusters/ipoib1.yaml").write_text(GOOD["ipoib-nvipam"])
        r.run("chart-source-bundle", ["bundle", "--all"], charted)
        r.run("chart", ["chart"], charted)
        r.results[-1]["tree"] = tree_digest(charted / "output")
        r.run("check-after-chart", ["check"], charted)
        r.run("diff-after-chart", ["diff", "--all"], charted)

        # init
        init = tmp / "init"
        r.run("init", ["init", str(init / "new"), "--no-input"], tmp)
        r.run("init-again", ["init", str(init / "new"), "--no-input"], tmp)
        r.run("init-check", ["check"], init / "new")
        r.run("cache-show", ["cache"], plain)
        return r.results
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gen", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--compare")
    args = parser.parse_args()
    results = capture(str(Path(args.gen).resolve()), HERE)
    Path(args.out).write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    if not args.compare:
        return 0
    before = {r["label"]: r for r in json.loads(Path(args.compare).read_text())}
    differ = 0
    for after in results:
        old = before.get(after["label"])
        if old != after:
            differ += 1
            print(f"== {after['label']}: differs")
            for key in sorted(set(after) | set(old or {})):
                if (old or {}).get(key) != after.get(key):
                    print(f"   {key}:\n     before: {(old or {}).get(key)!r}\n     after:  {after.get(key)!r}")
    print(f"{len(results)} invocations, {differ} differ")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
