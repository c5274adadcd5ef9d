"""rdma-gitops: cluster specs -> validated GitOps bundles for RDMA over InfiniBand on AKS."""

from __future__ import annotations

import functools
import re
from importlib import metadata
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


@functools.cache
def project_version() -> str:
    """rdma-gitops's version: the installed package's, else (a source tree) pyproject.toml's."""
    try:
        return metadata.version("rdma-gitops")
    except metadata.PackageNotFoundError:  # pragma: no cover - run from a source tree without installing
        found = re.search(r'^version = "([^"]+)"', PYPROJECT.read_text("utf-8"), re.M) if PYPROJECT.is_file() else None
        return found.group(1) if found else "0.0.0"
