"""The checker: every check on a set of objects, as located Findings.

Per object: strict schema -> the operator's webhook -> IPAM; then, per unit (one kustomize build, or the loose
files), the cross-object rules. ``gen bundle`` and ``gen lint`` both run it; only how they collect objects
(and so how a finding is located in a file) differs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from generator.catalog.webhook_facts import webhook_facts
from generator.check import cross
from generator.check.apiserver import stored_form
from generator.check.cel.rule import check_cel
from generator.check.chart_objects import check_images
from generator.check.gpu import check_gpu
from generator.check.ipam import check_deployed, check_ipam
from generator.check.nodepolicy import check_node_policies
from generator.check.pools import check_pools
from generator.check.schema import UNKNOWN_KIND, check_object
from generator.check.validators.kinds import Schemas, schemas_for
from generator.check.validators.webhook_configs import webhook_schemas_for
from generator.check.webhook import WebhookRules
from generator.cluster.model import Cluster, Pool
from generator.core.finding import Finding
from generator.core.objects import Path, group_kind, object_label
from generator.sources.schema_store import SchemaStore
from generator.yamlio.load import Document

Location = tuple[str, int, int, frozenset[str]]  # file, line, column, rules disabled there
Locator = Callable[[Path], Location]


@dataclass
class Item:
    """One object to check: where it came from, and how to find a position inside it."""

    obj: Any
    file: str
    locate: Locator | None = None  # None: no positions (objects built in memory)
    patch: bool = False  # a kustomize patch: partial, so only unknown fields, types and values are checked
    disabled: frozenset[str] = field(default_factory=frozenset)
    doc: Document | None = None  # the parsed document, when it came from a file
    old: Any = None  # its previous version (gen lint --against, gen check): CEL rules run as on an update

    def where(self, path: Path) -> Location:
        if self.locate is None:
            return self.file, 0, 0, self.disabled
        return self.locate(path)


Unit = tuple[list[int], list[int]]  # (indices checked together, indices their references may point at)


def _depth(item: Item, path: Path) -> int:
    """How much of ``path`` the item's own document has (-1: no document)."""
    if item.doc is None:
        return -1
    for n in range(len(path), -1, -1):
        if path[:n] in item.doc.positions:
            return n
    return -1


def built_locator(sources: list[Item], fallback: str) -> Locator:
    """Where a finding in an object kustomize built is: in the source document (a resource or a patch with the
    same kind and name) that has the deepest part of the path; on a tie the later one (a patch) wins."""

    def locate(path: Path) -> Location:
        best, depth = None, -2
        for source in sources:
            found = _depth(source, path)
            if found >= depth:
                best, depth = source, found
        if best is None:
            return fallback + " (kustomize build)", 0, 0, frozenset()
        return best.where(path)

    return locate


class Checker:
    """Compiled schemas and webhook rules of one network-operator release (and Argo CD release)."""

    def __init__(self, schemas: Schemas, webhook: WebhookRules, release: str = ""):
        self.schemas = schemas
        self.webhook = webhook
        self.release = release  # how the operator names the images it deploys (the DOCA driver's digests)

    def object_findings(self, index: int, item: Item) -> tuple[list[Finding], list[tuple[int, Path, str]], Any]:
        """Findings about one object alone, the nv-ipam pools it references (index, path, pool name), and the
        object as the API server stores it (nulls dropped, a cluster-scoped kind's namespace cleared, a status it
        ignores gone): what the checks after the schema look at, as the operator and the webhook see it."""
        checked = check_object(item.obj, self.schemas, index, partial=item.patch)
        found, obj = checked.findings, checked.stored
        if item.patch or not isinstance(obj, dict):
            return found, [], obj
        if not checked.blocking:  # as the API server: no CEL rule runs on an object of the wrong shape
            found += check_cel(obj, self.schemas, index, stored_form(item.old, self.schemas))
        found += self.webhook.check(obj, index)
        found += check_images([(index, obj)], self.release)
        ipam_found, refs = check_ipam(obj, index)
        return found + ipam_found, [(index, path, name) for path, name in refs], obj

    def run(self, items: list[Item], units: Iterable[Unit], *, strict: bool = False,
            vm_nics: int | None = None, pools: tuple[Pool, ...] = ()) -> list[Finding]:
        """Per-object checks on every item, then the cross-object rules per unit; located."""
        return locate(items, self.findings(items, units, vm_nics=vm_nics, pools=pools), strict=strict)

    def findings(self, items: list[Item], units: Iterable[Unit], *, vm_nics: int | None = None,
                 only: Collection[int] | None = None, pools: tuple[Pool, ...] = ()) -> list[Finding]:
        """Per-object checks on every item (``only``: on these, and only their NicClusterPolicy patches count), then
        the cross-object rules per unit; not located yet. ``pools``: the node pools of the cluster spec the objects are
        checked with."""
        found: list[Finding] = []
        refs: dict[int, list[tuple[int, Path, str]]] = {}
        stored: dict[int, Any] = {}  # the objects as the API server stores them, by index

        def landed(index: int) -> Any:
            if index not in stored:
                item = items[index]
                stored[index] = item.obj if item.patch else stored_form(item.obj, self.schemas)
            return stored[index]

        mine = range(len(items)) if only is None else sorted(only)
        for index in mine:
            per_object, refs[index], stored[index] = self.object_findings(index, items[index])
            found += per_object
        patches = [items[i].obj for i in mine if items[i].patch and isinstance(items[i].obj, dict)
                   and group_kind(items[i].obj) == ("mellanox.com", "NicClusterPolicy")]
        for unit, context in units:
            ctx = cross.Context.build([landed(i) for i in context if _whole(items[i])])
            members = [(i, landed(i)) for i in unit if _whole(items[i])]
            found += cross.check_unit(members, ctx, vm_nics)
            found += cross.check_duplicates(members, [item.file for item in items])
            found += cross.check_pool_refs([r for i in unit for r in refs.get(i, [])], ctx)
            found += check_deployed(members, self.release, ctx.cluster_policies, ctx.workload_images, patches)
            found += check_node_policies(members, self.webhook.facts, ctx.cluster_policies, ctx.node_policies)
            found += check_pools(members, ctx, pools)
            found += check_gpu(members, [(i, landed(i)) for i in context if _whole(items[i])])
        return found


def _whole(item: Item) -> bool:
    return not item.patch and isinstance(item.obj, dict)


def locate(items: list[Item], found: list[Finding], *, strict: bool = False) -> list[Finding]:
    """Give each finding its file, line and object; drop the ones disabled where they are and the duplicates (a
    built object repeats its sources' findings); sorted."""
    out: dict[tuple[str, int, int, str, str, str], Finding] = {}
    for finding in found:
        if finding.index < 0:  # about a file, placed already
            out.setdefault(finding.sort_key(), finding)
            continue
        item = items[finding.index]
        file, line, column, disabled = item.where(finding.path)
        if finding.rule in disabled or "all" in disabled:
            continue
        severity = "error" if strict and finding.rule == UNKNOWN_KIND.id else finding.severity
        located = replace(finding, file=file, line=line, column=column, object=object_label(item.obj),
                          severity=severity)
        out.setdefault(located.sort_key(), located)
    return sorted(out.values(), key=Finding.sort_key)


@functools.cache
def _checker(schemas: Schemas, release: str, store: SchemaStore | None) -> Checker:
    return Checker(schemas, WebhookRules(webhook_schemas_for(release, store), webhook_facts(release)), release)


def checker_for(release: str, argocd: str | None = None, store: SchemaStore | None = None,
                kube_version: str | None = None, gpu_release: str | None = None) -> Checker:
    """The Checker of a release (for a cluster of ``kube_version``, with ``gpu_release``'s CRDs; default: gen lint's),
    kept per process."""
    schemas = schemas_for(release, argocd, store, kube_version, gpu_release=gpu_release)
    return _checker(schemas, release, store)


def cluster_checker(cluster: Cluster, store: SchemaStore | None = None) -> Checker:
    """The Checker of a cluster's files: its network-operator release, its Kubernetes version, and the CRDs of the
    GPU Operator release it runs (spec gpu.operator.version; without one, gen lint's default)."""
    operator = cluster.gpu.operator if cluster.gpu is not None else None
    return checker_for(cluster.release.tag, store=store, kube_version=cluster.kubernetes.version,
                       gpu_release=operator.release.tag if operator is not None else None)
