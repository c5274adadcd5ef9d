"""maint/regenerate_cluster_schema.py: the committed cluster schema restates the catalog exactly."""

from __future__ import annotations

import json

from maint import regenerate_cluster_schema as regen
from tests.conftest import REPO


def test_committed_schema_is_regenerated_from_the_catalog() -> None:
    committed = (REPO / "schemas" / "cluster.schema.json").read_text("utf-8")
    assert regen.dumps(regen.regenerated(json.loads(committed))) == committed, (
        "schemas/cluster.schema.json is stale: python -m maint.regenerate_cluster_schema")
