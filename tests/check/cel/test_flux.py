"""Flux's health expressions, evaluated as Flux evaluates them (fluxcd/pkg runtime/cel with cel-go v0.26): the
verdicts of the expressions gen writes, and the environment's edges where gen must agree with Flux."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema_rs
import pytest

from generator import catalog
from generator.check.cel.flux import CURRENT, FAILED, IN_PROGRESS, UNKNOWN, verdict
from generator.check.cel.runtime import CelError
from generator.check.validators.kinds import schemas_for
from generator.render import bundle_objects
from generator.render.flux import health_checks, health_kinds
from tests.helpers import make_cluster

NCP = "mellanox.com/v1alpha1/NicClusterPolicy"


def _policy(status: dict[str, Any] | None) -> dict[str, Any]:
    obj = bundle_objects.nic_cluster_policy(make_cluster(mode="sriov"))
    obj["metadata"]["generation"] = 3
    if status is not None:
        obj["status"] = status
    return obj


def test_the_issues_verdicts_for_the_nic_cluster_policy() -> None:
    """The acceptance: not ready without a status or with notReady; ready with ready (and failed on error)."""
    [check] = health_checks((NCP,))
    assert verdict(check, _policy(None))[0] in (IN_PROGRESS, UNKNOWN)
    assert verdict(check, _policy({"state": "notReady"})) == (IN_PROGRESS, "inProgress is true")
    assert verdict(check, _policy({"state": "ready"})) == (CURRENT, "current is true")
    assert verdict(check, _policy({"state": "error", "reason": "x"}))[0] == FAILED
    assert verdict(check, _policy({"state": "ignore"}))[0] == FAILED


def test_no_status_at_all_is_an_error_flux_waits_on() -> None:
    """Flux's variables are the object's top-level fields: with no status, `status` is no variable, and has() of it
    errors in cel-go (interpreter/attributes.go: "no such attribute(s)"); kstatus makes that Unknown."""
    [check] = health_checks((NCP,))
    said, why = verdict(check, _policy(None))
    assert (said, why) == (UNKNOWN, "inProgress: no such attribute(s): status")


@pytest.mark.parametrize("kind", health_kinds())
def test_every_expression_says_what_each_sample_needs(kind: str) -> None:
    [check] = health_checks((kind,))
    samples = catalog.status_samples()[kind]
    assert {s.name for s in samples} >= {"no status yet", "notReady", "ready"}
    assert any(tuple(s.expect) == ("failed",) for s in samples)  # a state that fails (error; a ClusterPolicy: ignored)
    for sample in samples:
        obj = {"apiVersion": kind.rpartition("/")[0], "kind": kind.rpartition("/")[2],
               "metadata": {"name": "x", "generation": 1}, "spec": {}}
        if sample.status is not None:
            obj["status"] = copy.deepcopy(sample.status)
        assert verdict(check, obj)[0] in sample.expect, (kind, sample.name)


def _status_validator(kind: str) -> Any:
    """The strict schema of a kind's status, from its CRD in the newest release (NicNodePolicy exists only there)."""
    api_version, _, name = kind.rpartition("/")
    custom = schemas_for("v26.4.1").custom(api_version, name)
    assert custom is not None
    return jsonschema_rs.Draft202012Validator(custom.schema["properties"]["status"])


@pytest.mark.parametrize("kind", sorted(catalog.status_samples()))
def test_samples_are_statuses_the_crds_admit(kind: str) -> None:
    """Each sample's status is valid against its CRD (strict), so the samples are statuses the operator can write."""
    validator = _status_validator(kind)
    for sample in catalog.status_samples()[kind]:
        if sample.status is not None:
            assert validator.is_valid(sample.status), (kind, sample.name, list(validator.iter_errors(sample.status)))


def test_a_sample_outside_the_crd_is_caught() -> None:
    """The check above can fail: a state the CRD's enum does not have, a field it does not know, no state."""
    validator = _status_validator(NCP)
    for bad in ({"state": "Ready"}, {"state": "ready", "phase": "x"}, {"reason": "x"}):
        assert not validator.is_valid(bad)


# -- Flux's environment: what gen must agree with --------------------------------------------------------------


@pytest.mark.parametrize(("current", "obj", "expected"), [
    # cel-go's ext.Strings, ext.Sets, ext.Encoders and optional types are in Flux's environment
    ("status.state.upperAscii() == 'READY'", {"status": {"state": "ready"}}, CURRENT),
    ("sets.contains(['a', 'b'], ['b'])", {}, CURRENT),
    ("sets.intersects([1], [1.0])", {}, CURRENT),
    ("sets.equivalent([1, 2], [2, 1, 1])", {}, CURRENT),
    ("base64.encode(b'x') == 'eA=='", {}, CURRENT),
    ("status.?state.orValue('none') == 'none'", {"status": {}}, CURRENT),
    ("1 < 1.5", {}, CURRENT),  # cross-type numeric comparisons
    # no Kubernetes library: quantity(), url(), isSorted() are no overloads there
    ("quantity('1') == quantity('1')", {}, UNKNOWN),
    ("[1, 2].isSorted()", {}, UNKNOWN),
    ("url('https://x').getHost() == 'x'", {}, UNKNOWN),
    # names: the object's top-level fields only; `self` is not one
    ("self.status.state == 'ready'", {"status": {"state": "ready"}}, UNKNOWN),
    ("stauts.state == 'ready'", {"status": {"state": "ready"}}, UNKNOWN),
    # a missing key without has() is an error (Unknown), not false
    ("status.state == 'ready'", {"status": {}}, UNKNOWN),
    # not a bool: EvaluateBoolean fails, Unknown
    ("status.state", {"status": {"state": "ready"}}, UNKNOWN),
    ("false", {}, IN_PROGRESS),  # nothing true
])
def test_flux_environment(current: str, obj: dict[str, Any], expected: str) -> None:
    assert verdict({"current": current}, {"metadata": {"name": "x"}, **obj})[0] == expected


def test_observed_generation_behind_is_in_progress_before_any_expression() -> None:
    check = {"current": "true"}
    behind = {"metadata": {"generation": 2}, "status": {"observedGeneration": 1}}
    assert verdict(check, behind) == (IN_PROGRESS, "status.observedGeneration differs from metadata.generation")
    assert verdict(check, {"metadata": {"generation": 2}, "status": {"observedGeneration": 2}})[0] == CURRENT
    # a string observedGeneration is skipped (runtime/cel: "fix requiring int status.observedGeneration")
    assert verdict(check, {"metadata": {"generation": 2}, "status": {"observedGeneration": "1"}})[0] == CURRENT


def test_order_in_progress_then_failed_then_current() -> None:
    everything = {"current": "true", "failed": "true", "inProgress": "true"}
    assert verdict(everything, {})[0] == IN_PROGRESS
    assert verdict({**everything, "inProgress": "false"}, {})[0] == FAILED


@pytest.mark.parametrize("bad", ["status.state ==", "has(status)", "x" * 20000])
def test_what_flux_cannot_parse_is_refused(bad: str) -> None:
    with pytest.raises(CelError):
        verdict({"current": bad}, {})


def test_current_is_required() -> None:
    with pytest.raises(CelError):
        verdict({"inProgress": "true"}, {})
