"""Small helpers the tests share: a cluster from spec text, the checks of one object, the checks of bundles."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from generator.check.bundles import check_bundles
from generator.check.schema import check_schema
from generator.check.validators.kinds import schemas_for
from generator.cluster.model import Cluster
from generator.core.finding import Finding
from generator.pipeline.clusters import checked_cluster
from generator.programs.overlays import build_overlays
from generator.render import Rendered
from generator.sources.schema_store import open_store
from tests.conftest import UPSTREAM, spec_text


def make_cluster(name: str = "prod", mode: str = "sriov", extra: str = "", version: str = "v25.4.0",
                 vm_size: str = "Standard_ND96asr_v4") -> Cluster:
    return checked_cluster(spec_text(name=name, mode=mode, version=version, vm_size=vm_size, extra=extra).encode(),
                         f"clusters/{name}.yaml", expected_name=name)


def schema_findings(obj: Any, release: str, argocd: str | None = None) -> list[Finding]:
    """The strict-schema findings of one object (offline store)."""
    return check_schema(obj, schemas_for(release, argocd, open_store(UPSTREAM)))


def errors(findings: list[Finding]) -> list[tuple[str, str]]:
    """(dotted path, message) of the errors."""
    return [(f.dotted_path, f.message) for f in findings if f.severity == "error"]


def bundle_findings(repo: Path, rendered: Rendered) -> list[Finding]:
    """What gen bundle checks: every overlay built with the real kustomize, everything checked."""
    builds = build_overlays(repo, [bundle for _, bundle in rendered.clusters])
    return check_bundles(repo, rendered.clusters, rendered.fleet, builds, open_store(UPSTREAM))
