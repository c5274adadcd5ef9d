"""A cluster spec's bytes -> Cluster, or a SpecError naming the file, line, field and the fix. Pure: nothing is
read, rendered or checked beyond the spec itself and the catalog.

Order: YAML (strict loader) -> the cluster JSON Schema -> schema defaults -> what the schema cannot say
(names, catalog facts, addresses) -> the Cluster model, which keeps its ``SpecSource`` so that the checks that need
more than the spec (``generator.check.spec``: chart values, mirrors and digests) can point at a field too.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from typing import Any

from generator import catalog
from generator.cluster import platform, pools, verification
from generator.cluster import spec_schema as schema
from generator.cluster.gpu import gpu_of, pool_error, version_error
from generator.cluster.model import ArgoCD, Cluster, Flux, Images, Ipoib
from generator.core import layout
from generator.core.errors import InputError, printable
from generator.core.finding import JsonPath, dotted
from generator.core.formats import image_reference_error, semver_constraint_error
from generator.core.ipmath import block_size_problem, excluded_count, overlapping, pool_capacity
from generator.yamlio.load import Document, YamlInputError, load_single

MAX_SPEC_BYTES = 256 * 1024
SYSTEM_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease")
_THIS_NETWORK = ipaddress.IPv4Network("0.0.0.0/8")
# Where IPoIB addresses may come from: private ranges only (RFC 1918, and RFC 6598's shared address space), so that a
# pod's InfiniBand network never shadows Internet addresses it must reach
PRIVATE_RANGES = {"10.0.0.0/8": "RFC 1918", "172.16.0.0/12": "RFC 1918", "192.168.0.0/16": "RFC 1918",
                  "100.64.0.0/10": "RFC 6598 shared address space"}
# user:password@ in any URL, or a bare token@ in an http(s) one
_CREDENTIALS = re.compile(r"^(?:[a-z+]+://[^/@\s]*:[^/@\s]*@|https?://[^/@\s]+@)")
RESERVED_NAMES = {layout.FLEET: f"{layout.output_dir(layout.FLEET)}/ (the Argo CD bootstrap of all clusters)",
                  layout.CHARTS: f"{layout.output_dir(layout.CHARTS)}/ (the rdma-infiniband Helm chart)"}


class SpecError(InputError):
    """A mistake in one cluster spec: ``file:line:column: field 'x': message``."""

    def __init__(self, file: str, message: str, line: int | None = None, column: int | None = None,
                 field: str = ""):
        self.file, self.line, self.column, self.field, self.message = file, line, column, field, message
        where = file + (f":{line}:{column or 1}" if line else "")
        subject = f"field '{field}': " if field else ""
        super().__init__(f"{where}: {subject}{message}")


class SpecErrors(InputError):
    """Every invalid spec of a run, reported together."""

    def __init__(self, errors: list[SpecError]):
        self.errors = errors
        super().__init__(f"{len(errors)} cluster spec(s) invalid; nothing written")

    def lines(self) -> list[str]:
        return [*(f"gen: error: {printable(str(e))}" for e in self.errors), f"gen: {self}"]


class SpecSource:
    """A parsed spec document: where each field is, for errors and warnings that point at it; ``data``: the bytes it
    was parsed from."""

    def __init__(self, doc: Document, file: str, data: bytes = b""):
        self.doc, self.file, self.data = doc, file, data

    def given(self, path: JsonPath) -> bool:
        """Whether the file sets the field at ``path`` (not a default)."""
        return path in self.doc.positions

    def error(self, path: JsonPath, message: str, at_key: bool = False) -> SpecError:
        """A mistake at the field ``path`` (``at_key``: at its key, for a field that should not be there)."""
        line, column = self.doc.key_position(path) if at_key else self.doc.position(path)
        return SpecError(self.file, message, line, column, dotted(path))

    def note(self, path: JsonPath, message: str) -> str:
        """A warning about the field at ``path``: ``file:line:column: field 'x': message``."""
        line, column = self.doc.position(path)
        return f"{self.file}:{line}:{column}: field '{dotted(path)}': {message}"


# -- one spec -----------------------------------------------------------------------------------------


def parse_cluster(data: bytes, file: str, expected_name: str | None = None) -> Cluster:
    """Validate a spec file's bytes. ``file`` is the repo-relative path used in messages."""
    try:
        doc = load_single(data, file, max_bytes=MAX_SPEC_BYTES)
    except YamlInputError as exc:
        raise SpecError(file, exc.message, exc.line, exc.column) from None
    if not isinstance(doc.value, dict):
        raise SpecError(file, "must be a YAML mapping (name, mode, vmSize, argocd, ...)", doc.line)
    spec = SpecSource(doc, file, data)
    problem = (platform.version_form_error(doc.value, catalog.load()) or version_error(doc.value)
               or schema.first_error(doc.value))
    if problem is not None:
        raise spec.error(*problem)
    value = schema.with_defaults(doc.value)
    name = value["name"]
    if name in RESERVED_NAMES:
        raise spec.error(("name",), f"{name!r} is reserved for {RESERVED_NAMES[name]}; pick another name")
    if expected_name is not None and name != expected_name:
        raise spec.error(("name",), f"name {name!r} must equal the file name {expected_name!r}")
    cat = catalog.load()
    operator = value["networkOperator"]
    release = cat.release(operator["version"])  # the schema's enum checked it
    if operator["namespace"] in SYSTEM_NAMESPACES:
        raise spec.error(("networkOperator", "namespace"), f"{operator['namespace']!r} is a Kubernetes system "
                         "namespace; the operator needs one of its own (labelled privileged), e.g. network-operator")
    flux = _flux(value, spec)
    argocd_raw = value["argocd"] if flux is None else {**value["argocd"], "repoURL": flux.repo_url}
    notes = [*_lifecycle_checks(release, name, cat, spec), *_argocd_checks(argocd_raw, spec, flux is None)]
    image = value["verify"]["image"]
    if image_reference_error(image):
        raise spec.error(("verify", "image"), f"{image!r} is not an image reference: {image_reference_error(image)}")
    vm = platform.vm_size_of(value, cat, spec)
    kubernetes, kube_notes = platform.kubernetes_of(value, release, cat, spec)
    node = platform.node_of(value, vm, value["vmSize"] in cat.vm_sizes, kubernetes, release, cat, spec)
    platform.verify_image_error(value, node, cat, spec)
    verify = verification.verify_of(value)
    if not value.get("pools"):
        verification.check_verify(verify, vm, spec)
    notes += [*kube_notes, *platform.ipoib_interface_note(vm, value["mode"], value, spec)]
    gpu, gpu_notes = gpu_of(value, vm, value["vmSize"] in cat.vm_sizes, kubernetes, spec)
    notes += gpu_notes
    spec_pools = pools.Pools(value, release, kubernetes, cat, spec)
    pool_list = spec_pools.parse()
    notes += spec_pools.notes
    pools.ipoib_master_error(pool_list, value, spec)
    pool_error(gpu, pool_list, cat.vm_sizes, spec)
    tolerations, taints = (pools.cluster_wide(pool_list) if pool_list
                           else (tuple(value.get("tolerations", ())), tuple(value.get("taints", ()))))
    # Match every Azure InfiniBand VF ID the catalog knows (as the guide's rule does), plus this size's own (and every
    # pool's): a node pool of another IB size added later is labelled without a regeneration.
    device_ids = set(vm.device_ids).union(*(size.device_ids for size in cat.vm_sizes.values()),
                                          *(pool.vm_size.device_ids for pool in pool_list))
    chart_values = operator.get("values", {})
    cluster = Cluster(
        name=name,
        spec_file=file,
        mode=value["mode"],
        vm_size=vm,
        device_ids=tuple(sorted(device_ids)),
        release=release,
        namespace=operator["namespace"],
        image_pull_secrets=tuple(operator.get("imagePullSecrets", ())),
        rdma_hca_max=value["shared"]["rdmaHcaMax"],
        ipoib=_ipoib(value["ipoib"], release, vm.ipoib_interface, spec),
        argocd=_argocd(argocd_raw, spec),
        verify=verify,
        tolerations=tolerations,
        taints=taints,
        chart_values=chart_values,
        kubernetes=kubernetes,
        node=node,
        images=Images(mirrors=tuple(value.get("imageRegistry", {}).items()),
                      digests=tuple(value.get("imageDigests", {}).items())),
        gitops=value["gitops"],
        flux=flux,
        gpu=gpu,
        pools=pool_list,
        node_policies=bool(pool_list) and cat.has_node_policies(release),
    )
    verification.check_gpu_memory(cluster, spec)
    verification.check_pools(cluster, spec)
    if cluster.node_policies and cluster.argocd.source == "chart":
        raise spec.error(("argocd", "source"), "the rdma-infiniband chart does not carry the pools' NicNodePolicies "
                         "(it builds one NicClusterPolicy); set argocd.source to overlay (the default), which applies "
                         "them")
    return dataclasses.replace(cluster, notes=tuple(dict.fromkeys(notes)), source=spec)


def _network(value: str, spec: SpecSource, path: JsonPath) -> ipaddress.IPv4Network:
    try:
        net = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise spec.error(path, f"{value!r} is not an IPv4 CIDR with its host bits zero ({exc}); "
                               "e.g. 192.168.0.0/16") from None
    if not isinstance(net, ipaddress.IPv4Network):
        raise spec.error(path, f"{value!r} is IPv6; IPoIB ranges here are IPv4")
    return net


def _pod_range(value: str, spec: SpecSource, path: JsonPath) -> ipaddress.IPv4Network:
    """A range pods can take addresses from: not the whole Internet, not loopback, link-local or multicast."""
    net = _network(value, spec, path)
    if net.prefixlen < 8:
        raise spec.error(path, f"{net} is wider than a /8; give the IPoIB network a range of its own, e.g. "
                               "192.168.0.0/16")
    if net.prefixlen > 30:
        raise spec.error(path, f"{net} holds no address to hand out beside the network, gateway and broadcast "
                               "addresses; give a /30 or wider")
    if net.is_loopback or net.is_link_local or net.is_multicast or net.is_reserved or net.subnet_of(_THIS_NETWORK):
        raise spec.error(path, f"{net} is a loopback, link-local, multicast or reserved range; pods cannot use it")
    if not any(net.subnet_of(ipaddress.IPv4Network(private)) for private in PRIVATE_RANGES):
        ranges = ", ".join(f"{r} ({why})" for r, why in PRIVATE_RANGES.items())
        raise spec.error(path, f"{net} is not a private range; IPoIB addresses must be private, or the pods' "
                               "InfiniBand network shadows Internet addresses they reach: use a range inside "
                               f"{ranges}, e.g. 192.168.0.0/16")
    return net


def _ipoib(raw: dict[str, Any], release: catalog.Release, interface: str, spec: SpecSource) -> Ipoib:
    rng = _pod_range(raw["range"], spec, ("ipoib", "range"))
    gateway_text = raw.get("gateway", str(rng.network_address + 1))
    try:
        gateway = ipaddress.IPv4Address(gateway_text)
    except ValueError:
        raise spec.error(("ipoib", "gateway"), f"{gateway_text!r} is not an IPv4 address") from None
    if gateway not in rng or gateway in (rng.network_address, rng.broadcast_address):
        raise spec.error(("ipoib", "gateway"), f"gateway {gateway} is not a usable address of range {rng}")
    if "exclude" in raw:
        exclude = []
        for i, text in enumerate(raw["exclude"]):
            net = _network(text, spec, ("ipoib", "exclude", i))
            if not net.subnet_of(rng):
                raise spec.error(("ipoib", "exclude", i), f"exclude {net} is outside range {rng}")
            exclude.append(net)
    else:
        exclude = [ipaddress.IPv4Network(f"{rng.network_address}/32"),
                   ipaddress.IPv4Network(f"{rng.broadcast_address}/32")]
    ranges = [(int(n.network_address), int(n.broadcast_address)) for n in exclude]
    if overlapping(ranges):
        raise spec.error(("ipoib", "exclude"), "the exclude ranges overlap; list each address once (nv-ipam refuses "
                                               "overlapping exclusions)")
    if excluded_count(rng, ranges) >= pool_capacity(rng):
        raise spec.error(("ipoib", "exclude"), f"the exclude ranges leave no address of {rng} to hand out")
    ipam = raw.get("ipam", release.ipam[0])
    if ipam not in release.ipam:
        raise spec.error(("ipoib", "ipam"), f"network-operator {release.tag} does not deploy {ipam}; it supports: "
                                            f"{', '.join(release.ipam)}")
    block = raw["perNodeBlockSize"]
    problem = block_size_problem(rng, block, ranges) if ipam == "nv-ipam" else ""
    if problem:
        given = spec.given(("ipoib", "perNodeBlockSize"))
        room = pool_capacity(rng) - excluded_count(rng, ranges)
        if not given:
            problem = f"the default {problem}"
        raise spec.error(("ipoib", "perNodeBlockSize" if given else "range"),
                         f"{problem}; set ipoib.perNodeBlockSize to at most {room}")
    return Ipoib(
        network_name=raw["networkName"],
        namespace=raw["namespace"],
        master=raw.get("master", interface),
        range=rng,
        gateway=gateway,
        exclude=tuple(exclude),
        ipam=ipam,
        per_node_block_size=block,
    )


def _lifecycle_checks(release: catalog.Release, name: str, cat: catalog.Catalog, spec: SpecSource) -> list[str]:
    """A release at end of life (NVIDIA's lifecycle notes, as of the newest release) is a warning naming the fix."""
    since = release.end_of_life_since
    if since is None:
        return []
    path = ("networkOperator", "version")
    line, column = spec.doc.position(path)
    default = "" if spec.given(path) else " (the default)"
    basis = "notes" if since.basis == "documented" else "policy"
    return [f"{spec.file}:{line}:{column}: field 'networkOperator.version': {release.tag}{default} is end of life "
            f"since {since.per} per NVIDIA's lifecycle {basis} ('{release.status.word}' in the {release.status.per} "
            f"notes); upgrade one release at a time: gen upgrade --cluster {name} --to {_next(release, cat)} "
            f"(then on to {cat.latest.tag})"]


def _next(release: catalog.Release, cat: catalog.Catalog) -> str:
    return next(t for t in cat.release_tags if catalog.version_key(t) > release.key)


def _argocd_checks(raw: dict[str, Any], spec: SpecSource, argocd: bool = True) -> list[str]:
    """What the schema's patterns cannot say about the repository URL (argocd.repoURL, or flux.repoURL with
    ``argocd`` false); warnings come back as notes."""
    url = raw["repoURL"]
    path, engine = (("argocd", "repoURL"), "Argo CD") if argocd else (("flux", "repoURL"), "Flux")
    if _CREDENTIALS.match(url):
        raise spec.error(path, "holds credentials, which would be committed in four files; give the URL without them "
                         f"({engine} keeps credentials in {'repository Secrets' if argocd else 'a Secret'})")
    if url.startswith("http://"):
        line, column = spec.doc.position(path)
        return [f"{spec.file}:{line}:{column}: field '{'.'.join(path)}': plain http:// sends the repository (and any "
                f"credentials {engine} holds for it) unencrypted; use https://"]
    return []


def _flux(value: dict[str, Any], spec: SpecSource) -> Flux | None:
    """The flux: section of a gitops: flux spec (None for Argo CD); each engine's section only with its engine."""
    if value["gitops"] != "flux":
        if spec.given(("flux",)):
            raise spec.error(("flux",), "is read only with gitops: flux (this cluster is delivered by Argo CD, "
                             "the default); set gitops: flux, or remove it")
        return None
    if spec.given(("argocd",)):
        raise spec.error(("argocd",), "is Argo CD's, and this cluster is delivered by Flux (gitops: flux): nothing "
                         "would read it; remove it (Flux reads the repository from flux.repoURL)")
    raw = value["flux"]
    [(kind, ref)] = raw["ref"].items()  # the schema: exactly one
    if kind == "semver" and (why := semver_constraint_error(ref)):
        raise spec.error(("flux", "ref", "semver"), f"Flux's source-controller cannot parse this range, so the "
                         f"GitRepository fails and nothing syncs: {why}")
    return Flux(repo_url=raw["repoURL"], ref=(kind, ref), namespace=raw["namespace"],
                git_repository=raw["gitRepository"])


def _argocd(raw: dict[str, Any], spec: SpecSource) -> ArgoCD:
    destination = raw["destination"]
    if "name" in destination and "server" in destination:
        raise spec.error(("argocd", "destination"), "give the destination's name or its server, not both")
    if raw["source"] == "chart" and raw["delivery"] == "rendered":
        raise spec.error(("argocd", "source"), "'chart' delivers the network-operator chart as a Helm source too; "
                         "'rendered' delivery commits it into the overlay, which the chart source does not apply: "
                         "set argocd.delivery to helm, or argocd.source to overlay")
    return ArgoCD(
        repo_url=raw["repoURL"],
        target_revision=raw["targetRevision"],
        namespace=raw["namespace"],
        destination_name=destination.get("name"),
        destination_server=destination.get("server"),
        automated=raw["automated"],
        delivery=raw["delivery"],
        source=raw["source"],
    )
