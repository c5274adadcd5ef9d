"""Every adjacent upgrade, for every mode: the plan (golden), a bundle valid for the target release, and every field
the cluster used that the target's CRDs no longer have named as removed.

Regenerate the golden plans after a deliberate change: GEN_UPDATE_GOLDEN=1 pytest tests/upgrade/test_plans.py
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest

from generator import catalog
from generator.check.schema import check_schema
from generator.check.validators.kinds import schemas_for
from generator.cli.upgrade import _built, plan_upgrade
from generator.cluster.model import MODES
from generator.pipeline.clusters import load_cluster
from generator.pipeline.messages import Messages
from generator.sources.schema_store import open_store
from generator.upgrade import plan_text as report
from generator.upgrade.schema_changes import REMOVED
from tests.conftest import UPSTREAM, write_spec

GOLDEN = Path(__file__).parent / "golden"
TAGS = catalog.load().release_tags
PAIRS = list(itertools.pairwise(TAGS))


def _removed_fields(repo: Path, tag: str) -> set[str]:
    """Independently of the plan: the fields of the cluster's objects that the target's strict schemas call unknown."""
    old = _built(repo, load_cluster(repo, "prod"), UPSTREAM, Messages())
    schemas = schemas_for(tag, None, open_store(UPSTREAM))
    found = set()
    for obj in old.objects:
        if schemas.custom(str(obj["apiVersion"]), str(obj["kind"])) is None:
            continue
        found |= {f.dotted_path for f in check_schema(obj, schemas) if "unknown field" in f.message}
    return found


@pytest.mark.kustomize
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("source", "target"), PAIRS, ids=[f"{a}-{b}" for a, b in PAIRS])
def test_adjacent_upgrade(gitops_repo: Path, mode: str, source: str, target: str) -> None:
    write_spec(gitops_repo, mode=mode, version=source)
    removed = _removed_fields(gitops_repo, target)
    upgrade = plan_upgrade(gitops_repo, "prod", target, accept_breaking=False, mirror=UPSTREAM, messages=Messages())
    assert upgrade is not None
    [step] = upgrade.plan.steps
    assert step.target.release.tag == target and not step.errors and not upgrade.plan.refused
    assert removed <= {c.path for c in step.fields if c.change == REMOVED and c.breaking}
    text = report.render(upgrade.plan)
    golden = GOLDEN / f"{mode}-{source}-{target}.txt"
    if os.environ.get("GEN_UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text(), f"plan changed; if deliberate: GEN_UPDATE_GOLDEN=1 pytest {__file__}"
