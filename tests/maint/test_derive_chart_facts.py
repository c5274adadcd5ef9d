"""maint/derive_chart_facts.py: the committed chart facts are what it derives from ../shared now, and it names the
template-facts.yaml entries that do not fit the release."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from generator import catalog
from maint import derive_chart_facts as derive
from tests.conftest import UPSTREAM

SHARED = UPSTREAM / "network-operator"


@pytest.fixture(scope="module")
def template_facts() -> dict[str, Any]:
    facts: dict[str, Any] = derive.load_yaml(derive.DEFAULT_TEMPLATE_FACTS)
    return facts


def test_facts_are_what_the_derivation_gives_now(template_facts: dict[str, Any]) -> None:
    assert list(template_facts["window"]) == list(catalog.load().release_tags)
    for tag, facts in derive.derive_all(SHARED, template_facts).items():
        committed = (derive.DEFAULT_OUT / f"{tag}.yaml").read_text("utf-8")
        assert committed == derive.render(facts), f"charts/{tag}.yaml is stale: python -m maint.derive_chart_facts"


def _with(tf: dict[str, Any], section: str, entry: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(tf)
    out["window"] = out["window"][:1]
    out[section] = {**(out.get(section) or {}), **entry}
    return out


@pytest.mark.parametrize(("section", "entry", "message"), [
    ("inert", {"no.such.key": {"why": "x"}}, "inert key no.such.key is not a default values leaf"),
    ("extraKeys", {"operator.repository": {"why": "x"}}, "extra key operator.repository is already a default"),
    ("toggles", {"no.such.toggle": {}}, "toggle no.such.toggle is not a values key of this release"),
    ("toggles", {"x@1": {"key": "nfd.enabled", "select": [{"source": "nope/"}]}}, "matches no rendered object"),
])
def test_template_facts_that_do_not_fit_are_named(
    template_facts: dict[str, Any], section: str, entry: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        derive.derive_all(SHARED, _with(template_facts, section, entry))


def test_declared_hooks_become_argocd_phases() -> None:
    scopes = derive.Scopes([], {})
    declared = {"apiVersion": "batch/v1", "kind": "Job", "name": "j", "when": "w",
                "hook": {"phases": ["pre-upgrade", "post-delete"], "deletePolicy": ["b", "a"]}}
    assert derive.declared_object(declared, scopes) == {
        "apiVersion": "batch/v1", "kind": "Job", "name": "j", "namespaced": True,
        "hook": {"phases": ["post-delete", "pre-upgrade"], "weight": 0, "deletePolicy": ["a", "b"],
                 "argocd": ["PostDelete", "PreSync"]},
        "when": "w",
    }


def test_a_dependency_condition_is_decided_by_its_first_set_path() -> None:
    values = {"a": {"enabled": False}, "b": {"enabled": True}}
    assert derive.condition_enabled(values, "x.enabled, a.enabled,b.enabled") is False
    assert derive.condition_enabled(values, "x.enabled") is True
    assert derive.condition_enabled(values, None) is True
