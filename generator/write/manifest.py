"""The ownership manifest ``output/<cluster>/.gen-manifest.json``.

Format (UTF-8, ``json.dumps(sort_keys=True, indent=2)`` plus a trailing newline, no timestamps)::

    {
      "cluster": "prod",
      "files": {"kustomization.yaml": "<sha256 hex>", ...},
      "generator": "rdma-gitops/gen",
      "spec_file": "clusters/prod.yaml",
      "version": 1
    }

While an apply is in progress the manifest additionally carries ``"incomplete": true`` and
``files`` is the union of the old and new owned files, so a killed run never leaves a file that
gen wrote but no longer owns, and ``check()`` sees the manifest as out of date.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from generator.core.errors import InputError
from generator.core.fs import MAX_FILE_BYTES, read_regular
from generator.write.paths import check_rel_path
from generator.write.refusals import CorruptManifest, InvalidBundle

VERSION = 1
GENERATOR = "rdma-gitops/gen"
MAX_BYTES = MAX_FILE_BYTES  # a manifest of 100,000 files is about 10 MB


@dataclass(frozen=True)
class Manifest:
    cluster: str
    spec_file: str
    files: Mapping[str, str]  # bundle-relative path -> sha256 hex
    incomplete: bool = False

    def to_bytes(self) -> bytes:
        doc: dict[str, object] = {
            "cluster": self.cluster,
            "files": dict(sorted(self.files.items())),
            "generator": GENERATOR,
            "spec_file": self.spec_file,
            "version": VERSION,
        }
        if self.incomplete:
            doc["incomplete"] = True
        return (json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def for_files(cluster: str, spec_file: str, files: Mapping[str, bytes]) -> Manifest:
    return Manifest(cluster, spec_file, {p: sha256(b) for p, b in files.items()})


def read(path: Path, where: str) -> bytes:
    """The manifest's bytes (a regular file, at most ``MAX_BYTES``); CorruptManifest otherwise."""
    try:
        return read_regular(path, MAX_BYTES, where)
    except InputError as exc:
        raise CorruptManifest(f"{exc}; delete {where} and rerun gen with --force to re-adopt the generated "
                              "files") from None


def parse(data: bytes, where: str) -> Manifest:
    fix = f"; delete {where} and rerun gen with --force to re-adopt the generated files"
    try:
        doc = json.loads(data.decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CorruptManifest(f"{where} is not valid JSON ({e}){fix}") from None
    except RecursionError:  # a hand-made file of 100,000 nested '[': gen's own is three levels deep
        raise CorruptManifest(f"{where} is not a gen manifest (nested too deeply){fix}") from None
    if not isinstance(doc, dict) or doc.get("version") != VERSION or doc.get("generator") != GENERATOR:
        raise CorruptManifest(f"{where} is not a version-{VERSION} gen manifest{fix}")
    files = doc.get("files")
    if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
        raise CorruptManifest(f"{where}: 'files' must map paths to sha256 strings{fix}")
    for path in files:
        try:
            check_rel_path(path, where)
        except InvalidBundle as e:
            raise CorruptManifest(f"{e}{fix}") from None
    return Manifest(
        cluster=str(doc.get("cluster", "")),
        spec_file=str(doc.get("spec_file", "")),
        files=dict(files),
        incomplete=bool(doc.get("incomplete", False)),
    )
