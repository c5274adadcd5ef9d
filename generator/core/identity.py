"""What gen is, for the keys of what it derives and caches: every file of the gen package (code, catalog, schema lock,
templates) and the versions of the libraries it runs. A new gen, or any edit to it, is another gen."""

from __future__ import annotations

import functools
import os
from pathlib import Path

from generator.core.cache import digest

PACKAGE = Path(__file__).resolve().parents[1]  # generator/
LIBRARIES = ("PyYAML", "jsonschema-rs", "kubernetes-validate", "ruamel.yaml", "cel-expr-python")


@functools.cache
def package_digest() -> str:
    """Every file of the gen package (but compiled bytecode), by path and bytes, and the libraries' versions."""
    from importlib import metadata

    parts: list[bytes | str] = []
    for here, dirs, files in os.walk(PACKAGE):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if not name.endswith((".pyc", ".pyo")):
                path = Path(here) / name
                parts += [path.relative_to(PACKAGE).as_posix(), path.read_bytes()]
    for library in LIBRARIES:
        try:
            parts += [library, metadata.version(library)]
        except metadata.PackageNotFoundError:
            parts += [library, "-"]
    return digest(*parts)
