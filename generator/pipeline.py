"""The one direction of flow: spec files -> ClusterSpecs -> Bundles -> findings -> files.

Each stage is a function; the CLI strings them together. Disk reads happen in ``load_*``, kustomize
runs in ``validate_bundles`` (on a staged copy in a temporary directory), writes only in ``write``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.model import Bundle, Finding
from generator.render import fleet
from generator.render.bundle import render_bundle
from generator.spec.load import SpecError, load_spec
from generator.spec.model import MODES, ClusterSpec
from generator.validate import kustomize
from generator.yamlio.dump import dump_documents
from generator.yamlio.load import YamlInputError, load_documents

CLUSTER_FILE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?\.yaml$")


class InputError(ValueError):
    """A user mistake outside a single spec field (exit code 2)."""


@dataclass(frozen=True)
class Rendered:
    spec: ClusterSpec
    bundle: Bundle


def discover_clusters(repo: Path) -> list[str]:
    clusters = repo / "clusters"
    if not clusters.is_dir():
        raise InputError(f"{repo}: no clusters/ directory; run gen from the GitOps repo root or pass --repo DIR")
    names = []
    for path in sorted(clusters.iterdir()):
        if path.suffix in (".yaml", ".yml") and path.is_file():
            if path.suffix == ".yml" or not CLUSTER_FILE.match(path.name):
                raise InputError(f"clusters/{path.name}: cluster files are named <dns-1123-label>.yaml "
                                 "(lower-case letters, digits and '-'); rename it")
            names.append(path.stem)
    return names


def load_specs(repo: Path, names: list[str]) -> tuple[list[ClusterSpec], list[SpecError]]:
    specs, errors = [], []
    for name in names:
        try:
            specs.append(load_spec(repo, name))
        except SpecError as exc:
            errors.append(exc)
    return specs, errors


def user_overlay(repo: Path, name: str) -> bool:
    """Whether overlays/<name>/ exists; it must then be a kustomize Component (so its patches apply)."""
    directory = repo / "overlays" / name
    if not directory.exists():
        return False
    rel = f"overlays/{name}"
    if directory.is_symlink() or not directory.is_dir():
        raise InputError(f"{rel}: must be a plain directory (not a symlink or a file)")
    candidates = [directory / n for n in ("kustomization.yaml", "kustomization.yml", "Kustomization")]
    found = [c for c in candidates if c.is_file()]
    if not found:
        raise InputError(f"{rel}/: has no kustomization.yaml; add one with 'apiVersion: kustomize.config.k8s.io/"
                         "v1alpha1' and 'kind: Component' listing your patches and resources, or remove the directory")
    file = f"{rel}/{found[0].name}"
    try:
        docs = load_documents(found[0].read_bytes(), file)
    except YamlInputError as exc:
        raise InputError(str(exc)) from None
    kind = docs[0].value.get("kind") if docs and isinstance(docs[0].value, dict) else None
    if kind != "Component":
        line = docs[0].position(("kind",))[0] if docs else 1
        raise InputError(f"{file}:{line}: field 'kind': is {kind!r}; the per-cluster overlay must be "
                         "'kind: Component' with 'apiVersion: kustomize.config.k8s.io/v1alpha1' so that its patches "
                         "apply to the generated objects")
    return True


def render(repo: Path, specs: list[ClusterSpec]) -> list[Rendered]:
    return [Rendered(spec, render_bundle(spec, user_overlay(repo, spec.name))) for spec in specs]


def stage(repo: Path, rendered: list[Rendered], root: Path) -> None:
    """Lay the bundles (and the users' overlays they include) out under ``root`` as in the repo."""
    for item in rendered:
        out = root / "output" / item.spec.name
        for rel, data in item.bundle.files.items():
            target = out / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        source = repo / "overlays" / item.spec.name
        if source.is_dir():
            shutil.copytree(source, root / "overlays" / item.spec.name, symlinks=False)


def overlay_dirs(spec: ClusterSpec) -> dict[str, str]:
    return {mode: f"output/{spec.name}/overlays/{mode}" for mode in MODES}


def _input_digest(repo: Path, item: Rendered, command: list[str]) -> str:
    """Digest of everything a cluster's kustomize builds read: its bundle and its users' overlay."""
    digest = hashlib.sha256(json.dumps(command).encode())
    for rel, data in sorted(item.bundle.files.items()):
        digest.update(f"output/{rel}\0{len(data)}\0".encode() + data)
    source = repo / "overlays" / item.spec.name
    if source.is_dir():
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            data = path.read_bytes()
            digest.update(f"overlays/{path.relative_to(source).as_posix()}\0{len(data)}\0".encode() + data)
    return digest.hexdigest()


def _build_cache_dir() -> Path:
    from generator.validate.store import default_cache_dir

    return default_cache_dir().parent / "kustomize"


def _cached(path: Path) -> dict[str, kustomize.BuildResult] | None:
    try:
        raw = json.loads(path.read_text("utf-8"))
        return {mode: kustomize.BuildResult(Path(raw["dir"]) / mode, raw["modes"][mode]["objects"],
                                            raw["modes"][mode]["error"]) for mode in MODES}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _store(path: Path, directory: Path, results: dict[str, kustomize.BuildResult]) -> None:
    """Best effort: a read-only or full cache only costs speed. Failed builds are not cached."""
    if any(r.error for r in results.values()):
        return
    modes = {mode: {"objects": r.objects, "error": r.error} for mode, r in results.items()}
    payload = {"dir": str(directory), "modes": modes}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(payload), "utf-8")
        os.replace(tmp, path)
    except OSError:
        pass


def build_overlays(repo: Path, rendered: list[Rendered]) -> dict[tuple[str, str], kustomize.BuildResult]:
    """kustomize-build every mode overlay of every bundle; keyed by (cluster, mode).

    Builds are cached by a digest of their inputs (bundle bytes, the users' overlay, the kustomize
    command), so an unchanged cluster costs no kustomize call on the next run or in ``gen check``.
    """
    command = kustomize.kustomize_command()
    cache = _build_cache_dir()
    results: dict[tuple[str, str], kustomize.BuildResult] = {}
    todo: list[tuple[Rendered, Path]] = []
    for item in rendered:
        entry = cache / f"{_input_digest(repo, item, command)}.json"
        hit = _cached(entry)
        if hit is None:
            todo.append((item, entry))
        else:
            results.update({(item.spec.name, mode): result for mode, result in hit.items()})
    if not todo:
        return results
    with tempfile.TemporaryDirectory(prefix="gen-stage-") as tmp:
        root = Path(tmp)
        stage(repo, [item for item, _ in todo], root)
        dirs = [root / overlay_dirs(item.spec)[mode] for item, _ in todo for mode in MODES]
        built = iter(kustomize.build_many(dirs))
        for item, entry in todo:
            per_mode = {mode: next(built) for mode in MODES}
            _store(entry, root / f"output/{item.spec.name}/overlays", per_mode)
            results.update({(item.spec.name, mode): result for mode, result in per_mode.items()})
    return results


def kustomize_findings(rendered: list[Rendered],
                       builds: dict[tuple[str, str], kustomize.BuildResult]) -> list[Finding]:
    findings = []
    for item in rendered:
        for mode, rel in overlay_dirs(item.spec).items():
            result = builds[(item.spec.name, mode)]
            if result.error:
                message = result.error.replace(str(result.directory.parents[3]) + "/", "")
                findings.append(Finding(rel, "", "", "kustomize", f"kustomize build failed: {message}"))
    return findings


ARGOCD_VERSIONS = ("v2.14.21", "v3.5.1")  # Argo CD releases whose CRDs the Applications must satisfy
# The guide's SR-IOV config uses the resource prefix `rdma` (pods ask for rdma/ib). The operator's admission
# webhook, which these chart values leave off (the chart's default), would want an FQDN prefix; the device
# plugin itself accepts `rdma`. The generated file carries the matching `# gen-lint: disable=` comment.
BUNDLE_DISABLED_RULES = ("webhook-resource-prefix",)
FLEET = "fleet"  # output/fleet/: the bootstrap for every cluster (written by `gen bundle --all`)
FLEET_FILE = "bootstrap.yaml"


def fleet_bundle(specs: list[ClusterSpec]) -> Bundle:
    """output/fleet/bootstrap.yaml: every cluster's AppProject and the ApplicationSet, applied once per Argo CD."""
    docs = fleet.bootstrap(sorted(specs, key=lambda s: s.name))
    head = ("# Generated by rdma-gitops from clusters/*.yaml; do not edit. Run: gen bundle --all\n"
            "# Apply once per Argo CD: kubectl apply -f output/fleet/bootstrap.yaml\n")
    return Bundle(cluster=FLEET, spec_file="clusters/", files={FLEET_FILE: dump_documents(docs, head)},
                  objects={FLEET_FILE: docs})


def _source_file(item: Rendered, obj: dict[str, Any], overlay: str) -> str:
    """The generated file an object built by kustomize came from (for messages)."""
    metadata = obj.get("metadata")
    kind, name = obj.get("kind"), metadata.get("name") if isinstance(metadata, dict) else None
    for rel, docs in item.bundle.objects.items():
        if rel.endswith("kustomization.yaml"):
            continue
        for doc in docs:
            if doc.get("kind") == kind and doc.get("metadata", {}).get("name") == name:
                return f"output/{item.spec.name}/{rel}"
    return f"{overlay} (kustomize build; from overlays/{item.spec.name}/?)"


def validate(repo: Path, rendered: list[Rendered], mirror: Path | None) -> list[Finding]:
    """Every finding about the bundles: kustomize builds, then strict schemas of what Argo CD applies."""
    from generator.lint.engine import lint_objects
    from generator.validate.engine import Validator
    from generator.validate.store import open_store

    builds = build_overlays(repo, rendered)
    findings = kustomize_findings(rendered, builds)
    store = open_store(mirror)
    validators: dict[tuple[str, str], Validator] = {}

    def validator(release: str, argocd: str = ARGOCD_VERSIONS[-1]) -> Validator:
        if (release, argocd) not in validators:
            validators[(release, argocd)] = Validator(release, argocd, store=store)
        return validators[(release, argocd)]

    for item in rendered:
        release = item.spec.release.tag
        base = f"output/{item.spec.name}"
        for mode, rel in overlay_dirs(item.spec).items():
            objs = [(obj, _source_file(item, obj, rel)) for obj in builds[(item.spec.name, mode)].objects]
            if mode == item.spec.mode:  # the example pods must fit the policy Argo CD applies
                objs += [(obj, f"{base}/examples/pod.yaml") for obj in item.bundle.objects["examples/pod.yaml"]]
            findings += lint_objects(objs, release, vm_nics=item.spec.vm_size.nics, store=store,
                                     disable=BUNDLE_DISABLED_RULES)
        for rel, docs in item.bundle.objects.items():
            if rel.startswith("argocd/") and not rel.endswith("kustomization.yaml"):
                for argocd in ARGOCD_VERSIONS:
                    findings += [f for obj in docs for f in validator(release, argocd).validate(obj, f"{base}/{rel}")]
    if rendered:
        fleet = fleet_bundle([item.spec for item in rendered])
        for argocd in ARGOCD_VERSIONS:
            findings += [f for obj in fleet.objects[FLEET_FILE] for f in
                         validator(rendered[0].spec.release.tag, argocd).validate(obj, f"output/fleet/{FLEET_FILE}")]
    return sorted(set(findings), key=lambda f: (f.file, f.object, f.path, f.message))
