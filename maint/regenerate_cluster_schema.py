"""Regenerate the parts of ``schemas/cluster.schema.json`` that restate the catalog: the release enum, default and
description, and the known VM sizes (``generator/catalog/releases.yaml``, ``vm-sizes.yaml``).

A maintainer tool (not installed with gen), run from the repository root after a catalog change::

    .venv/bin/python -m maint.regenerate_cluster_schema

The rest of the schema is written by hand. A test fails when the committed file is stale (tests/maint).
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

from generator import catalog
from generator.cluster.spec_schema import REPO_SCHEMA


def regenerated(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with the release and VM-size facts taken from the catalog."""
    cat = catalog.load()
    out = copy.deepcopy(schema)
    version = out["properties"]["networkOperator"]["properties"]["version"]
    version["enum"] = list(cat.release_tags)
    version["default"] = cat.default_release
    version["description"] = ("Release tag; sets the chart version and every component image. Known: "
                              + ", ".join(cat.release_tags) + ".")
    vm_size = out["properties"]["vmSize"]
    vm_size["description"] = ("Azure VM size of the InfiniBand node pool. Known: " + ", ".join(cat.vm_sizes)
                              + ". Any other size needs `nic`.")
    vm_size["examples"] = list(cat.vm_sizes)
    return out


def dumps(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def main(path: Path = REPO_SCHEMA) -> int:
    current = path.read_text("utf-8")
    text = dumps(regenerated(json.loads(current)))
    if current == text:
        print(f"{path.name}: up to date")
        return 0
    path.write_text(text, "utf-8")
    print(f"{path.name}: rewritten from the catalog")
    return 0


if __name__ == "__main__":
    sys.exit(main())
