"""clusters/<name>.yaml -> ClusterSpec, or a SpecError naming the file, line, field and the fix."""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema_rs

from generator import catalog
from generator.spec.model import DEFAULT_VERIFY_IMAGE, ArgoCD, ClusterSpec, Ipoib, Verify
from generator.yamlio.load import Document, JsonPath, YamlInputError, load_single

REPO_SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "cluster.schema.json"
MAX_SPEC_BYTES = 256 * 1024


class SpecError(ValueError):
    """A user mistake in a cluster spec (exit code 2)."""

    def __init__(self, file: str, message: str, line: int | None = None, column: int | None = None,
                 field: str = ""):
        self.file, self.line, self.column, self.field, self.message = file, line, column, field, message
        where = file + (f":{line}:{column or 1}" if line else "")
        subject = f"field '{field}': " if field else ""
        super().__init__(f"{where}: {subject}{message}")


@functools.cache
def cluster_schema() -> dict[str, Any]:
    packaged = resources.files("generator.spec") / "cluster.schema.json"
    text = packaged.read_text("utf-8") if packaged.is_file() else REPO_SCHEMA.read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@functools.cache
def _validator() -> Any:
    return jsonschema_rs.Draft7Validator(cluster_schema(), validate_formats=False)


def _dotted(path: JsonPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _schema_hint(path: JsonPath) -> str:
    node = _schema_node(path)
    if "enum" in node:
        return "; accepted values: " + ", ".join(map(str, node["enum"]))
    if node.get("description"):
        return f" ({node['description']})"
    return ""


def _schema_errors(doc: Document, file: str) -> None:
    errors = sorted(_validator().iter_errors(doc.value), key=lambda e: [str(p) for p in e.instance_path])
    if not errors:
        return
    err = errors[0]
    path: JsonPath = tuple(err.instance_path)
    kind = err.kind
    message = err.message
    if isinstance(kind, jsonschema_rs.ValidationErrorKind.AdditionalProperties):
        unknown = kind.unexpected[0]
        path = (*path, unknown)
        parent = _schema_node(path[:-1])
        known = ", ".join(sorted(parent.get("properties", {})))
        message = f"unknown field '{unknown}'; known fields here: {known}"
    elif isinstance(kind, jsonschema_rs.ValidationErrorKind.Required):
        path = (*path, kind.property)
        message = f"required field '{kind.property}' is missing"
    elif isinstance(kind, jsonschema_rs.ValidationErrorKind.Enum):
        message = f"{json.dumps(err.instance)} is not accepted{_schema_hint(path)}"
    elif isinstance(kind, jsonschema_rs.ValidationErrorKind.Pattern):
        message = f"{json.dumps(err.instance)} does not match the required form{_schema_hint(path)}"
    else:
        message = message + _schema_hint(path)
    line, column = doc.position(path)
    raise SpecError(file, message, line, column, _dotted(path))


def _schema_node(path: JsonPath) -> dict[str, Any]:
    node: Any = cluster_schema()
    for part in path:
        node = node.get("items", {}) if isinstance(part, int) else node.get("properties", {}).get(part, {})
    return dict(node)


def _network(value: str, file: str, doc: Document, path: JsonPath) -> ipaddress.IPv4Network:
    try:
        net = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        line, col = doc.position(path)
        raise SpecError(file, f"{value!r} is not an IPv4 CIDR with its host bits zero ({exc}); "
                              "e.g. 192.168.0.0/16", line, col, _dotted(path)) from None
    if not isinstance(net, ipaddress.IPv4Network):
        line, col = doc.position(path)
        raise SpecError(file, f"{value!r} is IPv6; IPoIB ranges here are IPv4", line, col, _dotted(path))
    return net


def _ipoib(raw: dict[str, Any], release: catalog.Release, interface: str, doc: Document,
           file: str) -> Ipoib:
    def pos(*path: str | int) -> tuple[int, int]:
        return doc.position(("ipoib", *path))

    rng = _network(raw.get("range", "192.168.0.0/16"), file, doc, ("ipoib", "range"))
    gateway_text = raw.get("gateway", str(rng.network_address + 1))
    try:
        gateway = ipaddress.IPv4Address(gateway_text)
    except ValueError:
        raise SpecError(file, f"{gateway_text!r} is not an IPv4 address", *pos("gateway"), "ipoib.gateway") from None
    if gateway not in rng or gateway in (rng.network_address, rng.broadcast_address):
        raise SpecError(file, f"gateway {gateway} is not a usable address of range {rng}", *pos("gateway"),
                        "ipoib.gateway")
    if "exclude" in raw:
        exclude = []
        for i, text in enumerate(raw["exclude"]):
            net = _network(text, file, doc, ("ipoib", "exclude", i))
            if not net.subnet_of(rng):
                raise SpecError(file, f"exclude {net} is outside range {rng}", *pos("exclude", i),
                                f"ipoib.exclude[{i}]")
            exclude.append(net)
    else:
        exclude = [ipaddress.IPv4Network(f"{rng.network_address}/32"),
                   ipaddress.IPv4Network(f"{rng.broadcast_address}/32")]
    ipam = raw.get("ipam", release.ipam[0])
    if ipam not in release.ipam:
        raise SpecError(file, f"network-operator {release.tag} does not deploy {ipam}; it supports: "
                              f"{', '.join(release.ipam)}", *pos("ipam"), "ipoib.ipam")
    return Ipoib(
        network_name=raw.get("networkName", "aks-infiniband"),
        namespace=raw.get("namespace", "default"),
        master=raw.get("master", interface),
        range=rng,
        gateway=gateway,
        exclude=tuple(exclude),
        ipam=ipam,
        per_node_block_size=raw.get("perNodeBlockSize", 64),
    )


def _vm_size(value: dict[str, Any], cat: catalog.Catalog, doc: Document, file: str) -> catalog.VmSize:
    name = value["vmSize"]
    override = value.get("nic", {})
    known = cat.vm_sizes.get(name)
    if known is None:
        if "count" not in override or "deviceIds" not in override:
            raise SpecError(file, f"unknown VM size {name!r}; known sizes: {', '.join(cat.vm_sizes)}. "
                                  "For another size, give nic.count and nic.deviceIds", *doc.position(("vmSize",)),
                            "vmSize")
        known = catalog.VmSize(name=name, description="user-described", gpus=0, nics=override["count"],
                               link="unknown", nic_family="unknown", device_ids=tuple(override["deviceIds"]),
                               ipoib_interface="ibP257p0s0", bandwidth_floor_gbps=0)
    return dataclasses.replace(
        known,
        nics=override.get("count", known.nics),
        device_ids=tuple(override.get("deviceIds", known.device_ids)),
        ipoib_interface=override.get("ipoibInterface", known.ipoib_interface),
    )


def parse_spec(data: bytes, file: str, expected_name: str | None = None) -> ClusterSpec:
    """Validate a spec file's bytes. ``file`` is the repo-relative path used in messages."""
    try:
        doc = load_single(data, file, max_bytes=MAX_SPEC_BYTES)
    except YamlInputError as exc:
        raise SpecError(file, exc.message, exc.line, exc.column) from None
    if not isinstance(doc.value, dict):
        raise SpecError(file, "must be a YAML mapping (name, mode, vmSize, argocd, ...)", doc.line)
    _schema_errors(doc, file)
    value: dict[str, Any] = doc.value
    if value["name"] == "fleet":
        raise SpecError(file, "'fleet' is reserved for output/fleet/ (the Argo CD bootstrap of all clusters); "
                              "pick another name", *doc.position(("name",)), "name")
    if expected_name is not None and value["name"] != expected_name:
        raise SpecError(file, f"name {value['name']!r} must equal the file name {expected_name!r}",
                        *doc.position(("name",)), "name")
    cat = catalog.load()
    operator = value.get("networkOperator", {})
    release = cat.release(operator.get("version", cat.default_release))  # the schema's enum checked it
    vm = _vm_size(value, cat, doc, file)
    # Match every Azure InfiniBand VF ID the catalog knows (as the guide's rule does), plus this size's own:
    # a node pool of another IB size added later is labelled without a regeneration.
    device_ids = set(vm.device_ids).union(*(size.device_ids for size in cat.vm_sizes.values()))
    argo = value["argocd"]
    destination = argo.get("destination", {})
    if "name" in destination and "server" in destination:
        raise SpecError(file, "give the destination's name or its server, not both",
                        *doc.position(("argocd", "destination")), "argocd.destination")
    if not destination:
        destination = {"server": "https://kubernetes.default.svc"}
    return ClusterSpec(
        name=value["name"],
        spec_file=file,
        mode=value["mode"],
        vm_size=vm,
        device_ids=tuple(sorted(device_ids)),
        release=release,
        namespace=operator.get("namespace", "network-operator"),
        image_pull_secrets=tuple(operator.get("imagePullSecrets", ())),
        rdma_hca_max=value.get("shared", {}).get("rdmaHcaMax", 63),
        ipoib=_ipoib(value.get("ipoib", {}), release, vm.ipoib_interface, doc, file),
        argocd=ArgoCD(
            repo_url=argo["repoURL"],
            target_revision=argo.get("targetRevision", "HEAD"),
            namespace=argo.get("namespace", "argocd"),
            destination_name=destination.get("name"),
            destination_server=destination.get("server"),
            automated=argo.get("automated", True),
        ),
        verify=_verify(value.get("verify", {})),
    )


def _verify(raw: dict[str, Any]) -> Verify:
    return Verify(
        enabled=raw.get("enabled", False),
        image=raw.get("image", DEFAULT_VERIFY_IMAGE),
        bandwidth_floor_gbps=raw.get("bandwidthFloorGbps"),
    )


def load_spec(repo: Path, name: str) -> ClusterSpec:
    rel = f"clusters/{name}.yaml"
    path = repo / rel
    if not path.is_file():
        raise SpecError(rel, f"no such cluster spec; create {rel} (see clusters/prod.yaml)")
    return parse_spec(path.read_bytes(), rel, expected_name=name)
