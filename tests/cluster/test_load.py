"""Cluster spec parsing: the documented example, defaults, and every mistake named with file:line and field."""

from __future__ import annotations

import ipaddress

import pytest

from generator.cluster.parse import SpecError
from generator.pipeline.clusters import checked_cluster
from tests.conftest import REPO, spec_text

FILE = "clusters/prod.yaml"


def parse(text: str, name: str = "prod"):  # type: ignore[no-untyped-def]
    return checked_cluster(text.encode(), FILE, expected_name=name)


def error(text: str) -> SpecError:
    with pytest.raises(SpecError) as info:
        parse(text)
    return info.value


def test_issue_example_is_accepted_with_defaults() -> None:
    spec = parse(spec_text())
    assert (spec.name, spec.mode, spec.release.tag, spec.namespace) == ("prod", "sriov", "v25.4.0", "network-operator")
    assert spec.vm_size.nics == 8 and spec.vm_size.device_ids == ("101c",)
    assert spec.device_ids == ("101c", "101e")  # the NFD rule also labels other Azure IB sizes, as the guide
    assert spec.rdma_hca_max == 63
    assert spec.argocd.target_revision == "main"
    ipoib = spec.ipoib
    assert ipoib.network_name == "aks-infiniband" and ipoib.namespace == "default" and ipoib.master == "ibP257p0s0"
    assert ipoib.range == ipaddress.ip_network("192.168.0.0/16") and str(ipoib.gateway) == "192.168.0.1"
    assert [str(n) for n in ipoib.exclude] == ["192.168.0.0/32", "192.168.255.255/32"]
    assert ipoib.ipam == "whereabouts"


def test_committed_example_parses() -> None:
    checked_cluster((REPO / "clusters" / "prod.yaml").read_bytes(), FILE, "prod")


def test_ipam_defaults_to_nv_ipam_where_whereabouts_is_gone() -> None:
    assert parse(spec_text(mode="ipoib", version="v25.10.0")).ipoib.ipam == "nv-ipam"
    assert parse(spec_text(mode="ipoib", version="v25.7.0", extra="ipoib:\n  ipam: nv-ipam\n")).ipoib.ipam == "nv-ipam"


@pytest.mark.parametrize(
    ("text", "line", "field", "words"),
    [
        (spec_text(mode="sriovv"), 2, "mode", "base, sriov, shared, ipoib"),
        (spec_text(vm_size="Standard_D4s_v5"), 3, "vmSize", "Standard_ND96asr_v4"),
        (spec_text(version="v25.5.0"), 5, "networkOperator.version", "v25.4.0"),
        (spec_text() + "colour: blue\n", 9, "colour", "unknown field"),
        (spec_text().replace("  repoURL: https://github.com/example/aks-gitops.git\n", ""), 7, "argocd.repoURL",
         "required"),
        (spec_text(mode="ipoib", version="v26.4.1", extra="ipoib:\n  ipam: whereabouts\n"), 10, "ipoib.ipam",
         "nv-ipam"),
        (spec_text(extra="ipoib:\n  range: 10.0.0.1/8\n"), 10, "ipoib.range", "CIDR"),
        (spec_text(extra="ipoib:\n  gateway: 10.0.0.1\n"), 10, "ipoib.gateway", "192.168.0.0/16"),
        (spec_text(extra="ipoib:\n  exclude: [10.0.0.0/32]\n"), 10, "ipoib.exclude[0]", "outside"),
        (spec_text(extra="shared:\n  rdmaHcaMax: 0\n"), 10, "shared.rdmaHcaMax", "minimum"),
        (spec_text(extra="shared:\n  rdmaHcaMax: '63'\n"), 10, "shared.rdmaHcaMax", "integer"),
        (spec_text(name="Prod"), 1, "name", "required form"),
        (spec_text(extra="mode: base\n"), 9, "", "duplicate key 'mode'"),
        (spec_text() + "verify:\n\tenabled: true\n", 10, "", "tab"),
    ],
)
def test_mistakes_name_line_field_and_fix(text: str, line: int, field: str, words: str) -> None:
    exc = error(text)
    assert exc.file == FILE
    assert exc.line == line, str(exc)
    assert exc.field == field, str(exc)
    assert words in str(exc)


@pytest.mark.parametrize(
    ("text", "line", "column", "field", "words"),
    [
        # a misspelled key in the wrong case: the key's own line and column, and the field it meant (not "vmSize is
        # missing" at the mapping's line)
        (spec_text().replace("vmSize:", "vmsize:"), 3, 1, "vmsize", "unknown field 'vmsize'; did you mean 'vmSize'?"),
        (spec_text() + "colour: blue\n", 9, 1, "colour", "unknown field 'colour'; known fields here: argocd,"),
        (spec_text().replace("  targetRevision:", "  destinaton:\n    name: x\n  targetRevision:"), 8, 3,
         "argocd.destinaton", "did you mean 'destination'?"),
        (spec_text(extra="ipoib:\n  rnage: 10.0.0.0/8\n"), 10, 3, "ipoib.rnage", "did you mean 'range'?"),
        (spec_text(extra="verify:\n  Enabled: true\n"), 10, 3, "verify.Enabled", "did you mean 'enabled'?"),
        (spec_text(version="v26.4.1").replace("  version: v26.4.1\n", "  version: v26.4.1\n  values:\n    nfd:\n"
                                              "      enabeld: true\n"), 8, 7, "networkOperator.values.nfd.enabeld",
         "did you mean 'nfd.enabled'?"),
    ],
)
def test_an_unknown_key_is_pointed_at_with_the_field_it_most_likely_meant(text: str, line: int, column: int,
                                                                         field: str, words: str) -> None:
    exc = error(text)
    assert (exc.line, exc.column, exc.field) == (line, column, field), str(exc)
    assert words in exc.message


@pytest.mark.parametrize("rng", ["8.8.0.0/16", "172.32.0.0/16", "11.0.0.0/8", "100.128.0.0/16", "198.18.0.0/15",
                                 "192.0.2.0/24", "172.0.0.0/8"])
def test_a_public_ipoib_range_is_refused(rng: str) -> None:
    exc = error(spec_text(mode="ipoib", extra=f"ipoib:\n  range: {rng}\n  gateway: {rng.split('/')[0][:-1]}1\n"
                                              f"  exclude: []\n"))
    assert (exc.line, exc.field) == (10, "ipoib.range")
    assert "is not a private range" in exc.message and "10.0.0.0/8 (RFC 1918)" in exc.message
    assert "100.64.0.0/10 (RFC 6598 shared address space)" in exc.message


@pytest.mark.parametrize("rng", ["10.0.0.0/8", "172.16.0.0/12", "172.31.255.0/24", "192.168.0.0/16",
                                 "100.64.0.0/10", "100.127.0.0/16"])
def test_a_private_ipoib_range_is_accepted(rng: str) -> None:
    net = ipaddress.ip_network(rng)
    spec = parse(spec_text(mode="ipoib", extra=f"ipoib:\n  range: {rng}\n"))
    assert spec.ipoib.range == net and spec.ipoib.gateway == net.network_address + 1


def test_name_must_equal_file_name() -> None:
    with pytest.raises(SpecError, match="must equal the file name 'staging'"):
        checked_cluster(spec_text().encode(), "clusters/staging.yaml", expected_name="staging")


def test_unknown_vm_size_with_explicit_nic_override() -> None:
    # a constrained-core HBv5 size: the catalog knows its full size only
    spec = parse(spec_text(vm_size="Standard_HB368-96rs_v5",
                           extra="nic:\n  count: 4\n  deviceIds: ['101e']\n"))
    assert spec.vm_size.nics == 4 and spec.vm_size.device_ids == ("101e",)
    assert spec.node.platform.arch == "amd64"


def test_override_device_ids_join_the_nfd_rule() -> None:
    spec = parse(spec_text(extra="nic:\n  deviceIds: ['1021']\n"))
    assert spec.device_ids == ("101c", "101e", "1021")


@pytest.mark.parametrize("blob", [b"", b"\xff\xfe\x00", b"- a\n- b\n", b"a: [\n", b"--- 1\n--- 2\n",
                                  b"a: &x [*x]\n", b"x" * 300_000])
def test_garbage_is_a_spec_error_not_a_crash(blob: bytes) -> None:
    with pytest.raises(SpecError):
        checked_cluster(blob, FILE, "prod")


def test_yaml_11_words_stay_strings() -> None:
    spec = parse(spec_text(extra="networkOperator:\n  imagePullSecrets: ['true', 'no']\n").replace(
        "networkOperator:\n  version: v25.4.0\n", ""))
    assert spec.image_pull_secrets == ("true", "no")
