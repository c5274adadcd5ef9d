"""Fixtures: the read-only reference mirror (../shared/upstream) as a schema store, and Schemas per release."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from generator.check.validators.kinds import Schemas, schemas_for
from generator.sources.schema_store import SchemaStore, open_store
from tests.conftest import UPSTREAM

MIRROR = UPSTREAM


@pytest.fixture(scope="session")
def mirror() -> object:
    return MIRROR


@pytest.fixture(scope="session")
def store() -> SchemaStore:
    return open_store(MIRROR)


@pytest.fixture(scope="session")
def schemas(store: SchemaStore) -> Callable[..., Schemas]:
    def get(release: str, argocd: str = "v3.5.1") -> Schemas:
        return schemas_for(release, argocd, store)

    return get
