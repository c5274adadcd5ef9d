"""Values that pass a schema and fail in the cluster: each is refused with the file, the line and the field, or (plain
http) accepted with a warning."""

from __future__ import annotations

import pytest

from generator.cluster.parse import SpecError
from generator.pipeline.clusters import checked_cluster
from tests.conftest import spec_text

REPO_URL = "https://github.com/example/aks-gitops.git"


def _parse(text: str):  # type: ignore[no-untyped-def]
    return checked_cluster(text.encode(), "clusters/prod.yaml", expected_name="prod")


def _with(old: str, new: str) -> str:
    text = spec_text()
    assert old in text
    return text.replace(old, new, 1)


CASES = [
    # integers the device plugins read as Go ints: 63.0 would be written into their JSON
    (spec_text(extra="shared:\n  rdmaHcaMax: 63.0\n"), "shared.rdmaHcaMax", "whole number"),
    (spec_text(extra="ipoib:\n  perNodeBlockSize: 64.0\n"), "ipoib.perNodeBlockSize", "whole number"),
    (spec_text(extra="nic:\n  count: 8.0\n"), "nic.count", "whole number"),
    # credentials would be committed in four files
    (_with(REPO_URL, "https://user:token@github.com/example/aks-gitops.git"), "argocd.repoURL", "credentials"),
    (_with(REPO_URL, "https://ghp_token@github.com/example/aks-gitops.git"), "argocd.repoURL", "credentials"),
    (_with(REPO_URL, "ssh://git:secret@git.example/x.git"), "argocd.repoURL", "credentials"),
    # control characters and spaces where Argo CD takes a name, a URL or a revision
    (_with(REPO_URL, '"https://github.com/x\\ny.git"'), "argocd.repoURL", "control character"),
    (_with(REPO_URL, '"https://github.com/x\\0y.git"'), "argocd.repoURL", "control character"),
    (_with("targetRevision: main", 'targetRevision: "ma in"'), "argocd.targetRevision", "space"),
    (_with("targetRevision: main", 'targetRevision: "main\\n"'), "argocd.targetRevision", "control character"),
    (_with("targetRevision: main", 'targetRevision: "ma\\0in"'), "argocd.targetRevision", "control character"),
    (_with("targetRevision: main", 'targetRevision: "ma\\ein"'), "argocd.targetRevision", "control character"),
    (spec_text(extra='  destination:\n    name: "gpu\\nwest"\n'), "argocd.destination.name", "control character"),
    (spec_text(extra='  destination:\n    name: "gpu\\0west"\n'), "argocd.destination.name", "control character"),
    # address ranges that hand out nothing, or what pods cannot use
    (spec_text(extra="ipoib:\n  range: 0.0.0.0/0\n"), "ipoib.range", "wider than a /8"),
    (spec_text(extra="ipoib:\n  range: 10.0.0.0/7\n"), "ipoib.range", "wider than a /8"),
    (spec_text(extra="ipoib:\n  range: 10.0.0.0/32\n"), "ipoib.range", "holds no address"),
    (spec_text(extra="ipoib:\n  range: 10.0.0.0/31\n"), "ipoib.range", "holds no address"),
    (spec_text(extra="ipoib:\n  range: 127.0.0.0/8\n"), "ipoib.range", "loopback"),
    (spec_text(extra="ipoib:\n  range: 224.0.0.0/24\n"), "ipoib.range", "multicast"),
    (spec_text(extra="ipoib:\n  range: 10.0.0.0/30\n  exclude: [10.0.0.0/30]\n"), "ipoib.exclude", "leave no address"),
    (spec_text(extra="ipoib:\n  range: 10.0.0.0/29\n  exclude: [10.0.0.0/30, 10.0.0.4/30]\n"), "ipoib.exclude",
     "leave no address"),
    # names the operator or a container runtime would refuse
    (spec_text(extra="verify:\n  image: 'Not An Image!'\n"), "verify.image", "required form"),
    (spec_text(extra="verify:\n  image: 'registry.example/x:'\n"), "verify.image", ""),
    (spec_text(extra="ipoib:\n  master: '..'\n"), "ipoib.master", "required form"),
    (spec_text(extra="ipoib:\n  master: '.'\n"), "ipoib.master", "required form"),
    (_with("networkOperator:\n", "networkOperator:\n  namespace: kube-system\n"), "networkOperator.namespace",
     "system namespace"),
    (_with("networkOperator:\n", "networkOperator:\n  namespace: kube-node-lease\n"), "networkOperator.namespace",
     "system namespace"),
]


@pytest.mark.parametrize(("text", "field", "words"), CASES, ids=[f"{c[1]}-{i}" for i, c in enumerate(CASES)])
def test_refused_with_file_line_and_field(text: str, field: str, words: str) -> None:
    with pytest.raises(SpecError) as caught:
        _parse(text)
    error = caught.value
    assert error.file == "clusters/prod.yaml" and error.line and error.field == field, str(error)
    assert words in error.message


@pytest.mark.parametrize("tagged", ["tolerations: !foo []\n", "tolerations: !!map []\n", "shared: !!str {}\n",
                                    "shared: !custom {rdmaHcaMax: 2}\n"])
def test_tags_on_collections_are_refused_not_ignored(tagged: str) -> None:
    with pytest.raises(SpecError, match="YAML tag") as caught:
        _parse(spec_text(extra=tagged))
    assert caught.value.line == 9


def test_standard_tags_that_match_are_accepted() -> None:
    assert _parse(spec_text(extra="tolerations: !!seq []\n")).tolerations == ()


def test_plain_http_is_a_warning_naming_the_field() -> None:
    cluster = _parse(spec_text(version="v26.4.1").replace(REPO_URL, "http://git.example/aks-gitops.git"))
    [note] = cluster.notes  # the latest release: no lifecycle note
    assert note.startswith("clusters/prod.yaml:7:12: field 'argocd.repoURL'") and "https://" in note


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    with pytest.raises(SpecError, match="nesting deeper than 200 levels"):
        _parse("name: " + "[" * 100_000)
    with pytest.raises(SpecError, match="nesting deeper than 200 levels"):
        _parse("name: " + "{a: " * 60_000)


@pytest.mark.parametrize("field", ["shared:\n  rdmaHcaMax", "kubernetes:\n  version"])
def test_a_number_too_long_for_python_is_an_error_not_a_crash(field: str) -> None:
    """Python converts no integer of more than 4300 digits: the loader says so at the line instead of a traceback."""
    with pytest.raises(SpecError) as caught:
        _parse(spec_text(extra=f"{field}: {'1' * 5000}\n"))
    assert caught.value.line == 10 and "a number of 5000 characters is too long" in caught.value.message
