"""Specs for every mode (and a fleet), plus strict Argo CD validators for both pinned Argo CD versions."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.pipeline import ARGOCD_VERSIONS
from generator.spec.load import parse_spec
from generator.spec.model import MODES, ClusterSpec
from generator.validate.engine import Validator
from generator.validate.store import open_store
from tests.conftest import UPSTREAM, spec_text


def make_spec(name: str = "prod", mode: str = "sriov", extra: str = "", version: str = "v25.4.0") -> ClusterSpec:
    return parse_spec(spec_text(name=name, mode=mode, version=version, extra=extra).encode(),
                      f"clusters/{name}.yaml", expected_name=name)


@pytest.fixture(scope="session")
def mode_specs() -> dict[str, ClusterSpec]:
    return {mode: make_spec(f"c-{mode}", mode) for mode in MODES}


@pytest.fixture(scope="session")
def validators() -> dict[str, Validator]:
    store = open_store(Path(UPSTREAM))
    return {version: Validator("v25.4.0", version, store=store) for version in ARGOCD_VERSIONS}
