"""maint/derive_gpu_chart_facts.py: the committed GPU Operator chart facts are what it derives from ../shared now."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from maint import derive_gpu_chart_facts as derive
from tests.conftest import UPSTREAM

SHARED = UPSTREAM / "gpu-operator"


@pytest.fixture(scope="module")
def template_facts() -> dict[str, Any]:
    facts: dict[str, Any] = derive.base.load_yaml(derive.DEFAULT_TEMPLATE_FACTS)
    return facts


def test_facts_are_what_the_derivation_gives_now(template_facts: dict[str, Any]) -> None:
    for tag, facts in derive.derive_all(SHARED, template_facts).items():
        committed = derive.out_path(derive.DEFAULT_OUT, tag).read_text("utf-8")
        assert committed == derive.render(facts), \
            f"charts/gpu-operator-{tag}.yaml is stale: python -m maint.derive_gpu_chart_facts"


def test_the_published_chart_s_versions_replace_the_git_chart_s(template_facts: dict[str, Any]) -> None:
    facts = derive.derive_base(SHARED, "v26.3.3", template_facts)
    assert facts["chart"]["version"] == facts["chart"]["appVersion"] == "v26.3.3"
    assert facts["chart"]["gitVersion"] == "v1.0.0-devel"
    [operator] = [i for i in facts["images"] if i["keys"].get("repository") == "operator.repository"]
    assert operator["ref"] == "nvcr.io/nvidia/gpu-operator:v26.3.3" and operator["keys"]["tag"] == "operator.version"
    assert facts["clusterPolicy"]["spec"]["validator"]["version"] == "v26.3.3"
    driver = next(o for o in facts["operands"] if o["component"] == "driver")
    assert driver["osSuffix"] and driver["enabledBy"] == "driver.enabled"


def test_a_policy_value_the_chart_does_not_know_is_named(template_facts: dict[str, Any]) -> None:
    broken = copy.deepcopy(template_facts)
    broken["clusterPolicyValues"]["driver.rdmaa.enabled"] = {}
    with pytest.raises(ValueError, match=r"driver\.rdmaa\.enabled"):
        derive.derive_base(SHARED, "v26.3.3", broken)
