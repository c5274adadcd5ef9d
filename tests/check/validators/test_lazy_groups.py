"""The Argo CD, Flux and GPU Operator CRDs are read when one of their groups is first asked for: linting the
network-operator's objects never reads or converts them (Argo CD's are 1.1 MB converted). What a check says is the
same whichever was asked for first."""

from __future__ import annotations

from typing import Any

import pytest

from generator import catalog
from generator.check.schema import check_object
from generator.check.validators.kinds import Schemas
from generator.sources.schema_store import ARGO_CD, FLUX, GPU_OPERATOR, SchemaStore

POLICY = ("mellanox.com/v1alpha1", "NicClusterPolicy")
APPLICATION = ("argoproj.io/v1alpha1", "Application")


class _Recording:
    """A schema store that notes the projects whose files are asked for."""

    def __init__(self, store: SchemaStore):
        self.store = store
        self.asked: list[str] = []

    def files(self, project: str, tag: str, subdir: str | None = None) -> Any:
        self.asked.append(project)
        return self.store.files(project, tag, subdir)

    def read(self, path: str) -> bytes:
        return self.store.read(path)


def _fresh(store: SchemaStore) -> tuple[Schemas, list[str]]:
    """A Schemas of its own (not the process's shared one) and the projects whose files it asked the store for."""
    recording = _Recording(store)
    cat = catalog.load()
    return Schemas(cat.default_release, cat.default_argocd, recording, cat.lint_kubernetes), recording.asked  # type: ignore[arg-type]


def test_the_network_operators_kinds_read_no_other_crds(store: SchemaStore) -> None:
    schemas, asked = _fresh(store)
    assert schemas.validator(*POLICY) is not None
    assert schemas.cluster_scoped(*POLICY) is True
    assert not {ARGO_CD, FLUX, GPU_OPERATOR} & set(asked)
    assert schemas.validator(*APPLICATION) is not None
    assert asked.count(ARGO_CD) == 1
    assert schemas.validator("argoproj.io/v1alpha1", "AppProject") is not None
    assert asked.count(ARGO_CD) == 1  # read once


@pytest.mark.parametrize("first", ["served", "scope", "kinds", "lookup"])
def test_argo_cds_kinds_are_known_however_they_are_first_asked_for(
        store: SchemaStore, first: str) -> None:
    schemas, _ = _fresh(store)
    if first == "served":
        assert "argoproj.io/v1alpha1" in schemas.served("Application")
    elif first == "scope":
        assert schemas.scope_of("argoproj.io", "AppProject") == "Namespaced"
    elif first == "kinds":
        assert APPLICATION in schemas.custom_kinds()
    else:
        assert schemas.custom(*APPLICATION) is not None
    assert schemas.served("ApplicationSet") == ["argoproj.io/v1alpha1"]


def test_a_kind_at_a_version_not_served_names_the_served_one_with_nothing_read_before(
        store: SchemaStore) -> None:
    """An Application at an apiVersion no CRD serves, checked before any Argo CD kind was asked for: the message
    names the version Argo CD's CRD serves, as when the Argo CD CRDs were read first."""
    wrong = {"apiVersion": "app.example.com/v1", "kind": "Application", "metadata": {"name": "a"}}
    schemas, _ = _fresh(store)
    cold = [f.message for f in check_object(wrong, schemas).findings]
    warm_schemas, _ = _fresh(store)
    warm_schemas.validator(*APPLICATION)
    assert cold == [f.message for f in check_object(wrong, warm_schemas).findings]
    assert any("'argoproj.io/v1alpha1'" in message for message in cold)
