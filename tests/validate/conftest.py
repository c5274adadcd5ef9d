"""Fixtures: the read-only reference mirror (../shared/upstream) and a per-session schema cache."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from generator.validate.engine import Validator
from generator.validate.store import SchemaStore, open_store

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
MIRROR = SHARED / "upstream"


@pytest.fixture(scope="package", autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Never touch the user's real cache or follow their mirror setting."""
    mp = pytest.MonkeyPatch()
    mp.setenv("GEN_SCHEMA_CACHE", str(tmp_path_factory.mktemp("schema-cache")))
    mp.delenv("GEN_SCHEMA_MIRROR", raising=False)
    yield
    mp.undo()


@pytest.fixture(scope="session")
def mirror() -> Path:
    if not MIRROR.is_dir():
        pytest.skip(f"reference mirror {MIRROR} not available")
    return MIRROR


@pytest.fixture(scope="session")
def store(mirror: Path, tmp_path_factory: pytest.TempPathFactory) -> SchemaStore:
    return open_store(mirror, cache=tmp_path_factory.mktemp("derived"))


@pytest.fixture(scope="session")
def validator(store: SchemaStore) -> Callable[..., Validator]:
    made: dict[tuple[str, str], Validator] = {}

    def get(release: str, argocd: str = "v3.5.1") -> Validator:
        if (release, argocd) not in made:
            made[(release, argocd)] = Validator(release, argocd, store=store)
        return made[(release, argocd)]

    return get
