"""A warm cache gives the verdict an empty one gives, whatever file a user overlay's kustomization reaches.

For each kustomization field that names a file (kustomize v5.6's ``types.Kustomization``), a cluster whose overlay
uses it is bundled with a cache; then the file the field names is edited so that the build now points the DOCA
driver (or a pod) at the staging registry, or no longer builds. ``gen check``, ``gen bundle`` and ``gen lint`` with
that warm cache must then say exactly what they say with an empty one: exit 1 and the finding; output/ untouched.
Real kustomize throughout (and, for Helm charts, the pinned helm)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from generator.programs.helm import helm_command
from generator.programs.kustomize import kustomize_command
from tests.conftest import write_spec
from tests.helpers import run_gen

COMPONENT = "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"
STAGING = "nvcr.io/nvstaging/mellanox"
PUBLISHED = "nvcr.io/nvidia/mellanox"
DRIVER_PATCH = "- op: replace\n  path: /spec/ofedDriver/repository\n  value: {registry}\n"
POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: probe
  namespace: network-operator
spec:
  containers:
  - name: probe
    image: {image}
"""
SMP = """\
apiVersion: mellanox.com/v1alpha1
kind: NicClusterPolicy
metadata:
  name: nic-cluster-policy
spec:
  ofedDriver:
    repository: {registry}
"""
REGISTRY_INTO_DRIVER = """\
replacements:
- source: {kind: ConfigMap, name: registry, fieldPath: data.repo}
  targets:
  - select: {kind: NicClusterPolicy}
    fieldPaths: [spec.ofedDriver.repository]
"""
TOKEN_INTO_LABEL = """\
replacements:
- source: {kind: Secret, name: registry, fieldPath: data.token}
  targets:
  - select: {kind: NicClusterPolicy}
    fieldPaths: [metadata.labels.token]
    options: {create: true}
"""
NO_HASH = "generatorOptions:\n  disableNameSuffixHash: true\n"
CHART = {"Chart.yaml": "apiVersion: v2\nname: probe\nversion: 0.1.0\n",
         "templates/pod.yaml": POD.format(image="{{ .Values.image }}")}
HELM_CHARTS = COMPONENT + """\
helmGlobals:
  chartHome: my-charts
helmCharts:
- name: probe
  releaseName: probe
  valuesFile: values.yaml
  additionalValuesFiles: [more.yaml]
"""
IMAGE_PUBLISHED = "error image-published"
BUILD_FAILED = "error kustomize-build"
LABEL_VALUE = "'YWI=' is not a valid label value"  # base64 of "ab"


@dataclass(frozen=True)
class Case:
    """An overlay (files under overlays/prod/, or ../ of it), the edit of one file a field names, and a finding
    the edit brings."""

    files: dict[str, str]
    edit: tuple[str, str]
    finding: str
    helm: bool = False
    notes: dict[str, str] = field(default_factory=dict)


def _driver_patch(registry: str) -> str:
    return DRIVER_PATCH.format(registry=registry)


CASES = {
    "resources": Case({"kustomization.yaml": COMPONENT + "resources:\n- pod.yaml\n",
                       "pod.yaml": POD.format(image=f"{PUBLISHED}/probe:1")},
                      ("pod.yaml", POD.format(image=f"{STAGING}/probe:1")), IMAGE_PUBLISHED),
    "components": Case({"kustomization.yaml": COMPONENT + "components:\n- ../common\n",
                        "../common/kustomization.yaml": COMPONENT + "patches:\n- path: driver.yaml\n  target:\n"
                                                                    "    kind: NicClusterPolicy\n",
                        "../common/driver.yaml": _driver_patch(PUBLISHED)},
                       ("../common/driver.yaml", _driver_patch(STAGING)), IMAGE_PUBLISHED),
    "bases": Case({"kustomization.yaml": COMPONENT + "bases:\n- ../extra\n",
                   "../extra/kustomization.yaml": "resources:\n- pod.yaml\n",
                   "../extra/pod.yaml": POD.format(image=f"{PUBLISHED}/probe:1")},
                  ("../extra/pod.yaml", POD.format(image=f"{STAGING}/probe:1")), IMAGE_PUBLISHED),
    "patches": Case({"kustomization.yaml": COMPONENT + "patches:\n- path: driver.yaml\n  target:\n"
                                                       "    kind: NicClusterPolicy\n",
                     "driver.yaml": _driver_patch(PUBLISHED)},
                    ("driver.yaml", _driver_patch(STAGING)), IMAGE_PUBLISHED),
    "patchesStrategicMerge": Case({"kustomization.yaml": COMPONENT + "patchesStrategicMerge:\n- driver.yaml\n",
                                   "driver.yaml": SMP.format(registry=PUBLISHED)},
                                  ("driver.yaml", SMP.format(registry=STAGING)), IMAGE_PUBLISHED),
    "patchesJson6902": Case({"kustomization.yaml": COMPONENT + "patchesJson6902:\n- path: driver.yaml\n  target:\n"
                                                               "    group: mellanox.com\n    version: v1alpha1\n"
                                                               "    kind: NicClusterPolicy\n"
                                                               "    name: nic-cluster-policy\n",
                             "driver.yaml": _driver_patch(PUBLISHED)},
                            ("driver.yaml", _driver_patch(STAGING)), IMAGE_PUBLISHED),
    "transformers": Case({"kustomization.yaml": COMPONENT + "transformers:\n- driver.yaml\n",
                          "driver.yaml": "apiVersion: builtin\nkind: PatchTransformer\nmetadata:\n  name: driver\n"
                                         "target:\n  kind: NicClusterPolicy\npatch: |-\n"
                                         f"  - op: replace\n    path: /spec/ofedDriver/repository\n"
                                         f"    value: {PUBLISHED}\n"},
                         ("driver.yaml", "apiVersion: builtin\nkind: PatchTransformer\nmetadata:\n  name: driver\n"
                                         "target:\n  kind: NicClusterPolicy\npatch: |-\n"
                                         f"  - op: replace\n    path: /spec/ofedDriver/repository\n"
                                         f"    value: {STAGING}\n"), IMAGE_PUBLISHED),
    "transformers (the file a transformer names)": Case(
        {"kustomization.yaml": COMPONENT + "transformers:\n- driver.yaml\n",
         "driver.yaml": "apiVersion: builtin\nkind: PatchTransformer\nmetadata:\n  name: driver\n"
                        "target:\n  kind: NicClusterPolicy\npath: driver-patch.yaml\n",
         "driver-patch.yaml": _driver_patch(PUBLISHED)},
        ("driver-patch.yaml", _driver_patch(STAGING)), IMAGE_PUBLISHED),
    "transformers (inline, naming a file)": Case(
        {"kustomization.yaml": COMPONENT + "transformers:\n- |-\n  apiVersion: builtin\n  kind: PatchTransformer\n"
                                           "  metadata:\n    name: driver\n  target:\n    kind: NicClusterPolicy\n"
                                           "  path: driver-patch.yaml\n",
         "driver-patch.yaml": _driver_patch(PUBLISHED)},
        ("driver-patch.yaml", _driver_patch(STAGING)), IMAGE_PUBLISHED),
    "generators": Case({"kustomization.yaml": COMPONENT + "generators:\n- registry.yaml\n" + REGISTRY_INTO_DRIVER,
                        "registry.yaml": "apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata:\n  name: registry\n"
                                         f"  namespace: network-operator\noptions:\n  disableNameSuffixHash: true\n"
                                         f"literals:\n- repo={PUBLISHED}\n"},
                       ("registry.yaml", "apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata:\n  name: registry\n"
                                         f"  namespace: network-operator\noptions:\n  disableNameSuffixHash: true\n"
                                         f"literals:\n- repo={STAGING}\n"), IMAGE_PUBLISHED),
    "replacements": Case({"kustomization.yaml": COMPONENT + NO_HASH + "configMapGenerator:\n- name: registry\n"
                                                "  namespace: network-operator\n"
                                                f"  literals: [good={PUBLISHED}, bad={STAGING}]\n"
                                                "replacements:\n- path: replacement.yaml\n",
                          "replacement.yaml": "source: {kind: ConfigMap, name: registry, fieldPath: data.good}\n"
                                              "targets:\n- select: {kind: NicClusterPolicy}\n"
                                              "  fieldPaths: [spec.ofedDriver.repository]\n"},
                         ("replacement.yaml", "source: {kind: ConfigMap, name: registry, fieldPath: data.bad}\n"
                                              "targets:\n- select: {kind: NicClusterPolicy}\n"
                                              "  fieldPaths: [spec.ofedDriver.repository]\n"), IMAGE_PUBLISHED),
    "configurations": Case({"kustomization.yaml": COMPONENT + "configurations:\n- images.yaml\nimages:\n"
                                                  f"- name: {PUBLISHED}\n  newName: {STAGING}\n",
                            "images.yaml": "images:\n- path: spec/ofedDriver/image\n  kind: NicClusterPolicy\n"},
                           ("images.yaml", "images:\n- path: spec/ofedDriver/repository\n  kind: NicClusterPolicy\n"),
                           IMAGE_PUBLISHED),
    "crds": Case({"kustomization.yaml": COMPONENT + "crds:\n- crd.json\n", "crd.json": '{"definitions": {}}\n'},
                 ("crd.json", '{"definitions": [\n'), BUILD_FAILED),
    "openapi": Case({"kustomization.yaml": COMPONENT + "openapi:\n  path: schema.json\n",
                     "schema.json": '{"definitions": {}}\n'},
                    ("schema.json", '{"definitions": [\n'), BUILD_FAILED),
    "configMapGenerator files": Case({"kustomization.yaml": COMPONENT + NO_HASH + "configMapGenerator:\n"
                                                            "- name: registry\n  namespace: network-operator\n"
                                                            "  files: [repo=registry.txt]\n" + REGISTRY_INTO_DRIVER,
                                      "registry.txt": PUBLISHED},
                                     ("registry.txt", STAGING), IMAGE_PUBLISHED),
    "configMapGenerator envs": Case({"kustomization.yaml": COMPONENT + NO_HASH + "configMapGenerator:\n"
                                                           "- name: registry\n  namespace: network-operator\n"
                                                           "  envs: [registry.env]\n" + REGISTRY_INTO_DRIVER,
                                     "registry.env": f"repo={PUBLISHED}\n"},
                                    ("registry.env", f"repo={STAGING}\n"), IMAGE_PUBLISHED),
    "secretGenerator files": Case({"kustomization.yaml": COMPONENT + NO_HASH + "secretGenerator:\n"
                                                         "- name: registry\n  namespace: network-operator\n"
                                                         "  files: [token=token.txt]\n" + TOKEN_INTO_LABEL,
                                   "token.txt": "abc"},
                                  ("token.txt", "ab"), LABEL_VALUE),
    "secretGenerator envs": Case({"kustomization.yaml": COMPONENT + NO_HASH + "secretGenerator:\n"
                                                        "- name: registry\n  namespace: network-operator\n"
                                                        "  envs: [token.env]\n" + TOKEN_INTO_LABEL,
                                  "token.env": "token=abc\n"},
                                 ("token.env", "token=ab\n"), LABEL_VALUE),
    "helmCharts valuesFile": Case({"kustomization.yaml": HELM_CHARTS, "values.yaml": f"image: {PUBLISHED}/probe:1\n",
                                   "more.yaml": "{}\n", **{f"my-charts/probe/{k}": v for k, v in CHART.items()}},
                                  ("values.yaml", f"image: {STAGING}/probe:1\n"), IMAGE_PUBLISHED, helm=True),
    "helmCharts additionalValuesFiles": Case(
        {"kustomization.yaml": HELM_CHARTS, "values.yaml": f"image: {PUBLISHED}/probe:1\n", "more.yaml": "{}\n",
         **{f"my-charts/probe/{k}": v for k, v in CHART.items()}},
        ("more.yaml", f"image: {STAGING}/probe:1\n"), IMAGE_PUBLISHED, helm=True),
    "helmGlobals chartHome": Case(
        {"kustomization.yaml": HELM_CHARTS, "values.yaml": f"image: {PUBLISHED}/probe:1\n", "more.yaml": "{}\n",
         **{f"my-charts/probe/{k}": v for k, v in CHART.items()}},
        ("my-charts/probe/templates/pod.yaml", POD.format(image=f"{STAGING}/probe:2")), IMAGE_PUBLISHED, helm=True),
}


def _helm_kustomize(tmp: Path) -> str:
    """kustomize with Helm charts enabled. kustomize v5.6 asks ``helm version -c`` and insists on helm 3; the pinned
    helm is 4, which renders these templates the same, so a two-line shim answers that question and hands every
    other call to it."""
    helm = helm_command()
    assert helm is not None
    shim = tmp / "helm3"
    shim.write_text(f'#!/bin/sh\nif [ "$1" = version ]; then echo v3.99.0; exit 0; fi\nexec {helm[0]} "$@"\n')
    shim.chmod(0o755)
    return f"{kustomize_command()[0]} kustomize --enable-helm --helm-command {shim}"


def _said(text: str) -> str:
    """What a run said, but kustomize's own words for a failed build (Go's JSON errors vary their wording from run to
    run on purpose: "cannot unmarshal", "unable to unmarshal")."""
    return re.sub(r"(kustomize build failed: ).*", r"\1...", text)


def _output(repo: Path) -> dict[str, bytes]:
    return {str(p.relative_to(repo)): p.read_bytes() for p in sorted((repo / "output").rglob("*"))
            if p.is_file() and p.name != ".gen.lock"}


@pytest.mark.slow
@pytest.mark.kustomize
@pytest.mark.parametrize("name", sorted(CASES))
def test_an_edited_file_a_field_names_gives_the_empty_cache_verdict(name: str, gitops_repo: Path,
                                                                     tmp_path: Path) -> None:
    case = CASES[name]
    write_spec(gitops_repo)
    overlay = gitops_repo / "overlays" / "prod"
    for rel, text in case.files.items():
        path = Path(os.path.normpath(overlay / rel))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    env: dict[str, str | None] = {"GEN_CACHE_DIR": str(tmp_path / "warm")}
    if case.helm:
        env["GEN_KUSTOMIZE"] = _helm_kustomize(tmp_path)
    lint = ("lint", "output/prod/overlays/sriov")
    run_gen("bundle", "--all", repo=gitops_repo, env=env, check=True)
    assert run_gen("check", repo=gitops_repo, env=env).code == 0
    assert run_gen(*lint, cwd=gitops_repo, env=env).code == 0
    written = _output(gitops_repo)
    rel, text = case.edit
    Path(os.path.normpath(overlay / rel)).write_text(text)
    empty = {**env, "GEN_CACHE_DIR": str(tmp_path / "empty")}
    cold = run_gen("check", repo=gitops_repo, env=empty)
    warm = run_gen("check", repo=gitops_repo, env=env)
    assert (warm.code, warm.out, _said(warm.err)) == (cold.code, cold.out, _said(cold.err))
    assert cold.code == 1 and case.finding in cold.err and "Traceback" not in cold.err
    bundled = run_gen("bundle", "--all", repo=gitops_repo, env=env)
    assert bundled.code == 1 and _said(bundled.err) == _said(cold.err)  # nothing written: the same findings
    cold_lint = run_gen(*lint, cwd=gitops_repo, env={**empty, "GEN_CACHE_DIR": str(tmp_path / "empty-lint")})
    warm_lint = run_gen(*lint, cwd=gitops_repo, env=env)
    assert (warm_lint.code, _said(warm_lint.out)) == (cold_lint.code, _said(cold_lint.out)) and cold_lint.code == 1
    assert _output(gitops_repo) == written
