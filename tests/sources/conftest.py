"""Fixtures: the read-only reference mirror (../shared/upstream), as the stores read it."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.sources.schema_store import SchemaStore, open_store
from tests.conftest import UPSTREAM


@pytest.fixture(scope="session")
def mirror() -> Path:
    return UPSTREAM


@pytest.fixture(scope="session")
def store() -> SchemaStore:
    return open_store(UPSTREAM)
