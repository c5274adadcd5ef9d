"""Stage 1, whole: the clusters a command works on, each spec read (``generator.cluster.repo``), parsed
(``generator.cluster.parse``) and checked for what it means beyond its own fields (``generator.check.spec``); and the
fleet they belong to, with the checks that span specs (one destination per cluster)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from generator.check.spec import check_spec
from generator.cluster.model import Cluster
from generator.cluster.parse import SpecError, SpecErrors, SpecSource, parse_cluster
from generator.cluster.repo import discover, read_spec
from generator.core import layout
from generator.programs.git import uncommitted


def checked_cluster(data: bytes, file: str, expected_name: str | None = None) -> Cluster:
    """A spec's bytes as a Cluster, parsed and checked; the first mistake as a SpecError."""
    return check_spec(parse_cluster(data, file, expected_name=expected_name))


def load_cluster(repo: Path, name: str) -> Cluster:
    """``clusters/<name>.yaml``, read, parsed and checked."""
    return checked_cluster(read_spec(repo, name), layout.spec_file(name), expected_name=name)


def load_clusters(repo: Path, names: list[str]) -> list[Cluster]:
    """Every named spec, loaded; all their errors together in one SpecErrors."""
    clusters, errors = [], []
    for name in names:
        try:
            clusters.append(load_cluster(repo, name))
        except SpecError as exc:
            errors.append(exc)
    if errors:
        raise SpecErrors(errors)
    return clusters


@dataclasses.dataclass(frozen=True)
class Fleet:
    """The clusters a command works on, and every other spec of the repo (for the fleet bootstrap and the checks
    that span clusters). ``broken`` are the other specs that do not load: without them the fleet is unknown."""

    selected: list[Cluster]
    others: list[Cluster]
    broken: list[SpecError]

    @property
    def everyone(self) -> list[Cluster] | None:
        """Every cluster of the repo, by name; None when some spec does not load."""
        return None if self.broken else sorted([*self.selected, *self.others], key=lambda c: c.name)


def load_fleet(repo: Path, names: list[str]) -> Fleet:
    """The named specs (their errors raised together, as ``load_clusters``) and the rest of ``clusters/``
    (their errors kept); raises ``SpecErrors`` when two specs of the repo share an Argo CD destination, whichever
    are named (every run writes the fleet bootstrap, which holds them all)."""
    selected = load_clusters(repo, names)
    others, broken = [], []
    for name in discover(repo):
        if name not in names:
            try:
                others.append(load_cluster(repo, name))
            except SpecError as exc:
                broken.append(exc)
    clashes = destination_clashes([*selected, *others])
    if clashes:
        changed = uncommitted(repo, sorted({c.spec_file for group in clashes for c in group}))
        raise SpecErrors([clash_error(group, changed) for group in clashes])
    return Fleet(selected, others, broken)


IN_CLUSTER = ("name", "in-cluster"), ("server", "https://kubernetes.default.svc")


def destination_key(cluster: Cluster) -> tuple[str, str, str]:
    """Which cluster an Application lands in, as one Argo CD (its namespace) knows it; `in-cluster` and the
    in-cluster server are the same cluster."""
    argocd = cluster.argocd
    dest = ("name", argocd.destination_name) if argocd.destination_name else ("server", argocd.destination_server or "")
    if dest[1].rstrip("/") in (IN_CLUSTER[0][1], IN_CLUSTER[1][1]):
        dest = IN_CLUSTER[1]
    return (argocd.namespace, *dest)


def destination_clashes(clusters: list[Cluster]) -> list[list[Cluster]]:
    """The groups of specs (two or more, by name) whose Applications would land in the same Kubernetes cluster: the
    NicClusterPolicy (``nic-cluster-policy``) and the NodeFeatureRule are cluster-scoped singletons, so two
    Applications would overwrite each other's on every sync, whatever their namespaces."""
    groups: dict[tuple[str, str, str], list[Cluster]] = {}
    for cluster in sorted(clusters, key=lambda c: c.name):
        if cluster.gitops == "argocd":  # a Flux cluster's objects are applied by the Flux inside it
            groups.setdefault(destination_key(cluster), []).append(cluster)
    return [group for group in groups.values() if len(group) > 1]


def clash_error(group: list[Cluster], changed: set[str] | None) -> SpecError:
    """One error naming every spec of the group and, where git tells (``changed``: the specs that differ from the
    last commit), the one(s) that changed: the error is theirs. Without git, or when none or all changed, it names
    them all and blames none."""
    files = [c.spec_file for c in group]
    blamed = [c for c in group if changed is not None and c.spec_file in changed]
    if not blamed or len(blamed) == len(group):
        blamed = []
    _, how, where = destination_key(group[0])
    listed = " and ".join([", ".join(files[:-1]), files[-1]] if len(files) > 2 else files)
    what = (f"{listed} target the same cluster ({how} {where!r}"
            f"{' by default' if how == 'server' and where == IN_CLUSTER[1][1] else ''}, Argo CD in "
            f"{group[0].argocd.namespace!r}): their Applications would fight over the cluster-scoped "
            "nic-cluster-policy on every sync; ")
    if blamed:
        which = " and ".join(c.spec_file for c in blamed)
        fix = (f"{which} changed since the last commit (git): give it its own argocd.destination (name or server)"
               if len(blamed) == 1 else f"{which} changed since the last commit (git): give each its own "
                                        "argocd.destination (name or server)")
    else:
        fix = "give each spec its own argocd.destination (name or server)"
    owner = blamed[0] if blamed else group[-1]
    source = owner.source
    if isinstance(source, SpecSource):
        return source.error(("argocd", "destination"), what + fix)
    return SpecError(owner.spec_file, what + fix, field="argocd.destination")
