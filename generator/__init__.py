"""rdma-gitops: cluster specs -> validated GitOps bundles for RDMA over InfiniBand on AKS."""

from __future__ import annotations

import functools
import re
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


@functools.cache
def project_version() -> str:
    """rdma-gitops's version: the installed package's, else (a source tree) pyproject.toml's."""
    from importlib import metadata  # on first use: importing it takes longer than most commands' own work

    try:
        return metadata.version("rdma-gitops")
    except metadata.PackageNotFoundError:  # pragma: no cover - run from a source tree without installing
        found = re.search(r'^version = "([^"]+)"', PYPROJECT.read_text("utf-8"), re.M) if PYPROJECT.is_file() else None
        return found.group(1) if found else "0.0.0"


SOURCE_LABEL = "Source"  # pyproject.toml [project.urls]


@functools.cache
def project_source() -> str:
    """Where rdma-gitops's source is published (pyproject.toml ``[project.urls] Source``): the installed package's
    metadata, else (a source tree) pyproject.toml's; "" when neither says."""
    from importlib import metadata

    try:
        for entry in metadata.metadata("rdma-gitops").get_all("Project-URL") or []:
            label, _, url = entry.partition(",")
            if label.strip() == SOURCE_LABEL and url.strip():
                return url.strip()
    except metadata.PackageNotFoundError:  # pragma: no cover - run from a source tree without installing
        pass
    found = re.search(rf'^{SOURCE_LABEL} = "([^"]+)"', PYPROJECT.read_text("utf-8"), re.M) if PYPROJECT.is_file() \
        else None
    return found.group(1) if found else ""


def install_requirement() -> str:
    """The pip requirement that installs this gen from its source, at its release tag: ``git+<source>@v<version>``
    (no package index holds rdma-gitops); "" when the source is not known."""
    source = project_source()
    return f"git+{source}@v{project_version()}" if source else ""
